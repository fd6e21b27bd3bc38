//! Wallet credentials: the documents a citizen holds (identity card, driving licence,
//! health insurance card, health record, vehicle registration, vaccination record, judicial
//! record extract, birth and marriage certificates, social insurance book, residence and tax
//! information, e-health book), each signed by its issuing authority as a CBOR
//! payload in a COSE_Sign1 (see [`format`]) and checked against a [`TrustList`].
//!
//! No model's `Debug` shows personal data, and no error carries any.

pub(crate) mod by_declaration;
pub(crate) mod cbor;
pub(crate) mod date;
pub(crate) mod declared;
pub(crate) mod driving;
pub(crate) mod error;
pub(crate) mod format;
pub(crate) mod health_insurance;
pub(crate) mod health_record;
pub(crate) mod identity;
pub(crate) mod kind_name;
pub mod kinds;
pub(crate) mod proposal;
pub(crate) mod trust;

pub use by_declaration::{DeclaredCredential, check_declared, issue_declared};
pub(crate) use cbor::decode as cbor_decode;
pub use date::Date;
pub use declared::DeclaredDocument;
pub use driving::{ClassEntitlement, DrivingLicence, LicenceClass};
pub use error::{CredentialError, DocumentError, IssueError};
pub use format::{
    Es256Signer, Held, IssuerKey, StatusRef, Validity, VerifiedCredential, issue, verify,
    verify_any,
};
pub use health_insurance::{BhytCode, HealthInsuranceCard, PrimaryCareFacility};
pub use health_record::HealthRecord;
pub use identity::{AccountLevel, EidAccount, IdentityCard, Sex};
pub use kind_name::KindName;
pub use proposal::{CITIZEN_ENTERED, ProposalError, apply_proposal};
pub use trust::{TrustList, TrustListError, key_id};

#[cfg(test)]
pub(crate) mod tests;

use ciborium::Value;
use std::fmt;

/// The kinds of document a wallet holds; each issuer is authorised for some of them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Thẻ căn cước (CCCD), issued by the Ministry of Public Security (Bộ Công an).
    Identity,
    /// Giấy phép lái xe, issued by the transport authorities.
    DrivingLicence,
    /// Thẻ bảo hiểm y tế (BHYT), issued by Viet Nam Social Security (BHXH).
    HealthInsurance,
    /// Tóm tắt hồ sơ sức khỏe (the International Patient Summary), issued by the Ministry of
    /// Health (Bộ Y tế).
    HealthRecord,
    /// Giấy chứng nhận đăng ký xe, issued by the traffic police (Cục Cảnh sát giao thông,
    /// Bộ Công an). Declared only ([`DeclaredDocument`]).
    VehicleRegistration,
    /// Sổ tiêm chủng, issued by the Ministry of Health. Declared only.
    Vaccination,
    /// Phiếu lý lịch tư pháp, issued by the Ministry of Justice (Bộ Tư pháp). Declared only.
    JudicialRecord,
    /// Giấy khai sinh, from the Ministry of Justice's civil-status database. Declared only.
    BirthCertificate,
    /// Giấy chứng nhận kết hôn, from the civil-status database. Declared only.
    MarriageCertificate,
    /// Sổ bảo hiểm xã hội, issued by Viet Nam Social Security. Declared only.
    SocialInsuranceBook,
    /// Thông tin cư trú (thường trú, tạm trú), issued by the police. Declared only.
    Residence,
    /// Thông tin thuế (the personal ID number as tax code), issued by the Tax Department.
    /// Declared only.
    TaxInfo,
    /// Sổ sức khỏe điện tử, the e-health book (an HL7 FHIR R4 Bundle), issued by the Ministry of
    /// Health. Declared only (ADR 0051).
    EHealthBook,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 13] = [
        DocumentKind::Identity,
        DocumentKind::DrivingLicence,
        DocumentKind::HealthInsurance,
        DocumentKind::HealthRecord,
        DocumentKind::VehicleRegistration,
        DocumentKind::Vaccination,
        DocumentKind::JudicialRecord,
        DocumentKind::BirthCertificate,
        DocumentKind::MarriageCertificate,
        DocumentKind::SocialInsuranceBook,
        DocumentKind::Residence,
        DocumentKind::TaxInfo,
        DocumentKind::EHealthBook,
    ];

    /// Whether the kind has no typed model: its documents are [`DeclaredDocument`]s, read and
    /// checked by the declaration alone.
    pub fn is_declared_only(self) -> bool {
        !matches!(
            self,
            DocumentKind::Identity
                | DocumentKind::DrivingLicence
                | DocumentKind::HealthInsurance
                | DocumentKind::HealthRecord
        )
    }

    /// Name on the wire (credential `kind`, trust list): the declaration's machine name.
    pub fn as_str(self) -> &'static str {
        self.declaration().name.as_str()
    }

    /// What the kind is, as data: fields, labels, rules, issuer, summary, profiles.
    pub fn declaration(self) -> &'static crate::credential::kinds::KindDeclaration {
        crate::credential::kinds::declaration(self)
    }

    pub fn parse(s: &str) -> Option<DocumentKind> {
        DocumentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The Vietnamese title the wallet shows (the app localises from `kind` if it wants).
    pub fn title(self) -> &'static str {
        self.declaration().label_vi.as_str()
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One document of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    Identity(IdentityCard),
    DrivingLicence(DrivingLicence),
    HealthInsurance(HealthInsuranceCard),
    HealthRecord(HealthRecord),
    /// A kind with no typed model (vehicle registration, vaccination, judicial record, the
    /// civil kinds of ADR 0047 and the e-health book).
    Declared(DeclaredDocument),
}

