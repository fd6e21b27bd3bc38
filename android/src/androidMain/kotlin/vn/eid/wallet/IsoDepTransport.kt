package vn.eid.wallet

import android.nfc.TagLostException
import android.nfc.tech.IsoDep
import java.io.IOException

/**
 * The NFC link to a CCCD for `readChip`. Compiled against the Android framework classes and
 * tested under Robolectric by `android/robolectric-test` (scripts/bindings.sh android).
 *
 * Every way the link can fail while the card is being read becomes `EidException.ChipLinkLost`,
 * the one error the reader resumes from: it then calls [reconnect] and goes on from the last
 * byte read, so the citizen only has to hold the card against the phone again. That covers
 * `TagLostException` (card moved away), the `IOException` Android throws when a transceive
 * times out (a slow chip or a weak field), a `SecurityException` for a tag object that is out
 * of date, and an `IllegalStateException` when the link was closed underneath us.
 */
class IsoDepTransport(
    private val isoDep: IsoDep,
    private val reconnectTimeoutMs: Long = 15_000,
    transceiveTimeoutMs: Int = 5_000,
) : ApduTransport {
    init {
        isoDep.timeout = transceiveTimeoutMs
        linkCall { if (!isoDep.isConnected) isoDep.connect() }
    }

    override fun transceive(command: ByteArray): ByteArray = linkCall { isoDep.transceive(command) }

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
                Thread.sleep(RETRY_MS)
            } catch (e: SecurityException) {
                Thread.sleep(RETRY_MS)
            } catch (e: IllegalStateException) {
                Thread.sleep(RETRY_MS)
            }
        }
        throw EidException.ChipLinkLost()
    }

    private inline fun <T> linkCall(block: () -> T): T = try {
        block()
    } catch (e: TagLostException) {
        throw EidException.ChipLinkLost()
    } catch (e: IOException) {
        throw EidException.ChipLinkLost()
    } catch (e: SecurityException) {
        throw EidException.ChipLinkLost()
    } catch (e: IllegalStateException) {
        throw EidException.ChipLinkLost()
    }

    private companion object {
        const val RETRY_MS = 200L
    }
}
