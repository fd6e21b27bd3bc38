package vn.eid.wallet

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import vn.eid.wallet.testing.SimCitizen
import vn.eid.wallet.testing.SimulatedCard
import vn.eid.wallet.testing.devSmsCode
import vn.eid.wallet.testing.simCitizens
import java.net.URI
import java.nio.file.Files
import java.nio.file.Path
import java.util.Base64
import java.util.UUID
import java.util.concurrent.TimeUnit

private const val PHOTO_ID = "org.iso.23220.photoid.1"
private const val PHOTO_ID_NS = "org.iso.23220.1"

/** The citizen: remembers what was shown, answers `decision`. */
class RecordingConsent(private val decision: MdocDecision) : MdocConsent {
    val shown = mutableListOf<MdocPresentationRequest>()
    override fun decide(request: MdocPresentationRequest): MdocDecision {
        shown.add(request)
        return decision
    }
}

/**
 * One end of an in-memory GATT connection in Kotlin: a send is the peer's `onValue`, delivered
 * synchronously (the harshest a platform could be); values must fit the MTU.
 */
class MemoryGattLink(private val mtu: UInt, private val sizes: MutableList<Int>) : MdocGattLink {
    var deliver: ((MdocCharacteristic, ByteArray) -> Unit)? = null
    var onClosed: (() -> Unit)? = null
    var ident: ByteArray? = null
    var closed = false
        private set

    override fun mtu(): UInt = mtu

    override fun send(characteristic: MdocCharacteristic, value: ByteArray) {
        if (closed) throw EidException.Mdoc("link closed")
        check(value.size <= mtu.toInt() - 3) { "value of ${value.size} bytes over MTU $mtu" }
        sizes.add(value.size)
        deliver!!(characteristic, value)
    }

    override fun read(characteristic: MdocCharacteristic): ByteArray {
        check(characteristic == MdocCharacteristic.IDENT)
        return ident!!
    }

    override fun disconnect() {
        if (!closed) {
            closed = true
            onClosed?.invoke()
        }
    }
}

