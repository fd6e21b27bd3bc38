//! Bank eKYC by chip (issue 16, docs/adr/0054): a registered relying party that read a card
//! with its own desk reader has the hub check the chip and answers a signed result.
//!
//! - `POST /v1/ekyc/challenges`: the relying party (`client_secret_basic`, its OIDC client
//!   secret, docs/adr/0042) gets 8 random bytes for the chip to sign, single use, for
//!   [`CHALLENGE_LIFETIME`] seconds (`ekyc_challenges`).
//! - `POST /v1/ekyc/checks`: the challenge is taken (used) first, in its own commit, so a
//!   refused check burns it too; then the checks of activation (`crate::evidence`): passive
//!   authentication against the CSCA, active authentication over that challenge; then the
//!   registry: the card is the current card of the citizen DG13 names, and the citizen's
//!   account (if any) is not locked. The answer: [`EkycResult`] signed by the police issuer,
//!   with the fields of the purpose's registered scope only, and one `chip_check` billable
//!   event (no claim value, no citizen) committed with it.

use crate::error::{ApiFailure, Error, OAuthFailure, SUSPENDED_RP};
use crate::evidence::{self, RegistryChip};
use crate::http::{Answer, parse, random_bytes, random_hex};
use crate::metering::{self, BillableKind};
use crate::oidc::clients::{self, Client};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use eid_core::api::{
    B64, EkycChallenge, EkycCheckRequest, EkycCheckResponse, EkycResult, ErrorCode,
};
use eid_core::credential::{Date, Document};
use eid_core::oid4vp::{covers, path_from_json};
use eid_core::sdjwt::{ClaimPath, pid_claims};
use eid_core::verify::ekyc::{EKYC_RESULT_CONTENT_TYPE, EKYC_RESULT_URI};
use serde_json::{Map, Value};
use sqlx::Row;
use std::sync::Arc;

/// Seconds a challenge stays usable: enough to place the card on the reader.
pub const CHALLENGE_LIFETIME: u64 = 120;

/// The relying party named and proven by `Authorization: Basic`, or `unauthenticated`.
async fn relying_party(state: &AppState, headers: &HeaderMap) -> Result<Client, ApiFailure> {
    clients::authenticate(state, headers)
        .await
        .map_err(|e: OAuthFailure| match e.status {
            StatusCode::UNAUTHORIZED => ApiFailure::new(
                ErrorCode::Unauthenticated,
                "relying-party client authentication failed",
            ),
            StatusCode::FORBIDDEN => ApiFailure::new(ErrorCode::NotAllowed, SUSPENDED_RP),
            StatusCode::SERVICE_UNAVAILABLE => ApiFailure::unavailable(),
            _ => ApiFailure::new(ErrorCode::Internal, "internal error"),
        })
}

