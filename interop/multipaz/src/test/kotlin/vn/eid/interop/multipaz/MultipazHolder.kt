package vn.eid.interop.multipaz

import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.multipaz.asn1.ASN1Integer
import org.multipaz.cbor.Bstr
import org.multipaz.cbor.Cbor
import org.multipaz.cbor.CborMap
import org.multipaz.cbor.DataItem
import org.multipaz.cbor.Simple
import org.multipaz.cbor.Tagged
import org.multipaz.cbor.Tstr
import org.multipaz.cbor.buildCborArray
import org.multipaz.cbor.buildCborMap
import org.multipaz.cbor.toDataItem
import org.multipaz.cose.Cose
import org.multipaz.cose.CoseLabel
import org.multipaz.cose.CoseNumberLabel
import org.multipaz.crypto.Algorithm
import org.multipaz.crypto.AsymmetricKey
import org.multipaz.crypto.Crypto
import org.multipaz.crypto.EcCurve
import org.multipaz.crypto.EcPrivateKey
import org.multipaz.crypto.X500Name
import org.multipaz.crypto.X509Cert
import org.multipaz.crypto.X509CertChain
import org.multipaz.document.NameSpacedData
import org.multipaz.mdoc.connectionmethod.MdocConnectionMethodBle
import org.multipaz.mdoc.connectionmethod.MdocConnectionMethodNfc
import org.multipaz.mdoc.nfc.MdocNfcEngagementHelper
import org.multipaz.mdoc.transport.MdocTransport
import org.multipaz.mdoc.transport.MdocTransportOptions
import org.multipaz.mdoc.transport.NfcTransportMdoc
import org.multipaz.nfc.CommandApdu
import org.multipaz.nfc.Nfc
import org.multipaz.mdoc.engagement.EngagementGenerator
import org.multipaz.mdoc.mso.MobileSecurityObjectGenerator
import org.multipaz.mdoc.request.DeviceRequestParser
import org.multipaz.mdoc.response.DeviceResponseGenerator
import org.multipaz.mdoc.response.DocumentGenerator
import org.multipaz.mdoc.role.MdocRole
import org.multipaz.mdoc.sessionencryption.SessionEncryption
import org.multipaz.mdoc.util.MdocUtil
import org.multipaz.prompt.Reason
import org.multipaz.securearea.software.SoftwareCreateKeySettings
import org.multipaz.securearea.software.SoftwareSecureArea
import org.multipaz.storage.ephemeral.EphemeralStorage
import org.multipaz.util.UUID
import org.bouncycastle.jce.provider.BouncyCastleProvider
import java.net.InetAddress
import java.security.Security
import java.net.ServerSocket
import java.util.Base64
import kotlin.random.Random
import kotlin.time.Clock
import kotlin.time.Duration.Companion.days
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.minutes
import kotlin.time.Duration.Companion.seconds
import kotlin.time.Instant

/**
 * An mdoc holder made of Multipaz's parts: its own IACA and document signer
 * ([MdocUtil.generateIacaCertificate], [MdocUtil.generateDsCertificate]), an MSO over salted
 * IssuerSignedItems ([MdocUtil.generateIssuerNameSpaces], [MobileSecurityObjectGenerator],
 * [Cose.coseSign1Sign]), a device key in its software secure area, the QR engagement
 * ([EngagementGenerator], BLE peripheral server mode) or the NFC one ([MdocNfcEngagementHelper],
 * static handover), the session ([SessionEncryption]), the
 * reader's request ([DeviceRequestParser], which checks reader authentication) and the answer
 * ([DocumentGenerator] with a device signature, [DeviceResponseGenerator]).
 */
