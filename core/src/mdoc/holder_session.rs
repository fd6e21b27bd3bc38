//! The holder's presentation session (ISO/IEC 18013-5 §9.1.1), as a state machine without I/O:
//! engagement (ephemeral EDeviceKey, DeviceEngagement, `mdoc:` URI) → the reader's
//! SessionEstablishment, decrypted → its DeviceRequest, reader authentication checked against the
//! reader CAs → a [`PresentationRequest`] for the citizen → the caller's [`Decision`] → the
//! DeviceResponse (selective disclosure, device signature or, by policy, device MAC) sealed in SessionData, or a
//! termination. Transports (BLE, NFC, TCP) only carry the bytes [`HolderSession`] gives them.
//!
//! Status codes (§9.1.1.4, table 20): a message that does not decrypt is answered with status 10,
//! one that is not CBOR of the expected structure with 11, and a declined or refused request ends
//! the session with status 20: nothing about the documents is disclosed.

use super::cbor::Tagged24;
use super::cose_key::CoseCurve;
use super::engagement::DeviceEngagement;
use super::ephemeral::public_key;
use super::error::MdocError;
use super::holder::{NearestAge, nearest_ages, not_held, respond, respond_with_mac_key};
use super::issuer_signed::IssuerSigned;
use super::reader_auth::{ReaderAuthError, verify_reader_auth};
use super::request::{DeviceRequest, RequestedElement};
use super::response::{DeviceResponse, DocumentError, ERROR_DATA_NOT_RETURNED};
use super::session::{
    STATUS_DECODING_ERROR, STATUS_ENCRYPTION_ERROR, STATUS_SESSION_TERMINATION, SessionData,
    SessionEstablishment,
};
use super::session_keys::{Role, SessionCipher, SessionKeys, derive_from_shared};
use super::transcript::SessionTranscript;
use ciborium::Value;
use eid_crypto::SecretKey;
use eid_crypto::crl::RevocationList;
use eid_crypto::trust::TrustStore;
use std::borrow::Cow;
use thiserror::Error;
use zeroize::Zeroizing;

/// What the holder requires of readers.
#[derive(Debug, Clone)]
pub struct HolderPolicy<'a> {
    /// The reader CAs the wallet trusts (from the trust list's `reader_ca`, never its IACAs);
    /// `None`: none known. Borrowed by tests and desks, owned by a wallet's session.
    pub reader_cas: Option<Cow<'a, TrustStore>>,
    /// The reader CA's verified CRL (docs/adr/0053): a listed reader is refused, and every
    /// reader while it is not current. `None`: revocation not checked (desks, tests).
    pub reader_crl: Option<Cow<'a, RevocationList>>,
    /// Refuse a reader that does not authenticate (unsigned request, or not by a trusted CA).
    pub require_reader_auth: bool,
    /// Unix seconds (certificate validity).
    pub now: u64,
    /// Authenticate the device by MAC (§9.1.3.5: EMacKey from the mdoc's device key and
    /// EReaderKey) where the source can agree keys ([`MdocSource::key_agreement`]: software-held
    /// device keys); a signature otherwise, and always when `false`.
    pub device_mac: bool,
}

/// The reader as its certificate names it, once its signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderIdentity {
    /// The certificate's subject (RFC 4514 string), for the citizen to read.
    pub subject: String,
    /// The reader certificate (DER).
    pub certificate: Vec<u8>,
}

/// One requested document, as shown to the citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedDocument {
    pub doc_type: String,
    /// Every element asked for, with the reader's intent to retain it.
    pub elements: Vec<RequestedElement>,
    /// Whether the wallet holds an mdoc of this docType (otherwise nothing is sent for it).
    pub held: bool,
    /// Elements asked for that the held mdoc does not hold: nothing is sent for them, and the
    /// reader is told they are not returned (ErrorCode 0). Empty when the docType is not held.
    pub not_held: Vec<RequestedElement>,
    /// Requested `age_over_NN` not held, answered by the nearest threshold held (§7.2.5): what
    /// is sent instead, to show the citizen.
    pub nearest_age: Vec<NearestAge>,
    /// Whether the mdoc to be sent was shown before (its batch is spent until the next sync):
    /// readers can link the two presentations. The citizen is told before consenting.
    pub shown_before: bool,
}

/// What the citizen is asked to approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationRequest {
    /// The authenticated reader, `None` when the request was not signed (or no reader CA known).
    pub reader: Option<ReaderIdentity>,
    /// Why the reader is not authenticated, when it is not.
    pub reader_auth_error: Option<ReaderAuthError>,
    pub documents: Vec<RequestedDocument>,
}

/// The citizen's answer, obtained by the caller (consent by passcode or biometric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Decline,
}

