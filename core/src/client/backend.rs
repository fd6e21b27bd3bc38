//! HTTP client for the backend API (`crate::api`): JSON bodies, device-signed requests, retries
//! with exponential backoff and jitter for what is safe to retry. The exchanges go through an
//! [`HttpTransport`] (ureq on desktop, the app's network stack on mobile), whose blocking calls
//! run on the core runtime's blocking pool (docs/adr/0014, 0015, 0016).

use super::{ClientError, DeviceSigner, VerifierSigner};
use crate::api::{
    self, ActivationComplete, ActivationCompleted, ActivationStart, ActivationStarted, ErrorBody,
    ErrorCode,
};
use crate::api::{
    AccountLockRequest, AccountStatus, B64, DocumentsPage, StatusListResponse, TrustListResponse,
};
use crate::api::{
    PresentationCredentialsIssued, PresentationCredentialsRequest, TokenRedeem, TokenRedeemed,
    VerifierRegistered, VerifierRegistration,
};
use crate::platform::http::{HttpRequest, HttpResponse, HttpTransport, Method, TransportFailure};
use eid_crypto::{OsRng, Rng};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// Who signs a request, and so which id header it carries.
#[derive(Clone, Copy)]
enum Signer<'a> {
    Device(&'a dyn DeviceSigner),
    Verifier(&'a dyn VerifierSigner),
}

impl Signer<'_> {
    fn id_header(&self) -> (&'static str, String) {
        match self {
            Signer::Device(s) => (api::headers::ACCOUNT, s.account_id()),
            Signer::Verifier(s) => (api::headers::VERIFIER, s.verifier_id()),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ClientError> {
        match self {
            Signer::Device(s) => s.sign(message),
            Signer::Verifier(s) => s.sign(message),
        }
    }
}

/// How one call is made.
#[derive(Clone, Copy, Default)]
struct CallOptions<'a> {
    signer: Option<Signer<'a>>,
    if_none_match: Option<&'a str>,
    bearer: Option<&'a str>,
    /// `client_secret_basic` (RFC 6749 §2.3.1): a relying party's client id and secret.
    basic: Option<(&'a str, &'a str)>,
    /// The request may be sent again after it may have reached the backend (reads, POSTs with
    /// a client_request_id). When not, only a connection that never opened is retried.
    replay_safe: bool,
}

/// Retry policy: attempts and the first backoff; each retry doubles it, plus up to 50 % jitter so
/// a crowd of phones does not retry in step after an outage (VNeID's evening peaks).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_backoff: Duration::from_millis(250),
            timeout: Duration::from_secs(15),
        }
    }
}

/// A client of one backend.
#[derive(Debug, Clone)]
pub struct BackendClient {
    base: String,
    http: Arc<dyn HttpTransport>,
    retry: RetryPolicy,
}

const NOT_MODIFIED: u16 = 304;

/// A conditional GET's answer: the document with its ETag, or `Unchanged` (304) when the ETag
/// sent still names the current version.
#[derive(Debug)]
pub enum Fetched<T> {
    Unchanged,
    Changed(T, Option<String>),
}

impl<T> Fetched<T> {
    /// The document of a GET sent without an ETag (a 304 cannot answer it).
    fn always(self) -> Result<T, ClientError> {
        match self {
            Fetched::Changed(t, _) => Ok(t),
            Fetched::Unchanged => Err(ClientError::Decode("304 to a GET without an ETag".into())),
        }
    }
}
const TOO_MANY_REQUESTS: u16 = 429;

