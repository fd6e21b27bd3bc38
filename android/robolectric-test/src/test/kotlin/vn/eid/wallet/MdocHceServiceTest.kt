package vn.eid.wallet

import android.content.Intent
import android.nfc.cardemulation.HostApduService
import android.os.Bundle
import android.os.IMessenger
import android.os.Looper
import android.os.Message
import android.os.Messenger
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.nio.file.Files
import java.security.KeyStore as JavaKeyStore
import java.security.cert.X509Certificate
import java.util.concurrent.CompletableFuture
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

/**
 * The HCE glue on the Android 14 framework (Robolectric): APDUs reach [MdocHceService] the way
 * the NFC service sends them (messages to the service's binder, answers by `sendResponseApdu`
 * to the `replyTo` messenger) and are answered by the native presentation on its worker thread.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34])
class MdocHceServiceTest {
    private val dir = Files.createTempDirectory("eid-hce")
    private val replies = LinkedBlockingQueue<ByteArray>()

    /** What the NFC service gets back: MSG_RESPONSE_APDU (1) with the APDU under "data". A
     *  binder of its own, as across processes: the service forwards the very message it is
     *  handling, which a local Handler would refuse as still in use. */
    private val nfcService = Messenger(object : IMessenger.Stub() {
        override fun send(msg: Message) {
            if (msg.what == 1) replies.add(msg.data.getByteArray("data")!!)
        }
    })

    @After
    fun tearDown() {
        MdocHceService.deactivate()
        dir.toFile().deleteRecursively()
    }

    private fun boundService(): Messenger {
        val service = Robolectric.buildService(MdocHceService::class.java).create().get()
        return Messenger(service.onBind(Intent(HostApduService.SERVICE_INTERFACE)))
    }

    /** Sends one APDU as the NFC service does (MSG_COMMAND_APDU, 0) and waits for the answer,
     *  running the main looper when called on it. */
    private fun transceive(service: Messenger, apdu: ByteArray): ByteArray {
        val msg = Message.obtain(null, 0).apply {
            data = Bundle().apply { putByteArray("data", apdu) }
            replyTo = nfcService
        }
        service.send(msg)
        val deadline = System.currentTimeMillis() + 10_000
        while (System.currentTimeMillis() < deadline) {
            if (Looper.myLooper() == Looper.getMainLooper()) shadowOf(Looper.getMainLooper()).idle()
            replies.poll(5, TimeUnit.MILLISECONDS)?.let { return it }
        }
        error("no answer to ${apdu.toHex()}")
    }

    private fun ByteArray.toHex() = joinToString("") { "%02X".format(it) }
    private fun hex(s: String) = s.chunked(2).map { it.toInt(16).toByte() }.toByteArray()
    private fun sw(r: ByteArray) = r.copyOfRange(r.size - 2, r.size).toHex()

    private fun presentation(consent: MdocConsent): MdocNfcPresentation {
        // A set-up (unlocked) wallet that holds no mdoc yet: the protocol still runs in full.
        val wallet = WalletHandle.open(WalletConfig(dir.toString(), "http://127.0.0.1:9"), SoftwareKeyStore(), HttpUrlConnectionTransport())
        wallet.setUp("123456")
        return wallet.mdocPresentNfc(consent)
    }

    @Test
    fun withoutAPresentationReadersGetFileNotFound() {
        val service = boundService()
        assertEquals("6A82", sw(transceive(service, hex("00A4040007" + MdocHceService.MDOC_AID))))
    }

    @Test
    fun selectOfTheMdocAidAndAnEnvelopeAreAnswered() {
        val asked = mutableListOf<MdocPresentationRequest>()
        val p = presentation(object : MdocConsent {
            override fun decide(request: MdocPresentationRequest): MdocDecision {
                asked.add(request)
                return MdocDecision.ACCEPT
            }
        })
        MdocHceService.activate(p)
        val service = boundService()
        assertEquals("9000", sw(transceive(service, hex("00A4040C07" + MdocHceService.MDOC_AID))))
        // An ENVELOPE whose BER-TLV 53 holds no SessionEstablishment: SessionData status 11
        // (decoding error) comes back inside 53, and the session is over.
        val answer = transceive(service, hex("00C30000035301A000"))
        // 53 09 {"status": 11} 90 00
        assertEquals("5309A1667374617475730B9000", answer.toHex())
        assertTrue(asked.isEmpty())
        assertEquals(MdocPresentationState.Ended("the session ended before a request was answered"), p.state())
    }

    @Test
    fun aWholeReadGoesThroughTheServiceAndAsksForConsent() {
        val asked = mutableListOf<MdocPresentationRequest>()
        val p = presentation(object : MdocConsent {
            override fun decide(request: MdocPresentationRequest): MdocDecision {
                asked.add(request)
                return MdocDecision.ACCEPT
            }
        })
        MdocHceService.activate(p)
        val service = boundService()
        val commands = mutableListOf<ByteArray>()
        val link = object : ApduTransport {
            override fun transceive(command: ByteArray): ByteArray {
                commands.add(command)
                return transceive(service, command)
            }
            override fun maxTransceiveLength(): UInt = 65_279u
            override fun extendedLengthSupported(): Boolean = true
            override fun reconnect() {}
        }
        // Any certificate stands for the IACA: with no mdoc held none is reached.
        val ks = JavaKeyStore.getInstance(JavaKeyStore.getDefaultType())
        java.io.File(System.getProperty("java.home"), "lib/security/cacerts").inputStream().use { ks.load(it, null) }
        val iaca = (ks.getCertificate(ks.aliases().nextElement()) as X509Certificate).encoded
        val request = MdocReadRequest("org.iso.23220.photoid.1", listOf(MdocRequestedElement("org.iso.23220.1", "family_name", true)))
        // The reader runs on a native worker thread; this (main) thread runs the looper that
        // carries the service's messages.
        val read = CompletableFuture.supplyAsync { runBlocking { mdocReadNfc(link, request, listOf(iaca), null) } }
        val deadline = System.currentTimeMillis() + 30_000
        while (!read.isDone && System.currentTimeMillis() < deadline) {
            shadowOf(Looper.getMainLooper()).idle()
            Thread.sleep(2)
        }
        val verdict = read.get(1, TimeUnit.SECONDS)
        // NDEF application, capability container, handover, then the mdoc application.
        assertArrayEquals(hex("00A4040007" + MdocHceService.NDEF_AID + "00"), commands.first())
        assertTrue(commands.any { it.toHex().startsWith("00A4040C07" + MdocHceService.MDOC_AID) })
        assertTrue(commands.any { it[1] == 0xC3.toByte() })
        val shown = asked.single()
        assertEquals(null, shown.reader)
        assertEquals("family_name", shown.documents.single().elements.single().identifier)
        assertTrue(shown.documents.single().elements.single().intentToRetain)
        assertFalse("the empty wallet holds no PhotoID", shown.documents.single().held)
        assertFalse(verdict.valid)
        assertTrue(verdict.reasons.toString(), verdict.reasons.isNotEmpty())
        assertEquals(MdocPresentationState.Shared, p.state())
    }

    @Test
    fun deactivationDropsTheSelection() {
        val p = presentation(object : MdocConsent {
            override fun decide(request: MdocPresentationRequest) = MdocDecision.DECLINE
        })
        MdocHceService.activate(p)
        val service = boundService()
        assertEquals("9000", sw(transceive(service, hex("00A4040C07" + MdocHceService.MDOC_AID))))
        // MSG_DEACTIVATED (2), reason DEACTIVATION_LINK_LOSS (0): the field was lost.
        service.send(Message.obtain(null, 2, HostApduService.DEACTIVATION_LINK_LOSS, 0))
        shadowOf(Looper.getMainLooper()).idle()
        // ENVELOPE without a new SELECT: security status not satisfied.
        assertEquals("6982", sw(transceive(service, hex("00C30000035301A000"))))
        MdocHceService.deactivate()
        assertEquals("6A82", sw(transceive(service, hex("00A4040C07" + MdocHceService.MDOC_AID))))
    }
}
