//! Document kinds as data: each kind is a [`KindDeclaration`] (fields in display order with
//! types, Vietnamese and English labels and validation rules; the issuing authority; the list
//! summary; which profiles disclose which fields), and validation, summaries and labelled
//! renderings come from it. The four kinds of [`DocumentKind`] are declared one per file here;
//! a kind declared only as data (e.g. JSON) validates, summarises and renders the same way.
//! See docs/adr/0038.

mod checks;
pub mod declaration;
mod driving_licence;
mod health_insurance;
mod health_record;
mod identity;
mod render;
mod summary;
mod validate;
mod well_formed;

#[cfg(test)]
mod tests;

pub use declaration::{
    Authority, CheckFunction, DisclosedField, Disclosure, EnumValue, FieldDeclaration, FieldType,
    KindDeclaration, Rule, SummaryDeclaration, ValueSource,
};
pub use render::{LabelledField, render};
pub use summary::{Summary, summarise};
pub use validate::validate;
pub use well_formed::check as check_well_formed;

use crate::credential::DocumentKind;
use std::sync::OnceLock;

/// The declarations of the four built-in kinds, in [`DocumentKind::ALL`] order.
pub fn declarations() -> &'static [KindDeclaration; 4] {
    static ALL: OnceLock<[KindDeclaration; 4]> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            identity::declaration(),
            driving_licence::declaration(),
            health_insurance::declaration(),
            health_record::declaration(),
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
    }
}

/// A built-in kind's declaration by machine name.
pub fn by_name(name: &str) -> Option<&'static KindDeclaration> {
    declarations().iter().find(|d| d.name == name)
}
