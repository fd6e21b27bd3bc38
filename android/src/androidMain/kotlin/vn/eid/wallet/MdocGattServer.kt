package vn.eid.wallet

import android.annotation.SuppressLint
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothGatt
import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothGattDescriptor
import android.bluetooth.BluetoothGattServer
import android.bluetooth.BluetoothGattServerCallback
import android.bluetooth.BluetoothGattService
import android.bluetooth.BluetoothManager
import android.bluetooth.BluetoothProfile
import android.bluetooth.le.AdvertiseCallback
import android.bluetooth.le.AdvertiseData
import android.bluetooth.le.AdvertiseSettings
import android.content.Context
import android.os.ParcelUuid
import java.util.UUID
import java.util.concurrent.Executors
import java.util.concurrent.Semaphore
import java.util.concurrent.TimeUnit

/**
 * The GATT server side of an mdoc session (`BluetoothGattServer`), with the 18013-5 service:
 * - the holder in mdoc peripheral server mode (`MdocGattServer.forHolder`), advertising the
 *   engagement's `peripheralServerUuid()`;
 * - the reader in mdoc central client mode (`MdocGattServer.forReader`), advertising the
 *   engagement's `centralClientUuid()` and offering the Ident characteristic.
 *
 * Values written by the client go to the session on one worker thread, in order (the consent may
 * block it); the session's sends are notifications, one at a time (each waits for
 * `onNotificationSent`). Needs BLUETOOTH_CONNECT and BLUETOOTH_ADVERTISE (Android 12+); uses the
 * Android 13 (API 33) forms of the GATT calls.
 */
