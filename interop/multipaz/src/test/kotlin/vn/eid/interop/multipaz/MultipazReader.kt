package vn.eid.interop.multipaz

import kotlinx.coroutines.runBlocking
import org.multipaz.cbor.Cbor
import org.multipaz.cbor.DataItem
import org.multipaz.cbor.Simple
import org.multipaz.cbor.buildCborArray
import org.multipaz.crypto.AsymmetricKey
import org.multipaz.crypto.Crypto
import org.multipaz.crypto.EcPrivateKey
import org.multipaz.crypto.EcPublicKey
import org.multipaz.crypto.X509CertChain
import org.multipaz.mdoc.connectionmethod.MdocConnectionMethodBle
import org.multipaz.mdoc.connectionmethod.MdocConnectionMethodNfc
import org.multipaz.mdoc.nfc.MdocReaderNfcHandoverOptions
import org.multipaz.mdoc.nfc.MdocReaderNfcHandoverResult
import org.multipaz.mdoc.nfc.mdocReaderNfcHandover
import org.multipaz.mdoc.transport.MdocTransportOptions
import org.multipaz.mdoc.transport.NfcTransportMdocReader
import org.multipaz.nfc.NfcIsoTag
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
import org.multipaz.util.UUID

/**
 * An mdoc reader made of Multipaz's parts, as its reader apps use them: the QR engagement
 * parsed ([EngagementParser]) or the NFC one read ([mdocReaderNfcHandover]), a fresh
 * EReaderKey on the holder's curve, SessionTranscript = [DeviceEngagementBytes,
 * EReaderKeyBytes, Handover] (ISO/IEC 18013-5 §9.1.5.1: null after a QR code, the Handover
 * Select message and null after NFC static handover),
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

    /** Over the TCP stand-in for BLE, engaged by the holder's QR code (`mdoc:` URI). */
    fun read(holder: EidFixture.Holder, docType: String, items: Map<String, List<String>>): Result =
        readAll(holder, single(docType, items))

    /**
     * One DeviceRequest asking for several documents: per docType, per namespace, each element
     * with its intent to retain.
     */
    fun readAll(holder: EidFixture.Holder, docs: Requested): Result = runBlocking {
        require(holder.uri.startsWith("mdoc:"))
        val encodedDeviceEngagement = Base64.getUrlDecoder().decode(holder.uri.removePrefix("mdoc:"))
        val engagement = EngagementParser(encodedDeviceEngagement).parse()
        check(engagement.connectionMethods.any { it is MdocConnectionMethodBle && it.supportsPeripheralServerMode }) {
            "the engagement offers no BLE peripheral server mode: ${engagement.connectionMethods}"
        }
        // QR handover: null (§9.1.5.1).
        overTcp(holder.address, encodedDeviceEngagement, engagement.eSenderKey, Simple.NULL, docs)
    }

    /**
     * The session over the TCP stand-in for BLE at [address] (the TCP link carries GATT values as
     * our stand-in frames them), engaged with [encodedDeviceEngagement] and the transcript's
     * [handover]: the request, the answer, then status 20 and State end.
     */
    private suspend fun overTcp(
        address: String,
        encodedDeviceEngagement: ByteArray,
        eDeviceKey: EcPublicKey,
        handover: DataItem,
        docs: Requested,
    ): Result = TcpGattLink.connect(address).use { link ->
        link.start()
        val result = exchange(encodedDeviceEngagement, eDeviceKey, handover, docs) { request ->
            link.send(request)
            when (val got = link.receive()) {
                is TcpGattLink.Received.Ended -> null
                is TcpGattLink.Received.Started -> error("the holder wrote State start")
                is TcpGattLink.Received.Message -> got.bytes
            }
        }
        if (result.holderEnded) return@use result
        // ISO/IEC 18013-5 §9.1.1.4: the reader ends with status 20, then State end.
        runCatching { link.send(SessionEncryption.encodeStatus(20)) }
        link.end()
        result
    }

    /**
     * Engaged over NFC, the data over "BLE": [mdocReaderNfcHandover] reads the holder's Type 4
     * Tag, offering BLE peripheral server mode with [uuid] (then NFC) should the tag negotiate;
     * the handover must name BLE peripheral server mode, and the session then runs over the TCP
     * stand-in at [address] with the NFC handover in the transcript. Also returns what the
     * handover step found.
     */
    fun readNfcThenBle(
        tag: NfcIsoTag,
        address: String,
        uuid: UUID,
        docType: String,
        items: Map<String, List<String>>,
    ): Pair<MdocReaderNfcHandoverResult, Result> = runBlocking {
        val offered = listOf(
            MdocConnectionMethodBle(true, false, uuid, null, null, null),
            MdocConnectionMethodNfc(0xFFFF, 0x10000),
        )
        val handover = mdocReaderNfcHandover(tag, offered, MdocReaderNfcHandoverOptions(false))
            ?: error("no mdoc engagement on the tag")
        check(handover.connectionMethods.any { it is MdocConnectionMethodBle && it.supportsPeripheralServerMode }) {
            "the handover names no BLE peripheral server mode: ${handover.connectionMethods}"
        }
        val encodedDeviceEngagement = handover.encodedDeviceEngagement.toByteArray()
        val eDeviceKey = EngagementParser(encodedDeviceEngagement).parse().eSenderKey
        handover to overTcp(address, encodedDeviceEngagement, eDeviceKey, handover.handover, single(docType, items))
    }

    /**
     * Over NFC, as Multipaz's reader apps read a phone held to them: [mdocReaderNfcHandover]
     * reads the holder's NFC Forum Type 4 Tag (static handover: the Handover Select message
     * with the DeviceEngagement and the NFC carrier), then [NfcTransportMdocReader] selects the
     * mdoc application and carries the session in ENVELOPE / GET RESPONSE. [tag] is the holder
     * seen through PC/SC. Also returns what the handover step found.
     */
    fun readNfc(tag: NfcIsoTag, docType: String, items: Map<String, List<String>>): Pair<MdocReaderNfcHandoverResult, Result> =
        runBlocking {
            // Offered in the Handover Request when the tag asks for negotiated handover.
            val offered = listOf(MdocConnectionMethodNfc(0xFFFF, 0x10000))
            val handover = mdocReaderNfcHandover(tag, offered, MdocReaderNfcHandoverOptions(false))
                ?: error("no mdoc engagement on the tag")
            val nfc = handover.connectionMethods.filterIsInstance<MdocConnectionMethodNfc>().firstOrNull()
                ?: error("the handover offers no NFC data retrieval: ${handover.connectionMethods}")
            val encodedDeviceEngagement = handover.encodedDeviceEngagement.toByteArray()
            val eDeviceKey = EngagementParser(encodedDeviceEngagement).parse().eSenderKey
            val transport = NfcTransportMdocReader(MdocRole.MDOC_READER, MdocTransportOptions(), nfc)
            transport.setTag(tag)
            transport.open(eDeviceKey)
            try {
                val result = exchange(encodedDeviceEngagement, eDeviceKey, handover.handover, single(docType, items)) { request ->
                    transport.sendMessage(request)
                    transport.waitForMessage().takeIf { it.isNotEmpty() }
                }
                if (!result.holderEnded) {
                    // §9.1.1.4: the reader ends the session with status 20. Multipaz sends
                    // queued messages on its own coroutine; its answer (an empty DO'53') says
                    // the ENVELOPE went out before the tag is closed.
                    transport.sendMessage(SessionEncryption.encodeStatus(20))
                    check(transport.waitForMessage().isEmpty()) { "the holder answered the termination with a message" }
                }
                handover to result
            } finally {
                transport.close()
            }
        }

    /**
     * The session on any transport, with the holder's [eDeviceKey] from its engagement: a fresh
     * EReaderKey on the holder's curve, SessionTranscript
     * = [DeviceEngagementBytes, EReaderKeyBytes, Handover], the DeviceRequest encrypted in
     * SessionEstablishment, [send] carrying it and returning the holder's message (null when
     * the holder ended without one), and Multipaz's parse of what it decrypts.
     */
    private suspend fun exchange(
        encodedDeviceEngagement: ByteArray,
        eDeviceKey: EcPublicKey,
        handover: DataItem,
        docs: Requested,
        send: suspend (ByteArray) -> ByteArray?,
    ): Result {
        val eReaderKey = Crypto.createEcPrivateKey(eDeviceKey.curve)
        val encodedSessionTranscript = Cbor.encode(buildCborArray {
            addTaggedEncodedCbor(encodedDeviceEngagement)
            addTaggedEncodedCbor(Cbor.encode(eReaderKey.publicKey.toCoseKey().toDataItem()))
            add(handover)
        })
        val deviceRequest = request(encodedSessionTranscript, docs)
        val session = SessionEncryption(MdocRole.MDOC_READER, eReaderKey, eDeviceKey, encodedSessionTranscript)
        val answer = send(session.encryptMessage(deviceRequest, null)) ?: return Result(null, null, holderEnded = true)
        val (plaintext, status) = session.decryptMessage(answer)
        val parsed = plaintext?.let {
            DeviceResponseParser(it, encodedSessionTranscript)
                .setEphemeralReaderKey(AsymmetricKey.anonymous(eReaderKey, eReaderKey.curve.defaultKeyAgreementAlgorithm))
                .parse()
        }
        return Result(parsed, status, false, plaintext, encodedSessionTranscript, deviceRequest, eReaderKey)
    }

    /** The DeviceRequest (one DocRequest per entry of [docs]), signed with the reader key when one is given. */
    private suspend fun request(encodedSessionTranscript: ByteArray, docs: Requested): ByteArray {
        return if (currentRequestApi) {
            val signer = readerKey?.let {
                // A fully specified algorithm (ESP256): the Builder takes the curve from it and
                // puts ES256 (-7) in readerAuth's header.
                AsymmetricKey.X509CertifiedExplicit(readerChain!!, it, it.curve.defaultSigningAlgorithmFullySpecified)
            }
            DeviceRequest.Builder(Cbor.decode(encodedSessionTranscript))
                .apply { docs.forEach { (docType, itemsToRequest) -> addDocRequest(docType, itemsToRequest, null, signer) } }
                .build()
                .let { Cbor.encode(it.toDataItem()) }
        } else {
            DeviceRequestGenerator(encodedSessionTranscript).apply {
                docs.forEach { (docType, itemsToRequest) ->
                    addDocumentRequest(
                        docType,
                        itemsToRequest,
                        null,
                        readerKey,
                        readerKey?.curve?.defaultSigningAlgorithm ?: org.multipaz.crypto.Algorithm.UNSET,
                        readerChain,
                    )
                }
            }.generate()
        }
    }

    companion object {
        /** One docType's request without intent to retain. */
        fun single(docType: String, items: Map<String, List<String>>): Requested =
            listOf(docType to items.mapValues { (_, names) -> names.associateWith { false } })
    }
}

/** What a DeviceRequest asks for: per docType, per namespace, element name to intent to retain. */
typealias Requested = List<Pair<String, Map<String, Map<String, Boolean>>>>
