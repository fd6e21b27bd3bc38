//! The reader's presentation session (ISO/IEC 18013-5 §9.1.1), as a state machine without I/O:
//! from the holder's DeviceEngagement (QR `mdoc:` URI or NFC handover) and a fresh EReaderKey,
//! the SessionTranscript and session keys; the DeviceRequest (optionally signed with the reader
//! certificate: readerAuth over ReaderAuthentication, §9.1.4) sealed in SessionEstablishment;
//! the holder's SessionData opened and its DeviceResponse checked by [`check_device_response`].

use super::cbor::Tagged24;
use super::check::{ReaderContext, VerifiedDocument, check_device_response};
use super::cose_key::CoseKey;
use super::engagement::DeviceEngagement;
use super::ephemeral::{key_pair, public_key};
use super::error::{CheckError, MdocError};
use super::request::{DeviceRequest, DocRequest, ItemsRequest};
use super::session::{SessionData, SessionEstablishment};
use super::session_keys::{Role, SessionCipher, SessionKeys};
use super::transcript::SessionTranscript;
use ciborium::Value;
use eid_crypto::cose::sign_es256_unprotected_x5chain;
use eid_crypto::trust::TrustStore;
use eid_crypto::{Rng, SecretKey};
use thiserror::Error;

/// ES256 (r || s, SHA-256) over a Sig_structure with the reader key.
pub type ReaderSignFn<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, ReaderError> + 'a;

/// The reader's certificate and a signer with its key, for readerAuth.
pub struct ReaderSigner<'a> {
    /// The reader certificate (DER), carried in readerAuth's x5chain.
    pub certificate: &'a [u8],
    /// ES256 (r || s, SHA-256) over the Sig_structure with the reader key.
    pub sign: &'a mut ReaderSignFn<'a>,
}

