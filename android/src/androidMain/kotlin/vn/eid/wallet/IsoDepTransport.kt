package vn.eid.wallet

import android.nfc.TagLostException
import android.nfc.tech.IsoDep
import java.io.IOException

/**
 * The NFC link to a CCCD for `readChip`. Needs the Android SDK: this source set is compiled by
 * the app's Gradle build (see the README), not by the host-JVM tests.
 *
 * A `TagLostException` becomes `EidException.ChipLinkLost`: the reader then calls [reconnect]
 * and resumes where it stopped, so the user only has to hold the card against the phone again.
 */
class IsoDepTransport(private val isoDep: IsoDep, private val reconnectTimeoutMs: Long = 15_000) : ApduTransport {
    init {
        isoDep.timeout = 5_000
        if (!isoDep.isConnected) isoDep.connect()
    }

    override fun transceive(command: ByteArray): ByteArray = try {
        isoDep.transceive(command)
    } catch (e: TagLostException) {
        throw EidException.ChipLinkLost()
    } catch (e: IOException) {
        throw EidException.ChipFailed("NFC: ${e.javaClass.simpleName}")
    }

    override fun maxTransceiveLength(): UInt = isoDep.maxTransceiveLength.toUInt()

    override fun extendedLengthSupported(): Boolean = isoDep.isExtendedLengthApduSupported

    override fun reconnect() {
        val deadline = System.currentTimeMillis() + reconnectTimeoutMs
        while (System.currentTimeMillis() < deadline) {
            try {
                if (isoDep.isConnected) isoDep.close()
                isoDep.connect()
                return
            } catch (e: IOException) {
                Thread.sleep(200)
            }
        }
        throw EidException.ChipLinkLost()
    }
}
