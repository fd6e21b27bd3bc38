//! The identity card as a PID-like SD-JWT VC (docs/adr/0035): `vct` `urn:eudi:pid:vn:1` (the
//! OpenID4VP fixtures' and tests' type), claim names of the EU PID rulebook's SD-JWT VC encoding
//! (`given_name`, `family_name`, `birthdate`, `nationalities`, `address {formatted, country}`,
//! `age_equal_or_over {16, 18, 21, 65}`, `age_in_years`, `age_birth_year`, `issuing_country`,
//! `issuing_authority`), the 12-digit ID number as `personal_administrative_number`. Every one
//! of them selectively disclosable, and each part of `address`, `age_equal_or_over` and
//! `nationalities` on its own.
//!
//! And the check of such a credential, or of the `statuslist+jwt` it points into, against the
//! wallet's trust list: the `x5c` leaf chains to an anchor and is authorised for identity.

use super::error::SdJwtError;
use super::issuer_key::IssuerKey;
use super::jws::Jws;
use super::path::{ClaimPath, PathElem};
use super::status_list::StatusList;
use super::verify::{KeyBindingPolicy, Verified, VerifyOptions, verify};
use crate::credential::{Date, DocumentKind, IdentityCard, TrustList};
use base64::Engine;
use serde_json::{Map, Value, json};

/// The `vct` of the identity's SD-JWT VC.
pub const PID_VCT: &str = "urn:eudi:pid:vn:1";
/// Decoy digests per `_sd` array of an issued PID.
pub const PID_DECOYS: usize = 3;
/// The `age_equal_or_over` thresholds: the mdocs' `age_over_NN` set (few: each is a disclosure).
const AGE_THRESHOLDS: [u8; 4] = [16, 18, 21, 65];
/// ISO 3166-1 alpha-2 of the issuing state.
const VN: &str = "VN";

/// Family name and given names of a Vietnamese full name: the family name comes first.
fn split_name(full: &str) -> (String, String) {
    let full = full.trim();
    match full.split_once(char::is_whitespace) {
        Some((family, given)) => (family.to_owned(), given.trim().to_owned()),
        None => (full.to_owned(), String::new()),
    }
}

/// The personal claims of a card's PID on `today` (the issuing day; ages are counted on it),
/// without the JWT's own (`iss`, `iat`, `exp`, `vct`, `cnf`, `status`).
pub fn pid_claims(card: &IdentityCard, issuing_authority: &str, today: Date) -> Map<String, Value> {
    let (family, given) = split_name(&card.full_name);
    let age = card.date_of_birth.years_until(today);
    let mut claims = Map::new();
    claims.insert("family_name".into(), family.into());
    claims.insert("given_name".into(), given.into());
    claims.insert("birthdate".into(), card.date_of_birth.to_string().into());
    claims.insert(
        "personal_administrative_number".into(),
        card.id_number.clone().into(),
    );
    // The card's nationality as ISO 3166-1 alpha-2 when it is Vietnamese (every CCCD holder is
    // a citizen); no invented code for another text.
    if ["VNM", "VN", "Việt Nam"].contains(&card.nationality.as_str()) {
        claims.insert("nationalities".into(), json!([VN]));
    }
    claims.insert(
        "address".into(),
        json!({"formatted": card.place_of_residence, "country": VN}),
    );
    let over: Map<String, Value> = AGE_THRESHOLDS
        .iter()
        .map(|t| (t.to_string(), Value::Bool(age >= u32::from(*t))))
        .collect();
    claims.insert("age_equal_or_over".into(), Value::Object(over));
    claims.insert("age_in_years".into(), age.into());
    claims.insert("age_birth_year".into(), card.date_of_birth.year().into());
    claims.insert("issuing_country".into(), VN.into());
    claims.insert("issuing_authority".into(), issuing_authority.into());
    claims
}

/// Every claim of `claims` (from [`pid_claims`]) made selectively disclosable, and every
/// property of an object claim and element of an array claim on its own.
pub fn pid_concealed(claims: &Map<String, Value>) -> Vec<ClaimPath> {
    let mut paths = Vec::new();
    for (name, value) in claims {
        let top = ClaimPath::keys(&[name]);
        match value {
            Value::Object(map) => {
                paths.extend(map.keys().map(|k| ClaimPath::keys(&[name, k])));
            }
            Value::Array(items) => {
                paths.extend((0..items.len()).map(|i| top.then(PathElem::Index(i))));
            }
            _ => {}
        }
        paths.push(top);
    }
    paths
}