@SuppressLint("MissingPermission")
class MdocGattServer(
    private val context: Context,
    private val manager: BluetoothManager,
    private val serviceUuid: UUID,
    private val mode: MdocBleMode,
    private val ident: ByteArray?,
    private val session: MdocBleSession,
    private val notifyTimeoutMs: Long = 5_000,
) {
    private val worker = Executors.newSingleThreadExecutor { r -> Thread(r, "mdoc-gatt-server").apply { isDaemon = true } }
    private val sent = Semaphore(0)
    private var server: BluetoothGattServer? = null
    private val characteristics = mutableMapOf<MdocCharacteristic, BluetoothGattCharacteristic>()

    @Volatile private var device: BluetoothDevice? = null
    @Volatile private var mtu = 23

    private val advertising = object : AdvertiseCallback() {}

    /** The link the session sends through: notifications to the connected client. */
    private val link = object : MdocGattLink {
        override fun mtu(): UInt = mtu.toUInt()

        override fun send(characteristic: MdocCharacteristic, value: ByteArray) {
            val d = device ?: throw EidException.Mdoc("not connected")
            val c = characteristics[characteristic] ?: throw EidException.Mdoc("no such characteristic")
            val s = server ?: throw EidException.Mdoc("server closed")
            if (s.notifyCharacteristicChanged(d, c, false, value) != BluetoothGatt.GATT_SUCCESS) {
                throw EidException.Mdoc("notification refused")
            }
            if (!sent.tryAcquire(notifyTimeoutMs, TimeUnit.MILLISECONDS)) throw EidException.Mdoc("notification not sent")
        }

        override fun read(characteristic: MdocCharacteristic): ByteArray =
            throw EidException.Mdoc("the GATT server does not read")

        override fun disconnect() {
            device?.let { server?.cancelConnection(it) }
        }
    }

    private val callback = object : BluetoothGattServerCallback() {
        override fun onConnectionStateChange(d: BluetoothDevice, status: Int, newState: Int) {
            when (newState) {
                BluetoothProfile.STATE_CONNECTED -> if (device == null) {
                    device = d
                    worker.execute { runCatching { session.connected(link, mode) } }
                }
                BluetoothProfile.STATE_DISCONNECTED -> if (d == device) {
                    worker.execute { session.onDisconnected() }
                }
            }
        }

        override fun onMtuChanged(d: BluetoothDevice, newMtu: Int) {
            if (d == device) mtu = newMtu
        }

        override fun onCharacteristicWriteRequest(
            d: BluetoothDevice, requestId: Int, c: BluetoothGattCharacteristic,
            preparedWrite: Boolean, responseNeeded: Boolean, offset: Int, value: ByteArray?,
        ) {
            val which = characteristicOf(mode, c.uuid)
            val ok = d == device && which != null && !preparedWrite && offset == 0 && value != null
            if (responseNeeded) {
                server?.sendResponse(d, requestId, if (ok) BluetoothGatt.GATT_SUCCESS else BluetoothGatt.GATT_FAILURE, 0, null)
            }
            if (ok) {
                val v = value!!.copyOf()
                worker.execute { runCatching { session.onValue(which!!, v) } }
            }
        }

        override fun onCharacteristicReadRequest(d: BluetoothDevice, requestId: Int, offset: Int, c: BluetoothGattCharacteristic) {
            val v = if (characteristicOf(mode, c.uuid) == MdocCharacteristic.IDENT) ident else null
            if (v == null || offset > v.size) {
                server?.sendResponse(d, requestId, BluetoothGatt.GATT_READ_NOT_PERMITTED, offset, null)
            } else {
                server?.sendResponse(d, requestId, BluetoothGatt.GATT_SUCCESS, offset, v.copyOfRange(offset, v.size))
            }
        }

        override fun onDescriptorWriteRequest(
            d: BluetoothDevice, requestId: Int, descriptor: BluetoothGattDescriptor,
            preparedWrite: Boolean, responseNeeded: Boolean, offset: Int, value: ByteArray?,
        ) {
            // The client enables notifications on State and Server2Client (CCCD).
            if (responseNeeded) server?.sendResponse(d, requestId, BluetoothGatt.GATT_SUCCESS, 0, null)
        }

        override fun onNotificationSent(d: BluetoothDevice, status: Int) {
            sent.release()
        }
    }

    /** The 18013-5 service of `mode`: State, Client2Server, Server2Client (and Ident). */
    fun service(): BluetoothGattService {
        val service = BluetoothGattService(serviceUuid, BluetoothGattService.SERVICE_TYPE_PRIMARY)
        fun add(c: MdocCharacteristic, properties: Int, permissions: Int, notify: Boolean) {
            val uuid = UUID.fromString(mdocCharacteristicUuid(mode, c) ?: return)
            val ch = BluetoothGattCharacteristic(uuid, properties, permissions)
            if (notify) {
                ch.addDescriptor(BluetoothGattDescriptor(CCCD, BluetoothGattDescriptor.PERMISSION_READ or BluetoothGattDescriptor.PERMISSION_WRITE))
            }
            characteristics[c] = ch
            service.addCharacteristic(ch)
        }
        val write = BluetoothGattCharacteristic.PROPERTY_WRITE_NO_RESPONSE
        val notify = BluetoothGattCharacteristic.PROPERTY_NOTIFY
        val writable = BluetoothGattCharacteristic.PERMISSION_WRITE
        add(MdocCharacteristic.STATE, notify or write, writable, notify = true)
        add(MdocCharacteristic.CLIENT2_SERVER, write, writable, notify = false)
        add(MdocCharacteristic.SERVER2_CLIENT, notify, 0, notify = true)
        if (mode == MdocBleMode.CENTRAL_CLIENT) {
            add(MdocCharacteristic.IDENT, BluetoothGattCharacteristic.PROPERTY_READ, BluetoothGattCharacteristic.PERMISSION_READ, notify = false)
        }
        return service
    }

    /** Opens the server with the service and advertises its UUID. */
    fun start() {
        val s = manager.openGattServer(context, callback) ?: throw EidException.Mdoc("Bluetooth is off")
        server = s
        s.addService(service())
        manager.adapter.bluetoothLeAdvertiser?.startAdvertising(
            AdvertiseSettings.Builder().setConnectable(true).setAdvertiseMode(AdvertiseSettings.ADVERTISE_MODE_LOW_LATENCY).build(),
            AdvertiseData.Builder().addServiceUuid(ParcelUuid(serviceUuid)).setIncludeDeviceName(false).build(),
            advertising,
        )
    }

    /** Stops advertising and closes the server. */
    fun stop() {
        manager.adapter.bluetoothLeAdvertiser?.stopAdvertising(advertising)
        server?.close()
        server = null
        worker.shutdown()
    }

    /** The server's callbacks (for tests that play the Bluetooth stack). */
    internal val callbacks: BluetoothGattServerCallback get() = callback

    companion object {
        /** The holder in mdoc peripheral server mode. */
        fun forHolder(context: Context, manager: BluetoothManager, presentation: MdocBlePresentation): MdocGattServer {
            val uuid = presentation.peripheralServerUuid() ?: throw EidException.InvalidInput("peripheral server mode not offered")
            return MdocGattServer(context, manager, UUID.fromString(uuid), MdocBleMode.PERIPHERAL_SERVER, null, MdocBleSession.of(presentation))
        }

        /** The reader in mdoc central client mode (its server offers Ident). */
        fun forReader(context: Context, manager: BluetoothManager, reader: MdocBleReader): MdocGattServer {
            val uuid = reader.centralClientUuid() ?: throw EidException.InvalidInput("central client mode not offered")
            return MdocGattServer(context, manager, UUID.fromString(uuid), MdocBleMode.CENTRAL_CLIENT, reader.ident(), MdocBleSession.of(reader))
        }
    }
}
