package vn.eid.wallet

import vn.eid.wallet.testing.SimException
import vn.eid.wallet.testing.SimulatedCard

/** An ApduTransport in Kotlin over the simulated CCCD, shaped like the IsoDep glue. */
class SimLink(private val card: SimulatedCard) : ApduTransport {
    var apdus = 0
        private set

    override fun transceive(command: ByteArray): ByteArray {
        apdus++
        return try {
            card.transceive(command)
        } catch (e: SimException.LinkLost) {
            throw EidException.ChipLinkLost()
        }
    }

    override fun maxTransceiveLength(): UInt = 65544u

    override fun extendedLengthSupported(): Boolean = true

    override fun reconnect() = card.reconnect()
}