/// A header value HTTP cannot carry (a control character in a token the caller passed): such a
/// request is refused before any attempt, whatever the transport.
fn invalid_header_value(v: &str) -> bool {
    v.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

/// A unique id for idempotent POSTs.
pub fn new_request_id() -> String {
    let mut b = [0u8; 16];
    OsRng.fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// RFC 6749 §2.3.1: id and secret each form-urlencoded, joined by `:`, base64 (RFC 7617).
fn basic_authorization(id: &str, secret: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl BackendClient {
    /// A client whose exchanges go through `http` (the app's network stack on mobile).
    pub fn with_transport(
        base_url: &str,
        retry: RetryPolicy,
        http: Arc<dyn HttpTransport>,
    ) -> Self {
        BackendClient {
            base: base_url.trim_end_matches('/').to_owned(),
            http,
            retry,
        }
    }

    /// A client over ureq and rustls (CLI, tests, desktop).
    #[cfg(feature = "http-ureq")]
    pub fn new(base_url: &str, retry: RetryPolicy) -> Result<Self, ClientError> {
        let http = Arc::new(super::ureq_transport::UreqTransport::new());
        Ok(Self::with_transport(base_url, retry, http))
    }

    /// The backend's base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn backoff(&self, attempt: u32) {
        let base = self
            .retry
            .first_backoff
            .saturating_mul(1u32 << attempt.min(6));
        let mut j = [0u8; 2];
        OsRng.fill(&mut j);
        let jitter = base.mul_f64(f64::from(u16::from_be_bytes(j)) / f64::from(u16::MAX) / 2.0);
        tokio::time::sleep(base + jitter).await;
    }

    /// One replay-safe call with retries, device-signed when `signer` is given.
    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        signer: Option<&dyn DeviceSigner>,
        if_none_match: Option<&str>,
    ) -> Result<HttpResponse, ClientError> {
        let options = CallOptions {
            signer: signer.map(Signer::Device),
            if_none_match,
            bearer: None,
            basic: None,
            replay_safe: true,
        };
        self.call_with(method, path_and_query, body, options).await
    }

    /// The request of one attempt. The signer signs each attempt afresh (the timestamp changes).
    fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Vec<u8>>,
        options: CallOptions<'_>,
    ) -> Result<HttpRequest, ClientError> {
        let mut headers = vec![(
            "user-agent".to_owned(),
            concat!("eid-wallet-core/", env!("CARGO_PKG_VERSION")).to_owned(),
        )];
        let mut header = |name: &str, value: String| headers.push((name.to_owned(), value));
        if body.is_some() {
            header("content-type", "application/json".into());
        }
        if let Some(tag) = options.if_none_match {
            header("if-none-match", tag.to_owned());
        }
        if let Some(token) = options.bearer {
            header("authorization", format!("Bearer {token}"));
        }
        if let Some((id, secret)) = options.basic {
            header("authorization", basic_authorization(id, secret));
        }
        if let Some(s) = options.signer {
            let ts = now_seconds();
            // A new nonce each attempt: a retry is a new request to the replay check, and the
            // client_request_id in the body makes its answer the first one's.
            let nonce = api::new_nonce();
            let bytes = body.map_or(&[][..], Vec::as_slice);
            let sig = s.sign(&api::signing_input(
                method.as_str(),
                path_and_query,
                ts,
                &nonce,
                bytes,
            ))?;
            // One encoding per signature: the backend takes low-S only (eid_crypto::es256).
            let sig = eid_crypto::es256::normalize_der(&sig)
                .ok_or_else(|| ClientError::DeviceKey("not a DER ECDSA signature".into()))?;
            let sig =
                serde_json::to_value(B64(sig)).map_err(|e| ClientError::Decode(e.to_string()))?;
            let (id_header, id) = s.id_header();
            header(id_header, id);
            header(api::headers::TIMESTAMP, ts.to_string());
            header(api::headers::NONCE, nonce);
            header(
                api::headers::SIGNATURE,
                sig.as_str().unwrap_or_default().to_owned(),
            );
        }
        if headers.iter().any(|(_, v)| invalid_header_value(v)) {
            return Err(ClientError::Network(
                "invalid request: a header value HTTP cannot carry".into(),
            ));
        }
        Ok(HttpRequest {
            method,
            url: format!("{}{}", self.base, path_and_query),
            headers,
            body: body.cloned(),
            timeout: self.retry.timeout,
        })
    }

    /// One call with retries.
    async fn call_with(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        options: CallOptions<'_>,
    ) -> Result<HttpResponse, ClientError> {
        let mut last = ClientError::Network("no attempt made".into());
        for attempt in 0..self.retry.attempts.max(1) {
            if attempt > 0 {
                self.backoff(attempt - 1).await;
            }
            let request = self.request(method, path_and_query, body.as_ref(), options)?;
            let http = self.http.clone();
            // The transport blocks: the exchange runs on the runtime's blocking pool, body
            // included.
            let exchange = tokio::task::spawn_blocking(move || http.exchange(request))
                .await
                .unwrap_or(Err(TransportFailure::MaybeSent("connection failed".into())));
            let resp = match exchange {
                Ok(r) => r,
                Err(TransportFailure::NotSent(why)) => {
                    // The request never left: sending it again is always harmless.
                    last = ClientError::Network(why);
                    continue;
                }
                Err(TransportFailure::MaybeSent(why)) => {
                    last = ClientError::Network(why);
                    // A request that may have reached the backend is not sent again unless
                    // that is harmless.
                    if options.replay_safe {
                        continue;
                    }
                    break;
                }
            };
            let status = resp.status;
            if (200..300).contains(&status) || status == NOT_MODIFIED {
                return Ok(resp);
            }
            let server_error = (500..600).contains(&status);
            let err = match serde_json::from_slice::<ErrorBody>(&resp.body) {
                Ok(b) => ClientError::Api {
                    status,
                    code: b.error.code,
                    message: b.error.message,
                    request_id: b.error.request_id,
                },
                Err(_) => ClientError::Api {
                    status,
                    code: if server_error {
                        ErrorCode::Internal
                    } else {
                        ErrorCode::InvalidRequest
                    },
                    message: format!("HTTP {status}"),
                    request_id: String::new(),
                },
            };
            // Only overload and server faults are worth another try; the rest will not change.
            // A server fault may come after the work was done: only replay-safe calls retry it.
            let retry = status == TOO_MANY_REQUESTS || (server_error && options.replay_safe);
            last = err;
            if !retry {
                break;
            }
        }
        Err(last)
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        signer: Option<&dyn DeviceSigner>,
    ) -> Result<T, ClientError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let resp = self.call(method, path, body, signer, None).await?;
        serde_json::from_slice(&resp.body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    pub async fn start_activation(
        &self,
        id_number: &str,
        phone: &str,
    ) -> Result<ActivationStarted, ClientError> {
        let body = ActivationStart {
            client_request_id: new_request_id(),
            id_number: id_number.into(),
            phone: phone.into(),
        };
        self.json(
            Method::Post,
            api::paths::ACTIVATION_START,
            Some(&body),
            None,
        )
        .await
    }

    pub async fn complete_activation(
        &self,
        body: &ActivationComplete,
    ) -> Result<ActivationCompleted, ClientError> {
        self.json(
            Method::Post,
            api::paths::ACTIVATION_COMPLETE,
            Some(body),
            None,
        )
        .await
    }

    /// Documents changed since `since`; `None` when the ETag still matches (304).
    pub async fn documents(
        &self,
        signer: &dyn DeviceSigner,
        since: Option<&str>,
        etag: Option<&str>,
    ) -> Result<Option<(DocumentsPage, Option<String>)>, ClientError> {
        let path = match since {
            Some(c) => format!("{}?since={}", api::paths::DOCUMENTS, c),
            None => api::paths::DOCUMENTS.to_owned(),
        };
        let resp = self
            .call(Method::Get, &path, None, Some(signer), etag)
            .await?;
        if resp.status == NOT_MODIFIED {
            return Ok(None);
        }
        let page =
            serde_json::from_slice(&resp.body).map_err(|e| ClientError::Decode(e.to_string()))?;
        let tag = resp.header("etag").map(str::to_owned);
        Ok(Some((page, tag)))
    }

    /// A public, cacheable document (trust list, status lists, RP registry): `Unchanged` when
    /// `etag` still names the backend's current version (304, no body sent), else its body and
    /// ETag (docs/adr/0044).
    pub async fn fetch_if_changed(
        &self,
        path: &str,
        etag: Option<&str>,
    ) -> Result<Fetched<Vec<u8>>, ClientError> {
        let resp = self.call(Method::Get, path, None, None, etag).await?;
        if resp.status == NOT_MODIFIED {
            return Ok(Fetched::Unchanged);
        }
        let tag = resp.header("etag").map(str::to_owned);
        Ok(Fetched::Changed(resp.body, tag))
    }

    /// [`Self::fetch_if_changed`] for a JSON document.
    async fn json_if_changed<T: DeserializeOwned>(
        &self,
        path: &str,
        etag: Option<&str>,
    ) -> Result<Fetched<T>, ClientError> {
        Ok(match self.fetch_if_changed(path, etag).await? {
            Fetched::Unchanged => Fetched::Unchanged,
            Fetched::Changed(body, tag) => Fetched::Changed(
                serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()))?,
                tag,
            ),
        })
    }

    pub async fn trust_list(&self) -> Result<TrustListResponse, ClientError> {
        self.trust_list_if_changed(None).await?.always()
    }

    pub async fn trust_list_if_changed(
        &self,
        etag: Option<&str>,
    ) -> Result<Fetched<TrustListResponse>, ClientError> {
        self.json_if_changed(api::paths::TRUST_LIST, etag).await
    }

    pub async fn status_list(&self) -> Result<StatusListResponse, ClientError> {
        self.status_list_if_changed(None).await?.always()
    }

    pub async fn status_list_if_changed(
        &self,
        etag: Option<&str>,
    ) -> Result<Fetched<StatusListResponse>, ClientError> {
        self.json_if_changed(api::paths::STATUS_LIST, etag).await
    }

    /// The signed registry of active relying parties (docs/adr/0036); the caller verifies it
    /// (`verify::RpRegistry::from_signed`).
    pub async fn relying_parties_if_changed(
        &self,
        etag: Option<&str>,
    ) -> Result<Fetched<crate::api::RpRegistryResponse>, ClientError> {
        self.json_if_changed(api::paths::RELYING_PARTIES, etag)
            .await
    }

    /// The signed kind list (docs/adr/0060); the caller verifies it
    /// (`verify::KindList::from_signed`).
    pub async fn kinds_if_changed(
        &self,
        etag: Option<&str>,
    ) -> Result<Fetched<crate::api::KindListResponse>, ClientError> {
        self.json_if_changed(api::paths::KINDS, etag).await
    }

    /// The Token Status List in CWT form (`application/statuslist+cwt`) the MSOs reference;
    /// the caller verifies it (`mdoc::verify_status_list_cwt`, or through `StatusListCache`).
    pub async fn status_list_cwt(&self) -> Result<Vec<u8>, ClientError> {
        self.fetch_if_changed(api::paths::STATUS_LIST_CWT, None)
            .await?
            .always()
    }

    /// The Token Status List in JWT form (`statuslist+jwt`) the SD-JWT VCs reference; the
    /// caller verifies it (`sdjwt::verify_status_list_jwt`).
    pub async fn status_list_jwt(&self) -> Result<String, ClientError> {
        self.status_list_jwt_if_changed(None).await?.always()
    }

    /// [`Self::status_list_jwt`] unless `etag` still names the current one.
    pub async fn status_list_jwt_if_changed(
        &self,
        etag: Option<&str>,
    ) -> Result<Fetched<String>, ClientError> {
        Ok(
            match self
                .fetch_if_changed(api::paths::STATUS_LIST_JWT, etag)
                .await?
            {
                Fetched::Unchanged => Fetched::Unchanged,
                Fetched::Changed(body, tag) => Fetched::Changed(
                    String::from_utf8(body)
                        .map_err(|_| ClientError::Decode("status list JWT".into()))?,
                    tag,
                ),
            },
        )
    }

    /// The citizen's hub-mediated disclosures (docs/adr/0050).
    pub async fn disclosures(
        &self,
        signer: &dyn DeviceSigner,
    ) -> Result<api::DisclosureList, ClientError> {
        self.json(
            Method::Get,
            api::paths::DISCLOSURES,
            None::<&()>,
            Some(signer),
        )
        .await
    }

    pub async fn account(&self, signer: &dyn DeviceSigner) -> Result<AccountStatus, ClientError> {
        self.json(Method::Get, api::paths::ACCOUNT, None::<&()>, Some(signer))
            .await
    }

    /// Locks (`true`) or unlocks the account at the backend.
    /// Unlocking needs the citizen's `consent` (docs/adr/0017); locking does not.
    pub async fn set_account_locked(
        &self,
        signer: &dyn DeviceSigner,
        locked: bool,
        consent: Option<crate::api::ConsentProof>,
    ) -> Result<AccountStatus, ClientError> {
        let path = if locked {
            api::paths::ACCOUNT_LOCK
        } else {
            api::paths::ACCOUNT_UNLOCK
        };
        let body = AccountLockRequest {
            client_request_id: new_request_id(),
            consent,
        };
        self.json(Method::Post, path, Some(&body), Some(signer))
            .await
    }

    /// A batch of presentation credentials of `profile` (`present::Profile::as_str`), one per
    /// SEC1 P-256 key in `device_keys`, in their order. Retried with the same
    /// client_request_id, so a retry gets the first batch, not a second one.
    pub async fn presentation_credentials(
        &self,
        signer: &dyn DeviceSigner,
        profile: &str,
        device_keys: &[Vec<u8>],
        consent: crate::api::ConsentProof,
    ) -> Result<Vec<Vec<u8>>, ClientError> {
        self.presentation_credentials_of(signer, profile, None, device_keys, consent)
            .await
    }

    /// [`Self::presentation_credentials`] of the holder's dependant `dependant` (its
    /// [`crate::api::Dependant::id`], docs/adr/0055), or of the holder's own with `None`.
    pub async fn presentation_credentials_of(
        &self,
        signer: &dyn DeviceSigner,
        profile: &str,
        dependant: Option<&str>,
        device_keys: &[Vec<u8>],
        consent: crate::api::ConsentProof,
    ) -> Result<Vec<Vec<u8>>, ClientError> {
        let body = PresentationCredentialsRequest {
            profile: profile.to_owned(),
            device_keys: device_keys.iter().cloned().map(B64).collect(),
            client_request_id: new_request_id(),
            consent: Some(consent),
            dependant: dependant.map(str::to_owned),
        };
        let issued: PresentationCredentialsIssued = self
            .json(
                Method::Post,
                api::paths::PRESENTATION_CREDENTIALS,
                Some(&body),
                Some(signer),
            )
            .await?;
        if issued.credentials.len() != device_keys.len() {
            return Err(ClientError::Decode(
                "not one credential per device key".into(),
            ));
        }
        Ok(issued.credentials.into_iter().map(|c| c.0).collect())
    }

    /// A batch of single-use credentials of `credential_type` in `format` (docs/adr/0031), one
    /// per device key, in order.
    pub async fn credential_batch(
        &self,
        signer: &dyn DeviceSigner,
        format: &str,
        credential_type: &str,
        device_keys: &[Vec<u8>],
        consent: crate::api::ConsentProof,
    ) -> Result<Vec<Vec<u8>>, ClientError> {
        let body = crate::api::CredentialBatchRequest {
            format: format.to_owned(),
            credential_type: credential_type.to_owned(),
            device_keys: device_keys.iter().cloned().map(B64).collect(),
            client_request_id: new_request_id(),
            consent: Some(consent),
        };
        let issued: crate::api::CredentialBatchIssued = self
            .json(
                Method::Post,
                api::paths::CREDENTIAL_BATCHES,
                Some(&body),
                Some(signer),
            )
            .await?;
        if issued.credentials.len() != device_keys.len()
            || issued.format != format
            || issued.credential_type != credential_type
        {
            return Err(ClientError::Decode(
                "not one credential of the type asked for per device key".into(),
            ));
        }
        Ok(issued.credentials.into_iter().map(|c| c.0).collect())
    }

    /// Redeems an online token (the scanned `VNT2:...` text) as the verifier of `signer`.
    ///
    /// Redemption is one-time at the backend and not idempotent: a request that may have
    /// reached it is never sent again (a retry would answer `token_used` for a token this
    /// verifier did redeem). Only a connection that never opened is retried; after a timeout
    /// the verifier asks the holder for a new token.
    pub async fn redeem_token(
        &self,
        signer: &dyn VerifierSigner,
        token_text: &str,
    ) -> Result<TokenRedeemed, ClientError> {
        let body = serde_json::to_vec(&TokenRedeem {
            token: token_text.to_owned(),
            client_request_id: Some(new_request_id()),
        })
        .map_err(|e| ClientError::Decode(e.to_string()))?;
        // Safe to send again: a retry carries the same client_request_id, and the backend
        // gives the desk that redeemed the token its fields again (docs/adr/0045).
        let options = CallOptions {
            signer: Some(Signer::Verifier(signer)),
            replay_safe: true,
            ..CallOptions::default()
        };
        let resp = self
            .call_with(Method::Post, api::paths::TOKEN_REDEEM, Some(body), options)
            .await?;
        serde_json::from_slice(&resp.body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// A host's check-in of a guest (docs/adr/0048), signed by the host's verifier key. Retried
    /// with the same client_request_id (the backend answers a retry with the first receipt).
    pub async fn accommodation_check_in(
        &self,
        signer: &dyn VerifierSigner,
        request: &api::CheckInRequest,
    ) -> Result<api::CheckInAnswer, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Decode(e.to_string()))?;
        let options = CallOptions {
            signer: Some(Signer::Verifier(signer)),
            replay_safe: true,
            ..CallOptions::default()
        };
        let resp = self
            .call_with(
                Method::Post,
                api::paths::ACCOMMODATION_CHECK_INS,
                Some(body),
                options,
            )
            .await?;
        serde_json::from_slice(&resp.body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// The accommodation notices of the signer's citizen after `after` (a notice's `seq`).
    pub async fn accommodation_notices(
        &self,
        signer: &dyn DeviceSigner,
        after: u64,
    ) -> Result<api::AccommodationNotices, ClientError> {
        let path = format!("{}?after={after}", api::paths::ACCOMMODATION_NOTICES);
        self.json(Method::Get, &path, None::<&()>, Some(signer))
            .await
    }

    /// Registers a verifier with the backend's admin token; not retried once sent (a retry
    /// could register it twice).
    pub async fn register_verifier(
        &self,
        admin_token: &str,
        registration: &VerifierRegistration,
    ) -> Result<VerifierRegistered, ClientError> {
        let body =
            serde_json::to_vec(registration).map_err(|e| ClientError::Decode(e.to_string()))?;
        let options = CallOptions {
            bearer: Some(admin_token),
            ..CallOptions::default()
        };
        let resp = self
            .call_with(
                Method::Post,
                api::paths::ADMIN_VERIFIERS,
                Some(body),
                options,
            )
            .await?;
        serde_json::from_slice(&resp.body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Development backends only: the newest SMS code sent to `phone`.
    pub async fn dev_latest_code(&self, phone: &str) -> Result<Option<String>, ClientError> {
        let path = format!("{}?phone={}", api::paths::DEV_OUTBOX, phone);
        let v: serde_json::Value = self.json(Method::Get, &path, None::<&()>, None).await?;
        let entries = v
            .as_array()
            .cloned()
            .or_else(|| v.get("messages").and_then(|m| m.as_array().cloned()));
        Ok(entries.and_then(|e| {
            e.iter()
                .rev()
                .find_map(|m| m.get("code").and_then(|c| c.as_str()).map(str::to_owned))
        }))
    }
}

// Remote signing calls (issue 6).
mod ekyc;
mod relying_parties;
mod signing;
// Citizen-entered data (docs/adr/0057).
mod submissions;
// Citizen consent calls (docs/adr/0017).
mod consent;