class MultipazHolder private constructor(
    val iaca: X509Cert,
    private val dsKey: EcPrivateKey,
    private val dsCert: X509Cert,
    /** The MSO's signature algorithm (ES256, ES384, ES512 with the document signer's curve). */
    private val issuerAlgorithm: Algorithm,
) {
    /** What the holder saw of the session: Multipaz's reading of the reader's request. */
    class Seen(
        val docType: String,
        val elements: List<String>,
        val readerAuthenticated: Boolean,
        val readerChain: X509CertChain?,
        /** The `alg` of the protected header of the deviceSignature Multipaz sent (null: a MAC). */
        val deviceSignatureAlg: Long?,
    )

    /**
     * A waiting holder: the engagement URI (empty over NFC, where the engagement is on the tag),
     * the address (the TCP listener's, or vpcd's), and (once served) what it saw.
     */
    class Session(
        val uri: String,
        val address: String,
        /** Over NFC: every command APDU the reader sent, in order. */
        val commands: List<ByteArray> = emptyList(),
        /** Over NFC: takes the card out of the reader. */
        private val remove: () -> Unit = {},
        serve: () -> Seen,
    ) : AutoCloseable {
        /**
         * Over NFC the card stays in the reader after the session until this is called, once the
         * reader has let it go: pulled while pcscd resets it, a card leaves the reader looking
         * occupied until pcscd's next poll, up to a minute later.
         */
        override fun close() = remove()

        private val result = background("Multipaz holder") { serve() }

        fun seen(): Seen = result.get(60, java.util.concurrent.TimeUnit.SECONDS)
    }

    val iacaPem: String
        get() = "-----BEGIN CERTIFICATE-----\n" +
            Base64.getMimeEncoder(64, "\n".toByteArray()).encodeToString(iaca.encoded.toByteArray()) +
            "\n-----END CERTIFICATE-----\n"

    /** An mdoc issued now: its IssuerSignedItems, issuerAuth, and the device key in its secure area. */
    private class Issued(
        val docType: String,
        val namespace: String,
        val issuerNameSpaces: Map<String, List<ByteArray>>,
        val issuerAuth: ByteArray,
        val secureArea: SoftwareSecureArea,
        val deviceKeyAlias: String,
    )

    private suspend fun issue(docType: String, namespace: String, values: Map<String, DataItem>, deviceKeyAlgorithm: Algorithm): Issued {
        val storage = EphemeralStorage()
        val secureArea = SoftwareSecureArea.create(storage)
        // A signing key, or a key-agreement key for the device MAC (§9.1.3.5).
        val deviceKey = secureArea.createKey(
            null,
            SoftwareCreateKeySettings.Builder().setAlgorithm(deviceKeyAlgorithm).build(),
        )
        val data = NameSpacedData.Builder().apply {
            values.forEach { (name, value) -> putEntry(namespace, name, Cbor.encode(value)) }
        }.build()
        val issuerNameSpaces = MdocUtil.generateIssuerNameSpaces(data, Random.Default, 16, null)
        val now = Instant.fromEpochSeconds(Clock.System.now().epochSeconds)
        val mso = MobileSecurityObjectGenerator(Algorithm.SHA256, docType, deviceKey.ecPublicKey)
            .setValidityInfo(now - 1.minutes, now - 1.minutes, now + 30.days, null)
            .apply {
                issuerNameSpaces.keys.forEach { ns ->
                    addDigestIdsForNamespace(ns, MdocUtil.calculateDigestsForNameSpace(ns, issuerNameSpaces, Algorithm.SHA256))
                }
            }
            .generate()
        val issuerAuth = Cbor.encode(
            Cose.coseSign1Sign(
                dsKey,
                Cbor.encode(Tagged(Tagged.ENCODED_CBOR, Bstr(mso))),
                true,
                issuerAlgorithm,
                mapOf<CoseLabel, DataItem>(CoseNumberLabel(Cose.COSE_LABEL_ALG) to issuerAlgorithm.coseAlgorithmIdentifier!!.toDataItem()),
                mapOf<CoseLabel, DataItem>(CoseNumberLabel(Cose.COSE_LABEL_X5CHAIN) to X509CertChain(listOf(dsCert)).toDataItem()),
            ).toDataItem(),
        )
        return Issued(docType, namespace, issuerNameSpaces, issuerAuth, secureArea, deviceKey.alias)
    }

    /**
     * The holder's side of the session once the reader's SessionEstablishment is in: the
     * transcript over [encodedDeviceEngagement] and [handover], the request read (and its reader
     * authentication checked) by Multipaz, and the encrypted answer with the elements asked for.
     */
    private suspend fun answer(
        issued: Issued,
        establishment: ByteArray,
        eDeviceKey: EcPrivateKey,
        encodedDeviceEngagement: ByteArray,
        handover: DataItem,
        tamper: Pair<String, DataItem>?,
        deviceMac: Boolean,
    ): Pair<ByteArray, Seen> {
        val eReaderKey = SessionEncryption.getEReaderKey(establishment)
        val encodedSessionTranscript = Cbor.encode(buildCborArray {
            addTaggedEncodedCbor(encodedDeviceEngagement)
            addTaggedEncodedCbor(eReaderKey.encodedCoseKey)
            add(handover)
        })
        val session = SessionEncryption(MdocRole.MDOC, eDeviceKey, eReaderKey.publicKey, encodedSessionTranscript)
        val request = session.decryptMessage(establishment).first ?: error("SessionEstablishment without data")
        val docRequest = DeviceRequestParser(request, encodedSessionTranscript).parse().docRequests.single()
        val asked = docRequest.getEntryNames(issued.namespace)
        // The asked elements' IssuerSignedItemBytes, one changed after signing if so told.
        val disclosed = issued.issuerNameSpaces.getValue(issued.namespace).filter { elementId(it) in asked }
            .map { item -> if (tamper != null && elementId(item) == tamper.first) withValue(item, tamper.second) else item }
        val generator = DocumentGenerator(issued.docType, issued.issuerAuth, encodedSessionTranscript)
            .setIssuerNamespaces(mapOf(issued.namespace to disclosed))
        val noDeviceData = NameSpacedData.Builder().build()
        if (deviceMac) {
            generator.setDeviceNamespacesMac(noDeviceData, issued.secureArea, issued.deviceKeyAlias, eReaderKey.publicKey, Reason.Unspecified)
        } else {
            generator.setDeviceNamespacesSignature(noDeviceData, issued.secureArea, issued.deviceKeyAlias, Reason.Unspecified)
        }
        val document = generator.generate()
        val response = DeviceResponseGenerator(0).addDocument(document).generate()
        val seen = Seen(docRequest.docType, asked, docRequest.readerAuthenticated, docRequest.readerCertificateChain,
            deviceSignatureAlg(document))
        return session.encryptMessage(response, null) to seen
    }

    /**
     * Engages by QR code and serves one reader over the TCP stand-in for BLE: [docType] with
     * [namespace]'s [values] issued (an MSO made now), answering with the elements asked for;
     * [tamper] changes a disclosed element's value after the MSO was signed.
     */
    fun present(
        docType: String,
        namespace: String,
        values: Map<String, DataItem>,
        tamper: Pair<String, DataItem>? = null,
        deviceMac: Boolean = false,
        eDeviceCurve: EcCurve = EcCurve.P256,
        /** The device key's algorithm: a signing key, or a key-agreement key for the MAC. */
        deviceKeyAlgorithm: Algorithm = if (deviceMac) Algorithm.ECDH_P256 else Algorithm.ESP256,
    ): Session = runBlocking {
        val issued = issue(docType, namespace, values, deviceKeyAlgorithm)
        val eDeviceKey = Crypto.createEcPrivateKey(eDeviceCurve)
        val encodedDeviceEngagement = EngagementGenerator(eDeviceKey.publicKey, EngagementGenerator.ENGAGEMENT_VERSION_1_0)
            .addConnectionMethods(listOf(MdocConnectionMethodBle(true, false, UUID.randomUUID(Random.Default), null, null, null)))
            .generate()
        val uri = "mdoc:" + Base64.getUrlEncoder().withoutPadding().encodeToString(encodedDeviceEngagement)
        val server = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).apply { soTimeout = 60_000 }

        Session(uri, "127.0.0.1:${server.localPort}") {
            runBlocking {
                server.use {
                    TcpGattLink.accepted(server.accept()).use { link ->
                        check(link.receive() is TcpGattLink.Received.Started) { "the reader did not write State start" }
                        val establishment = (link.receive() as? TcpGattLink.Received.Message)?.bytes
                            ?: error("no SessionEstablishment")
                        // QR handover: null (§9.1.5.1).
                        val (message, seen) = answer(issued, establishment, eDeviceKey, encodedDeviceEngagement, Simple.NULL, tamper, deviceMac)
                        link.send(message)
                        // The reader ends: SessionData status 20 and/or State end, or it closes.
                        runCatching { link.receive() }
                        seen
                    }
                }
            }
        }
    }

    /**
     * Engages by NFC and serves one reader over NFC, as a phone held to a desk reader: a card in
     * vpcd at [vpcd] ([VpcdCard]) whose APDUs go to Multipaz's NFC holder parts, the Type 4 Tag
     * with the static Handover Select ([MdocNfcEngagementHelper]) and the data transfer by
     * ENVELOPE / GET RESPONSE ([NfcTransportMdoc]). The card announces extended-length APDUs
     * when [extendedLength]; with [negotiated] the tag offers negotiated handover instead of the
     * static one, and picks the NFC carrier from the reader's Handover Request. [bleFirst]: the
     * static Handover Select names BLE peripheral server mode with that UUID before NFC (none
     * served here: the reader must take NFC), or alone when not [nfcToo].
     */
    fun presentNfc(
        vpcd: String,
        docType: String,
        namespace: String,
        values: Map<String, DataItem>,
        extendedLength: Boolean = true,
        negotiated: Boolean = false,
        bleFirst: UUID? = null,
        nfcToo: Boolean = true,
    ): Session = runBlocking {
        val issued = issue(docType, namespace, values, Algorithm.ESP256)
        val eDeviceKey = Crypto.createEcPrivateKey(EcCurve.P256)
        val nfc = MdocConnectionMethodNfc(0xFFFF, 0x10000)
        val engaged = java.util.concurrent.CompletableFuture<Pair<ByteArray, DataItem>>()
        val engagement = MdocNfcEngagementHelper(
            eDeviceKey.publicKey,
            onHandoverComplete = { _, deviceEngagement, handover -> engaged.complete(deviceEngagement.toByteArray() to handover) },
            onError = { engaged.completeExceptionally(it) },
            staticHandoverMethods = if (negotiated) {
                null
            } else {
                listOfNotNull(bleFirst?.let { MdocConnectionMethodBle(true, false, it, null, null, null) }, nfc.takeIf { nfcToo })
            },
            negotiatedHandoverPicker = if (negotiated) {
                { offered -> offered.filterIsInstance<MdocConnectionMethodNfc>().firstOrNull() ?: error("no NFC carrier offered: $offered") }
            } else {
                null
            },
        )
        val transport = NfcTransportMdoc(MdocRole.MDOC, MdocTransportOptions(), nfc)
        // Open before the reader comes: its SELECT of the mdoc application follows the engagement.
        // Not when NFC is not named: Multipaz routes every HCE APDU to the one open transport,
        // which would then wait for a reader that cannot come and take the next session's APDUs.
        if (nfcToo) transport.open(eDeviceKey.publicKey)
        var dataTransfer = false
        val commands = java.util.Collections.synchronizedList(mutableListOf<ByteArray>())
        val card = VpcdCard(vpcd, VpcdCard.atr(extendedLength)) { apdu ->
            commands += apdu
            runBlocking {
                val command = CommandApdu.decode(apdu)
                if (command.isApplicationSelect) {
                    dataTransfer = command.payload == Nfc.ISO_MDOC_NFC_DATA_TRANSFER_APPLICATION_ID
                }
                val response = if (dataTransfer) NfcTransportMdoc.processCommandApdu(command) else engagement.processApdu(command)
                response.encode()
            }
        }
        background("vpcd card") { card.serve() }

        Session("", vpcd, commands, card::close) {
            check(nfcToo) { "the handover names no NFC data retrieval: nothing to serve" }
            runBlocking {
                // Connected once the reader selects the mdoc application, after the engagement.
                withTimeout(60.seconds) { transport.state.first { it == MdocTransport.State.CONNECTED } }
                val establishment = transport.waitForMessage()
                val (encodedDeviceEngagement, handover) = engaged.get(60, java.util.concurrent.TimeUnit.SECONDS)
                val (message, seen) = answer(issued, establishment, eDeviceKey, encodedDeviceEngagement, handover, null, false)
                transport.sendMessage(message)
                // The reader's termination (status 20); closing answers its ENVELOPE.
                runCatching { transport.waitForMessage() }
                transport.close()
                seen
            }
        }
    }

    companion object {
        init {
            // Multipaz asks the first "EC" provider; the JDK's SunEC has no brainpool curves.
            if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
                Security.insertProviderAt(BouncyCastleProvider(), 1)
            }
        }

        /**
         * A fresh IACA and document signer, as an issuer would hold them: keys on [curve], the
         * certificates and the MSO signed with [algorithm].
         */
        fun create(curve: EcCurve = EcCurve.P256, algorithm: Algorithm = Algorithm.ES256): MultipazHolder = runBlocking {
            val now = Clock.System.now()
            val iacaKey = Crypto.createEcPrivateKey(curve)
            val iaca = MdocUtil.generateIacaCertificate(
                AsymmetricKey.anonymous(iacaKey, algorithm),
                X500Name.fromName("CN=Multipaz interop IACA,C=UT"),
                ASN1Integer(1L),
                now - 1.hours,
                now + 30.days,
                "https://iaca.invalid",
                "https://iaca.invalid/crl",
            )
            val dsKey = Crypto.createEcPrivateKey(curve)
            val ds = MdocUtil.generateDsCertificate(
                AsymmetricKey.X509CertifiedExplicit(X509CertChain(listOf(iaca)), iacaKey, algorithm),
                dsKey.publicKey,
                X500Name.fromName("CN=Multipaz interop DS,C=UT"),
                ASN1Integer(2L),
                now - 1.hours,
                now + 30.days,
            )
            MultipazHolder(iaca, dsKey, ds, algorithm)
        }

        /** IssuerSignedItemBytes = #6.24(bstr .cbor IssuerSignedItem): its elementIdentifier. */
        private fun item(encoded: ByteArray): CborMap =
            Cbor.decode((Cbor.decode(encoded) as Tagged).taggedItem.asBstr) as CborMap

        private fun deviceSignatureAlg(document: ByteArray): Long? {
            val auth = Cbor.decode(document)["deviceSigned"]["deviceAuth"]
            val signature = auth.getOrNull("deviceSignature") ?: return null
            return Cbor.decode(signature.asArray[0].asBstr)[Cose.COSE_LABEL_ALG].asNumber
        }

        private fun elementId(encoded: ByteArray): String = item(encoded)["elementIdentifier"].asTstr

        /** The same IssuerSignedItem (digestID, random, identifier) with another elementValue. */
        private fun withValue(encoded: ByteArray, value: DataItem): ByteArray {
            val original = item(encoded)
            val changed = buildCborMap {
                original.items.forEach { (k, v) -> put(k, if (k == Tstr("elementValue")) value else v) }
            }
            return Cbor.encode(Tagged(Tagged.ENCODED_CBOR, Bstr(Cbor.encode(changed))))
        }
    }
}
