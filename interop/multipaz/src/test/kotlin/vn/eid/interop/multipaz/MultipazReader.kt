package vn.eid.interop.multipaz

import kotlinx.coroutines.runBlocking
import org.multipaz.cbor.Cbor
import org.multipaz.cbor.Simple
import org.multipaz.cbor.buildCborArray
import org.multipaz.crypto.AsymmetricKey
import org.multipaz.crypto.Crypto
import org.multipaz.crypto.EcPrivateKey
import org.multipaz.crypto.X509CertChain
import org.multipaz.mdoc.connectionmethod.MdocConnectionMethodBle
import org.multipaz.mdoc.engagement.EngagementParser
import org.multipaz.mdoc.request.DeviceRequestGenerator
import org.multipaz.documenttype.DocumentTypeRepository
import org.multipaz.documenttype.knowntypes.DrivingLicense
import org.multipaz.documenttype.knowntypes.PhotoID
import org.multipaz.mdoc.request.DeviceRequest
import org.multipaz.mdoc.response.DeviceResponse
import org.multipaz.mdoc.response.DeviceResponseParser
import kotlin.time.Clock
import org.multipaz.mdoc.role.MdocRole
import org.multipaz.mdoc.sessionencryption.SessionEncryption
import java.util.Base64

/**
 * An mdoc reader made of Multipaz's parts, as its reader apps use them: the QR engagement
 * parsed ([EngagementParser]), a fresh EReaderKey on the holder's curve, SessionTranscript =
 * [DeviceEngagementBytes, EReaderKeyBytes, null] (ISO/IEC 18013-5 §9.1.5.1, QR handover),
 * session keys and SessionEstablishment / SessionData ([SessionEncryption]), the DeviceRequest
 * ([DeviceRequestGenerator], signed with the reader key when one is given), and the
 * DeviceResponse ([DeviceResponseParser]: issuer signature, digests, validity, device
 * signature or MAC with the EReaderKey).
 */
class MultipazReader(
    private val readerKey: EcPrivateKey?,
    private val readerChain: X509CertChain?,
    /** The request from Multipaz's current DeviceRequest.Builder instead of its DeviceRequestGenerator. */
    private val currentRequestApi: Boolean = false,
) {

    /**
     * What came back: Multipaz's parsed response (null when no data), the SessionData status,
     * and what a later check needs (the decrypted DeviceResponse, the session's transcript,
     * request and EReaderKey).
     */
    class Result(
        val response: DeviceResponseParser.DeviceResponse?,
        val status: Long?,
        val holderEnded: Boolean,
        private val encodedResponse: ByteArray? = null,
        val encodedSessionTranscript: ByteArray? = null,
        private val encodedDeviceRequest: ByteArray? = null,
        private val eReaderKey: EcPrivateKey? = null,
    ) {
        /**
         * Multipaz's current verifier (DeviceResponse.verify): MSO signature, docType, the MSO
         * signed within its document signer's validity and valid until no later than it, valid
         * now, digests, device authentication, and the answer matched to the request with
         * Multipaz's definitions of the mDL and PhotoID. Throws what it rejects.
         */
        fun verifyWithCurrentApi(transcript: ByteArray? = encodedSessionTranscript): DeviceResponse = runBlocking {
            val key = eReaderKey ?: error("no response")
            val repository = DocumentTypeRepository().apply {
                addDocumentType(DrivingLicense.getDocumentType())
                addDocumentType(PhotoID.getDocumentType())
            }
            DeviceResponse.fromDataItem(Cbor.decode(encodedResponse!!)).also {
                it.verify(
                    Cbor.decode(transcript!!),
                    AsymmetricKey.anonymous(key, key.curve.defaultKeyAgreementAlgorithm),
                    DeviceRequest.fromDataItem(Cbor.decode(encodedDeviceRequest!!)),
                    repository,
                    Clock.System.now(),
                    true,
                )
            }
        }
    }

    fun read(holder: EidFixture.Holder, docType: String, items: Map<String, List<String>>): Result = runBlocking {
        require(holder.uri.startsWith("mdoc:"))
        val encodedDeviceEngagement = Base64.getUrlDecoder().decode(holder.uri.removePrefix("mdoc:"))
        val engagement = EngagementParser(encodedDeviceEngagement).parse()
        check(engagement.connectionMethods.any { it is MdocConnectionMethodBle && it.supportsPeripheralServerMode }) {
            "the engagement offers no BLE peripheral server mode: ${engagement.connectionMethods}"
        }
        val eDeviceKey = engagement.eSenderKey
        val eReaderKey = Crypto.createEcPrivateKey(eDeviceKey.curve)
        val encodedSessionTranscript = Cbor.encode(buildCborArray {
            addTaggedEncodedCbor(encodedDeviceEngagement)
            addTaggedEncodedCbor(Cbor.encode(eReaderKey.publicKey.toCoseKey().toDataItem()))
            add(Simple.NULL)
        })
        val itemsToRequest = items.mapValues { (_, names) -> names.associateWith { false } }
        val deviceRequest = if (currentRequestApi) {
            val signer = readerKey?.let {
                // A fully specified algorithm (ESP256): the Builder takes the curve from it and
                // puts ES256 (-7) in readerAuth's header.
                AsymmetricKey.X509CertifiedExplicit(readerChain!!, it, it.curve.defaultSigningAlgorithmFullySpecified)
            }
            DeviceRequest.Builder(Cbor.decode(encodedSessionTranscript))
                .addDocRequest(docType, itemsToRequest, null, signer)
                .build()
                .let { Cbor.encode(it.toDataItem()) }
        } else {
            DeviceRequestGenerator(encodedSessionTranscript).apply {
                addDocumentRequest(
                    docType,
                    itemsToRequest,
                    null,
                    readerKey,
                    readerKey?.curve?.defaultSigningAlgorithm ?: org.multipaz.crypto.Algorithm.UNSET,
                    readerChain,
                )
            }.generate()
        }
        val session = SessionEncryption(MdocRole.MDOC_READER, eReaderKey, eDeviceKey, encodedSessionTranscript)

        TcpGattLink.connect(holder.address).use { link ->
            link.start()
            link.send(session.encryptMessage(deviceRequest, null))
            when (val got = link.receive()) {
                is TcpGattLink.Received.Ended -> Result(null, null, holderEnded = true)
                is TcpGattLink.Received.Started -> error("the holder wrote State start")
                is TcpGattLink.Received.Message -> {
                    val (plaintext, status) = session.decryptMessage(got.bytes)
                    val parsed = plaintext?.let {
                        DeviceResponseParser(it, encodedSessionTranscript)
                            .setEphemeralReaderKey(AsymmetricKey.anonymous(eReaderKey, eReaderKey.curve.defaultKeyAgreementAlgorithm))
                            .parse()
                    }
                    // ISO/IEC 18013-5 §9.1.1.4: the reader ends with status 20, then State end.
                    runCatching { link.send(SessionEncryption.encodeStatus(20)) }
                    link.end()
                    Result(parsed, status, false, plaintext, encodedSessionTranscript, deviceRequest, eReaderKey)
                }
            }
        }
    }
}
