package vn.eid.wallet

import android.nfc.TagLostException
import java.io.IOException
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.shadow.api.Shadow
import org.robolectric.shadows.ShadowIsoDep
import vn.eid.wallet.testing.SimException
import vn.eid.wallet.testing.SimulatedCard
import vn.eid.wallet.testing.simCitizens

/**
 * The whole path a phone takes: `readChip` in the Rust core → the app's `IsoDepTransport` →
 * Android's `IsoDep` (Robolectric) → the simulated CCCD. The card drops the link every few
 * APDUs (TagLostException) and once times out (IOException): the read still completes, resumed
 * after each `reconnect()`, with chip authentication valid.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], shadows = [ScriptedIsoDep::class])
class ReadChipOverIsoDepTest {
    @Test
    fun aFlakyTagIsReadCompletelyThroughTheAndroidGlue() = runBlocking {
        val citizen = simCitizens(2u)[1]
        val card = SimulatedCard(citizen.idNumber, 25uL)
        val tech = ShadowIsoDep.newInstance()
        val tag: ScriptedIsoDep = Shadow.extract(tech)
        tag.setMaxTransceiveLength(65_279)
        tag.setExtendedLengthApduSupported(true)
        var apdus = 0
        var timedOut = false
        tag.onTransceive = { command ->
            apdus++
            if (apdus == 7 && !timedOut) {
                timedOut = true
                throw IOException("Transceive failed")
            }
            try {
                card.transceive(command)
            } catch (e: SimException.LinkLost) {
                throw TagLostException("Tag was lost.")
            }
        }
        var first = true
        tag.onConnect = {
            if (!first) card.reconnect()
            first = false
        }
        val chip = readChip(
            IsoDepTransport(tech),
            ChipAccessKey.Mrz(citizen.idNumber, citizen.dateOfBirth, citizen.dateOfExpiry),
            ChipReadOptions(false, null),
            null,
            null,
        )
        val summary = chip.summary()
        assertEquals(citizen.idNumber, summary.idNumber)
        assertEquals(ChipAuthStatus.VALID, summary.chipAuthentication)
        assertTrue("the link dropped and the read resumed (${card.reconnects()} reconnects)", card.reconnects() > 0uL)
        assertTrue("one timeout, then reconnects: ${tag.connects} connects", tag.connects >= 3)
    }
}
