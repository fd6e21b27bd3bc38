//! Citizen-entered data (issue 18, docs/adr/0057): the citizen submits a record or a change of a
//! kind its authority takes from citizens (a vaccination given abroad, a temporary residence),
//! with attachments, and follows its state. The wallet checks the proposal first, offline,
//! against the document of that kind it holds, with the same merge and declaration the backend
//! applies (`credential::apply_proposal`), so a mistyped field is named before anything is sent.
//! The list is asked of the backend when shown (`GET /v1/submissions`): it is not kept on the
//! device. A verified submission comes back as a re-issued credential at the next sync.
//!
//! A submission files a change to the citizen's records in their name: it carries the
//! citizen's consent ([`consent_action::SUBMISSION`] over [`submission_digest`] of the exact
//! request), so the device key alone cannot make one.

use super::sync::WalletSigner;
use super::{Result, Wallet, WalletError};
use crate::account::passcode::Passcode;
use crate::api::{
    SubmissionAttachment, SubmissionInfo, SubmissionRequest, attachment_refusal, consent_action,
    submission_digest,
};
use crate::client::{BackendClient, new_request_id};
use crate::credential::{CITIZEN_ENTERED, Date, Document, DocumentKind, apply_proposal};

impl Wallet {
    /// Sends a submission of `kind` (its machine name, e.g. `vaccination`) with the proposed
    /// top-level `fields` and the `attachments`, with the citizen's consent: `passcode`
    /// unlocks the wallet and proves it to the backend (a wrong one is `WrongPasscode`, nothing
    /// sent). Refused locally, naming what is wrong and before any consent is asked, for an
    /// unknown kind, a kind not entered by citizens, a field that breaks the kind's rules, or
    /// attachments too many, too large or not of their media type.
    pub async fn submit(
        &self,
        client: &BackendClient,
        kind: &str,
        fields: &serde_json::Value,
        attachments: Vec<SubmissionAttachment>,
        passcode: &Passcode,
    ) -> Result<SubmissionInfo> {
        self.unlock(passcode)?;
        let account_id = self.account_id()?.ok_or(WalletError::InvalidInput(
            "the wallet is not activated".into(),
        ))?;
        let Some(kind) = DocumentKind::parse(kind) else {
            let known: Vec<&str> = CITIZEN_ENTERED.iter().map(|k| k.as_str()).collect();
            return Err(WalletError::InvalidInput(format!(
                "unknown document kind; citizens submit {}",
                known.join(", ")
            )));
        };
        if let Some(why) = attachment_refusal(&attachments) {
            return Err(WalletError::InvalidInput(why));
        }
        self.check_proposal(kind, fields)?;
        let client_request_id = new_request_id();
        let digest = submission_digest(&client_request_id, kind.as_str(), fields, &attachments);
        let consent = self
            .remote_consent(client, passcode, consent_action::SUBMISSION, &digest)
            .await?;
        let request = SubmissionRequest {
            client_request_id,
            kind: kind.as_str().to_owned(),
            fields: fields.clone(),
            attachments,
            consent: Some(consent),
        };
        let signer = WalletSigner {
            wallet: self,
            account_id,
        };
        Ok(client.submit(&signer, &request).await?)
    }

    /// The proposal merged into the held document of `kind` and checked as the backend will
    /// (skipped when the wallet holds no identity card to name its holder).
    fn check_proposal(&self, kind: DocumentKind, fields: &serde_json::Value) -> Result<()> {
        let mut holder = None;
        let mut current = None;
        for info in self.documents()? {
            if info.kind == DocumentKind::Identity || info.kind == kind {
                let (_, v) = self.document(&info.id)?;
                match v.document {
                    Document::Identity(card) => holder = Some(card.id_number),
                    doc => current = Some(doc),
                }
            }
        }
        let Some(holder) = holder else {
            return Ok(());
        };
        apply_proposal(
            kind,
            current.as_ref(),
            fields,
            &holder,
            Date::from_unix(self.now()),
        )
        .map(|_| ())
        .map_err(|e| WalletError::InvalidInput(e.to_string()))
    }

    /// The account's submissions, newest first, with their state and the clerk's reason.
    pub async fn submissions(&self, client: &BackendClient) -> Result<Vec<SubmissionInfo>> {
        let account_id = self.account_id()?.ok_or(WalletError::InvalidInput(
            "the wallet is not activated".into(),
        ))?;
        let signer = WalletSigner {
            wallet: self,
            account_id,
        };
        Ok(client.submissions(&signer).await?.submissions)
    }
}
