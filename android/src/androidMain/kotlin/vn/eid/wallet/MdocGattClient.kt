package vn.eid.wallet

import android.annotation.SuppressLint
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothGatt
import android.bluetooth.BluetoothGattCallback
import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothGattDescriptor
import android.bluetooth.BluetoothProfile
import android.content.Context
import java.util.UUID
import java.util.concurrent.CompletableFuture
import java.util.concurrent.Executors
import java.util.concurrent.Semaphore
import java.util.concurrent.TimeUnit

/**
 * The GATT client side of an mdoc session (`BluetoothGatt`):
 * - the holder in mdoc central client mode (`MdocGattClient.forHolder`): it connects to the
 *   reader's server (found by scanning for `centralClientUuid()`), reads Ident, writes State;
 * - the reader in mdoc peripheral server mode (`MdocGattClient.forReader`): it connects to the
 *   holder's server (scan for `peripheralServerUuid()`), writes State start and the request.
 *
 * Sequence: connect, request the largest MTU, discover the service, enable notifications on
 * State and Server2Client, then hand the link to the session on the worker thread (where its
 * blocking `read` of Ident may wait for `onCharacteristicRead`). Writes are without response,
 * one at a time (each waits for `onCharacteristicWrite`). Needs BLUETOOTH_CONNECT (Android 12+);
 * uses the Android 13 (API 33) forms of the GATT calls.
 */
