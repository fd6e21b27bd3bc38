//! A bank's OpenID4VP relying party as the wallet's HTTP sees it (`authorize.rs`,
//! `oid4vp_mdoc.rs`): registered at the hub with the fixture bank's key, it signs its request
//! object when the wallet POSTs to [`REQUEST_URI`] (the wallet's `wallet_nonce` signed in) and
//! keeps what is posted to [`RESPONSE_URI`].

use eid_core::api::{RpPurpose, RpRecord, RpRegistrationRequest};
use eid_core::oid4vp::{self, DcqlQuery, PendingRequest, RequestSpec, ResponseMode, RpSigner};
use eid_core::platform::{HttpRequest, HttpResponse, HttpTransport, Method, TransportFailure};
use eid_fixtures::relying_parties::{BANK_DNS, RpPki};
use p256::elliptic_curve::sec1::ToSec1Point;
use std::sync::Mutex;

pub const REQUEST_URI: &str = "https://bank.example.vn/oid4vp/request/1";
pub const RESPONSE_URI: &str = "https://bank.example.vn/oid4vp/response";

/// The bank registered at the hub at `url` for `ekyc` and `age_check`, with `pki`'s key.
pub fn register(url: &str, pki: &RpPki) -> RpRecord {
    let point = pki.bank.signing_key().verifying_key().to_sec1_point(false);
    let req = RpRegistrationRequest {
        legal_name: "Ngân hàng Example".into(),
        registration_number: "0101234567".into(),
        logo_url: None,
        dns_name: BANK_DNS.into(),
        response_uris: vec![RESPONSE_URI.into()],
        purposes: ["ekyc", "age_check"]
            .iter()
            .map(|p| RpPurpose {
                name: (*p).into(),
                claims: vec![],
            })
            .collect(),
        public_key_pem: None,
        public_key_jwk: Some(eid_core::sdjwt::jwk_from_point(point.as_bytes()).unwrap()),
    };
    super::post_rp_registration(url, &req)
}

pub struct Bank {
    pub pki: RpPki,
    /// The access certificate the hub issued at registration.
    pub cert: Vec<u8>,
    pub now: u64,
    pub dcql: DcqlQuery,
    pub mode: ResponseMode,
    pub nonce: String,
    /// The response encryption key, used when `mode` is `direct_post.jwt`.
    pub enc: p256::SecretKey,
    /// What the response URI answers (e.g. a `redirect_uri`).
    pub answer: serde_json::Value,
    pub pending: Mutex<Option<PendingRequest>>,
    pub posted: Mutex<Vec<String>>,
}

impl Bank {
    /// The bank registered as `rec`, asking `dcql` with `mode` and `nonce` at `now`.
    pub fn new(
        pki: RpPki,
        rec: &RpRecord,
        dcql: DcqlQuery,
        mode: ResponseMode,
        nonce: &str,
        now: u64,
    ) -> Bank {
        let mut k = [0u8; 32];
        eid_crypto::Rng::fill(&mut eid_crypto::OsRng, &mut k);
        Bank {
            pki,
            cert: rec.access_certificate.0.clone(),
            now,
            dcql,
            mode,
            nonce: nonce.into(),
            enc: p256::SecretKey::from_slice(&k).unwrap(),
            answer: serde_json::json!({}),
            pending: Mutex::new(None),
            posted: Mutex::new(Vec::new()),
        }
    }
}

impl std::fmt::Debug for Bank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bank")
    }
}

impl HttpTransport for Bank {
    fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let ok = |body: String| HttpResponse {
            status: 200,
            headers: vec![],
            body: body.into_bytes(),
        };
        let body = String::from_utf8(request.body.unwrap_or_default()).unwrap();
        match (request.method, request.url.as_str()) {
            (Method::Post, REQUEST_URI) => {
                let form = oid4vp::form_decode(&body).unwrap();
                let client_id = format!("x509_san_dns:{BANK_DNS}");
                let x5c = [self.cert.clone()];
                let point = self.enc.public_key().to_sec1_point(false);
                let (jwt, pending) = oid4vp::request_object(
                    &RpSigner {
                        client_id: &client_id,
                        key: self.pki.bank.signing_key(),
                        x5c: &x5c,
                    },
                    &RequestSpec {
                        response_uri: RESPONSE_URI,
                        response_mode: self.mode,
                        nonce: &self.nonce,
                        state: Some("s-1"),
                        dcql: &self.dcql,
                        encryption_key: (self.mode == ResponseMode::DirectPostJwt)
                            .then_some(("bank-enc", point.as_bytes())),
                        enc_values: &[],
                        wallet_nonce: form.get("wallet_nonce").map(String::as_str),
                        issued_at: self.now,
                        lifetime: 300,
                    },
                )
                .unwrap();
                *self.pending.lock().unwrap() = Some(pending);
                Ok(ok(jwt))
            }
            (Method::Post, RESPONSE_URI) => {
                self.posted.lock().unwrap().push(body);
                Ok(ok(self.answer.to_string()))
            }
            _ => Ok(HttpResponse {
                status: 404,
                headers: vec![],
                body: vec![],
            }),
        }
    }
}
