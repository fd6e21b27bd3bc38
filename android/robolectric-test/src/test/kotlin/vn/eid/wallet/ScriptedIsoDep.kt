package vn.eid.wallet

import android.nfc.tech.IsoDep
import org.robolectric.annotation.Implementation
import org.robolectric.annotation.Implements
import org.robolectric.shadows.ShadowIsoDep

/**
 * Robolectric's IsoDep with a script: each transceive and connect runs the test's lambda, so a
 * test can make the real `IsoDep` calls of the glue throw what Android throws (TagLostException,
 * the IOException of a timeout, SecurityException for a stale tag). Counts the calls.
 */
@Implements(IsoDep::class)
class ScriptedIsoDep : ShadowIsoDep() {
    var onTransceive: (ByteArray) -> ByteArray = { ByteArray(0) }
    var onConnect: () -> Unit = {}
    var connects = 0
        private set
    var closes = 0
        private set
    private var connected = false

    @Implementation
    override fun transceive(data: ByteArray): ByteArray {
        check(connected) { "Call connect() first!" }
        return onTransceive(data)
    }

    @Implementation
    override fun connect() {
        connects++
        onConnect()
        connected = true
    }

    @Implementation
    override fun close() {
        closes++
        connected = false
    }

    @Implementation
    override fun isConnected(): Boolean = connected
}