/// The wallet's mdocs as the session needs them: the issued IssuerSigned of a docType and a
/// signature by its device key.
pub trait MdocSource {
    /// The issued mdoc of `doc_type`, if the wallet holds one.
    fn issuer_signed(&self, doc_type: &str) -> Option<IssuerSigned>;
    /// ES256 (r || s, SHA-256) over `tbs` with the device key of the mdoc of `doc_type`.
    fn sign(&mut self, doc_type: &str, tbs: &[u8]) -> Result<Vec<u8>, HolderError>;
    /// ECDH between the device key of the mdoc of `doc_type` and `peer` (SEC1): the shared
    /// x-coordinate, for a device MAC. `None` (the default) where the key cannot agree keys.
    fn key_agreement(&mut self, doc_type: &str, peer: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let _ = (doc_type, peer);
        None
    }
    /// Whether the mdoc of `doc_type` this session sends was shown before (a spent batch shown
    /// again). `false` (the default) for a source whose mdocs are not single-use.
    fn shown_before(&self, doc_type: &str) -> bool {
        let _ = doc_type;
        false
    }
}

/// A borrowed source is a source (a session may own its source or borrow the caller's).
impl<T: MdocSource + ?Sized> MdocSource for &mut T {
    fn issuer_signed(&self, doc_type: &str) -> Option<IssuerSigned> {
        (**self).issuer_signed(doc_type)
    }
    fn sign(&mut self, doc_type: &str, tbs: &[u8]) -> Result<Vec<u8>, HolderError> {
        (**self).sign(doc_type, tbs)
    }
    fn key_agreement(&mut self, doc_type: &str, peer: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        (**self).key_agreement(doc_type, peer)
    }
    fn shown_before(&self, doc_type: &str) -> bool {
        (**self).shown_before(doc_type)
    }
}

/// What happened on a message from the reader.
#[derive(Debug, Clone, PartialEq)]
pub enum HolderStep {
    /// A request to show the citizen; answer with [`HolderSession::decide`].
    Request(PresentationRequest),
    /// The session is over; send `reply` (a SessionData with a status) if any.
    Ended {
        reason: SessionEnd,
        reply: Option<Vec<u8>>,
    },
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The reader terminated (status 20 or the transport's end signal).
    ByReader,
    /// The reader's message did not decrypt (answered with status 10).
    Encryption,
    /// The reader's message was not the expected CBOR (answered with status 11).
    Decoding,
    /// The policy requires reader authentication and the reader did not authenticate.
    ReaderRefused(ReaderAuthError),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HolderError {
    #[error(transparent)]
    Mdoc(#[from] MdocError),
    /// A call that the session's state does not allow (e.g. deciding before a request).
    #[error("not expected in this state of the session")]
    State,
    /// The device key could not sign.
    #[error("device signature failed")]
    Signing,
}

enum State {
    Engaged,
    Requested {
        cipher: SessionCipher,
        /// Boxed: the state's other variants carry nothing.
        transcript: Box<SessionTranscript>,
        request: DeviceRequest,
        /// EReaderKey (SEC1) when the policy asks for a device MAC.
        mac_with: Option<Vec<u8>>,
    },
    Answered,
    Finished,
}

/// The holder's side of one presentation.
pub struct HolderSession {
    e_device_private: SecretKey,
    engagement: DeviceEngagement,
    handover: Value,
    state: State,
}

impl std::fmt::Debug for HolderSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HolderSession").finish_non_exhaustive()
    }
}

fn status(code: u64) -> Vec<u8> {
    SessionData {
        data: None,
        status: Some(code),
    }
    .encode()
}

/// The SessionData that ends a session (status 20), sent by either side.
pub fn termination_message() -> Vec<u8> {
    status(STATUS_SESSION_TERMINATION)
}

impl HolderSession {
    /// A session engaged with `engagement` (whose EDeviceKey must be `e_device_private`'s
    /// public key) and the SessionTranscript handover of the engagement: `null` for QR,
    /// `[HandoverSelect, HandoverRequest or null]` for NFC (§9.1.5.1).
    pub fn new(
        e_device_private: SecretKey,
        engagement: DeviceEngagement,
        handover: Value,
    ) -> Result<HolderSession, MdocError> {
        if public_key(engagement.e_device_key.curve(), &e_device_private)?
            != engagement.e_device_key
        {
            return Err(MdocError::Key);
        }
        Ok(HolderSession {
            e_device_private,
            engagement,
            handover,
            state: State::Engaged,
        })
    }

    /// A session engaged by QR: a DeviceEngagement for the P-256 key `e_device_private` with
    /// the given retrieval methods, handover `null`.
    pub fn qr(
        e_device_private: SecretKey,
        retrieval_methods: Vec<Value>,
    ) -> Result<HolderSession, MdocError> {
        HolderSession::qr_on(CoseCurve::P256, e_device_private, retrieval_methods)
    }

