package vn.eid.interop.multipaz

import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.Timeout
import org.multipaz.cbor.CborArray
import org.multipaz.cbor.CborMap
import org.multipaz.cbor.Bstr
import org.multipaz.cbor.Cbor
import org.multipaz.cbor.CborInt
import org.multipaz.cbor.Simple
import org.multipaz.cbor.Tstr
import org.multipaz.documenttype.DocumentAttribute
import org.multipaz.documenttype.DocumentAttributeType
import org.multipaz.documenttype.knowntypes.DrivingLicense
import org.multipaz.documenttype.knowntypes.PhotoID
import org.multipaz.cbor.DataItem
import org.multipaz.cbor.Tagged
import org.multipaz.asn1.ASN1Integer
import org.multipaz.crypto.Algorithm
import org.multipaz.crypto.AsymmetricKey
import org.multipaz.crypto.Crypto
import org.multipaz.crypto.EcCurve
import org.multipaz.crypto.X500Name
import org.multipaz.crypto.X509CertChain
import org.multipaz.mdoc.nfc.MdocHandoverType
import org.multipaz.mdoc.connectionmethod.MdocConnectionMethodBle
import org.multipaz.mdoc.connectionmethod.MdocConnectionMethodNfc
import org.multipaz.util.UUID
import kotlin.random.Random
import org.multipaz.mdoc.util.MdocUtil
import kotlin.time.Duration.Companion.days
import kotlin.time.Duration.Companion.hours
import org.multipaz.mdoc.response.DeviceResponseParser
import org.multipaz.storage.ephemeral.EphemeralStorage
import org.multipaz.trustmanagement.TrustManager
import org.multipaz.trustmanagement.TrustMetadata
import kotlin.time.Clock

