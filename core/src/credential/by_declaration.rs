//! Credentials of kinds this library has no code for (docs/adr/0060): the backend declares the
//! kind in its signed kind list, and the credential is issued, checked, summarised and rendered
//! from that declaration alone. Its `doc` map is held as it came; the issuer must be authorised
//! for the kind's name in the trust list.

use super::cbor;
use super::error::IssueError;
use super::format::{IssuerKey, StatusRef, Validity};
use super::kinds::{self, KindDeclaration, LabelledField, Summary};
use ciborium::Value;
use std::fmt;

/// A credential of a kind known by declaration, that passed every check of
/// [`super::verify_any`]. `Debug` shows no personal data: the kind, id, issuer and validity.
#[derive(Clone, PartialEq)]
pub struct DeclaredCredential {
    /// The declaration it was checked against (from the verified kind list).
    pub declaration: KindDeclaration,
    pub id: String,
    /// Issuer name (`iss`, the certificate subject).
    pub issuer: String,
    pub validity: Validity,
    pub status: StatusRef,
    /// The holder's device key, SEC1 uncompressed P-256 point.
    pub holder_key: Vec<u8>,
    pub(crate) doc: Value,
    /// DER of the issuer certificate.
    pub issuer_certificate: Vec<u8>,
}

impl fmt::Debug for DeclaredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeclaredCredential")
            .field("kind", &self.declaration.name)
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl DeclaredCredential {
    /// The kind's machine name.
    pub fn kind(&self) -> &str {
        &self.declaration.name
    }

    /// The list entry, as the declaration summarises it.
    pub fn summary(&self) -> Summary {
        kinds::summarise(&self.declaration, &self.doc)
    }

    /// The fields with their labels and types, in declaration order.
    pub fn labelled_fields(&self) -> Vec<LabelledField> {
        kinds::render(&self.declaration, &self.doc)
    }

    /// The fields as JSON (dates as ISO strings, bytes as their size).
    pub fn fields_json(&self) -> serde_json::Value {
        cbor::to_display_json(&self.doc)
    }
}

/// Whether `doc` (JSON typed by the declaration) keeps every rule of `declaration`: what
/// [`issue_declared`] checks before signing, for a backend to check its registry early.
pub fn check_declared(
    declaration: &KindDeclaration,
    doc: &serde_json::Value,
) -> Result<(), super::DocumentError> {
    kinds::validate(
        declaration,
        &super::declared::json_to_cbor(&declaration.fields, doc)?,
    )
}

/// Signs `doc` (JSON typed by the declaration: dates `YYYY-MM-DD`, numbers as integers, enums
/// as their wire value) as a credential of `declaration`'s kind, after checking the
/// declaration is well formed and the document keeps every rule: an issuer never signs a
/// broken one. For kinds declared as data (a backend's kind list); built-in kinds use
/// [`super::issue`].
pub fn issue_declared(
    declaration: &KindDeclaration,
    doc: &serde_json::Value,
    holder_key: &[u8],
    validity: Validity,
    status: &StatusRef,
    issuer: &IssuerKey,
) -> Result<Vec<u8>, IssueError> {
    if super::DocumentKind::parse(&declaration.name).is_some() {
        return Err(IssueError::KindMismatch);
    }
    kinds::check_well_formed(declaration, &[])
        .map_err(|reason| super::DocumentError::new("declaration", reason))?;
    let doc = super::declared::json_to_cbor(&declaration.fields, doc)?;
    kinds::validate(declaration, &doc)?;
    let claims =
        super::format::claims(&declaration.name, doc, holder_key, validity, status, issuer)?;
    super::format::sign_payload(&claims, issuer)
}
