package vn.eid.wallet

import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothGattService
import android.bluetooth.BluetoothManager
import android.bluetooth.BluetoothProfile
import android.content.Context
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowBluetoothDevice
import java.util.UUID
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

/**
 * The GATT glue's callbacks driven as the Bluetooth stack would call them (Robolectric's
 * shadows for BluetoothDevice and BluetoothGatt; Android 16, where the shadow of BluetoothDevice
 * loads): what reaches the session (the Rust side's MdocBleSession), in which order, from which
 * device, and what the link does on MTU changes and a drop in the middle of a message.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [36])
class MdocGattCallbacksTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val manager = context.getSystemService(BluetoothManager::class.java)
    private val serviceUuid = UUID.fromString("45efef74-2b2c-4837-a9a3-b0e1d05a6917")

    /** The session side, recording what the glue hands it. */
    private class Recording : MdocBleSession {
        val events = LinkedBlockingQueue<String>()
        val values = LinkedBlockingQueue<Pair<MdocCharacteristic, ByteArray>>()
        @Volatile var link: MdocGattLink? = null

        override fun connected(link: MdocGattLink, mode: MdocBleMode) {
            this.link = link
            events.add("connected $mode")
        }

        override fun onValue(characteristic: MdocCharacteristic, value: ByteArray) {
            values.add(characteristic to value)
            events.add("value $characteristic ${value.size}")
        }

        override fun onDisconnected() {
            events.add("disconnected")
        }

        fun next(): String? = events.poll(2, TimeUnit.SECONDS)

        /** Nothing more arrives within a short wait. */
        fun quiet(): Boolean = events.poll(200, TimeUnit.MILLISECONDS) == null
    }

    private fun uuidOf(mode: MdocBleMode, c: MdocCharacteristic) = UUID.fromString(mdocCharacteristicUuid(mode, c)!!)

    private fun device(address: String): BluetoothDevice = ShadowBluetoothDevice.newInstance(address)

    private fun holderService(): BluetoothGattService =
        MdocGattServer(context, manager, serviceUuid, MdocBleMode.PERIPHERAL_SERVER, null, Recording()).service()

    @Test
    fun serverWritesFromTheConnectedReaderReachTheSessionInOrderAndCopied() {
        val session = Recording()
        val server = MdocGattServer(context, manager, serviceUuid, MdocBleMode.PERIPHERAL_SERVER, null, session, notifyTimeoutMs = 200)
        val service = server.service()
        val cb = server.callbacks
        val reader = device("00:11:22:33:44:55")
        val stranger = device("66:77:88:99:AA:BB")
        val c2s = service.getCharacteristic(uuidOf(MdocBleMode.PERIPHERAL_SERVER, MdocCharacteristic.CLIENT2_SERVER))
        val state = service.getCharacteristic(uuidOf(MdocBleMode.PERIPHERAL_SERVER, MdocCharacteristic.STATE))

        cb.onConnectionStateChange(reader, 0, BluetoothProfile.STATE_CONNECTED)
        assertEquals("connected PERIPHERAL_SERVER", session.next())
        // A second central is not the session's peer: its connection starts nothing.
        cb.onConnectionStateChange(stranger, 0, BluetoothProfile.STATE_CONNECTED)
        assertTrue(session.quiet())

        cb.onCharacteristicWriteRequest(reader, 1, state, false, false, 0, byteArrayOf(0x01))
        val chunk = byteArrayOf(0x01, 0x10, 0x20, 0x30)
        cb.onCharacteristicWriteRequest(reader, 2, c2s, false, false, 0, chunk)
        chunk[1] = 0x7F // the stack reuses its buffer: the session must hold its own copy
        cb.onCharacteristicWriteRequest(reader, 3, c2s, false, false, 0, byteArrayOf(0x00, 0x40))
        assertEquals("value STATE 1", session.next())
        assertEquals("value CLIENT2_SERVER 4", session.next())
        assertEquals("value CLIENT2_SERVER 2", session.next())
        val (_, first) = session.values.poll()!!
        val (_, second) = session.values.poll()!!
        val (which, third) = session.values.poll()!!
        assertArrayEquals(byteArrayOf(0x01), first)
        assertArrayEquals(byteArrayOf(0x01, 0x10, 0x20, 0x30), second)
        assertEquals(MdocCharacteristic.CLIENT2_SERVER, which)
        assertArrayEquals(byteArrayOf(0x00, 0x40), third)

        // Refused: another device, a prepared (long) write, an offset, no value, a characteristic
        // outside the 18013-5 service.
        cb.onCharacteristicWriteRequest(stranger, 4, c2s, false, false, 0, byteArrayOf(0x00, 0x01))
        cb.onCharacteristicWriteRequest(reader, 5, c2s, true, false, 0, byteArrayOf(0x00, 0x02))
        cb.onCharacteristicWriteRequest(reader, 6, c2s, false, false, 1, byteArrayOf(0x00, 0x03))
        cb.onCharacteristicWriteRequest(reader, 7, c2s, false, false, 0, null)
        val other = BluetoothGattCharacteristic(UUID.randomUUID(), BluetoothGattCharacteristic.PROPERTY_WRITE_NO_RESPONSE, BluetoothGattCharacteristic.PERMISSION_WRITE)
        cb.onCharacteristicWriteRequest(reader, 8, other, false, false, 0, byteArrayOf(0x00, 0x04))
        assertTrue("a refused write reached the session", session.quiet())
    }

    @Test
    fun serverMtuFollowsOnlyThePeerAndADropMidMessageEndsTheSessionAfterTheChunks() {
        val session = Recording()
        val server = MdocGattServer(context, manager, serviceUuid, MdocBleMode.PERIPHERAL_SERVER, null, session, notifyTimeoutMs = 200)
        val service = server.service()
        val cb = server.callbacks
        val reader = device("00:11:22:33:44:55")
        val stranger = device("66:77:88:99:AA:BB")
        val c2s = service.getCharacteristic(uuidOf(MdocBleMode.PERIPHERAL_SERVER, MdocCharacteristic.CLIENT2_SERVER))

        cb.onConnectionStateChange(reader, 0, BluetoothProfile.STATE_CONNECTED)
        assertEquals("connected PERIPHERAL_SERVER", session.next())
        val link = session.link!!
        assertEquals(23u, link.mtu())
        cb.onMtuChanged(stranger, 515)
        assertEquals("another device's MTU is not the link's", 23u, link.mtu())
        cb.onMtuChanged(reader, 185)
        assertEquals(185u, link.mtu())

        // Two chunks of a message ("more" flag 0x01), then the reader goes away: the session
        // gets both chunks and then the end, never the end first.
        cb.onCharacteristicWriteRequest(reader, 1, c2s, false, false, 0, ByteArray(182) { 0x01 })
        cb.onCharacteristicWriteRequest(reader, 2, c2s, false, false, 0, ByteArray(182) { 0x01 })
        cb.onConnectionStateChange(stranger, 0, BluetoothProfile.STATE_DISCONNECTED)
        cb.onConnectionStateChange(reader, 0, BluetoothProfile.STATE_DISCONNECTED)
        assertEquals("value CLIENT2_SERVER 182", session.next())
        assertEquals("value CLIENT2_SERVER 182", session.next())
        assertEquals("disconnected", session.next())
        assertTrue("the stranger's drop ended the session too", session.quiet())

        // With no GATT server open, the link refuses to send instead of blocking.
        try {
            link.send(MdocCharacteristic.SERVER2_CLIENT, byteArrayOf(0x00))
            fail("sent without a server")
        } catch (e: EidException.Mdoc) {
            // expected
        }
    }

    @Test
    fun clientConnectsNegotiatesTheMtuEnablesNotificationsAndMovesBytesBothWays() {
        val session = Recording()
        val holder = device("00:11:22:33:44:55")
        val client = MdocGattClient(context, holder, serviceUuid, MdocBleMode.PERIPHERAL_SERVER, session, timeoutMs = 300)
        client.connect()
        val gatt = shadowOf(holder).bluetoothGatts.single()
        val service = holderService()
        shadowOf(gatt).addDiscoverableService(service)

        // Connected → MTU request (517) → MTU 517 reported → capped at 515 → discovery →
        // notifications on State and Server2Client → the session starts.
        client.callbacks.onConnectionStateChange(gatt, 0, BluetoothProfile.STATE_CONNECTED)
        assertEquals("connected PERIPHERAL_SERVER", session.next())
        val link = session.link!!
        assertEquals(515u, link.mtu())

        // Notifications from the holder go to the session, copied.
        val s2c = gatt.getService(serviceUuid).getCharacteristic(uuidOf(MdocBleMode.PERIPHERAL_SERVER, MdocCharacteristic.SERVER2_CLIENT))
        val value = byteArrayOf(0x00, 0x0A, 0x0B)
        client.callbacks.onCharacteristicChanged(gatt, s2c, value)
        value[1] = 0
        assertEquals("value SERVER2_CLIENT 3", session.next())
        assertArrayEquals(byteArrayOf(0x00, 0x0A, 0x0B), session.values.poll()!!.second)
        // A characteristic outside the service is not the session's.
        val other = BluetoothGattCharacteristic(UUID.randomUUID(), BluetoothGattCharacteristic.PROPERTY_NOTIFY, 0)
        client.callbacks.onCharacteristicChanged(gatt, other, byteArrayOf(0x01))
        assertTrue(session.quiet())

        // A write goes out without response on Client2Server; the stack's onCharacteristicWrite
        // (the shadow reports it at once) lets the send return with the session's bytes written.
        link.send(MdocCharacteristic.CLIENT2_SERVER, byteArrayOf(0x01, 0x55))
        assertArrayEquals(byteArrayOf(0x01, 0x55), shadowOf(gatt).latestWrittenBytes)
        link.send(MdocCharacteristic.STATE, byteArrayOf(0x01))
        assertArrayEquals(byteArrayOf(0x01), shadowOf(gatt).latestWrittenBytes)
    }

    @Test
    fun clientDropMidMessageFailsTheSendAndTellsTheSessionOnce() {
        val session = Recording()
        val holder = device("00:11:22:33:44:55")
        val client = MdocGattClient(context, holder, serviceUuid, MdocBleMode.PERIPHERAL_SERVER, session, timeoutMs = 300)
        client.connect()
        val gatt = shadowOf(holder).bluetoothGatts.single()
        shadowOf(gatt).addDiscoverableService(holderService())
        client.callbacks.onConnectionStateChange(gatt, 0, BluetoothProfile.STATE_CONNECTED)
        assertEquals("connected PERIPHERAL_SERVER", session.next())
        val link = session.link!!

        link.send(MdocCharacteristic.CLIENT2_SERVER, ByteArray(100) { 0x01 })

        // Half a response arrived, then the link drops: the chunk first, then the end; the
        // connection is closed and later sends fail at once.
        val s2c = gatt.getService(serviceUuid).getCharacteristic(uuidOf(MdocBleMode.PERIPHERAL_SERVER, MdocCharacteristic.SERVER2_CLIENT))
        client.callbacks.onCharacteristicChanged(gatt, s2c, ByteArray(512) { 0x01 })
        client.callbacks.onConnectionStateChange(gatt, 0, BluetoothProfile.STATE_DISCONNECTED)
        assertEquals("value SERVER2_CLIENT 512", session.next())
        assertEquals("disconnected", session.next())
        assertTrue(shadowOf(gatt).isClosed)
        try {
            link.send(MdocCharacteristic.CLIENT2_SERVER, byteArrayOf(0x00))
            fail("sent after the drop")
        } catch (e: EidException.Mdoc) {
            // expected
        }
        assertTrue(session.quiet())
        assertEquals(512, session.values.poll()!!.second.size)
        assertNull("nothing arrived after the drop", session.values.poll())
    }
}