/// POST /v1/ekyc/challenges
pub async fn challenge(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let run = async {
        let rp = relying_party(&state, &headers).await?;
        let now = state.now();
        let at = i64::try_from(now).unwrap_or(i64::MAX);
        let challenge_id = random_hex(16)?;
        let challenge = random_bytes(8)?;
        let expires_at = now + CHALLENGE_LIFETIME;
        let mut w = state.store.write().await?;
        // Expired challenges go at each issue (used ones stay no longer than that either).
        sqlx::query("DELETE FROM ekyc_challenges WHERE expires_at <= $1")
            .bind(at)
            .execute(&mut *w.tx)
            .await
            .map_err(Error::from)?;
        sqlx::query(
            "INSERT INTO ekyc_challenges (id, rp_id, challenge, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&challenge_id)
        .bind(&rp.rp_id)
        .bind(&challenge)
        .bind(at)
        .bind(i64::try_from(expires_at).unwrap_or(i64::MAX))
        .execute(&mut *w.tx)
        .await
        .map_err(Error::from)?;
        w.commit().await?;
        Answer::ok(&EkycChallenge {
            challenge_id,
            challenge: B64(challenge),
            expires_at,
        })
    };
    run.await.into_response()
}

/// Takes challenge `id` of `rp_id` (marks it used) in its own commit; why not otherwise.
async fn take_challenge(state: &AppState, rp_id: &str, id: &str) -> Result<Vec<u8>, ApiFailure> {
    let now = state.now_i64();
    let mut w = state.store.write().await?;
    let taken = sqlx::query(
        "UPDATE ekyc_challenges SET used_at = $1 \
         WHERE id = $2 AND rp_id = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING challenge",
    )
    .bind(now)
    .bind(id)
    .bind(rp_id)
    .fetch_optional(&mut *w.tx)
    .await
    .map_err(Error::from)?;
    if let Some(row) = taken {
        let challenge: Vec<u8> = row.try_get(0).map_err(Error::from)?;
        w.commit().await?;
        return Ok(challenge);
    }
    let row = sqlx::query("SELECT used_at FROM ekyc_challenges WHERE id = $1 AND rp_id = $2")
        .bind(id)
        .bind(rp_id)
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(Error::from)?;
    let used: Option<Option<i64>> = row.map(|r| r.try_get(0)).transpose().map_err(Error::from)?;
    Err(match used {
        // Another relying party's challenge is as unknown as a made-up one.
        None => ApiFailure::new(ErrorCode::NotFound, "no such challenge"),
        Some(Some(_)) => ApiFailure::new(ErrorCode::CodeUsed, "the challenge was already used"),
        Some(None) => ApiFailure::new(ErrorCode::CodeExpired, "the challenge expired"),
    })
}

/// The claim paths of the relying party's registered `purpose`, or `not_allowed`.
async fn scope(state: &AppState, rp_id: &str, purpose: &str) -> Result<Vec<ClaimPath>, ApiFailure> {
    let not_allowed = || {
        ApiFailure::new(
            ErrorCode::NotAllowed,
            "the relying party has not registered this purpose",
        )
    };
    let record = crate::relying_parties::one(state, rp_id).await?;
    let registered = record
        .purposes
        .iter()
        .find(|p| p.name == purpose)
        .ok_or_else(not_allowed)?;
    registered
        .claims
        .iter()
        .map(|c| path_from_json(c).map_err(|_| Error::Registry("stored purpose".into())))
        .collect::<Result<_, _>>()
        .map_err(ApiFailure::from)
}

/// The claims `allowed` covers: a top-level claim whole, or of an object claim the members.
pub fn scoped(claims: &Map<String, Value>, allowed: &[ClaimPath]) -> Map<String, Value> {
    let allows = |p: &ClaimPath| allowed.iter().any(|a| covers(a, p));
    let mut out = Map::new();
    for (name, value) in claims {
        if allows(&ClaimPath::keys(&[name])) {
            out.insert(name.clone(), value.clone());
        } else if let Value::Object(members) = value {
            let kept: Map<String, Value> = members
                .iter()
                .filter(|(k, _)| allows(&ClaimPath::keys(&[name, k])))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !kept.is_empty() {
                out.insert(name.clone(), Value::Object(kept));
            }
        }
    }
    out
}

/// What the registry says of the citizen DG13 names: the current card's files, whether the
/// account is locked, the identity record. `None`: no such citizen.
struct Registered {
    chip: RegistryChip,
    locked: bool,
    record: Vec<u8>,
}

async fn registered(state: &AppState, id_number: &str) -> Result<Option<Registered>, Error> {
    let row = sqlx::query(
        "SELECT c.dg1, c.dg13, c.dg15, a.state, r.record FROM citizens c \
         JOIN registry_records r ON r.id_number = c.id_number AND r.kind = $2 \
         LEFT JOIN accounts a ON a.id_number = c.id_number WHERE c.id_number = $1",
    )
    .bind(id_number)
    .bind(eid_core::credential::DocumentKind::Identity.as_str())
    .fetch_optional(state.store.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Registered {
        chip: RegistryChip {
            dg1: row.try_get(0)?,
            dg13: row.try_get(1)?,
            dg15: row.try_get(2)?,
        },
        locked: row.try_get::<Option<String>, _>(3)?.as_deref() == Some("locked"),
        record: row.try_get(4)?,
    }))
}

