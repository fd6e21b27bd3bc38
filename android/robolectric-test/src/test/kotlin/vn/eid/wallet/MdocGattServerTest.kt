package vn.eid.wallet

import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothManager
import android.content.Context
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.nio.file.Files
import java.security.KeyStore as JavaKeyStore
import java.security.cert.X509Certificate
import java.util.UUID

/**
 * The GATT server glue on the Android 14 framework: the 18013-5 service as a client discovers
 * it, for the holder (peripheral server mode) and for a reader (central client mode, Ident).
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34])
class MdocGattServerTest {
    private val dir = Files.createTempDirectory("eid-gatt")

    @After
    fun tearDown() {
        dir.toFile().deleteRecursively()
    }

    private fun anyCertificate(): ByteArray {
        val ks = JavaKeyStore.getInstance(JavaKeyStore.getDefaultType())
        java.io.File(System.getProperty("java.home"), "lib/security/cacerts").inputStream().use { ks.load(it, null) }
        return (ks.getCertificate(ks.aliases().nextElement()) as X509Certificate).encoded
    }

    @Test
    fun theServicesOfBothModesAreThe18013Ones() {
        val wallet = WalletHandle.open(WalletConfig(dir.toString(), "http://127.0.0.1:9"), SoftwareKeyStore(), HttpUrlConnectionTransport())
        wallet.setUp("123456")
        val presentation = wallet.mdocPresentQr(MdocBleOptions(true, false), object : MdocConsent {
            override fun decide(request: MdocPresentationRequest) = MdocDecision.DECLINE
        })
        val context: Context = RuntimeEnvironment.getApplication()
        val manager = context.getSystemService(BluetoothManager::class.java)
        val server = MdocGattServer.forHolder(context, manager, presentation)

        val service = server.service()
        assertEquals(UUID.fromString(presentation.peripheralServerUuid()), service.uuid)
        val state = service.getCharacteristic(UUID.fromString("00000001-a123-48ce-896b-4c76973373e6"))
        val c2s = service.getCharacteristic(UUID.fromString("00000002-a123-48ce-896b-4c76973373e6"))
        val s2c = service.getCharacteristic(UUID.fromString("00000003-a123-48ce-896b-4c76973373e6"))
        assertNotNull(state); assertNotNull(c2s); assertNotNull(s2c)
        assertTrue(state.properties and BluetoothGattCharacteristic.PROPERTY_NOTIFY != 0)
        assertTrue(c2s.properties and BluetoothGattCharacteristic.PROPERTY_WRITE_NO_RESPONSE != 0)
        assertTrue(s2c.properties and BluetoothGattCharacteristic.PROPERTY_NOTIFY != 0)
        assertNotNull("notifications can be enabled", s2c.getDescriptor(UUID.fromString("00002902-0000-1000-8000-00805f9b34fb")))
        assertEquals(3, service.characteristics.size)

        // A reader's GATT server in central client mode also offers Ident, readable, holding
        // the value derived from the holder's engagement.
        val central = wallet.mdocPresentQr(MdocBleOptions(false, true), object : MdocConsent {
            override fun decide(request: MdocPresentationRequest) = MdocDecision.DECLINE
        })
        val request = MdocReadRequest("org.iso.23220.photoid.1", listOf(MdocRequestedElement("org.iso.23220.1", "family_name", false)))
        val reader = MdocBleReader(central.qrUri(), request, listOf(anyCertificate()), null)
        val readerService = MdocGattServer.forReader(context, manager, reader).service()
        assertEquals(UUID.fromString(central.centralClientUuid()), readerService.uuid)
        assertEquals(4, readerService.characteristics.size)
        val ident = readerService.getCharacteristic(UUID.fromString("00000008-a123-48ce-896b-4c76973373e6"))
        assertTrue(ident.properties and BluetoothGattCharacteristic.PROPERTY_READ != 0)
        assertNotNull(readerService.getCharacteristic(UUID.fromString("00000006-a123-48ce-896b-4c76973373e6")))
        assertEquals(16, reader.ident().size)
        // BluetoothDevice cannot be loaded under Robolectric 4.17 with android-all 14 (its shadow
        // names BluetoothDevice.BluetoothAddress, which that framework build lacks), so the GATT
        // callbacks are not driven here; the protocol behind them runs over in-memory links in
        // the JVM and Python tests.
    }
}
