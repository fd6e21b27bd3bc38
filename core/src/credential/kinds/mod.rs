//! Document kinds as data: each kind is a [`KindDeclaration`] (fields in display order with
//! types, Vietnamese and English labels and validation rules; the issuing authority; the list
//! summary; which profiles disclose which fields), and validation, summaries and labelled
//! renderings come from it. The kinds of [`DocumentKind`] are declared one per file here;
//! a kind declared only as data (e.g. JSON) validates, summarises and renders the same way.
//! See docs/adr/0038.

mod birth_certificate;
mod checks;
mod civil_checks;
pub mod declaration;
mod driving_licence;
mod e_health_book;
mod fhir_book;
mod health_insurance;
mod health_record;
mod identity;
mod judicial_record;
mod marriage_certificate;
mod render;
mod residence;
mod social_insurance_book;
mod summary;
mod tax_info;
mod vaccination;
mod validate;
mod vehicle_registration;
mod vin;
mod well_formed;

#[cfg(test)]
pub(crate) mod civil_tests;
#[cfg(test)]
mod declared_tests;
#[cfg(test)]
pub(crate) mod e_health_book_tests;
#[cfg(test)]
mod tests;

pub use declaration::{
    Authority, CheckFunction, DisclosedField, Disclosure, EnumValue, FieldDeclaration, FieldType,
    KindDeclaration, Rule, SummaryDeclaration, ValueSource,
};
pub use fhir_book::{
    CCCD_IDENTIFIER_SYSTEM, CVX_SYSTEM, ICD10_SYSTEM, LOINC_SYSTEM, UCUM_SYSTEM, VITAL_SIGN_UNITS,
    data_elements, loinc_check_digit,
};
pub use render::{LabelledField, render};
pub use summary::{Summary, summarise};
pub use validate::validate;
pub use vin::check_digit as vin_check_digit;
pub use well_formed::check as check_well_formed;

use crate::credential::DocumentKind;
use std::sync::OnceLock;

/// The declarations of the built-in kinds, in [`DocumentKind::ALL`] order.
pub fn declarations() -> &'static [KindDeclaration; DocumentKind::ALL.len()] {
    static ALL: OnceLock<[KindDeclaration; DocumentKind::ALL.len()]> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            identity::declaration(),
            driving_licence::declaration(),
            health_insurance::declaration(),
            health_record::declaration(),
            vehicle_registration::declaration(),
            vaccination::declaration(),
            judicial_record::declaration(),
            birth_certificate::declaration(),
            marriage_certificate::declaration(),
            social_insurance_book::declaration(),
            residence::declaration(),
            tax_info::declaration(),
            e_health_book::declaration(),
        ]
    })
}

/// The declaration of a built-in kind.
pub fn declaration(kind: DocumentKind) -> &'static KindDeclaration {
    let all = declarations();
    match kind {
        DocumentKind::Identity => &all[0],
        DocumentKind::DrivingLicence => &all[1],
        DocumentKind::HealthInsurance => &all[2],
        DocumentKind::HealthRecord => &all[3],
        DocumentKind::VehicleRegistration => &all[4],
        DocumentKind::Vaccination => &all[5],
        DocumentKind::JudicialRecord => &all[6],
        DocumentKind::BirthCertificate => &all[7],
        DocumentKind::MarriageCertificate => &all[8],
        DocumentKind::SocialInsuranceBook => &all[9],
        DocumentKind::Residence => &all[10],
        DocumentKind::TaxInfo => &all[11],
        DocumentKind::EHealthBook => &all[12],
    }
}

/// A built-in kind's declaration by machine name.
pub fn by_name(name: &str) -> Option<&'static KindDeclaration> {
    declarations().iter().find(|d| d.name == name)
}
