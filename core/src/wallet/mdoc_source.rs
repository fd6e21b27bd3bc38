//! The wallet as the mdocs' source in an ISO 18013-5 presentation (issue 15): the session asks
//! for a docType's IssuerSigned and for device signatures; the wallet takes one unused MSO per
//! docType for the session (single use, docs/adr/0031) and signs with that MSO's own device key.
//! Every session ends in the transaction log with the reader, the elements and the outcome.
//! Shared by `eid wallet mdoc present` (a borrowed wallet) and the bindings (an `Arc<Wallet>`
//! kept by a presentation object between the platform's callbacks).

use super::mdoc::HeldMdoc;
use super::{Result, Wallet};
use crate::mdoc::{
    Decision, HolderError, HolderPolicy, IssuerSigned, MdocSource, PresentationRequest,
};
use crate::transactions::{Outcome, Transaction, TransactionKind};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Mutex;

/// The wallet's MSOs for one presentation session. An MSO is taken (marked used) the first
/// time the session asks for its docType, and the same one serves the whole session.
pub struct WalletMdocs<W: Borrow<Wallet>> {
    wallet: W,
    taken: Mutex<HashMap<String, Option<HeldMdoc>>>,
}

impl<W: Borrow<Wallet>> WalletMdocs<W> {
    /// The wallet must be unlocked (the passcode or biometric before presenting).
    pub fn new(wallet: W) -> Self {
        Self {
            wallet,
            taken: Mutex::new(HashMap::new()),
        }
    }

    /// What the wallet requires of readers at `now` (Unix seconds). The trust list carries no
    /// reader CAs yet: every reader is shown as unauthenticated, none is refused for it.
    pub fn policy(now: u64) -> HolderPolicy<'static> {
        HolderPolicy {
            reader_cas: None,
            require_reader_auth: false,
            now,
        }
    }

    /// Records the session in the transaction log: who asked (the authenticated reader's
    /// subject, or "unauthenticated reader"), which `docType/namespace/element`s, and whether
    /// the citizen answered.
    pub fn record(&self, request: &PresentationRequest, decision: Decision) -> Result<()> {
        let wallet = self.wallet.borrow();
        let counterparty = request.reader.as_ref().map_or_else(
            || "unauthenticated reader".to_owned(),
            |r| r.subject.clone(),
        );
        let fields = request
            .documents
            .iter()
            .flat_map(|d| {
                d.elements
                    .iter()
                    .map(move |e| format!("{}/{}/{}", d.doc_type, e.namespace, e.identifier))
            })
            .collect();
        wallet.record(&Transaction {
            at_ms: wallet.clock.wall_ms(),
            kind: TransactionKind::Presentation,
            counterparty,
            profile: "mdoc".to_owned(),
            fields,
            outcome: match decision {
                Decision::Accept => Outcome::Success,
                Decision::Decline => Outcome::Refused,
            },
            detail: Some("ISO 18013-5".to_owned()),
        })
    }
}

impl<W: Borrow<Wallet>> MdocSource for WalletMdocs<W> {
    fn issuer_signed(&self, doc_type: &str) -> Option<IssuerSigned> {
        let mut taken = self.taken.lock().ok()?;
        taken
            .entry(doc_type.to_owned())
            .or_insert_with(|| self.wallet.borrow().take_mdoc(doc_type).ok().flatten())
            .as_ref()
            .map(|h| h.issuer_signed.clone())
    }

    fn sign(&mut self, doc_type: &str, tbs: &[u8]) -> std::result::Result<Vec<u8>, HolderError> {
        let taken = self.taken.lock().map_err(|_| HolderError::Signing)?;
        let Some(Some(held)) = taken.get(doc_type) else {
            return Err(HolderError::Signing);
        };
        self.wallet
            .borrow()
            .sign_with_mdoc_key(&held.alias, tbs)
            .map_err(|_| HolderError::Signing)
    }
}
