//! Kinds delivered as data (docs/adr/0060): `GET /v1/kinds` publishes every kind this backend
//! issues as its declaration, signed by the police issuer like the relying-party registry, with
//! an ETag; and the kinds declared only in the configuration ([`DeclaredKind`]), which no
//! library release knows, are issued at sync from their declaration by an issuer key of their
//! own (`keys::ensure_declared_issuers`), authorised for the kind's name in the trust list.

use crate::error::{ApiFailure, Error};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use eid_core::api::{B64, KindListDocument, KindListResponse};
use eid_core::credential::kinds::{self, KindDeclaration};
use eid_core::credential::{DocumentKind, IssuerKey};
use eid_core::verify::KIND_LIST_URI;
use eid_core::verify::kind_list::KIND_LIST_CONTENT_TYPE;
use std::sync::Arc;

/// How long clients may reuse the kind list without asking (it changes with a deployment).
const MAX_AGE: u64 = 3600;

/// A kind the backend declares as data: its declaration and the registry of its documents.
#[derive(Clone)]
pub struct DeclaredKind {
    pub declaration: KindDeclaration,
    /// The documents of this kind, by the holder's 12-digit ID number: each JSON typed by the
    /// declaration (dates `YYYY-MM-DD`), issued to that citizen's devices at sync.
    pub documents: Vec<(String, serde_json::Value)>,
}

impl std::fmt::Debug for DeclaredKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeclaredKind")
            .field("kind", &self.declaration.name)
            .field("documents", &self.documents.len())
            .finish()
    }
}

/// One entry of a kinds file (`eid serve --kinds`).
#[derive(serde::Deserialize)]
struct KindsFileEntry {
    declaration: KindDeclaration,
    #[serde(default)]
    documents: Vec<KindsFileDocument>,
}

#[derive(serde::Deserialize)]
struct KindsFileDocument {
    id_number: String,
    doc: serde_json::Value,
}

/// The kinds of a kinds file: `[{"declaration": {...}, "documents": [{"id_number": "...",
/// "doc": {...}}]}]`. A declaration naming a check function this backend does not have does
/// not read. Checked further by [`check_config`] when the backend opens.
pub fn parse_config(json: &[u8]) -> Result<Vec<DeclaredKind>, Error> {
    // Where, not what: a document's values are personal data.
    let entries: Vec<KindsFileEntry> = serde_json::from_slice(json).map_err(|e| {
        Error::Config(format!(
            "kinds file: not a list of declarations with documents (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    Ok(entries
        .into_iter()
        .map(|e| DeclaredKind {
            declaration: e.declaration,
            documents: e
                .documents
                .into_iter()
                .map(|d| (d.id_number, d.doc))
                .collect(),
        })
        .collect())
}

/// Checks the configured kinds before the backend starts: each well formed, not a built-in
/// kind's name, each name once, every document valid.
pub fn check_config(declared: &[DeclaredKind]) -> Result<(), Error> {
    let bad = |name: &str, why: String| Error::Config(format!("declared kind {name}: {why}"));
    for (i, k) in declared.iter().enumerate() {
        let d = &k.declaration;
        if DocumentKind::parse(&d.name).is_some() {
            return Err(bad(&d.name, "is a built-in kind".into()));
        }
        if declared
            .iter()
            .skip(i + 1)
            .any(|o| o.declaration.name == d.name)
        {
            return Err(bad(&d.name, "declared twice".into()));
        }
        let others: Vec<&KindDeclaration> = kinds::declarations().iter().collect();
        kinds::check_well_formed(d, &others).map_err(|e| bad(&d.name, e))?;
        // Field and rule only: the documents are personal data.
        for (n, (_, doc)) in k.documents.iter().enumerate() {
            eid_core::credential::check_declared(d, doc)
                .map_err(|e| bad(&d.name, format!("document {n}: {e}")))?;
        }
    }
    Ok(())
}

/// The signed kind list, made once at start (the declarations do not change while running).
#[derive(Debug)]
pub struct KindList {
    body: Vec<u8>,
    etag: String,
    /// The declared-only kinds (configuration), for issuing and checking.
    pub declared: Vec<DeclaredKind>,
}

impl KindList {
    /// Signs the list of every built-in kind and every declared one with `signer` (the police
    /// issuer) at `now`.
    pub fn sign(declared: Vec<DeclaredKind>, signer: &IssuerKey, now: u64) -> Result<Self, Error> {
        let doc = KindListDocument {
            list: KIND_LIST_URI.into(),
            issued_at: now,
            kinds: kinds::declarations()
                .iter()
                .chain(declared.iter().map(|k| &k.declaration))
                .map(KindDeclaration::to_json)
                .collect(),
        };
        let payload =
            serde_json::to_vec(&doc).map_err(|_| Error::Registry("kind list encoding".into()))?;
        let signed = sign_payload(signer, payload)?;
        let body = serde_json::to_vec(&KindListResponse {
            signed: B64(signed),
        })
        .map_err(|_| Error::Registry("kind list encoding".into()))?;
        let etag = crate::http::etag_of(&body);
        Ok(KindList {
            body,
            etag,
            declared,
        })
    }

    /// The declarations of the declared-only kinds.
    pub fn declarations(&self) -> Vec<KindDeclaration> {
        self.declared
            .iter()
            .map(|k| k.declaration.clone())
            .collect()
    }

    pub fn kind(&self, name: &str) -> Option<&DeclaredKind> {
        self.declared.iter().find(|k| k.declaration.name == name)
    }
}

/// A kind list payload (the JSON of `KindListDocument`) signed by `signer`, the police
/// issuer: the COSE_Sign1 the wallet checks (`eid_core::verify::KindList::from_signed`).
pub fn sign_payload(signer: &IssuerKey, payload: Vec<u8>) -> Result<Vec<u8>, Error> {
    crate::lists::police_signed(signer, KIND_LIST_CONTENT_TYPE, payload, "kind list")
}

/// `GET /v1/kinds`.
pub async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let k = &state.kinds;
    crate::http::cacheable_json(&headers, k.body.clone(), &k.etag, MAX_AGE)
}

/// The failure of an unknown declared kind (a stored document whose kind left the
/// configuration).
pub(crate) fn unknown(name: &str) -> ApiFailure {
    ApiFailure::from(Error::Registry(format!("kind {name} is not declared")))
}
