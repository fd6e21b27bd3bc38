//! The backend's signed list of the document kinds it issues (`GET /v1/kinds`,
//! docs/adr/0060): a COSE_Sign1 by the police issuer, checked like the relying-party registry
//! (an issuer authorised for identity documents, chaining to the trust list), over the JSON of
//! [`KindListDocument`]. Every declaration must read as a [`KindDeclaration`] (so one naming a
//! check function this library does not have is refused: check functions are a closed set in
//! code) and be well formed; one bad declaration refuses the whole list. The kinds this library
//! has built in keep their own declarations: the list's entries for them are read and checked
//! but not used.

use super::signed_list::{SignedListError, police_signed_payload};
use crate::api::KindListDocument;
use crate::credential::kinds::{self, KindDeclaration};
use crate::credential::{DocumentKind, TrustList};
use thiserror::Error;

/// The `list` of every kind list this backend signs.
pub const KIND_LIST_URI: &str = "urn:vn-eid:backend:kinds:1";
/// COSE content type of the signed kind list.
pub const KIND_LIST_CONTENT_TYPE: &str = "application/vnd.vn-eid.kind-list+json";
/// Kinds accepted in one list (the declarations are small; this bounds the work of a check).
pub const MAX_KINDS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KindListError {
    #[error("kind list malformed: {0}")]
    Malformed(&'static str),
    #[error("kind list signature does not verify")]
    BadSignature,
    #[error("kind list signer is not trusted")]
    Untrusted,
    /// A declaration that does not read or is not well formed: which one, and why (names and
    /// rules only).
    #[error("kind list declaration {index} refused: {reason}")]
    Declaration { index: usize, reason: String },
}

impl From<SignedListError> for KindListError {
    fn from(e: SignedListError) -> Self {
        match e {
            SignedListError::Malformed(m) => KindListError::Malformed(m),
            SignedListError::BadSignature => KindListError::BadSignature,
            SignedListError::Untrusted => KindListError::Untrusted,
        }
    }
}

/// A checked kind list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindList {
    pub issued_at: u64,
    /// Every declaration of the list, in its order (built-in kinds included).
    pub kinds: Vec<KindDeclaration>,
}

impl KindList {
    /// Checks the signature and the signer's chain against `trust` at `now`, then every
    /// declaration.
    pub fn from_signed(
        signed: &[u8],
        trust: &TrustList,
        now: u64,
    ) -> Result<KindList, KindListError> {
        use KindListError::Malformed;
        let payload = police_signed_payload(signed, trust, now)?;
        let doc: KindListDocument =
            serde_json::from_slice(&payload).map_err(|_| Malformed("payload"))?;
        if doc.list != KIND_LIST_URI {
            return Err(Malformed("list"));
        }
        if doc.kinds.len() > MAX_KINDS {
            return Err(Malformed("too many kinds"));
        }
        let mut declared = Vec::with_capacity(doc.kinds.len());
        for (index, value) in doc.kinds.into_iter().enumerate() {
            let d: KindDeclaration =
                serde_json::from_value(value).map_err(|e| KindListError::Declaration {
                    index,
                    reason: e.to_string(),
                })?;
            if declared.iter().any(|o: &KindDeclaration| o.name == d.name) {
                return Err(KindListError::Declaration {
                    index,
                    reason: format!("kind {} declared twice", d.name),
                });
            }
            declared.push(d);
        }
        for (index, d) in declared.iter().enumerate() {
            let others: Vec<&KindDeclaration> = declared
                .iter()
                .chain(kinds::declarations().iter())
                .filter(|o| o.name != d.name)
                .collect();
            kinds::check_well_formed(d, &others)
                .map_err(|reason| KindListError::Declaration { index, reason })?;
        }
        Ok(KindList {
            issued_at: doc.issued_at,
            kinds: declared,
        })
    }

    /// The declarations of the kinds this library has no code for: what the wallet checks,
    /// lists and shows their credentials by.
    pub fn declared_only(&self) -> Vec<KindDeclaration> {
        self.kinds
            .iter()
            .filter(|d| DocumentKind::parse(&d.name).is_none())
            .cloned()
            .collect()
    }
}
