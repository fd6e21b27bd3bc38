package vn.eid.wallet

import android.nfc.cardemulation.HostApduService
import android.os.Bundle
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicReference

/**
 * The phone as an ISO 18013-5 NFC card (Host Card Emulation): every command APDU goes to the
 * active [MdocNfcPresentation]'s `processApdu`, which runs the Type 4 Tag with the static
 * handover, the mdoc application, ENVELOPE/GET RESPONSE and the session, all in the library.
 *
 * Declare it in the manifest with `android.permission.BIND_NFC_SERVICE` and an
 * `apduservice.xml` whose AID group holds D2760000850101 (NFC Forum Type 4 Tag NDEF application)
 * and A0000002480400 (mdoc data retrieval), category "other".
 *
 * The wallet screen starts a presentation (`wallet.mdocPresentNfc(consent)`) and sets it with
 * [activate]; closing the screen calls [deactivate]. With `ble = MdocBleOptions(...)` the
 * handover names BLE before NFC, so a reader phone may go on over BLE after the tap: serve
 * `presentation.ble()` with [MdocGattServer] (peripheral server mode) or [MdocGattClient]
 * (central client mode), at once after a static handover, or once its UUID is set after a
 * negotiated one (`negotiated = true`; the reader's Handover Request chooses). `processApdu` may block while the citizen
 * answers the consent, so it never runs on the main thread: APDUs are handled in order on one
 * worker thread and answered with `sendResponseApdu` (the NFC controller keeps the reader waiting
 * meanwhile). Without an active presentation the service answers "file not found" (6A82), so a
 * reader moves on without engaging.
 */
open class MdocHceService : HostApduService() {
    private val worker: ExecutorService = Executors.newSingleThreadExecutor { r ->
        Thread(r, "mdoc-hce").apply { isDaemon = true }
    }

    override fun processCommandApdu(commandApdu: ByteArray, extras: Bundle?): ByteArray? {
        val presentation = active.get() ?: return NOT_FOUND
        worker.execute {
            val response = try {
                presentation.processApdu(commandApdu)
            } catch (e: RuntimeException) {
                // The library never throws here; a foreign consent callback might.
                NO_DIAGNOSIS
            }
            sendResponseApdu(response)
        }
        return null
    }

    override fun onDeactivated(reason: Int) {
        val presentation = active.get() ?: return
        val why = if (reason == DEACTIVATION_DESELECTED) MdocNfcDeactivation.DESELECTED else MdocNfcDeactivation.LINK_LOSS
        // After the APDUs already queued: the deactivation follows them.
        worker.execute { presentation.onDeactivated(why) }
    }

    override fun onDestroy() {
        worker.shutdown()
        super.onDestroy()
    }

    companion object {
        private val active = AtomicReference<MdocNfcPresentation?>(null)
        private val NOT_FOUND = byteArrayOf(0x6A, 0x82.toByte())
        private val NO_DIAGNOSIS = byteArrayOf(0x6F, 0x00)

        /** The mdoc application and the Type 4 Tag NDEF application the service registers. */
        const val MDOC_AID = "A0000002480400"
        const val NDEF_AID = "D2760000850101"

        /** Makes `presentation` the one readers reach by NFC. */
        fun activate(presentation: MdocNfcPresentation) {
            active.set(presentation)
        }

        /** The screen closed: the presentation ends, readers get 6A82. */
        fun deactivate() {
            active.getAndSet(null)?.cancel()
        }
    }
}
