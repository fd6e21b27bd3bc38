//! The purposes every relying party may register without listing claims (issue 16,
//! docs/adr/0036), with the claim paths each allows; any other purpose lists its own.
//!
//! - `login`: no claim of the credential at all. The relying party gets a pairwise subject
//!   (derived by the hub, different at every relying party), never a claim value.
//! - `age_check`: over 18 only (the SD-JWT VC `age_equal_or_over.18` and `age_over_18`, and the
//!   mdoc PhotoID element `age_over_18`).
//! - `ekyc`: the full identity (the SD-JWT VC identity claims; the PhotoID, CCCD and DTC
//!   namespaces of the mdoc).

use crate::sdjwt::ClaimPath;

pub const LOGIN: &str = "login";
pub const EKYC: &str = "ekyc";
pub const AGE_CHECK: &str = "age_check";
/// The known purposes.
pub const KNOWN: [&str; 3] = [LOGIN, EKYC, AGE_CHECK];

/// The SD-JWT VC identity claims (top level) an `ekyc` relying party may ask for.
const IDENTITY_CLAIMS: &[&str] = &[
    "family_name",
    "given_name",
    "birthdate",
    "place_of_birth",
    "nationalities",
    "sex",
    "address",
    "personal_administrative_number",
    "document_number",
    "issuing_authority",
    "issuing_country",
    "date_of_issuance",
    "date_of_expiry",
    "picture",
    "age_equal_or_over",
    "age_in_years",
    "age_birth_year",
    "age_over_18",
];

/// The mdoc namespaces of the identity (ISO/IEC 23220 PhotoID, the CCCD's own, the chip's DTC).
const IDENTITY_NAMESPACES: &[&str] = &[
    "org.iso.23220.1",
    "org.iso.23220.photoid.1",
    "vn.gov.cccd.1",
    "org.iso.23220.dtc.1",
];

/// The claim paths of a known purpose; `None` for any other name.
pub fn known_claims(purpose: &str) -> Option<Vec<ClaimPath>> {
    match purpose {
        LOGIN => Some(Vec::new()),
        AGE_CHECK => Some(vec![
            ClaimPath::keys(&["age_equal_or_over", "18"]),
            ClaimPath::keys(&["age_over_18"]),
            ClaimPath::keys(&["org.iso.23220.1", "age_over_18"]),
        ]),
        EKYC => Some(
            IDENTITY_CLAIMS
                .iter()
                .chain(IDENTITY_NAMESPACES)
                .map(|c| ClaimPath::keys(&[c]))
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oid4vp::covers;

    #[test]
    fn the_known_purposes_allow_what_they_say() {
        assert!(known_claims(LOGIN).unwrap().is_empty());
        let age = known_claims(AGE_CHECK).unwrap();
        let allows =
            |set: &[ClaimPath], p: &[&str]| set.iter().any(|a| covers(a, &ClaimPath::keys(p)));
        assert!(allows(&age, &["age_equal_or_over", "18"]));
        assert!(!allows(&age, &["age_equal_or_over", "21"]));
        assert!(!allows(&age, &["birthdate"]));
        let ekyc = known_claims(EKYC).unwrap();
        assert!(allows(&ekyc, &["address", "formatted"]));
        assert!(allows(&ekyc, &["org.iso.23220.1", "family_name"]));
        assert!(!allows(&ekyc, &["org.iso.18013.5.1", "driving_privileges"]));
        assert!(known_claims("marketing").is_none());
    }
}