/// The 12-digit ID number of DG13 (field 1), if it has one.
fn id_number_of(dg13: &[u8]) -> Option<String> {
    let parsed = eid_icao::dg13::parse(dg13).ok()?;
    let id = parsed
        .fields
        .get(&eid_icao::dg13::field::ID_NUMBER)?
        .first()?;
    crate::input::is_id_number(id).then(|| id.clone())
}

/// POST /v1/ekyc/checks
pub async fn check(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let rp = relying_party(&state, &headers).await?;
        let req: EkycCheckRequest = parse(&body)?;
        let allowed = scope(&state, &rp.rp_id, &req.purpose).await?;
        let challenge = take_challenge(&state, &rp.rp_id, &req.challenge_id).await?;
        // Genuine: the files signed under our CSCA, the chip's key answering our challenge.
        evidence::passive(&req.chip, &state.keys.chip_trust)?;
        evidence::active(&req.chip, &challenge)?;
        let now = state.now();
        let registered = match id_number_of(&req.chip.dg13.0) {
            Some(id) => registered(&state, &id).await?,
            None => None,
        };
        let registry_match = registered
            .as_ref()
            .is_some_and(|r| evidence::matches(&req.chip, &r.chip));
        let (not_revoked, fields) = match registered {
            Some(r) if registry_match && !r.locked => {
                let card = match state.keys.open_record(&r.record, now)? {
                    Document::Identity(card) => card,
                    _ => return Err(Error::Registry("identity record".into()).into()),
                };
                let claims = pid_claims(
                    &card,
                    crate::mdoc_issue::IDENTITY_AUTHORITY,
                    Date::from_unix(now),
                );
                (true, scoped(&claims, &allowed))
            }
            _ => (false, Map::new()),
        };
        let result = EkycResult {
            result: EKYC_RESULT_URI.into(),
            rp_id: rp.rp_id.clone(),
            purpose: req.purpose.clone(),
            challenge_id: req.challenge_id.clone(),
            challenge: B64(challenge),
            checked_at: now,
            genuine: true,
            registry_match,
            not_revoked,
            fields,
        };
        let payload =
            serde_json::to_vec(&result).map_err(|_| Error::Registry("eKYC encoding".into()))?;
        let signed = crate::lists::police_signed(
            state.keys.status_signer(now)?,
            EKYC_RESULT_CONTENT_TYPE,
            payload,
            "eKYC result",
        )?;
        // Billed with the answer: what, to whom, when; never the citizen or a value.
        metering::record(
            &state,
            &rp.rp_id,
            &req.purpose,
            BillableKind::ChipCheck,
            now,
        )
        .await?;
        tracing::info!(rp = %rp.rp_id, purpose = %req.purpose, registry_match, not_revoked, "eKYC chip check");
        Answer::ok(&EkycCheckResponse {
            signed: B64(signed),
        })
    };
    run.await.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eid_core::oid4vp::purposes;
    use serde_json::json;

    #[test]
    fn the_scope_keeps_only_what_the_purpose_allows() {
        let claims = json!({
            "family_name": "Nguyễn",
            "given_name": "Văn An",
            "personal_administrative_number": "001099000001",
            "age_equal_or_over": {"16": true, "18": true, "21": false},
            "age_in_years": 20
        });
        let claims = claims.as_object().unwrap();
        let age = scoped(
            claims,
            &purposes::known_claims(purposes::AGE_CHECK).unwrap(),
        );
        assert_eq!(
            Value::Object(age),
            json!({"age_equal_or_over": {"18": true}})
        );
        let ekyc = scoped(claims, &purposes::known_claims(purposes::EKYC).unwrap());
        assert_eq!(&ekyc, claims);
        assert!(scoped(claims, &purposes::known_claims(purposes::LOGIN).unwrap()).is_empty());
        let names = scoped(claims, &[ClaimPath::keys(&["given_name"])]);
        assert_eq!(Value::Object(names), json!({"given_name": "Văn An"}));
    }
}