@SuppressLint("MissingPermission")
class MdocGattClient(
    private val context: Context,
    private val device: BluetoothDevice,
    private val serviceUuid: UUID,
    private val mode: MdocBleMode,
    private val session: MdocBleSession,
    private val timeoutMs: Long = 5_000,
) {
    private val worker = Executors.newSingleThreadExecutor { r -> Thread(r, "mdoc-gatt-client").apply { isDaemon = true } }
    private val written = Semaphore(0)
    private val characteristics = mutableMapOf<MdocCharacteristic, BluetoothGattCharacteristic>()
    private val pendingNotify = ArrayDeque<BluetoothGattCharacteristic>()

    @Volatile private var gatt: BluetoothGatt? = null
    @Volatile private var mtu = 23
    @Volatile private var reading: CompletableFuture<ByteArray>? = null
    @Volatile private var connected = false

    private val link = object : MdocGattLink {
        override fun mtu(): UInt = mtu.toUInt()

        override fun send(characteristic: MdocCharacteristic, value: ByteArray) {
            val g = gatt ?: throw EidException.Mdoc("not connected")
            val c = characteristics[characteristic] ?: throw EidException.Mdoc("no such characteristic")
            if (g.writeCharacteristic(c, value, BluetoothGattCharacteristic.WRITE_TYPE_NO_RESPONSE) != BluetoothGatt.GATT_SUCCESS) {
                throw EidException.Mdoc("write refused")
            }
            if (!written.tryAcquire(timeoutMs, TimeUnit.MILLISECONDS)) throw EidException.Mdoc("write not done")
        }

        override fun read(characteristic: MdocCharacteristic): ByteArray {
            val g = gatt ?: throw EidException.Mdoc("not connected")
            val c = characteristics[characteristic] ?: throw EidException.Mdoc("the server has no such characteristic")
            val f = CompletableFuture<ByteArray>()
            reading = f
            if (!g.readCharacteristic(c)) throw EidException.Mdoc("read refused")
            return try {
                f.get(timeoutMs, TimeUnit.MILLISECONDS)
            } catch (e: Exception) {
                throw EidException.Mdoc("read failed")
            }
        }

        override fun disconnect() {
            gatt?.disconnect()
        }
    }

    private val callback = object : BluetoothGattCallback() {
        override fun onConnectionStateChange(g: BluetoothGatt, status: Int, newState: Int) {
            when (newState) {
                BluetoothProfile.STATE_CONNECTED -> g.requestMtu(517)
                BluetoothProfile.STATE_DISCONNECTED -> {
                    g.close()
                    gatt = null
                    worker.execute { session.onDisconnected() }
                }
            }
        }

        override fun onMtuChanged(g: BluetoothGatt, newMtu: Int, status: Int) {
            if (status == BluetoothGatt.GATT_SUCCESS) mtu = minOf(newMtu, 515)
            g.discoverServices()
        }

        override fun onServicesDiscovered(g: BluetoothGatt, status: Int) {
            val service = g.getService(serviceUuid)
            if (status != BluetoothGatt.GATT_SUCCESS || service == null) {
                g.disconnect()
                return
            }
            for (c in service.characteristics) characteristicOf(mode, c.uuid)?.let { characteristics[it] = c }
            val needed = listOfNotNull(
                MdocCharacteristic.STATE, MdocCharacteristic.CLIENT2_SERVER, MdocCharacteristic.SERVER2_CLIENT,
                MdocCharacteristic.IDENT.takeIf { mode == MdocBleMode.CENTRAL_CLIENT },
            )
            if (!characteristics.keys.containsAll(needed)) {
                g.disconnect()
                return
            }
            pendingNotify.clear()
            pendingNotify.add(characteristics.getValue(MdocCharacteristic.STATE))
            pendingNotify.add(characteristics.getValue(MdocCharacteristic.SERVER2_CLIENT))
            enableNextNotification(g)
        }

        override fun onDescriptorWrite(g: BluetoothGatt, descriptor: BluetoothGattDescriptor, status: Int) {
            enableNextNotification(g)
        }

        override fun onCharacteristicChanged(g: BluetoothGatt, c: BluetoothGattCharacteristic, value: ByteArray) {
            val which = characteristicOf(mode, c.uuid) ?: return
            val v = value.copyOf()
            worker.execute { runCatching { session.onValue(which, v) } }
        }

        override fun onCharacteristicWrite(g: BluetoothGatt, c: BluetoothGattCharacteristic, status: Int) {
            written.release()
        }

        override fun onCharacteristicRead(g: BluetoothGatt, c: BluetoothGattCharacteristic, value: ByteArray, status: Int) {
            val f = reading ?: return
            if (status == BluetoothGatt.GATT_SUCCESS) f.complete(value.copyOf()) else f.completeExceptionally(IllegalStateException("read status $status"))
        }
    }

    /** Notifications on, one descriptor write at a time; then the session starts. */
    private fun enableNextNotification(g: BluetoothGatt) {
        val c = pendingNotify.removeFirstOrNull()
        if (c == null) {
            if (!connected) {
                connected = true
                worker.execute { runCatching { session.connected(link, mode) } }
            }
            return
        }
        g.setCharacteristicNotification(c, true)
        val cccd = c.getDescriptor(CCCD)
        if (cccd == null || g.writeDescriptor(cccd, BluetoothGattDescriptor.ENABLE_NOTIFICATION_VALUE) != BluetoothGatt.GATT_SUCCESS) {
            enableNextNotification(g)
        }
    }

    /** Connects (LE transport) and runs the session. */
    fun connect() {
        gatt = device.connectGatt(context, false, callback, BluetoothDevice.TRANSPORT_LE)
    }

    /** Drops the connection. */
    fun close() {
        gatt?.disconnect()
        worker.shutdown()
    }

    /** The client's callbacks (for tests that play the Bluetooth stack). */
    internal val callbacks: BluetoothGattCallback get() = callback

    companion object {
        /** The holder in mdoc central client mode, connecting to the reader's server on `device`. */
        fun forHolder(context: Context, device: BluetoothDevice, presentation: MdocBlePresentation): MdocGattClient {
            val uuid = presentation.centralClientUuid() ?: throw EidException.InvalidInput("central client mode not offered")
            return MdocGattClient(context, device, UUID.fromString(uuid), MdocBleMode.CENTRAL_CLIENT, MdocBleSession.of(presentation))
        }

        /** The reader in mdoc peripheral server mode, connecting to the holder's server on `device`. */
        fun forReader(context: Context, device: BluetoothDevice, reader: MdocBleReader): MdocGattClient {
            val uuid = reader.peripheralServerUuid() ?: throw EidException.InvalidInput("peripheral server mode not offered")
            return MdocGattClient(context, device, UUID.fromString(uuid), MdocBleMode.PERIPHERAL_SERVER, MdocBleSession.of(reader))
        }
    }
}