/// The `x5c` leaf of a verified header must be an issuer the trust list authorises for
/// identity at `now` (the chain to an anchor is already checked).
fn identity_issuer(
    header: &Map<String, Value>,
    trust: &TrustList,
    now: u64,
) -> Result<(), SdJwtError> {
    let leaf = header
        .get("x5c")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_str)
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .ok_or(SdJwtError::Untrusted)?;
    trust
        .prepared_issuer(&crate::credential::key_id(&leaf))
        .ok_or(SdJwtError::Untrusted)?
        .check(DocumentKind::Identity, now)
        .map_err(|_| SdJwtError::Untrusted)
}

/// Verifies the identity's SD-JWT VC (with a KB-JWT when `key_binding` asks for one) against a
/// trust list: `typ` `dc+sd-jwt`, `vct` [`PID_VCT`], the `x5c` chain to an anchor and its leaf
/// an authorised identity issuer, every disclosure, the validity at `now`.
pub fn verify_pid(
    presentation: &str,
    trust: &TrustList,
    now: u64,
    key_binding: Option<KeyBindingPolicy<'_>>,
) -> Result<Verified, SdJwtError> {
    let verified = verify(
        presentation,
        &VerifyOptions {
            issuer: IssuerKey::X5c(trust.anchor_store()),
            typ: Some(super::SD_JWT_VC_TYP),
            now,
            key_binding,
        },
    )?;
    if verified.claims.get("vct").and_then(Value::as_str) != Some(PID_VCT) {
        return Err(SdJwtError::Malformed("not the identity's vct"));
    }
    identity_issuer(&verified.header, trust, now)?;
    Ok(verified)
}

/// Verifies a `statuslist+jwt` fetched from `uri` against a trust list (signed by an authorised
/// identity issuer, `x5c` to an anchor, `sub` = `uri`, not expired).
pub fn verify_status_list_jwt(
    jwt: &str,
    uri: &str,
    trust: &TrustList,
    now: u64,
) -> Result<StatusList, SdJwtError> {
    let list = StatusList::from_jwt(jwt, uri, IssuerKey::X5c(trust.anchor_store()), now)?;
    identity_issuer(&Jws::parse(jwt)?.header, trust, now)?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Sex;

    fn card() -> IdentityCard {
        IdentityCard {
            id_number: "001203004567".into(),
            full_name: "Nguyễn Thị Lan Anh".into(),
            date_of_birth: Date::new(2008, 3, 15).unwrap_or_else(|| Date::from_unix(0)),
            sex: Sex::Female,
            nationality: "Việt Nam".into(),
            place_of_origin: "Xã Tân Lập, Hà Nội".into(),
            place_of_residence: "Số 5 Phố Huế, Phường 2, Hà Nội".into(),
            issue_date: Date::from_unix(1_700_000_000),
            expiry_date: None,
            photo: None,
            account: None,
        }
    }

    #[test]
    fn claims_are_the_pid_names_with_ages_on_the_issuing_day() {
        // 2026-03-14: one day before the 18th birthday; 2026-03-15: 18.
        let before = Date::new(2026, 3, 14).unwrap_or_else(|| Date::from_unix(0));
        let on = Date::new(2026, 3, 15).unwrap_or_else(|| Date::from_unix(0));
        let c = pid_claims(&card(), "Bộ Công an", before);
        assert_eq!(c["family_name"], "Nguyễn");
        assert_eq!(c["given_name"], "Thị Lan Anh");
        assert_eq!(c["birthdate"], "2008-03-15");
        assert_eq!(c["personal_administrative_number"], "001203004567");
        assert_eq!(c["nationalities"], json!(["VN"]));
        assert_eq!(c["address"]["country"], "VN");
        assert_eq!(
            c["age_equal_or_over"],
            json!({"16": true, "18": false, "21": false, "65": false})
        );
        assert_eq!(c["age_in_years"], 17);
        assert_eq!(c["age_birth_year"], 2008);
        let c = pid_claims(&card(), "Bộ Công an", on);
        assert_eq!(c["age_equal_or_over"]["18"], true);
        assert_eq!(c["age_in_years"], 18);
        // Every claim concealed, and each part of the object and array claims.
        let paths = pid_concealed(&c);
        assert_eq!(paths.len(), c.len() + 2 + 4 + 1);
        assert!(paths.contains(&ClaimPath::keys(&["age_equal_or_over", "18"])));
        assert!(paths.contains(&ClaimPath::keys(&["nationalities"]).then(PathElem::Index(0))));
    }
}
