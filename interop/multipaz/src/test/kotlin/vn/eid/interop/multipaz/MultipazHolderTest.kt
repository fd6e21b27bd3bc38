package vn.eid.interop.multipaz

import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.boolean
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.Arguments
import org.junit.jupiter.params.provider.MethodSource
import org.multipaz.crypto.Algorithm
import org.multipaz.cbor.DataItem
import org.multipaz.crypto.EcCurve
import org.multipaz.cbor.Simple
import org.multipaz.cbor.Tstr
import java.io.File
import org.multipaz.util.UUID
import kotlin.random.Random
import java.nio.file.Files

/**
 * The other direction: a Multipaz holder (its own IACA, document signer, MSO, engagement,
 * session encryption and DeviceResponse) answers our reader `eid mdoc read --tcp`. Multipaz
 * checks our reader's DeviceRequest (its reader authentication); our reader checks Multipaz's
 * response against Multipaz's IACA.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class MultipazHolderTest {
    private val eid: String = System.getProperty("eid.cli") ?: error("-Deid.cli not set")
    private lateinit var dir: File
    private lateinit var holder: MultipazHolder
    private lateinit var iacaPem: File

    @BeforeAll
    fun setUp() {
        dir = Files.createTempDirectory("eid-multipaz-holder-").toFile()
        holder = MultipazHolder.create()
        iacaPem = File(dir, "multipaz-iaca.pem").apply { writeText(holder.iacaPem) }
    }

    @AfterAll
    fun tearDown() {
        if (::dir.isInitialized) dir.deleteRecursively()
    }

    /** `eid mdoc read` against [session]: exit code and its JSON verdict. */
    private fun ourRead(session: MultipazHolder.Session, vararg extra: String): Pair<Int, JsonObject> =
        ourRead(listOf("--engagement", session.uri, "--tcp", session.address) + extra)

    /** `eid mdoc read` with [args] (transport and options): exit code and its JSON verdict. */
    private fun ourRead(args: List<String>): Pair<Int, JsonObject> {
        val p = ProcessBuilder(
            listOf(eid, "mdoc", "read", "--dev", "--elements", ELEMENTS.joinToString(","), "--json") + args,
        ).also { pb -> pb.environment().keys.removeIf { it.startsWith("EID_") } }.start()
        val (code, out, err) = finish(Children.add(p), "eid mdoc read")
        val verdict = runCatching { Json.parseToJsonElement(out).jsonObject }
            .getOrElse { throw AssertionError("eid mdoc read: exit $code, no JSON: $out\n$err") }
        return code to verdict
    }

    /** Our reader's verdict: exit 0, valid, the PhotoID with the values Multipaz issued. */
    private fun assertReadsIssuedPhotoId(code: Int, verdict: JsonObject) {
        assertEquals(0, code, verdict.toString())
        assertTrue(verdict["valid"]!!.jsonPrimitive.boolean, verdict.toString())
        assertEquals(PHOTO_ID, verdict["doctype"]!!.jsonPrimitive.content)
        val elements = verdict["elements"]!!.jsonObject
        assertEquals("Multipaz", elements["family_name"]!!.jsonPrimitive.content)
        assertEquals("Interop", elements["given_name"]!!.jsonPrimitive.content)
        assertEquals(true, elements["age_over_18"]!!.jsonPrimitive.boolean)
    }

    @Test
    fun `our reader finds a Multipaz-issued PhotoID response valid, and Multipaz authenticates our reader`() {
        val session = holder.present(PHOTO_ID, PHOTO_ID_NS, VALUES)
        val (code, verdict) = ourRead(session, "--trust", iacaPem.path)
        val seen = session.seen()
        assertReadsIssuedPhotoId(code, verdict)
        // What Multipaz read of our DeviceRequest: the docType, the elements, and a valid
        // readerAuth over ReaderAuthentication (signature checked with the certificate's key).
        assertEquals(PHOTO_ID, seen.docType)
        assertEquals(ELEMENTS.sorted(), seen.elements.sorted())
        assertTrue(seen.readerAuthenticated, "Multipaz verifies our reader's readerAuth")
        assertTrue(seen.readerChain!!.certificates.isNotEmpty())
        // Multipaz signed DeviceAuthentication with ES256 (-7), the one alg our COSE check takes.
        assertEquals(-7L, seen.deviceSignatureAlg)
    }

    /**
     * Over NFC: the Multipaz holder is a card in vpcd, and our reader reads it through pcscd as a
     * desk reader reads a phone: Multipaz's Type 4 Tag and static Handover Select, then its
     * ENVELOPE / GET RESPONSE data transfer. [extendedLength]: what the card's ATR announces.
     */
    private fun readOverNfc(extendedLength: Boolean, negotiated: Boolean = false) {
        PcscNfcTag.waitUntilEmpty(EidFixture.VPCD_READER, EidFixture.TIMEOUT_S * 1000)
        holder.presentNfc(EidFixture.VPCD_ADDR, PHOTO_ID, PHOTO_ID_NS, VALUES, extendedLength, negotiated).use { session ->
            readOverNfc(session, extendedLength)
            // Negotiated handover: our reader wrote its Service Select and Handover Request into
            // the tag's NDEF file (UPDATE BINARY); static: it only read.
            val writes = session.commands.count { it[1] == 0xD6.toByte() }
            if (negotiated) assertEquals(2, writes, "one UPDATE BINARY per TNEP message") else assertEquals(0, writes)
        }
    }

    private fun readOverNfc(session: MultipazHolder.Session, extendedLength: Boolean) {
        runCatching { PcscNfcTag.waitUntilPresent(EidFixture.VPCD_READER, 10_000) }.onFailure { e ->
            // The card never came: say why the holder stopped, if it did.
            throw AssertionError("${e.message}; the holder: ${runCatching { session.seen() }.exceptionOrNull()}", e)
        }
        val (code, verdict) = ourRead(listOf("--pcsc", "--reader", EidFixture.VPCD_READER, "--trust", iacaPem.path))
        val seen = session.seen()
        assertReadsIssuedPhotoId(code, verdict)
        // Multipaz read our request under the NFC transcript and verified its readerAuth.
        assertEquals(ELEMENTS.sorted(), seen.elements.sorted())
        assertTrue(seen.readerAuthenticated, "Multipaz verifies our reader's readerAuth")
        // Our reader fitted its APDUs to what the card's ATR announced.
        val envelopes = session.commands.filter { it[1] == 0xC3.toByte() }
        val chained = envelopes.count { it[0] == 0x10.toByte() }
        val getResponses = session.commands.count { it[1] == 0xC0.toByte() }
        if (extendedLength) {
            assertEquals(0, chained + getResponses, "one extended ENVELOPE per message, nothing chained or fetched")
        } else {
            assertTrue(chained > 0, "the signed request was chained over short ENVELOPEs")
            assertTrue(getResponses > 0, "the answer was fetched with GET RESPONSE")
            assertTrue(session.commands.all { it.size <= 5 + 255 + 1 }, "short APDUs only")
        }
    }

    @Test
    fun `over NFC through a desk reader, our reader engages a Multipaz holder by static handover and reads it by extended ENVELOPE`() =
        readOverNfc(extendedLength = true)

    @Test
    fun `over NFC with a card that takes short APDUs only, our reader chains its request and fetches the answer with GET RESPONSE`() =
        readOverNfc(extendedLength = false)

    /**
     * ISO/IEC 18013-5 §8.2.2.1 lets the mdoc engage by negotiated handover: Multipaz's holder
     * offers the Connection Handover service over TNEP, our reader selects it and writes its
     * Handover Request, Multipaz picks NFC and answers with its Handover Select. Multipaz then
     * decrypts our request only if we put `[HandoverSelect, HandoverRequest]` in the transcript.
     */
    @Test
    fun `over NFC by negotiated handover, our reader writes its Handover Request to a Multipaz holder and reads it`() =
        readOverNfc(extendedLength = true, negotiated = true)

    /**
     * A Multipaz holder whose static Handover Select names BLE peripheral server mode before
     * NFC (as its phone apps do): our desk reads Multipaz's BLE carrier record as that mode with
     * Multipaz's UUID, and reads over NFC, which it speaks.
     */
    @Test
    fun `over NFC, our desk reads the BLE carrier a Multipaz holder names first and reads over NFC`() {
        val uuid = UUID.randomUUID(Random.Default)
        PcscNfcTag.waitUntilEmpty(EidFixture.VPCD_READER, EidFixture.TIMEOUT_S * 1000)
        holder.presentNfc(EidFixture.VPCD_ADDR, PHOTO_ID, PHOTO_ID_NS, VALUES, bleFirst = uuid).use { session ->
            PcscNfcTag.waitUntilPresent(EidFixture.VPCD_READER, 10_000)
            val (code, verdict) = ourRead(listOf("--pcsc", "--reader", EidFixture.VPCD_READER, "--trust", iacaPem.path))
            session.seen()
            assertReadsIssuedPhotoId(code, verdict)
            assertEquals("nfc", verdict["retrieval"]!!.jsonPrimitive.content)
            val handover = verdict["handover"]!!.jsonObject
            assertFalse(handover["negotiated"]!!.jsonPrimitive.boolean)
            assertTrue(handover["nfc"]!!.jsonPrimitive.boolean)
            val ble = handover["ble"]!!.jsonObject
            assertTrue(ble["peripheral_server"]!!.jsonPrimitive.boolean, "$ble")
            assertFalse(ble["central_client"]!!.jsonPrimitive.boolean, "$ble")
            assertEquals(uuid.toString(), ble["uuid"]!!.jsonPrimitive.content)
        }
    }

    /** A Multipaz holder naming BLE only: our desk, which reads over NFC, says so plainly. */
    @Test
    fun `over NFC, a Multipaz holder naming BLE only is refused with the reason`() {
        PcscNfcTag.waitUntilEmpty(EidFixture.VPCD_READER, EidFixture.TIMEOUT_S * 1000)
        val uuid = UUID.randomUUID(Random.Default)
        holder.presentNfc(EidFixture.VPCD_ADDR, PHOTO_ID, PHOTO_ID_NS, VALUES, bleFirst = uuid, nfcToo = false).use {
            PcscNfcTag.waitUntilPresent(EidFixture.VPCD_READER, 10_000)
            val p = ProcessBuilder(
                listOf(eid, "mdoc", "read", "--dev", "--pcsc", "--reader", EidFixture.VPCD_READER, "--elements", "family_name", "--json"),
            ).also { pb -> pb.environment().keys.removeIf { it.startsWith("EID_") } }.start()
            val (code, out, err) = finish(Children.add(p), "eid mdoc read")
            assertEquals(1, code, "$out\n$err")
            assertTrue(err.contains("the phone offers data retrieval by BLE only, not by NFC"), err)
        }
    }

    @Test
    fun `our reader verifies a Multipaz device MAC`() {
        val session = holder.present(PHOTO_ID, PHOTO_ID_NS, VALUES, deviceMac = true)
        val (code, verdict) = ourRead(session, "--trust", iacaPem.path)
        val seen = session.seen()
        assertEquals(0, code, verdict.toString())
        assertTrue(verdict["valid"]!!.jsonPrimitive.boolean, verdict.toString())
        assertTrue(verdict["device_mac"]!!.jsonPrimitive.boolean, "our reader says the device authenticated by MAC")
        assertEquals(null, seen.deviceSignatureAlg, "Multipaz sent a deviceMac, no signature")
        assertEquals("Multipaz", verdict["elements"]!!.jsonObject["family_name"]!!.jsonPrimitive.content)
    }

    @Test
    fun `a Multipaz response with an element changed after signing fails in our reader`() {
        val session = holder.present(PHOTO_ID, PHOTO_ID_NS, VALUES, tamper = "family_name" to Tstr("Mallory"))
        val (code, verdict) = ourRead(session, "--trust", iacaPem.path)
        session.seen()
        assertEquals(1, code, verdict.toString())
        assertFalse(verdict["valid"]!!.jsonPrimitive.boolean, verdict.toString())
        val reasons = verdict["reasons"]!!.jsonArray.joinToString("\n") { it.jsonPrimitive.content }
        assertTrue(reasons.contains("digest", ignoreCase = true), reasons)
        assertTrue(verdict["elements"]?.jsonObject?.get("family_name")?.jsonPrimitive?.content != "Mallory",
            "the changed value is not shown as verified: $verdict")
    }

    /** ISO/IEC 18013-5 §9.1.5.2: the holder picks EDeviceKey's curve; our reader follows it. */
    @Test
    fun `our reader reads a Multipaz holder whose EDeviceKey is on P-384`() {
        val session = holder.present(PHOTO_ID, PHOTO_ID_NS, VALUES, eDeviceCurve = EcCurve.P384)
        val (code, verdict) = ourRead(session, "--trust", iacaPem.path)
        session.seen()
        assertEquals(0, code, verdict.toString())
        assertTrue(verdict["valid"]!!.jsonPrimitive.boolean, verdict.toString())
    }

    /**
     * The other curves and algorithms of ISO/IEC 18013-5 a Multipaz holder may pick, each read
     * by `eid mdoc read` (docs/adr/0069): the session's EDeviceKey (§9.1.5.2), the device key
     * that signs DeviceAuthentication (ES256/ES384/ES512 and EdDSA with their curves) or
     * computes the device MAC with EReaderKey (on the session's curve, §9.1.3.5).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("holderKeys")
    fun `our reader reads a Multipaz holder on every curve and device key we take`(
        case: String,
        eDeviceCurve: EcCurve,
        deviceKey: Algorithm,
        mac: Boolean,
        expectedAlg: Long?,
    ) {
        val session = holder.present(PHOTO_ID, PHOTO_ID_NS, VALUES, deviceMac = mac,
            eDeviceCurve = eDeviceCurve, deviceKeyAlgorithm = deviceKey)
        val (code, verdict) = ourRead(session, "--trust", iacaPem.path)
        val seen = session.seen()
        assertEquals(0, code, "$case: $verdict")
        assertTrue(verdict["valid"]!!.jsonPrimitive.boolean, "$case: $verdict")
        assertEquals(mac, verdict["device_mac"]!!.jsonPrimitive.boolean, case)
        assertEquals("Multipaz", verdict["elements"]!!.jsonObject["family_name"]!!.jsonPrimitive.content)
        // What Multipaz put in the deviceSignature's protected header (null: a MAC).
        assertEquals(expectedAlg, seen.deviceSignatureAlg, case)
    }

    /** An issuer on P-384 (ES384) and one on P-521 (ES512): IACA, document signer and MSO. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("issuers")
    fun `our reader checks a Multipaz issuer signing with ES384 and ES512`(curve: EcCurve, algorithm: Algorithm) {
        val issuer = MultipazHolder.create(curve, algorithm)
        val pem = File(dir, "multipaz-iaca-${curve.name}.pem").apply { writeText(issuer.iacaPem) }
        val session = issuer.present(PHOTO_ID, PHOTO_ID_NS, VALUES)
        val (code, verdict) = ourRead(session, "--trust", pem.path)
        session.seen()
        assertEquals(0, code, verdict.toString())
        assertTrue(verdict["valid"]!!.jsonPrimitive.boolean, verdict.toString())
        // The same holder's element changed after signing still fails the digest check.
        val tampered = issuer.present(PHOTO_ID, PHOTO_ID_NS, VALUES, tamper = "family_name" to Tstr("Mallory"))
        val (badCode, bad) = ourRead(tampered, "--trust", pem.path)
        tampered.seen()
        assertEquals(1, badCode, bad.toString())
        assertFalse(bad["valid"]!!.jsonPrimitive.boolean, bad.toString())
    }

    @Test
    fun `our reader refuses a Multipaz issuer it was not told to trust`() {
        val session = holder.present(PHOTO_ID, PHOTO_ID_NS, VALUES)
        // No --trust: the fixture trust root only, which did not make Multipaz's IACA.
        val (code, verdict) = ourRead(session)
        session.seen()
        assertEquals(1, code, verdict.toString())
        assertFalse(verdict["valid"]!!.jsonPrimitive.boolean, verdict.toString())
    }

    companion object {
        @JvmStatic
        fun holderKeys(): List<Arguments> = listOf(
            Arguments.of("session P-521", EcCurve.P521, Algorithm.ESP256, false, -7L),
            Arguments.of("session brainpoolP256r1", EcCurve.BRAINPOOLP256R1, Algorithm.ESP256, false, -7L),
            Arguments.of("session brainpoolP384r1", EcCurve.BRAINPOOLP384R1, Algorithm.ESP256, false, -7L),
            Arguments.of("session X25519", EcCurve.X25519, Algorithm.ESP256, false, -7L),
            Arguments.of("device key P-384, ES384", EcCurve.P256, Algorithm.ESP384, false, -35L),
            Arguments.of("device key P-521, ES512", EcCurve.P256, Algorithm.ESP512, false, -36L),
            Arguments.of("device key brainpoolP256r1, ES256", EcCurve.P256, Algorithm.ESB256, false, -7L),
            Arguments.of("device key brainpoolP384r1, ES384", EcCurve.P256, Algorithm.ESB384, false, -35L),
            Arguments.of("device key Ed25519, EdDSA", EcCurve.P256, Algorithm.ED25519, false, -8L),
            Arguments.of("MAC on P-384", EcCurve.P384, Algorithm.ECDH_P384, true, null),
            Arguments.of("MAC on X25519", EcCurve.X25519, Algorithm.ECDH_X25519, true, null),
        )

        @JvmStatic
        fun issuers(): List<Arguments> = listOf(
            Arguments.of(EcCurve.P384, Algorithm.ES384),
            Arguments.of(EcCurve.P521, Algorithm.ES512),
        )

        const val PHOTO_ID = "org.iso.23220.photoid.1"
        const val PHOTO_ID_NS = "org.iso.23220.1"
        val ELEMENTS = listOf("family_name", "given_name", "age_over_18")
        val VALUES: Map<String, DataItem> = mapOf(
            "family_name" to Tstr("Multipaz"),
            "given_name" to Tstr("Interop"),
            "age_over_18" to Simple.TRUE,
            "age_over_21" to Simple.FALSE,
        )
    }
}