/**
 * Multipaz as the mdoc reader, our wallet (`eid wallet mdoc present --tcp`) as the holder.
 * Multipaz does every ISO/IEC 18013-5 step; our code is only on the other side of the socket.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class MultipazReaderTest {
    private lateinit var eid: EidFixture
    private lateinit var trust: TrustManager

    @BeforeAll
    fun setUp() {
        eid = EidFixture()
        // The verifier's trust anchor: the IACA of the backend's published trust list, nothing else.
        trust = TrustManager(EphemeralStorage())
        runBlocking { trust.addX509Cert(eid.iaca, TrustMetadata(displayName = "eID IACA (dev backend)")) }
    }

    @AfterAll
    fun tearDown() {
        if (::eid.isInitialized) eid.close()
    }

    private fun signedReader() = MultipazReader(eid.readerKey, X509CertChain(listOf(eid.readerCert)))

    /** Every check of Multipaz's parser passed, and the issuer's chain ends at our IACA. */
    private fun assertVerified(result: MultipazReader.Result, docType: String): DeviceResponseParser.Document =
        assertAllVerified(result, listOf(docType)).single()

    /** The same for an answer with one document per docType asked for, in the request's order. */
    private fun assertAllVerified(result: MultipazReader.Result, docTypes: List<String>): List<DeviceResponseParser.Document> {
        val response = result.response ?: throw AssertionError("the holder answered with no data (status ${result.status})")
        assertEquals(0L, response.status, "DeviceResponse status OK")
        assertEquals(docTypes, response.documents.map { it.docType })
        response.documents.forEach { assertDocumentVerified(it) }
        // And Multipaz's current verifier, which also matches the answer to the request.
        val current = result.verifyWithCurrentApi()
        assertEquals(docTypes, current.documents.map { it.docType })
        return response.documents
    }

    private fun assertDocumentVerified(doc: DeviceResponseParser.Document) {
        assertTrue(doc.issuerSignedAuthenticated, "issuerAuth verifies with the document signer's key")
        assertEquals(0, doc.numIssuerEntryDigestMatchFailures, "every disclosed element matches its MSO digest")
        assertTrue(doc.deviceSignedAuthenticated, "device authentication over DeviceAuthentication verifies")
        val now = Clock.System.now()
        assertTrue(doc.validityInfoValidFrom <= now && now < doc.validityInfoValidUntil, "the MSO is valid now")
        val ds = doc.issuerCertificateChain.certificates.first()
        assertTrue(doc.validityInfoSigned >= ds.validityNotBefore && doc.validityInfoSigned <= ds.validityNotAfter,
            "the MSO was signed within its document signer's validity (§9.3.1)")
        val verdict = runBlocking { trust.verify(doc.issuerCertificateChain.certificates, now) }
        assertTrue(verdict.isTrusted, "the document signer chains to the trust list's IACA: ${verdict.error}")
        assertEquals(eid.iaca, verdict.trustChain!!.certificates.last())
    }

    /**
     * One DeviceRequest for two documents, some elements with intent to retain (§8.3.2.1.2.1):
     * our holder shows the citizen each element and which ones the reader will keep, and answers
     * with both documents in the request's order, each passing every check.
     */
    @Test
    fun `one request for the PhotoID and the mDL, with intent to retain, is answered with both documents`() {
        val holder = eid.present("--require-reader-auth")
        val result = signedReader().readAll(holder, listOf(
            PHOTO_ID to mapOf(PHOTO_ID_NS to mapOf("family_name" to true, "age_over_18" to false)),
            MDL to mapOf(MDL_NS to mapOf("document_number" to false, "driving_privileges" to true)),
        ))
        assertEquals(0, holder.exitCode(), holder.stderr())
        val (photoId, mdl) = assertAllVerified(result, listOf(PHOTO_ID, MDL))
        assertEquals(listOf("age_over_18", "family_name"), photoId.getIssuerEntryNames(PHOTO_ID_NS).sorted())
        assertEquals(listOf("document_number", "driving_privileges"), mdl.getIssuerEntryNames(MDL_NS).sorted())
        val shown = holder.stderr()
        for ((element, retained) in listOf("family_name" to true, "age_over_18" to false,
            "document_number" to false, "driving_privileges" to true)) {
            val line = shown.lines().single { it.trim().endsWith("/$element") || it.contains("/$element ") }
            assertEquals(retained, line.contains("(will be retained)"), "shown to the citizen: $line")
        }
    }

    /**
     * What the wallet does not hold (ADR 0076): an element the PhotoID lacks is named in the
     * Document's `errors`, a docType the wallet lacks in `documentErrors` (ErrorCode 0 each), and
     * an age_over_NN not issued is answered by the nearest threshold (ISO 18013-5 §7.2.5). Both
     * of Multipaz's verifiers take the answer; its current one reads both error structures.
     */
    @Test
    fun `an answer naming what the wallet does not hold passes Multipaz's checks and its error structures read back`() {
        val pid = "eu.europa.ec.eudi.pid.1"
        val holder = eid.present()
        val result = signedReader().readAll(holder, listOf(
            PHOTO_ID to mapOf(PHOTO_ID_NS to mapOf("family_name" to false, "eye_colour" to false, "age_over_20" to false)),
            pid to mapOf(pid to mapOf("family_name" to false)),
        ))
        assertEquals(0, holder.exitCode(), holder.stderr())
        val doc = assertVerified(result, PHOTO_ID)
        assertEquals(listOf("age_over_21", "family_name"), doc.getIssuerEntryNames(PHOTO_ID_NS).sorted())
        assertTrue(doc.getIssuerEntryBoolean(PHOTO_ID_NS, "age_over_21"), "the citizen was born in 1969")
        val current = result.verifyWithCurrentApi()
        assertEquals(mapOf(PHOTO_ID_NS to mapOf("eye_colour" to 0)), current.documents.single().errors)
        assertEquals(listOf(mapOf(pid to 0)), current.documentErrors)
    }

    @Test
    fun `a reader-authenticated PhotoID request is answered and passes Multipaz's checks with the wallet's values`() {
        val ours = eid.ourReading(PHOTO_ID, PHOTO_ID_ELEMENTS)
        val holder = eid.present("--require-reader-auth")
        val result = signedReader().read(holder, PHOTO_ID, mapOf(PHOTO_ID_NS to PHOTO_ID_ELEMENTS))
        assertEquals(0, holder.exitCode(), holder.stderr())
        val doc = assertVerified(result, PHOTO_ID)
        assertTrue(doc.deviceSignedAuthenticatedViaSignature, "a device signature (no --device-mac)")
        assertEquals(PHOTO_ID_ELEMENTS.sorted(), doc.getIssuerEntryNames(PHOTO_ID_NS).sorted())
        assertEquals(ours.string("family_name"), doc.getIssuerEntryString(PHOTO_ID_NS, "family_name"))
        assertEquals(ours.string("given_name"), doc.getIssuerEntryString(PHOTO_ID_NS, "given_name"))
        // ISO/IEC TS 23220-2's birth_date is a map {birth_date: full-date, ? approximate_mask}.
        val birth = Cbor.decode(doc.getIssuerEntryData(PHOTO_ID_NS, "birth_date"))
        assertTrue(birth is CborMap, "birth_date is a map: ${Cbor.toDiagnostics(birth)}")
        assertEquals(ours["birth_date"]!!.jsonObject.string("birth_date"), fullDate(birth["birth_date"]))
        assertEquals(ours.string("age_over_18").toBoolean(), doc.getIssuerEntryBoolean(PHOTO_ID_NS, "age_over_18"))
        // And they are the fixture citizen's.
        val fullName = EidFixture.str(eid.citizen, "full_name")
        assertEquals(fullName, "${doc.getIssuerEntryString(PHOTO_ID_NS, "family_name")} ${doc.getIssuerEntryString(PHOTO_ID_NS, "given_name")}")
    }

    @Test
    fun `a device-MACed response passes Multipaz's MAC check with its EReaderKey`() {
        val holder = eid.present("--device-mac")
        val result = signedReader().read(holder, PHOTO_ID, mapOf(PHOTO_ID_NS to PHOTO_ID_ELEMENTS))
        assertEquals(0, holder.exitCode(), holder.stderr())
        val doc = assertVerified(result, PHOTO_ID)
        assertFalse(doc.deviceSignedAuthenticatedViaSignature, "authenticated by the device MAC")
        // Under another session's transcript the MAC does not verify: the check is real.
        val other = signedReader().read(eid.present("--device-mac"), PHOTO_ID, mapOf(PHOTO_ID_NS to PHOTO_ID_ELEMENTS))
        val e = assertThrows(IllegalStateException::class.java) { result.verifyWithCurrentApi(other.encodedSessionTranscript) }
        assertTrue(e.message!!.contains("MAC"), e.message)
    }

    @Test
    fun `an unsigned request gets no data from a holder that requires reader authentication`() {
        val holder = eid.present("--require-reader-auth")
        val result = MultipazReader(null, null).read(holder, PHOTO_ID, mapOf(PHOTO_ID_NS to PHOTO_ID_ELEMENTS))
        assertRefused(result, holder, "Unsigned")
    }

    @Test
    fun `a request signed under a reader CA the wallet does not trust gets no data`() {
        // Multipaz's own reader root and reader certificate (mdlReaderAuth), not the backend's.
        val (key, chain) = runBlocking {
            val now = Clock.System.now()
            val rootKey = Crypto.createEcPrivateKey(EcCurve.P256)
            val root = MdocUtil.generateReaderRootCertificate(
                readerRootKey = AsymmetricKey.anonymous(rootKey, Algorithm.ES256),
                subject = X500Name.fromName("CN=Multipaz test reader root"),
                serial = ASN1Integer(1L),
                validFrom = now - 1.hours,
                validUntil = now + 1.days,
                crlUrl = "https://reader-root.invalid/crl",
            )
            val readerKey = Crypto.createEcPrivateKey(EcCurve.P256)
            val cert = MdocUtil.generateReaderCertificate(
                readerRootKey = AsymmetricKey.X509CertifiedExplicit(X509CertChain(listOf(root)), rootKey, Algorithm.ES256),
                readerKey = readerKey.publicKey,
                subject = X500Name.fromName("CN=Multipaz test reader"),
                dnsName = null,
                serial = ASN1Integer(2L),
                validFrom = now - 1.hours,
                validUntil = now + 1.days,
            )
            readerKey to X509CertChain(listOf(cert))
        }
        val holder = eid.present("--require-reader-auth")
        val result = MultipazReader(key, chain).read(holder, PHOTO_ID, mapOf(PHOTO_ID_NS to PHOTO_ID_ELEMENTS))
        assertRefused(result, holder, "Untrusted")
    }

    /** No data, SessionData status 20 (§9.1.1.4 session termination), and the holder says why. */
    private fun assertRefused(result: MultipazReader.Result, holder: EidFixture.Holder, why: String) {
        assertNull(result.response, "nothing disclosed")
        assertEquals(20L, result.status, "the holder terminates the session (status 20)")
        assertEquals(0, holder.exitCode(), holder.stderr())
        assertTrue(holder.stderr().contains("ReaderRefused($why)"), holder.stderr())
    }

    @Test
    fun `the mDL with its driving privileges passes Multipaz's checks (request from its current DeviceRequest API)`() {
        val ours = eid.ourReading(MDL, MDL_ELEMENTS)
        val holder = eid.present("--require-reader-auth")
        val reader = MultipazReader(eid.readerKey, X509CertChain(listOf(eid.readerCert)), currentRequestApi = true)
        val result = reader.read(holder, MDL, mapOf(MDL_NS to MDL_ELEMENTS))
        assertEquals(0, holder.exitCode(), holder.stderr())
        val doc = assertVerified(result, MDL)
        assertEquals(ours.string("document_number"), doc.getIssuerEntryString(MDL_NS, "document_number"))
        assertEquals(ours.string("family_name"), doc.getIssuerEntryString(MDL_NS, "family_name"))
        // driving_privileges (§7.2.4): an array of maps, each with a vehicle_category_code.
        val privileges = Cbor.decode(doc.getIssuerEntryData(MDL_NS, "driving_privileges"))
        assertTrue(privileges is CborArray && privileges.items.isNotEmpty(), "driving_privileges is a non-empty array")
        val codes = (privileges as CborArray).items.map { p ->
            assertTrue(p is CborMap)
            p["vehicle_category_code"].asTstr
        }
        val ourCodes = ours["driving_privileges"]!!.jsonArray.map { it.jsonObject.string("vehicle_category_code") }
        assertEquals(ourCodes, codes)
    }

    @Test
    fun `over NFC through a desk reader, Multipaz engages by static handover and reads the PhotoID by ENVELOPE`() {
        val ours = eid.ourReading(PHOTO_ID, PHOTO_ID_ELEMENTS)
        val holder = eid.presentNfc("--require-reader-auth")
        val tag = PcscNfcTag.waitFor(EidFixture.VPCD_READER, EidFixture.TIMEOUT_S * 1000)
        val (handover, result) = signedReader().readNfc(tag, PHOTO_ID, mapOf(PHOTO_ID_NS to PHOTO_ID_ELEMENTS))
        assertEquals(0, holder.exitCode(), holder.stderr())
        assertEquals(MdocHandoverType.STATIC_HANDOVER, handover.type)
        // §9.1.5.1: after static handover, Handover = [HandoverSelect message, null].
        val item = handover.handover
        assertTrue(item is CborArray && item.items.size == 2 && item.items[0] is Bstr && item.items[1] == Simple.NULL,
            "static handover in the transcript: ${Cbor.toDiagnostics(item)}")
        val doc = assertVerified(result, PHOTO_ID)
        assertEquals(ours.string("family_name"), doc.getIssuerEntryString(PHOTO_ID_NS, "family_name"))
        assertEquals(ours.string("given_name"), doc.getIssuerEntryString(PHOTO_ID_NS, "given_name"))
        assertEquals(ours.string("age_over_18").toBoolean(), doc.getIssuerEntryBoolean(PHOTO_ID_NS, "age_over_18"))
        assertTrue(holder.stderr().contains("(reader authenticated)"), holder.stderr())
    }

    /**
     * Our holder offering negotiated handover (`--negotiated`): Multipaz's reader finds the
     * Connection Handover service on the tag, writes its Handover Request over TNEP, reads our
     * Handover Select, and verifies the answer under `[HandoverSelect, HandoverRequest]`.
     */
    @Test
    fun `over NFC by negotiated handover, Multipaz writes its Handover Request and reads the PhotoID`() {
        val holder = eid.presentNfc("--negotiated")
        val tag = PcscNfcTag.waitFor(EidFixture.VPCD_READER, EidFixture.TIMEOUT_S * 1000)
        val (handover, result) = signedReader().readNfc(tag, PHOTO_ID, mapOf(PHOTO_ID_NS to PHOTO_ID_ELEMENTS))
        assertEquals(0, holder.exitCode(), holder.stderr())
        assertEquals(MdocHandoverType.NEGOTIATED_HANDOVER, handover.type)
        val item = handover.handover
        assertTrue(item is CborArray && item.items.size == 2 && item.items.all { it is Bstr },
            "negotiated handover in the transcript: ${Cbor.toDiagnostics(item)}")
        val doc = assertVerified(result, PHOTO_ID)
        assertEquals(PHOTO_ID_ELEMENTS.sorted(), doc.getIssuerEntryNames(PHOTO_ID_NS).sorted())
        assertTrue(holder.stderr().contains("negotiated handover"), holder.stderr())
    }

    /**
     * ISO/IEC 18013-5 §8.2.2.1: the NFC handover may name BLE. Our holder (`--tcp`) names BLE
     * peripheral server mode first, then NFC, in its static Handover Select: Multipaz reads our
     * BLE carrier record (LE Role, the service UUID little-endian) as that mode with the UUID we
     * printed, then reads over the TCP stand-in for BLE and verifies the answer under the NFC
     * transcript `[HandoverSelect, null]`.
     */
    @Test
    fun `over NFC engagement by static handover naming BLE, Multipaz reads our BLE record and then reads over BLE`() {
        val holder = eid.presentNfc("--tcp", "127.0.0.1:0")
        val tag = PcscNfcTag.waitFor(EidFixture.VPCD_READER, EidFixture.TIMEOUT_S * 1000)
        val theirs = UUID.randomUUID(Random.Default)
        val (handover, result) = signedReader().readNfcThenBle(tag, holder.address, theirs, PHOTO_ID, mapOf(PHOTO_ID_NS to PHOTO_ID_ELEMENTS))
        assertEquals(0, holder.exitCode(), holder.stderr())
        assertEquals(MdocHandoverType.STATIC_HANDOVER, handover.type)
        val ours = Regex("service ([0-9a-f-]{36})").find(holder.stderr())?.groupValues?.get(1) ?: error(holder.stderr())
        val ble = handover.connectionMethods.filterIsInstance<MdocConnectionMethodBle>().single()
        assertTrue(ble.supportsPeripheralServerMode && !ble.supportsCentralClientMode, "$ble")
        assertEquals(ours, ble.peripheralServerModeUuid.toString())
        assertTrue(handover.connectionMethods.any { it is MdocConnectionMethodNfc }, "NFC named too: ${handover.connectionMethods}")
        val item = handover.handover
        assertTrue(item is CborArray && item.items.size == 2 && item.items[0] is Bstr && item.items[1] == Simple.NULL,
            "static handover in the transcript: ${Cbor.toDiagnostics(item)}")
        assertEquals(PHOTO_ID_ELEMENTS.sorted(), assertVerified(result, PHOTO_ID).getIssuerEntryNames(PHOTO_ID_NS).sorted())
        assertTrue(holder.stderr().contains("a reader came by the BLE stand-in"), holder.stderr())
    }

    /**
     * Negotiated: Multipaz's Handover Request offers BLE peripheral server mode with its own
     * UUID, then NFC; our holder takes BLE (its first carrier) in that mode with Multipaz's UUID.
     * Multipaz reads our Handover Select back as exactly what it offered, and the answer over the
     * stand-in verifies under `[HandoverSelect, HandoverRequest]`.
     */
    @Test
    fun `over NFC by negotiated handover, our holder picks the BLE Multipaz offers with its UUID`() {
        val holder = eid.presentNfc("--negotiated", "--tcp", "127.0.0.1:0")
        val tag = PcscNfcTag.waitFor(EidFixture.VPCD_READER, EidFixture.TIMEOUT_S * 1000)
        val theirs = UUID.randomUUID(Random.Default)
        val (handover, result) = signedReader().readNfcThenBle(tag, holder.address, theirs, PHOTO_ID, mapOf(PHOTO_ID_NS to PHOTO_ID_ELEMENTS))
        assertEquals(0, holder.exitCode(), holder.stderr())
        assertEquals(MdocHandoverType.NEGOTIATED_HANDOVER, handover.type)
        val ble = handover.connectionMethods.filterIsInstance<MdocConnectionMethodBle>().single()
        assertTrue(ble.supportsPeripheralServerMode && !ble.supportsCentralClientMode, "$ble")
        assertEquals(theirs, ble.peripheralServerModeUuid)
        assertTrue(handover.connectionMethods.none { it is MdocConnectionMethodNfc }, "one carrier chosen: ${handover.connectionMethods}")
        val item = handover.handover
        assertTrue(item is CborArray && item.items.size == 2 && item.items.all { it is Bstr },
            "negotiated handover in the transcript: ${Cbor.toDiagnostics(item)}")
        assertVerified(result, PHOTO_ID)
    }

    @Test
    fun `over NFC with short APDUs only, the mDL with its portrait comes in chained ENVELOPEs and GET RESPONSEs`() {
        val elements = MDL_ELEMENTS + "portrait"
        val ours = eid.ourReading(MDL, elements)
        val holder = eid.presentNfc()
        // A tag without extended length: Multipaz must chain commands and fetch with GET RESPONSE.
        val tag = PcscNfcTag.waitFor(EidFixture.VPCD_READER, EidFixture.TIMEOUT_S * 1000, maxTransceiveLength = 261)
        val (_, result) = signedReader().readNfc(tag, MDL, mapOf(MDL_NS to elements))
        assertEquals(0, holder.exitCode(), holder.stderr())
        val doc = assertVerified(result, MDL)
        val portrait = doc.getIssuerEntryByteString(MDL_NS, "portrait")
        assertTrue(portrait.size > 10_000, "the portrait is the chip's JPEG (${portrait.size} bytes)")
        assertEquals(ours.string("document_number"), doc.getIssuerEntryString(MDL_NS, "document_number"))
        val more = tag.statusWords.count { it shr 8 == 0x61 }
        assertTrue(more > 40, "the response came in short pieces announced by 61xx ($more of them)")
    }

    @Test
    fun `the BHYT card, a domestic docType Multipaz has no definition of, passes its checks`() {
        val ours = eid.ourReading(BHYT, BHYT_ELEMENTS)
        val holder = eid.present()
        val result = signedReader().read(holder, BHYT, mapOf(BHYT to BHYT_ELEMENTS))
        assertEquals(0, holder.exitCode(), holder.stderr())
        val doc = assertVerified(result, BHYT)
        assertEquals(BHYT_ELEMENTS.sorted(), doc.getIssuerEntryNames(BHYT).sorted())
        assertEquals(ours.string("card_number"), doc.getIssuerEntryString(BHYT, "card_number"))
        assertEquals(ours.string("benefit_level").toLong(), doc.getIssuerEntryNumber(BHYT, "benefit_level"))
        assertEquals(ours["valid_to"]!!.jsonPrimitive.content, fullDate(Cbor.decode(doc.getIssuerEntryData(BHYT, "valid_to"))))
    }

    @Test
    fun `every element the wallet holds has the CBOR type of Multipaz's mDL and PhotoID definitions`() {
        val checked = mutableListOf<String>()
        val mismatches = mutableListOf<String>()
        for (type in listOf(PhotoID.getDocumentType(), DrivingLicense.getDocumentType())) {
            val mdoc = type.mdocDocumentType!!
            // Everything Multipaz knows of the docType is asked for; the wallet answers what it holds.
            val asked = mdoc.namespaces.mapValues { (_, ns) -> ns.dataElements.keys.toList() }
            val holder = eid.present()
            val result = signedReader().read(holder, mdoc.docType, asked)
            assertEquals(0, holder.exitCode(), holder.stderr())
            val doc = runCatching { assertVerified(result, mdoc.docType) }
                .getOrElse { throw AssertionError("${it.message}; the holder: ${holder.stderr()}", it) }
            for (ns in doc.issuerNamespaces) {
                for (name in doc.getIssuerEntryNames(ns)) {
                    val attribute = mdoc.namespaces[ns]?.dataElements?.get(name)?.attribute ?: continue
                    val value = Cbor.decode(doc.getIssuerEntryData(ns, name))
                    checked += "${mdoc.docType} $ns/$name"
                    if (!hasType(value, attribute)) {
                        mismatches += "${mdoc.docType} $ns/$name: ${attribute.type} expected " +
                            "(sample ${Cbor.toDiagnostics(attribute.sampleValueMdoc ?: Simple.NULL)}), got ${kind(value)}"
                    }
                }
            }
        }
        assertTrue(checked.size >= 20, "the wallet disclosed enough elements to compare: $checked")
        assertEquals(emptyList<String>(), mismatches)
        println("compared with Multipaz's definitions: ${checked.size} elements\n  " + checked.joinToString("\n  "))
    }

    /** Whether [value] has the CBOR form Multipaz's [attribute] type gives (ISO 18013-5 §7.2.1, TS 23220-2). */
    private fun hasType(value: DataItem, attribute: DocumentAttribute): Boolean = when {
        // A structured sample decides: Multipaz types TS 23220-2's birth_date as Date, but its
        // sample (like the standard) is the map {birth_date: full-date, ? approximate_mask}.
        attribute.sampleValueMdoc is CborMap -> sameShape(value, attribute.sampleValueMdoc)
        else -> hasPlainType(value, attribute)
    }

    private fun hasPlainType(value: DataItem, attribute: DocumentAttribute): Boolean = when (attribute.type) {
        is DocumentAttributeType.String, is DocumentAttributeType.StringOptions -> value is Tstr
        is DocumentAttributeType.Number, is DocumentAttributeType.IntegerOptions -> value is CborInt
        is DocumentAttributeType.Boolean -> value == Simple.TRUE || value == Simple.FALSE
        // full-date = #6.1004(tstr) (RFC 8943); ISO 18013-5 also allows tdate for some dates.
        is DocumentAttributeType.Date -> value is Tagged && (value.tagNumber == 1004L || value.tagNumber == 0L)
        is DocumentAttributeType.DateTime -> value is Tagged && value.tagNumber == 0L
        is DocumentAttributeType.Picture, is DocumentAttributeType.Blob -> value is Bstr
        // A structure: the sample's shape (map or array), and a map's keys among the sample's.
        is DocumentAttributeType.ComplexType -> sameShape(value, attribute.sampleValueMdoc)
    }

    private fun sameShape(value: DataItem, sample: DataItem?): Boolean = when {
        sample == null -> true
        value is CborArray && sample is CborArray ->
            sample.items.isEmpty() || value.items.all { sameShape(it, sample.items[0]) }
        value is CborMap && sample is CborMap -> value.items.keys.all { it in sample.items.keys }
        else -> kind(value) == kind(sample)
    }

    private fun kind(value: DataItem): String =
        if (value is Tagged) "tag ${value.tagNumber}(${kind(value.taggedItem)})" else value::class.simpleName ?: "?"

    private fun JsonObject.string(key: String): String =
        (this[key] ?: throw AssertionError("our reader shows no $key: $this")).jsonPrimitive.content

    /** A full-date (tag 1004 tstr, RFC 8943) as its text. */
    private fun fullDate(item: DataItem): String {
        assertTrue(item is Tagged && item.tagNumber == 1004L, "a full-date: ${Cbor.toDiagnostics(item)}")
        return (item as Tagged).taggedItem.asTstr
    }

    companion object {
        const val PHOTO_ID = "org.iso.23220.photoid.1"
        const val PHOTO_ID_NS = "org.iso.23220.1"
        val PHOTO_ID_ELEMENTS = listOf("family_name", "given_name", "birth_date", "age_over_18")
        const val MDL = "org.iso.18013.5.1.mDL"
        const val MDL_NS = "org.iso.18013.5.1"
        val MDL_ELEMENTS = listOf("family_name", "document_number", "driving_privileges")
        /** The health insurance card: docType and namespace are the same name. */
        const val BHYT = "vn.gov.bhyt.1"
        val BHYT_ELEMENTS = listOf("card_number", "benefit_level", "valid_to")
    }
}
