//! What a requested claim is called on the consent screen: Vietnamese and English labels for the
//! claims a relying party may ask of the identity (the PID SD-JWT VC's claim names, and the same
//! element names in the mdoc namespaces), so every app shows one wording (issue 16). A claim
//! without a label here is shown by its path ([`RequestedClaim::text`]).

use super::authorize::RequestedClaim;
use crate::oid4vp::FORMAT_MSO_MDOC;
use crate::sdjwt::PathElem;

/// (claim or element name, Vietnamese, English).
const LABELS: &[(&str, &str, &str)] = &[
    ("family_name", "Họ", "Family name"),
    ("given_name", "Tên", "Given names"),
    ("birthdate", "Ngày sinh", "Date of birth"),
    ("birth_date", "Ngày sinh", "Date of birth"),
    ("place_of_birth", "Nơi sinh", "Place of birth"),
    ("nationalities", "Quốc tịch", "Nationality"),
    ("nationality", "Quốc tịch", "Nationality"),
    ("sex", "Giới tính", "Sex"),
    ("address", "Nơi thường trú", "Permanent address"),
    ("resident_address", "Nơi thường trú", "Permanent address"),
    (
        "personal_administrative_number",
        "Số định danh cá nhân",
        "ID number",
    ),
    ("document_number", "Số giấy tờ", "Document number"),
    ("issuing_authority", "Nơi cấp", "Issuing authority"),
    ("issuing_country", "Quốc gia cấp", "Issuing country"),
    ("date_of_issuance", "Ngày cấp", "Date of issue"),
    ("issue_date", "Ngày cấp", "Date of issue"),
    ("date_of_expiry", "Có giá trị đến", "Date of expiry"),
    ("expiry_date", "Có giá trị đến", "Date of expiry"),
    ("picture", "Ảnh chân dung", "Photo"),
    ("portrait", "Ảnh chân dung", "Photo"),
    ("age_in_years", "Tuổi", "Age"),
    ("age_birth_year", "Năm sinh", "Year of birth"),
];

/// A claim's labels: (Vietnamese, English).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLabel {
    pub vi: String,
    pub en: String,
}

impl RequestedClaim {
    /// The claim's labels for the consent screen; its path as text when it has none.
    pub fn label(&self) -> ClaimLabel {
        let keys: Vec<&str> = self
            .path
            .0
            .iter()
            .filter_map(|e| match e {
                PathElem::Key(k) => Some(k.as_str()),
                _ => None,
            })
            .collect();
        // An mdoc's `[namespace, element]`: the element names the claim.
        let keys = if self.format == FORMAT_MSO_MDOC {
            keys.get(1..).unwrap_or_default()
        } else {
            &keys[..]
        };
        label_of(keys).unwrap_or_else(|| ClaimLabel {
            vi: self.text(),
            en: self.text(),
        })
    }
}

fn label_of(keys: &[&str]) -> Option<ClaimLabel> {
    let over = |n: &str| ClaimLabel {
        vi: format!("Đủ {n} tuổi"),
        en: format!("Aged {n} or over"),
    };
    match keys {
        ["age_equal_or_over", n] if n.bytes().all(|b| b.is_ascii_digit()) => Some(over(n)),
        [element] if element.starts_with("age_over_") => {
            let n = element.trim_start_matches("age_over_");
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then(|| over(n))
        }
        ["address", "formatted"] => Some(ClaimLabel {
            vi: "Nơi thường trú".into(),
            en: "Permanent address".into(),
        }),
        ["address", "country"] => Some(ClaimLabel {
            vi: "Quốc gia thường trú".into(),
            en: "Country of residence".into(),
        }),
        [name] => LABELS
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, vi, en)| ClaimLabel {
                vi: (*vi).into(),
                en: (*en).into(),
            }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oid4vp::FORMAT_SD_JWT_VC;
    use crate::sdjwt::ClaimPath;

    fn claim(format: &'static str, path: ClaimPath) -> RequestedClaim {
        RequestedClaim {
            query_id: "q".into(),
            credential: "c".into(),
            path,
            format,
        }
    }

    #[test]
    fn identity_claims_have_labels_in_both_languages() {
        let c = claim(FORMAT_SD_JWT_VC, ClaimPath::keys(&["family_name"]));
        assert_eq!(c.label().en, "Family name");
        assert_eq!(c.label().vi, "Họ");
        let c = claim(
            FORMAT_SD_JWT_VC,
            ClaimPath::keys(&["age_equal_or_over", "18"]),
        );
        assert_eq!(c.label().en, "Aged 18 or over");
        let c = claim(
            FORMAT_MSO_MDOC,
            ClaimPath::keys(&["org.iso.23220.1", "age_over_21"]),
        );
        assert_eq!(c.label().vi, "Đủ 21 tuổi");
        let c = claim(
            FORMAT_MSO_MDOC,
            ClaimPath::keys(&["org.iso.23220.1", "birth_date"]),
        );
        assert_eq!(c.label().en, "Date of birth");
    }

    #[test]
    fn a_claim_without_a_label_is_shown_by_its_path() {
        // An array element is labelled as its array.
        let c = claim(
            FORMAT_SD_JWT_VC,
            ClaimPath::keys(&["nationalities"]).then(PathElem::Index(0)),
        );
        assert_eq!(c.label().en, "Nationality");
        let c = claim(FORMAT_SD_JWT_VC, ClaimPath::keys(&["age_over_x"]));
        assert_eq!(c.label().en, "age_over_x");
        let c = claim(FORMAT_SD_JWT_VC, ClaimPath::keys(&["address", "street"]));
        assert_eq!(c.label().vi, "address.street");
    }
}
