//! The wallet as the mdocs' source in an ISO 18013-5 presentation (issue 15): the session asks
//! for a docType's IssuerSigned and for device signatures; the wallet takes one unused MSO per
//! docType for the session (single use, docs/adr/0031; once a batch is spent, the one shown last
//! again, and said so) and signs with that MSO's own device key
//! (or agrees EMacKey with it for a device MAC, where the key store can).
//! Every session ends in the transaction log with the reader, the elements and the outcome.
//! Shared by `eid wallet mdoc present` (a borrowed wallet) and the bindings (an `Arc<Wallet>`
//! kept by a presentation object between the platform's callbacks).

use super::mdoc::HeldMdoc;
use super::{Result, Wallet};
use crate::mdoc::{
    Decision, HolderError, HolderPolicy, IssuerSigned, MdocSource, PresentationRequest,
    ReaderAuthError,
};
use crate::transactions::{Outcome, Transaction, TransactionKind};
use std::borrow::{Borrow, Cow};
use std::collections::HashMap;
use std::sync::Mutex;
use zeroize::Zeroizing;

/// How the log and the screens name a reader that did not authenticate.
pub const UNAUTHENTICATED: &str = "unauthenticated reader";

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

    /// What the wallet requires of readers at `now` (Unix seconds): their request signed by a
    /// reader certificate of a reader CA in the synced trust list (docs/adr/0040) to be shown
    /// as authenticated, and not revoked by the reader CA's CRL (docs/adr/0053); with
    /// `require_reader_auth` any other reader is refused (the session
    /// ends, nothing is disclosed). With `device_mac` the answer carries a device MAC where the
    /// key store holds the mdoc's device key in software (ECDH), a signature otherwise.
    pub fn policy(
        &self,
        now: u64,
        require_reader_auth: bool,
        device_mac: bool,
    ) -> Result<HolderPolicy<'static>> {
        let wallet = self.wallet.borrow();
        let cas = wallet.reader_cas()?;
        Ok(HolderPolicy {
            reader_cas: (!cas.is_empty()).then_some(Cow::Owned(cas)),
            reader_crl: wallet.reader_crl()?.map(Cow::Owned),
            require_reader_auth,
            now,
            device_mac,
        })
    }

    /// Records a session the wallet ended because the reader did not authenticate
    /// (`require_reader_auth`): counterparty "unauthenticated reader", no elements (none was
    /// shown or sent), outcome refused, the reason in the detail.
    pub fn record_refused(&self, why: ReaderAuthError) -> Result<()> {
        let wallet = self.wallet.borrow();
        wallet.record(&Transaction {
            at_ms: wallet.clock.wall_ms(),
            kind: TransactionKind::Presentation,
            counterparty: UNAUTHENTICATED.to_owned(),
            profile: "mdoc".to_owned(),
            fields: Vec::new(),
            outcome: Outcome::Refused,
            detail: Some(format!("ISO 18013-5: reader refused: {why}")),
        })
    }

    /// Records the session in the transaction log: who asked (the authenticated reader's
    /// subject, or "unauthenticated reader"), which `docType/namespace/element`s (on accept,
    /// those sent: not what the wallet does not hold), and whether the citizen answered.
    pub fn record(&self, request: &PresentationRequest, decision: Decision) -> Result<()> {
        let wallet = self.wallet.borrow();
        let counterparty = request
            .reader
            .as_ref()
            .map_or_else(|| UNAUTHENTICATED.to_owned(), |r| r.subject.clone());
        let accepted = decision == Decision::Accept;
        let fields = request
            .documents
            .iter()
            .filter(|d| d.held || !accepted)
            .flat_map(|d| {
                d.elements
                    .iter()
                    .filter(move |e| !accepted || !d.not_held.contains(e))
                    .map(move |e| {
                        // On accept, an age_over_NN answered by another threshold logs that one.
                        let sent = d
                            .nearest_age
                            .iter()
                            .find(|n| {
                                accepted
                                    && n.namespace == e.namespace
                                    && n.requested == e.identifier
                            })
                            .map_or(e.identifier.as_str(), |n| n.sent.as_str());
                        format!("{}/{}/{}", d.doc_type, e.namespace, sent)
                    })
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
            detail: Some(match shown_again(request).as_slice() {
                [] => "ISO 18013-5".to_owned(),
                again => format!(
                    "ISO 18013-5; shown again (no unused MSO left): {}",
                    again.join(", ")
                ),
            }),
        })
    }
}

/// The docTypes of `request` answered with an MSO shown before (a spent batch): the citizen
/// should sync to refill.
pub fn shown_again(request: &PresentationRequest) -> Vec<String> {
    request
        .documents
        .iter()
        .filter(|d| d.shown_before)
        .map(|d| d.doc_type.clone())
        .collect()
}

impl<W: Borrow<Wallet>> MdocSource for WalletMdocs<W> {
    fn issuer_signed(&self, doc_type: &str) -> Option<IssuerSigned> {
        let mut taken = self.taken.lock().ok()?;
        taken
            .entry(doc_type.to_owned())
            .or_insert_with(|| {
                self.wallet
                    .borrow()
                    .take_mdoc_or_reuse(doc_type)
                    .ok()
                    .flatten()
            })
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

    fn shown_before(&self, doc_type: &str) -> bool {
        self.taken.lock().is_ok_and(|taken| {
            taken
                .get(doc_type)
                .is_some_and(|h| h.as_ref().is_some_and(|h| h.reused))
        })
    }

    fn key_agreement(&mut self, doc_type: &str, peer: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let taken = self.taken.lock().ok()?;
        let Some(Some(held)) = taken.get(doc_type) else {
            return None;
        };
        self.wallet
            .borrow()
            .mdoc_key_agreement(&held.alias, peer)
            .ok()
            .flatten()
    }
}
