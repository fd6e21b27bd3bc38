//! The `dc+sd-jwt` format of credential batches (docs/adr/0035): the identity card as a
//! PID-like SD-JWT VC (`eid_core::sdjwt::pid_claims`, `vct` `urn:eudi:pid:vn:1`), one per
//! device key (`cnf.jwk`), every claim selectively disclosable with fresh 128-bit salts and
//! decoys, the disclosures in random order, signed by the identity issuer key with its
//! certificate in `x5c` (chaining to the trust list's root).

use crate::error::{ApiFailure, Error};
use crate::state::AppState;
use eid_core::api::ErrorCode;
use eid_core::credential::{Date, Document, DocumentKind, IssuerKey};
use eid_core::sdjwt::{
    self, Es256Signer, IssueOptions, PID_DECOYS, PID_VCT, SD_JWT_VC_TYP, StatusReference,
};
use eid_crypto::Rng;
use serde_json::{Map, Value};

/// The `vct` of `credential_type`, if this backend issues it.
pub fn vct(credential_type: &str) -> Option<&'static str> {
    (credential_type == PID_VCT).then_some(PID_VCT)
}

/// The personal claims of the citizen's PID on the day of `now`, and the end of the card's
/// last valid day (`None`: the card never expires).
pub struct Pid {
    claims: Map<String, Value>,
    pub document_end: Option<u64>,
}

pub async fn pid(
    state: &AppState,
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    now: u64,
) -> Result<Pid, ApiFailure> {
    let documents = crate::mdoc_issue::registry_documents(state, conn, account_id).await?;
    let card = documents
        .iter()
        .find_map(|d| match d {
            Document::Identity(c) => Some(c),
            _ => None,
        })
        .ok_or(ApiFailure::new(
            ErrorCode::NotFound,
            "the citizen's identity card is not in the registry",
        ))?;
    Ok(Pid {
        claims: sdjwt::pid_claims(
            card,
            crate::mdoc_issue::IDENTITY_AUTHORITY,
            Date::from_unix(now),
        ),
        document_end: crate::mdoc_issue::end_of(card.expiry_date),
    })
}

/// The issuer key as a JWS signer (r || s, low-S).
struct JwsSigner<'a>(&'a IssuerKey);

impl Es256Signer for JwsSigner<'_> {
    fn sign_es256(&self, message: &[u8]) -> Option<[u8; 64]> {
        self.0.sign_raw(message).ok()?.try_into().ok()
    }
}

/// The identity issuer's key at `now`, as a JWS signer, and its `x5c` chain (its certificate;
/// the trust list's root is the anchor).
pub fn identity_signer(
    state: &AppState,
    now: u64,
) -> Result<(impl Es256Signer + '_, Vec<Vec<u8>>), Error> {
    let key = state.keys.issuer_at(DocumentKind::Identity, now)?;
    Ok((JwsSigner(key), vec![key.certificate().to_vec()]))
}

/// A uniform index below `n` (n ≥ 1) by rejection sampling.
fn below(rng: &mut dyn Rng, n: usize) -> usize {
    let n = u64::try_from(n).unwrap_or(u64::MAX).max(1);
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let mut b = [0u8; 8];
        rng.fill(&mut b);
        let x = u64::from_le_bytes(b);
        if x < zone {
            return usize::try_from(x % n).unwrap_or(0);
        }
    }
}

/// One SD-JWT VC for `device_key` (SEC1), valid `(from, until)`, with status entry
/// `status_index`: fresh salts and decoys (two credentials share nothing but the data), the
/// disclosures shuffled. The issued SD-JWT (`~`-terminated, no KB-JWT) as UTF-8.
pub fn sign(
    state: &AppState,
    pid: &Pid,
    device_key: &[u8],
    (from, until): (u64, u64),
    status_index: u32,
) -> Result<Vec<u8>, Error> {
    let jwk = sdjwt::jwk_from_point(device_key).ok_or(Error::Registry("device key".into()))?;
    let mut claims = Map::new();
    claims.insert(
        "iss".into(),
        state.config.public_url.trim_end_matches('/').into(),
    );
    claims.insert("iat".into(), from.into());
    claims.insert("exp".into(), until.into());
    claims.insert("vct".into(), PID_VCT.into());
    claims.insert("cnf".into(), serde_json::json!({ "jwk": jwk }));
    let status = StatusReference {
        idx: u64::from(status_index),
        uri: crate::lists::status_list_jwt_uri(state),
    };
    claims.insert("status".into(), status.to_claim());
    claims.extend(pid.claims.clone());
    let (signer, x5c) = identity_signer(state, state.now())?;
    let mut rng = eid_crypto::OsRng;
    let mut issued = sdjwt::issue(
        &claims,
        &sdjwt::pid_concealed(&pid.claims),
        &IssueOptions {
            typ: SD_JWT_VC_TYP,
            x5c: &x5c,
            decoys: PID_DECOYS,
        },
        &signer,
        &mut rng,
    )
    .map_err(|_| Error::Registry("SD-JWT VC signature".into()))?;
    // The order of the disclosures says nothing of the claims (Fisher–Yates).
    for i in (1..issued.disclosures.len()).rev() {
        let j = below(&mut rng, i + 1);
        issued.disclosures.swap(i, j);
    }
    Ok(issued.to_compact().into_bytes())
}
