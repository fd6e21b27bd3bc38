package vn.eid.wallet

import android.nfc.TagLostException
import android.nfc.tech.IsoDep
import java.io.IOException
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.shadow.api.Shadow
import org.robolectric.shadows.ShadowIsoDep

/**
 * The NFC glue on the Android 14 framework (Robolectric): the real `IsoDep` class, shadowed so a
 * test decides what the tag does. Every link failure Android reports during a read must reach
 * the core as `ChipLinkLost`, the error it resumes from; anything else would end the read.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], shadows = [ScriptedIsoDep::class])
class IsoDepTransportTest {
    private fun isoDep(): Pair<IsoDep, ScriptedIsoDep> {
        val tech = ShadowIsoDep.newInstance()
        return tech to Shadow.extract(tech)
    }

    @Test
    fun connectsSetsTheTimeoutAndPassesApdusThrough() {
        val (tech, tag) = isoDep()
        tag.setMaxTransceiveLength(65_279)
        tag.setExtendedLengthApduSupported(true)
        val seen = mutableListOf<ByteArray>()
        tag.onTransceive = { seen += it; byteArrayOf(0x6A, 0x82.toByte()) }
        val link = IsoDepTransport(tech, transceiveTimeoutMs = 3_000)
        assertTrue("the constructor connects", tech.isConnected)
        assertEquals(1, tag.connects)
        assertEquals(3_000, tech.timeout)
        val select = byteArrayOf(0x00, 0xA4.toByte(), 0x04, 0x0C, 0x07, 0xA0.toByte(), 0, 0, 2, 0x47, 0x10, 0x01)
        assertArrayEquals(byteArrayOf(0x6A, 0x82.toByte()), link.transceive(select))
        assertArrayEquals(select, seen.single())
        assertEquals(65_279u, link.maxTransceiveLength())
        assertTrue(link.extendedLengthSupported())
    }

    @Test
    fun anAlreadyConnectedTagIsNotConnectedAgain() {
        val (tech, tag) = isoDep()
        tech.connect()
        IsoDepTransport(tech)
        assertEquals(1, tag.connects)
    }

    @Test
    fun tagLostBecomesChipLinkLost() {
        val (tech, tag) = isoDep()
        tag.onTransceive = { throw TagLostException("Tag was lost.") }
        val link = IsoDepTransport(tech)
        assertThrows(EidException.ChipLinkLost::class.java) { link.transceive(byteArrayOf(0, 0xB0.toByte(), 0x81.toByte(), 0, 0)) }
    }

    @Test
    fun aTimeoutBecomesChipLinkLost() {
        // Android's IsoDep.transceive throws a plain IOException("Transceive failed") when the
        // chip does not answer within the timeout: the core must resume, not give up.
        val (tech, tag) = isoDep()
        tag.onTransceive = { throw IOException("Transceive failed") }
        val link = IsoDepTransport(tech)
        assertThrows(EidException.ChipLinkLost::class.java) { link.transceive(byteArrayOf(0, 0x84.toByte(), 0, 0, 8)) }
    }

    @Test
    fun aStaleTagOrAClosedLinkBecomesChipLinkLost() {
        val (tech, tag) = isoDep()
        tag.onTransceive = { throw SecurityException("Tag is out of date") }
        val link = IsoDepTransport(tech)
        assertThrows(EidException.ChipLinkLost::class.java) { link.transceive(byteArrayOf(0, 0x84.toByte(), 0, 0, 8)) }
        tag.onTransceive = { ByteArray(0) }
        tech.close()
        // The shadow refuses like Android does without connect(): IllegalStateException.
        assertThrows(EidException.ChipLinkLost::class.java) { link.transceive(byteArrayOf(0, 0x84.toByte(), 0, 0, 8)) }
    }

    @Test
    fun aTagLostAtConnectBecomesChipLinkLost() {
        val (tech, tag) = isoDep()
        tag.onConnect = { throw TagLostException() }
        assertThrows(EidException.ChipLinkLost::class.java) { IsoDepTransport(tech) }
    }

    @Test
    fun reconnectRetriesUntilTheCardIsBack() {
        val (tech, tag) = isoDep()
        val link = IsoDepTransport(tech)
        var refusals = 3
        tag.onConnect = {
            if (refusals > 0) {
                refusals--
                throw TagLostException()
            }
        }
        tag.onTransceive = { byteArrayOf(0x90.toByte(), 0x00) }
        link.reconnect()
        assertEquals("1 at construction, 3 refused, 1 that worked", 5, tag.connects)
        assertTrue(tech.isConnected)
        assertArrayEquals(byteArrayOf(0x90.toByte(), 0x00), link.transceive(byteArrayOf(0, 0xA4.toByte(), 0, 0x0C)))
    }

    @Test
    fun reconnectGivesUpWithChipLinkLostAfterItsTimeout() {
        val (tech, tag) = isoDep()
        val link = IsoDepTransport(tech, reconnectTimeoutMs = 500)
        tag.onConnect = { throw SecurityException("Tag is out of date") }
        val start = System.nanoTime()
        assertThrows(EidException.ChipLinkLost::class.java) { link.reconnect() }
        val ms = (System.nanoTime() - start) / 1_000_000
        assertTrue("gave up after $ms ms", ms in 400..2_000)
        assertTrue("retried", tag.connects > 2)
        assertFalse(tech.isConnected)
    }
}