/** ISO 18013-5 through the Kotlin bindings: a wallet and a reader in one JVM. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MdocTest {
    private lateinit var server: Process
    private lateinit var backendUrl: String
    private val serverDir: Path = Files.createTempDirectory("eid-backend-mdoc")
    private val walletDir: Path = Files.createTempDirectory("eid-wallet-mdoc")
    private lateinit var wallet: WalletHandle
    private lateinit var citizen: SimCitizen
    private lateinit var iacas: List<ByteArray>

    @BeforeAll
    fun activatedWallet() = runBlocking {
        val cli = System.getProperty("eid.cli") ?: error("-Deid.cli is not set")
        server = ProcessBuilder(cli, "serve", "--dev", "--addr", "127.0.0.1:0", "--db", "sqlite://${serverDir.resolve("backend.db")}", "--log", "warn")
            .apply { environment()["EID_ADMIN_TOKEN"] = UUID.randomUUID().toString() }
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start()
        val line = server.inputStream.bufferedReader().lineSequence()
            .firstOrNull { it.startsWith("listening on ") } ?: error("eid serve exited")
        backendUrl = line.removePrefix("listening on ").trim()

        citizen = simCitizens(5u)[4]
        wallet = WalletHandle.open(WalletConfig(walletDir.toString(), backendUrl), SoftwareKeyStore(), HttpUrlConnectionTransport())
        wallet.setUp("123456")
        val pending = wallet.startActivation(citizen.idNumber, citizen.phone)
        val chip = readChip(
            SimLink(SimulatedCard(citizen.idNumber, null)),
            ChipAccessKey.Mrz(citizen.idNumber, citizen.dateOfBirth, citizen.dateOfExpiry),
            ChipReadOptions(false, pending.chipChallenge), null, null,
        )
        wallet.completeActivation(pending, devSmsCode(backendUrl, citizen.phone)!!, chip, Passcode("123456"))
        wallet.sync(null, Passcode("123456"))

        // The IACA roots of the backend's trust list, as a verifier app would fetch them.
        val json = URI("$backendUrl/v1/trust-list").toURL().readText()
        val list = Regex("\"iaca\"\\s*:\\s*\\[([^\\]]*)]").find(json)!!.groupValues[1]
        iacas = Regex("\"([^\"]+)\"").findAll(list).map { Base64.getUrlDecoder().decode(it.groupValues[1]) }.toList()
        assertEquals(1, iacas.size)
    }

    @AfterAll
    fun stop() {
        server.destroy()
        server.waitFor(10, TimeUnit.SECONDS)
        serverDir.toFile().deleteRecursively()
        walletDir.toFile().deleteRecursively()
    }

    private fun request(ids: List<String>) =
        MdocReadRequest(PHOTO_ID, ids.map { MdocRequestedElement(PHOTO_ID_NS, it, false) })

    /** Joins holder and reader with two in-memory links in `mode`; the reader's verdict. */
    private fun joinOverBle(holder: MdocBlePresentation, reader: MdocBleReader, mode: MdocBleMode, sizes: MutableList<Int>): MdocVerdict? {
        val toReader = MemoryGattLink(64u, sizes).apply {
            deliver = { c, v -> reader.onValue(c, v) }
            onClosed = { reader.onDisconnected() }
            ident = reader.ident()
        }
        val toHolder = MemoryGattLink(64u, sizes).apply {
            deliver = { c, v -> holder.onValue(c, v) }
            onClosed = { holder.onDisconnected() }
        }
        if (mode == MdocBleMode.PERIPHERAL_SERVER) {
            holder.connected(toReader, mode)
            reader.connected(toHolder, mode)
        } else {
            reader.connected(toHolder, mode)
            holder.connected(toReader, mode)
        }
        return reader.verdict()
    }

    @Test
    fun bleRoundTripInBothModesSharesTheAskedElements() {
        for (mode in MdocBleMode.entries) {
            val before = wallet.transactions().size
            val consent = RecordingConsent(MdocDecision.ACCEPT)
            val holder = wallet.mdocPresentQr(MdocBleOptions(true, true), consent)
            assertTrue(holder.qrUri().startsWith("mdoc:"))
            val asked = listOf("family_name", "given_name", "birth_date", "document_number", "resident_address")
            val reader = MdocBleReader(holder.qrUri(), request(asked), iacas, null)
            val sizes = mutableListOf<Int>()
            val verdict = joinOverBle(holder, reader, mode, sizes)
            assertNotNull(verdict, "$mode")
            assertTrue(verdict!!.valid, "$mode: ${verdict.reasons}")
            assertEquals(asked.toSet(), verdict.elements.map { it.identifier }.toSet())
            assertEquals("\"${citizen.idNumber}\"", verdict.elements.first { it.identifier == "document_number" }.valueJson)
            assertTrue(sizes.size > 10 && sizes.max() <= 61, "chunked at the MTU: $sizes")
            assertEquals(MdocPresentationState.Shared, holder.state())
            val shown = consent.shown.single()
            assertNull(shown.reader)
            assertEquals(asked, shown.documents.single().elements.map { it.identifier })
            val log = wallet.transactions()
            assertEquals(before + 1, log.size)
            val entry = log.filter { it.profile == "mdoc" }.maxBy { it.atMs }
            assertEquals(TransactionOutcome.SUCCESS, entry.outcome)
            assertEquals(asked.map { "$PHOTO_ID/$PHOTO_ID_NS/$it" }.sorted(), entry.fields.sorted())
        }
    }

    /**
     * What the wallet does not hold (ADR 0076): the PhotoID has no eye colour and no
     * age_over_20. The citizen sees both (the latter answered by age_over_21, ISO 18013-5
     * §7.2.5); the desk's valid verdict names eye_colour not returned; the log lists what was sent.
     */
    @Test
    fun whatTheWalletDoesNotHoldIsShownAndNamedNotReturned() {
        val consent = RecordingConsent(MdocDecision.ACCEPT)
        val holder = wallet.mdocPresentQr(MdocBleOptions(true, false), consent)
        val asked = listOf("family_name", "eye_colour", "age_over_20")
        val reader = MdocBleReader(holder.qrUri(), request(asked), iacas, null)
        val verdict = joinOverBle(holder, reader, MdocBleMode.PERIPHERAL_SERVER, mutableListOf())!!
        assertTrue(verdict.valid, "${verdict.reasons}")
        assertEquals(setOf("family_name", "age_over_21"), verdict.elements.map { it.identifier }.toSet())
        assertEquals("true", verdict.elements.first { it.identifier == "age_over_21" }.valueJson)
        assertEquals(listOf(MdocElementName(PHOTO_ID_NS, "eye_colour")), verdict.notReturned)
        val doc = consent.shown.single().documents.single()
        assertEquals(listOf("eye_colour"), doc.notHeld.map { it.identifier })
        assertEquals(listOf(MdocNearestAge(PHOTO_ID_NS, "age_over_20", "age_over_21")), doc.nearestAge)
        val entry = wallet.transactions().filter { it.profile == "mdoc" }.maxBy { it.atMs }
        assertEquals(listOf("family_name", "age_over_21").map { "$PHOTO_ID/$PHOTO_ID_NS/$it" }, entry.fields)
    }

    @Test
    fun declineGivesTheReaderNothing() {
        val holder = wallet.mdocPresentQr(MdocBleOptions(true, false), RecordingConsent(MdocDecision.DECLINE))
        assertNull(holder.centralClientUuid())
        val reader = MdocBleReader(holder.qrUri(), request(listOf("family_name")), iacas, null)
        val verdict = joinOverBle(holder, reader, MdocBleMode.PERIPHERAL_SERVER, mutableListOf())!!
        assertFalse(verdict.valid)
        assertTrue(verdict.elements.isEmpty())
        assertEquals(MdocPresentationState.Declined, holder.state())
        assertThrows<EidException.InvalidInput> {
            holder.connected(MemoryGattLink(185u, mutableListOf()), MdocBleMode.CENTRAL_CLIENT)
        }
    }

    /** The reader's NFC link hands every APDU to the holder's `processApdu`, as HCE does. */
    private class Hce(private val holder: MdocNfcPresentation) : ApduTransport {
        val commands = mutableListOf<ByteArray>()
        override fun transceive(command: ByteArray): ByteArray {
            commands.add(command)
            return holder.processApdu(command)
        }
        override fun maxTransceiveLength(): UInt = 65544u
        override fun extendedLengthSupported(): Boolean = true
        override fun reconnect() {}
    }

    @Test
    fun nfcReaderApdusGoToProcessApdu() = runBlocking {
        val consent = RecordingConsent(MdocDecision.ACCEPT)
        val holder = wallet.mdocPresentNfc(consent)
        assertEquals(MdocPresentationState.Waiting, holder.state())
        val hce = Hce(holder)
        val verdict = mdocReadNfc(hce, request(listOf("family_name", "birth_date")), iacas, null)
        assertTrue(verdict.valid, verdict.reasons.toString())
        assertEquals(setOf("family_name", "birth_date"), verdict.elements.map { it.identifier }.toSet())
        assertTrue(hce.commands.any { it[1] == 0xC3.toByte() }, "ENVELOPE")
        assertEquals(MdocPresentationState.Shared, holder.state())
        assertEquals(1, consent.shown.size)

        val declined = wallet.mdocPresentNfc(RecordingConsent(MdocDecision.DECLINE))
        val nothing = mdocReadNfc(Hce(declined), request(listOf("family_name")), iacas, null)
        assertFalse(nothing.valid)
        assertTrue(nothing.elements.isEmpty())
        assertEquals(MdocPresentationState.Declined, declined.state())
    }

    /**
     * A phone held to the reader's phone, whose NFC handover names BLE peripheral server mode
     * before NFC (ISO/IEC 18013-5 §8.2.2.1): `mdocTap` reads the engagement by NFC and hands
     * over to BLE, and the session over BLE verifies only under the NFC transcript. By static
     * handover (the holder's UUID) and negotiated (the reader's UUID, the holder choosing BLE).
     */
    @Test
    fun aTapHandsOverToBleWhenTheHolderNamesIt(): Unit = runBlocking {
        val asked = listOf("family_name", "given_name", "birth_date")
        for (negotiated in listOf(false, true)) {
            val before = wallet.transactions().size
            val consent = RecordingConsent(MdocDecision.ACCEPT)
            val holder = wallet.mdocPresentNfc(consent, MdocBleOptions(true, false), negotiated)
            val ble = holder.ble()
            assertEquals("", ble.qrUri())
            // Static: the UUID to advertise is known at once; negotiated: once the reader asked.
            assertEquals(negotiated, ble.peripheralServerUuid() == null)
            val hce = Hce(holder)
            val tap = mdocTap(hce, MdocBleOptions(true, false), request(asked), iacas, null)
            val reader = (tap as MdocTap.OverBle).reader
            // The citizen takes the phone away: the HCE link drops, the BLE carrier holds.
            holder.onDeactivated(MdocNfcDeactivation.LINK_LOSS)
            assertNotNull(ble.peripheralServerUuid())
            assertEquals(ble.peripheralServerUuid(), reader.peripheralServerUuid(), "negotiated=$negotiated")
            assertNull(reader.centralClientUuid())
            assertTrue(hce.commands.none { it[1] == 0xC3.toByte() }, "no ENVELOPE: the data goes over BLE")
            assertEquals(negotiated, hce.commands.any { it[1] == 0xD6.toByte() }, "a Handover Request written")
            val verdict = joinOverBle(ble, reader, MdocBleMode.PERIPHERAL_SERVER, mutableListOf())
            assertNotNull(verdict)
            assertTrue(verdict!!.valid, verdict.reasons.toString())
            assertEquals(asked.toSet(), verdict.elements.map { it.identifier }.toSet())
            assertEquals(MdocPresentationState.Shared, holder.state())
            assertEquals(1, consent.shown.size)
            assertEquals(before + 1, wallet.transactions().size, "logged once")
        }
        // The reader takes central client mode only, the holder offers peripheral server mode
        // only: the tap reads over NFC, and the holder takes no BLE reader afterwards.
        val holder = wallet.mdocPresentNfc(RecordingConsent(MdocDecision.ACCEPT), MdocBleOptions(true, false))
        val tap = mdocTap(Hce(holder), MdocBleOptions(false, true), request(listOf("family_name")), iacas, null)
        assertTrue((tap as MdocTap.Read).verdict.valid, tap.verdict.reasons.toString())
        assertEquals(MdocPresentationState.Shared, holder.state())
        assertThrows<EidException.InvalidInput> {
            holder.ble().connected(MemoryGattLink(185u, mutableListOf()), MdocBleMode.PERIPHERAL_SERVER)
        }
        assertThrows<EidException.InvalidInput> { wallet.mdocPresentNfc(RecordingConsent(MdocDecision.ACCEPT), MdocBleOptions(false, false)) }
    }

    @Test
    fun aDeskChecksEachMsoStatusOnlineOrFromSavedLists() = runBlocking {
        suspend fun read(status: MdocStatusLists?): MdocVerdict {
            val holder = wallet.mdocPresentNfc(RecordingConsent(MdocDecision.ACCEPT))
            return mdocReadNfc(Hce(holder), request(listOf("family_name")), iacas, null, status)
        }
        // The list each MSO names, fetched through the app's transport: this wallet's are valid.
        val online = read(MdocStatusLists.online(HttpUrlConnectionTransport()))
        assertTrue(online.valid, online.reasons.toString())
        // A desk without network and no saved list for the MSO's URI: the status is unknown.
        val unknown = read(MdocStatusLists.saved(listOf()))
        assertFalse(unknown.valid)
        assertEquals(listOf("status list unavailable or invalid"), unknown.reasons)
        assertTrue(unknown.elements.isEmpty())
        // The list saved earlier (the bytes as served) answers for the MSOs naming its URI.
        val saved = URI("$backendUrl/v1/status-list/cwt").toURL().readBytes()
        assertTrue(read(MdocStatusLists.saved(listOf(saved))).valid)
    }

    @Test
    fun characteristicUuidsAreTheStandardOnes() {
        assertEquals("00000002-a123-48ce-896b-4c76973373e6", mdocCharacteristicUuid(MdocBleMode.PERIPHERAL_SERVER, MdocCharacteristic.CLIENT2_SERVER))
        assertEquals("00000008-a123-48ce-896b-4c76973373e6", mdocCharacteristicUuid(MdocBleMode.CENTRAL_CLIENT, MdocCharacteristic.IDENT))
        assertNull(mdocCharacteristicUuid(MdocBleMode.PERIPHERAL_SERVER, MdocCharacteristic.IDENT))
    }
}
