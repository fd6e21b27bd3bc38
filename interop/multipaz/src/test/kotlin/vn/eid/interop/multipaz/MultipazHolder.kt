package vn.eid.interop.multipaz

import kotlinx.coroutines.runBlocking
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
import kotlin.time.Instant

/**
 * An mdoc holder made of Multipaz's parts: its own IACA and document signer
 * ([MdocUtil.generateIacaCertificate], [MdocUtil.generateDsCertificate]), an MSO over salted
 * IssuerSignedItems ([MdocUtil.generateIssuerNameSpaces], [MobileSecurityObjectGenerator],
 * [Cose.coseSign1Sign]), a device key in its software secure area, the QR engagement
 * ([EngagementGenerator], BLE peripheral server mode), the session ([SessionEncryption]), the
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

    /** A waiting holder: the engagement URI, the address, and (once served) what it saw. */
    inner class Session(private val server: ServerSocket, val uri: String, private val serve: () -> Seen) {
        val address: String = "127.0.0.1:${server.localPort}"
        private val result = background("Multipaz holder") { server.use { serve() } }

        fun seen(): Seen = result.get(60, java.util.concurrent.TimeUnit.SECONDS)
    }

    val iacaPem: String
        get() = "-----BEGIN CERTIFICATE-----\n" +
            Base64.getMimeEncoder(64, "\n".toByteArray()).encodeToString(iaca.encoded.toByteArray()) +
            "\n-----END CERTIFICATE-----\n"

    /**
     * Engages and serves one reader: [docType] with [namespace]'s [values] issued (an MSO made
     * now), answering with the elements asked for; [tamper] changes a disclosed element's value
     * after the MSO was signed.
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

        val eDeviceKey = Crypto.createEcPrivateKey(eDeviceCurve)
        val encodedDeviceEngagement = EngagementGenerator(eDeviceKey.publicKey, EngagementGenerator.ENGAGEMENT_VERSION_1_0)
            .addConnectionMethods(listOf(MdocConnectionMethodBle(true, false, UUID.randomUUID(Random.Default), null, null, null)))
            .generate()
        val uri = "mdoc:" + Base64.getUrlEncoder().withoutPadding().encodeToString(encodedDeviceEngagement)
        val server = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).apply { soTimeout = 60_000 }

        Session(server, uri) {
            runBlocking {
                TcpGattLink.accepted(server.accept()).use { link ->
                    check(link.receive() is TcpGattLink.Received.Started) { "the reader did not write State start" }
                    val establishment = (link.receive() as? TcpGattLink.Received.Message)?.bytes
                        ?: error("no SessionEstablishment")
                    val eReaderKey = SessionEncryption.getEReaderKey(establishment)
                    val encodedSessionTranscript = Cbor.encode(buildCborArray {
                        addTaggedEncodedCbor(encodedDeviceEngagement)
                        addTaggedEncodedCbor(eReaderKey.encodedCoseKey)
                        add(Simple.NULL)
                    })
                    val session = SessionEncryption(MdocRole.MDOC, eDeviceKey, eReaderKey.publicKey, encodedSessionTranscript)
                    val request = session.decryptMessage(establishment).first ?: error("SessionEstablishment without data")
                    val docRequest = DeviceRequestParser(request, encodedSessionTranscript).parse().docRequests.single()
                    val asked = docRequest.getEntryNames(namespace)
                    // The asked elements' IssuerSignedItemBytes, one changed after signing if so told.
                    val disclosed = issuerNameSpaces.getValue(namespace).filter { elementId(it) in asked }
                        .map { item -> if (tamper != null && elementId(item) == tamper.first) withValue(item, tamper.second) else item }
                    val generator = DocumentGenerator(docType, issuerAuth, encodedSessionTranscript)
                        .setIssuerNamespaces(mapOf(namespace to disclosed))
                    val noDeviceData = NameSpacedData.Builder().build()
                    if (deviceMac) {
                        generator.setDeviceNamespacesMac(noDeviceData, secureArea, deviceKey.alias, eReaderKey.publicKey, Reason.Unspecified)
                    } else {
                        generator.setDeviceNamespacesSignature(noDeviceData, secureArea, deviceKey.alias, Reason.Unspecified)
                    }
                    val document = generator.generate()
                    val response = DeviceResponseGenerator(0).addDocument(document).generate()
                    link.send(session.encryptMessage(response, null))
                    // The reader ends: SessionData status 20 and/or State end, or it closes.
                    runCatching { link.receive() }
                    Seen(docRequest.docType, asked, docRequest.readerAuthenticated, docRequest.readerCertificateChain,
                        deviceSignatureAlg(document))
                }
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