/// What a wallet list shows for a document. `Debug` hides the holder.
#[derive(Clone, PartialEq, Eq)]
pub struct DocumentSummary {
    pub kind: DocumentKind,
    pub title: &'static str,
    pub holder: String,
    /// `None`: no expiry printed (e.g. a CCCD after 60, motorcycle classes, health records).
    pub valid_until: Option<Date>,
}

impl fmt::Debug for DocumentSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentSummary")
            .field("kind", &self.kind)
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

impl Document {
    pub fn kind(&self) -> DocumentKind {
        match self {
            Document::Identity(_) => DocumentKind::Identity,
            Document::DrivingLicence(_) => DocumentKind::DrivingLicence,
            Document::HealthInsurance(_) => DocumentKind::HealthInsurance,
            Document::HealthRecord(_) => DocumentKind::HealthRecord,
            Document::Declared(d) => d.kind(),
        }
    }

    /// Every rule of the kind's declaration; the error names the field.
    pub fn validate(&self) -> Result<(), DocumentError> {
        crate::credential::kinds::validate(self.kind().declaration(), &self.to_cbor())
    }

    /// The list entry, as the kind's declaration summarises it.
    pub fn summary(&self) -> DocumentSummary {
        let s = crate::credential::kinds::summarise(self.kind().declaration(), &self.to_cbor());
        DocumentSummary {
            kind: self.kind(),
            title: self.kind().title(),
            holder: s.holder,
            valid_until: s.valid_until,
        }
    }

    /// The document's fields with their labels and types, in declaration order.
    pub fn labelled_fields(&self) -> Vec<crate::credential::kinds::LabelledField> {
        crate::credential::kinds::render(self.kind().declaration(), &self.to_cbor())
    }

    /// The document's fields as JSON, for display and export: dates as ISO strings, binary
    /// fields (the photo) as their size only.
    pub fn fields_json(&self) -> serde_json::Value {
        cbor::to_display_json(&self.to_cbor())
    }

    /// The HL7 FHIR R4 Bundle a health record or an e-health book carries (for export to FHIR
    /// tools); `None` for the other kinds.
    pub fn fhir_bundle(&self) -> Option<serde_json::Value> {
        match self {
            Document::HealthRecord(r) => Some(r.bundle().clone()),
            Document::Declared(d) if d.kind() == DocumentKind::EHealthBook => {
                serde_json::from_str(d.text("bundle")?).ok()
            }
            _ => None,
        }
    }

    pub(crate) fn to_cbor(&self) -> Value {
        match self {
            Document::Identity(d) => d.to_cbor(),
            Document::DrivingLicence(d) => d.to_cbor(),
            Document::HealthInsurance(d) => d.to_cbor(),
            Document::HealthRecord(d) => d.to_cbor(),
            Document::Declared(d) => d.to_cbor(),
        }
    }

    /// Reads and validates the `doc` map of a credential of `kind`.
    pub(crate) fn from_cbor(kind: DocumentKind, value: &Value) -> Result<Document, DocumentError> {
        // Each model's reader checks the declaration first.
        Ok(match kind {
            DocumentKind::Identity => Document::Identity(IdentityCard::from_cbor(value)?),
            DocumentKind::DrivingLicence => {
                Document::DrivingLicence(DrivingLicence::from_cbor(value)?)
            }
            DocumentKind::HealthInsurance => {
                Document::HealthInsurance(HealthInsuranceCard::from_cbor(value)?)
            }
            DocumentKind::HealthRecord => Document::HealthRecord(HealthRecord::from_cbor(value)?),
            _ => Document::Declared(DeclaredDocument::from_cbor(kind, value)?),
        })
    }
}
