package vn.eid.interop.multipaz

import kotlinx.io.bytestring.ByteString
import org.multipaz.nfc.CommandApdu
import org.multipaz.nfc.NfcIsoTag
import org.multipaz.nfc.ResponseApdu
import javax.smartcardio.Card
import javax.smartcardio.CardException
import javax.smartcardio.CardTerminal
import javax.smartcardio.TerminalFactory

/**
 * Multipaz's view of an ISO-DEP tag ([NfcIsoTag]), made of a card in a PC/SC reader: a phone
 * held to a desk reader. It passes APDUs and nothing else: every protocol step is Multipaz's.
 * The JDK must not answer 61xx with its own GET RESPONSE (`sun.security.smartcardio.t0/t1
 * GetResponse=false`, set in the pom), so Multipaz sees the holder's status words as they are.
 */
class PcscNfcTag private constructor(
    private val card: Card,
    /** 65279: what an Android phone reports for an extended-length ISO-DEP tag; 261: short APDUs only. */
    override val maxTransceiveLength: Int,
) : NfcIsoTag() {
    /** Every status word the holder answered, in order. */
    val statusWords = mutableListOf<Int>()

    override suspend fun transceive(command: CommandApdu): ResponseApdu {
        val r = card.basicChannel.transmit(javax.smartcardio.CommandAPDU(command.encode()))
        statusWords += r.sw
        return ResponseApdu(r.sw, ByteString(r.data))
    }

    /** Resets the card, as most PC/SC reader applications leave a card. */
    override suspend fun close() {
        card.disconnect(true)
    }

    override suspend fun updateDialogMessage(message: String) {}

    companion object {
        /**
         * Waits until PC/SC reader [readerName] holds no card: pcscd notices a holder that has
         * gone only at its next poll, and a new one must not be taken for the old.
         */
        fun waitUntilEmpty(readerName: String, timeoutMs: Long) {
            val terminal = terminal(readerName)
            check(terminal.waitForCardAbsent(timeoutMs)) { "a card stays in '$readerName' after $timeoutMs ms" }
        }

        /** Waits until PC/SC reader [readerName] holds a card (a holder has come), without connecting. */
        fun waitUntilPresent(readerName: String, timeoutMs: Long) {
            check(terminal(readerName).waitForCardPresent(timeoutMs)) { "no card in '$readerName' after $timeoutMs ms" }
        }

        private fun terminal(readerName: String): CardTerminal {
            val readers = try {
                TerminalFactory.getDefault().terminals().list()
            } catch (e: CardException) {
                // SCARD_E_NO_READERS_AVAILABLE: pcscd runs, but vpcd did not come up in it.
                throw IllegalStateException("pcscd has no reader at all, so not '$readerName' (scripts/pcsc-env.sh)", e)
            }
            return readers.firstOrNull { it.name == readerName }
                ?: error("no PC/SC reader '$readerName' (is pcscd with vpcd running?)")
        }

        /** The card in PC/SC reader [readerName], once one is there (within [timeoutMs]). */
        fun waitFor(readerName: String, timeoutMs: Long, maxTransceiveLength: Int = 65279): PcscNfcTag {
            waitUntilPresent(readerName, timeoutMs)
            return PcscNfcTag(terminal(readerName).connect("*"), maxTransceiveLength)
        }
    }
}