/// What the holder answered.
#[derive(Debug, Clone, PartialEq)]
pub enum ReaderOutcome {
    /// A DeviceResponse, checked: every document verified, or the first failure.
    Response(Result<Vec<VerifiedDocument>, CheckError>),
    /// The holder ended the session without a response (declined: status 20; or an error
    /// status 10/11 about our request).
    Ended { status: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReaderError {
    #[error(transparent)]
    Mdoc(#[from] MdocError),
    #[error("not expected in this state of the session")]
    State,
    #[error("reader signature failed")]
    Signing,
}

/// The reader's side of one presentation.
pub struct ReaderSession {
    e_reader_private: SecretKey,
    e_reader_key_bytes: Tagged24,
    engagement: DeviceEngagement,
    transcript: SessionTranscript,
    cipher: SessionCipher,
    sent: bool,
    done: bool,
    /// The holder's DeviceResponse as received (decrypted), for [`ReaderSession::handover`].
    response: Option<zeroize::Zeroizing<Vec<u8>>>,
}

/// A finished session as an outside verifier needs it to check the DeviceResponse on its own
/// (ISO/IEC 18013-5 §9.1.3): the response, SessionTranscriptBytes, and the reader's ephemeral
/// private key as a COSE_Key (what a device MAC is checked with). Personal data and a key:
/// written only where the operator asks (`eid mdoc read --save-response`).
pub struct SessionHandover {
    pub device_response: zeroize::Zeroizing<Vec<u8>>,
    pub session_transcript_bytes: Vec<u8>,
    pub e_reader_private_cose_key: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for ReaderSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderSession")
            .field("sent", &self.sent)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ReaderSession {
    /// A session with the holder of `engagement`, with a fresh EReaderKey drawn from `rng` on
    /// the curve of the holder's EDeviceKey (§9.1.5.2), and the engagement's handover (`null`
    /// for QR, the NFC handover messages otherwise).
    pub fn generate(
        rng: &mut dyn Rng,
        engagement: DeviceEngagement,
        handover: Value,
    ) -> Result<ReaderSession, MdocError> {
        let (e_reader_private, _) = key_pair(engagement.e_device_key.curve(), rng)?;
        ReaderSession::new(e_reader_private, engagement, handover)
    }

    /// A session with the holder of `engagement`, our ephemeral `e_reader_private` (a private
    /// key on the curve of the engagement's EDeviceKey), and the engagement's handover.
    pub fn new(
        e_reader_private: SecretKey,
        engagement: DeviceEngagement,
        handover: Value,
    ) -> Result<ReaderSession, MdocError> {
        let e_reader_key = public_key(engagement.e_device_key.curve(), &e_reader_private)?;
        let e_reader_key_bytes = Tagged24::of(&e_reader_key.to_cose());
        let transcript =
            SessionTranscript::new(engagement.encoded(), e_reader_key_bytes.clone(), handover);
        let keys = SessionKeys::derive(
            &e_reader_private,
            &engagement.e_device_key,
            &transcript.bytes(),
        )?;
        Ok(ReaderSession {
            e_reader_private,
            e_reader_key_bytes,
            engagement,
            transcript,
            cipher: SessionCipher::new(keys, Role::Reader),
            sent: false,
            done: false,
            response: None,
        })
    }

    /// A session with a holder engaged by QR (handover `null`).
    pub fn qr(rng: &mut dyn Rng, engagement: DeviceEngagement) -> Result<ReaderSession, MdocError> {
        ReaderSession::generate(rng, engagement, Value::Null)
    }

    /// The public key of our EReaderKey.
    fn e_reader_key(&self) -> Result<CoseKey, MdocError> {
        public_key(self.engagement.e_device_key.curve(), &self.e_reader_private)
    }

    pub fn transcript(&self) -> &SessionTranscript {
        &self.transcript
    }

    pub fn engagement(&self) -> &DeviceEngagement {
        &self.engagement
    }

    /// The session for an outside verifier, once a DeviceResponse was received.
    pub fn handover(&self) -> Option<SessionHandover> {
        let response = self.response.as_ref()?;
        let mut cose = match self.e_reader_key().ok()?.to_cose() {
            Value::Map(m) => m,
            _ => return None,
        };
        // COSE_Key `d` (-4): the private scalar.
        cose.push((
            Value::from(-4),
            Value::Bytes(self.e_reader_private.as_bytes().to_vec()),
        ));
        let cose = Value::Map(cose);
        let encoded = zeroize::Zeroizing::new(crate::mdoc::cbor::encode(&cose));
        // The map held the scalar too.
        if let Value::Map(mut m) = cose
            && let Some((_, Value::Bytes(mut d))) = m.pop()
        {
            zeroize::Zeroize::zeroize(&mut d);
        }
        Some(SessionHandover {
            device_response: response.clone(),
            session_transcript_bytes: self.transcript.bytes(),
            e_reader_private_cose_key: encoded,
        })
    }

    /// The DeviceRequest for `items`, each DocRequest signed when `signer` is given.
    pub fn device_request(
        &self,
        items: &[ItemsRequest],
        mut signer: Option<ReaderSigner<'_>>,
    ) -> Result<Vec<u8>, ReaderError> {
        let mut doc_requests = Vec::new();
        for i in items {
            let mut doc = DocRequest {
                items: i.clone(),
                reader_auth: None,
            };
            if let Some(s) = signer.as_mut() {
                let payload = doc.reader_authentication_bytes(&self.transcript);
                let sign = &mut s.sign;
                let auth =
                    sign_es256_unprotected_x5chain(&payload, true, Some(s.certificate), |tbs| {
                        sign(tbs)
                    })
                    .map_err(|_| ReaderError::Signing)?;
                doc.reader_auth = Some(auth);
            }
            doc_requests.push(doc);
        }
        Ok(DeviceRequest {
            version: "1.0".into(),
            doc_requests,
        }
        .encode())
    }

    /// The first message: SessionEstablishment with the encrypted DeviceRequest for `items`.
    pub fn establish(
        &mut self,
        items: &[ItemsRequest],
        signer: Option<ReaderSigner<'_>>,
    ) -> Result<Vec<u8>, ReaderError> {
        if self.sent {
            return Err(ReaderError::State);
        }
        let request = self.device_request(items, signer)?;
        let data = self.cipher.encrypt(&request)?;
        self.sent = true;
        Ok(SessionEstablishment {
            e_reader_key_bytes: self.e_reader_key_bytes.clone(),
            e_reader_key: self.e_reader_key()?,
            data,
        }
        .encode())
    }

    /// Opens the holder's answer and checks the DeviceResponse with the IACAs at `now`.
    pub fn receive(
        &mut self,
        message: &[u8],
        iacas: &TrustStore,
        now: u64,
    ) -> Result<ReaderOutcome, ReaderError> {
        if !self.sent || self.done {
            return Err(ReaderError::State);
        }
        let data = SessionData::parse(message)?;
        let Some(ciphertext) = data.data else {
            self.done = true;
            return Ok(ReaderOutcome::Ended {
                status: data.status.unwrap_or_default(),
            });
        };
        let response = self.cipher.decrypt(&ciphertext)?;
        self.done = true;
        self.response = Some(zeroize::Zeroizing::new(response.clone()));
        let ctx = ReaderContext {
            transcript: &self.transcript,
            iacas,
            now,
            e_reader_private: Some(&self.e_reader_private),
        };
        Ok(ReaderOutcome::Response(check_device_response(
            &response, &ctx,
        )))
    }

    /// The message that ends the session (status 20).
    pub fn terminate(&mut self) -> Vec<u8> {
        self.done = true;
        super::holder_session::termination_message()
    }
}