    /// [`HolderSession::qr`] with an EDeviceKey on another curve of cipher suite 1.
    pub fn qr_on(
        curve: CoseCurve,
        e_device_private: SecretKey,
        retrieval_methods: Vec<Value>,
    ) -> Result<HolderSession, MdocError> {
        let e_device_key = public_key(curve, &e_device_private)?;
        let engagement = DeviceEngagement::new(e_device_key, retrieval_methods);
        HolderSession::new(e_device_private, engagement, Value::Null)
    }

    /// Whether the reader has not yet sent its first message (the engagement may still change).
    pub fn awaiting_reader(&self) -> bool {
        matches!(self.state, State::Engaged)
    }

    /// Completes the transcript's handover after an NFC negotiated handover, whose Handover
    /// Request comes after the engagement; only before the reader's first message.
    pub fn set_handover(&mut self, handover: Value) -> Result<(), MdocError> {
        if !self.awaiting_reader() {
            return Err(MdocError::Structure("handover after the session began"));
        }
        self.handover = handover;
        Ok(())
    }

    pub fn engagement(&self) -> &DeviceEngagement {
        &self.engagement
    }

    /// The QR code's text.
    pub fn qr_uri(&self) -> String {
        self.engagement.to_uri()
    }

    /// EDeviceKeyBytes (the BLE Ident is derived from them).
    pub fn e_device_key_bytes(&self) -> &Tagged24 {
        &self.engagement.e_device_key_bytes
    }

    /// Whether the session is over.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    fn end(&mut self, reason: SessionEnd, reply: Option<Vec<u8>>) -> HolderStep {
        self.state = State::Finished;
        HolderStep::Ended { reason, reply }
    }

    /// Handles one message from the reader.
    pub fn receive(
        &mut self,
        message: &[u8],
        policy: &HolderPolicy<'_>,
        source: &dyn MdocSource,
    ) -> Result<HolderStep, HolderError> {
        if matches!(self.state, State::Requested { .. } | State::Finished) {
            return Err(HolderError::State);
        }
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Engaged => Ok(self.establish(message, policy, source)),
            State::Answered => {
                // After the response the reader may only end the session (it does not send a
                // second request in this profile).
                match SessionData::parse(message) {
                    Ok(SessionData {
                        data: None,
                        status: Some(STATUS_SESSION_TERMINATION),
                    }) => Ok(self.end(SessionEnd::ByReader, None)),
                    // Anything else (a second request) is not served: the session ends.
                    Ok(_) => Ok(self.end(SessionEnd::ByReader, Some(termination_message()))),
                    Err(_) => {
                        Ok(self.end(SessionEnd::Decoding, Some(status(STATUS_DECODING_ERROR))))
                    }
                }
            }
            State::Requested { .. } | State::Finished => Err(HolderError::State),
        }
    }

    /// The reader ended the session through the transport (BLE State "End", NFC field lost).
    pub fn transport_ended(&mut self) {
        self.state = State::Finished;
    }

    fn establish(
        &mut self,
        message: &[u8],
        policy: &HolderPolicy<'_>,
        source: &dyn MdocSource,
    ) -> HolderStep {
        let Ok(est) = SessionEstablishment::parse(message) else {
            // A status-only SessionData is how a reader gives up before establishing.
            if let Ok(SessionData {
                status: Some(_), ..
            }) = SessionData::parse(message)
            {
                return self.end(SessionEnd::ByReader, None);
            }
            return self.end(SessionEnd::Decoding, Some(status(STATUS_DECODING_ERROR)));
        };
        let transcript = SessionTranscript::new(
            self.engagement.encoded(),
            est.e_reader_key_bytes.clone(),
            self.handover.clone(),
        );
        // EReaderKey must be on EDeviceKey's curve (§9.1.5.2).
        let same_curve = est.e_reader_key.curve() == self.engagement.e_device_key.curve();
        let keys = match SessionKeys::derive(
            &self.e_device_private,
            &est.e_reader_key,
            &transcript.bytes(),
        ) {
            Ok(k) if same_curve => k,
            _ => {
                return self.end(
                    SessionEnd::Encryption,
                    Some(status(STATUS_ENCRYPTION_ERROR)),
                );
            }
        };
        let mut cipher = SessionCipher::new(keys, Role::Device);
        let Ok(plain) = cipher.decrypt(&est.data) else {
            return self.end(
                SessionEnd::Encryption,
                Some(status(STATUS_ENCRYPTION_ERROR)),
            );
        };
        let Ok(request) = DeviceRequest::parse(&plain) else {
            return self.end(SessionEnd::Decoding, Some(status(STATUS_DECODING_ERROR)));
        };
        if request.doc_requests.is_empty() {
            return self.end(SessionEnd::Decoding, Some(status(STATUS_DECODING_ERROR)));
        }
        let (reader, reader_auth_error) = authenticate(&request, &transcript, policy);
        if policy.require_reader_auth && reader.is_none() {
            let why = reader_auth_error.unwrap_or(ReaderAuthError::Unsigned);
            return self.end(SessionEnd::ReaderRefused(why), Some(termination_message()));
        }
        let shown = PresentationRequest {
            reader,
            reader_auth_error,
            documents: request
                .doc_requests
                .iter()
                .map(|d| {
                    let issued = source.issuer_signed(&d.items.doc_type);
                    RequestedDocument {
                        doc_type: d.items.doc_type.clone(),
                        elements: d.items.elements.clone(),
                        held: issued.is_some(),
                        not_held: issued
                            .as_ref()
                            .map_or_else(Vec::new, |i| not_held(i, &d.items)),
                        nearest_age: issued
                            .as_ref()
                            .map_or_else(Vec::new, |i| nearest_ages(i, &d.items)),
                        shown_before: source.shown_before(&d.items.doc_type),
                    }
                })
                .collect(),
        };
        self.state = State::Requested {
            cipher,
            transcript: Box::new(transcript),
            request,
            mac_with: policy
                .device_mac
                .then(|| est.e_reader_key.public_bytes().to_vec()),
        };
        HolderStep::Request(shown)
    }

    /// Answers the pending request with the citizen's decision: the encrypted DeviceResponse
    /// (SessionData with data) on accept, a termination (status 20) on decline.
    pub fn decide(
        &mut self,
        decision: Decision,
        source: &mut dyn MdocSource,
    ) -> Result<Vec<u8>, HolderError> {
        if !matches!(self.state, State::Requested { .. }) {
            return Err(HolderError::State);
        }
        let State::Requested {
            mut cipher,
            transcript,
            request,
            mac_with,
        } = std::mem::replace(&mut self.state, State::Finished)
        else {
            return Err(HolderError::State);
        };
        if decision == Decision::Decline {
            return Ok(termination_message());
        }
        let mut response = DeviceResponse::ok(Vec::new());
        for d in &request.doc_requests {
            let doc_type = d.items.doc_type.as_str();
            let Some(issued) = source.issuer_signed(doc_type) else {
                // Not held: said so (ErrorCode 0), which tells the reader no more than the
                // document's absence does.
                response.document_errors.push(DocumentError {
                    doc_type: doc_type.to_owned(),
                    code: ERROR_DATA_NOT_RETURNED,
                });
                continue;
            };
            let shared = mac_with
                .as_deref()
                .and_then(|peer| source.key_agreement(doc_type, peer));
            let doc = match shared {
                Some(shared) => {
                    let key = derive_from_shared(&shared, &transcript.bytes(), b"EMacKey")?;
                    respond_with_mac_key(&issued, doc_type, &d.items, &transcript, &key)?
                }
                None => respond(&issued, doc_type, &d.items, &transcript, |tbs| {
                    source.sign(doc_type, tbs)
                })
                .map_err(|_| HolderError::Signing)?,
            };
            response.documents.push(doc);
        }
        let response = response.encode()?;
        let data = cipher.encrypt(&response)?;
        self.state = State::Answered;
        Ok(SessionData {
            data: Some(data),
            status: None,
        }
        .encode())
    }

    /// Ends the session from the holder's side: the message to send (status 20).
    pub fn terminate(&mut self) -> Vec<u8> {
        self.state = State::Finished;
        termination_message()
    }
}

/// The reader's identity if every signed DocRequest verifies under the reader CAs with one
/// certificate; otherwise why not.
fn authenticate(
    request: &DeviceRequest,
    transcript: &SessionTranscript,
    policy: &HolderPolicy<'_>,
) -> (Option<ReaderIdentity>, Option<ReaderAuthError>) {
    let Some(cas) = policy.reader_cas.as_deref() else {
        return (None, Some(ReaderAuthError::Untrusted));
    };
    let mut certificate: Option<Vec<u8>> = None;
    for d in &request.doc_requests {
        match verify_reader_auth(d, transcript, cas, policy.reader_crl.as_deref(), policy.now) {
            Ok(der) => {
                if certificate.as_ref().is_some_and(|c| *c != der) {
                    // Two readers in one request: not one identity to show.
                    return (None, Some(ReaderAuthError::Form));
                }
                certificate = Some(der);
            }
            Err(e) => return (None, Some(e)),
        }
    }
    let Some(der) = certificate else {
        return (None, Some(ReaderAuthError::Unsigned));
    };
    let subject = eid_crypto::x509::SignerCertificate::from_der(&der)
        .map(|c| c.certificate.tbs_certificate().subject().to_string())
        .unwrap_or_default();
    (
        Some(ReaderIdentity {
            subject,
            certificate: der,
        }),
        None,
    )
}
