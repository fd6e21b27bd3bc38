//! The citizen's consent to remote actions (docs/adr/0017), the wallet's side: the passcode is
//! checked locally first (the local lockout applies, and the device key only signs while
//! unlocked), then proved to the backend with an OPAQUE login that the backend counts. The
//! proof of one action is bound to that action and its exact parameters.

use super::sync::WalletSigner;
use super::{Result, Wallet, WalletError};
use crate::account::AccountError;
use crate::account::passcode::Passcode;
use crate::api::{
    AccountStatus, ConsentProof, account_unlock_digest, consent_action, registration_digest,
};
use crate::client::{BackendClient, ClientError};
use crate::consent::{self, ConsentError};
use crate::transactions::{Outcome, Transaction, TransactionKind};

/// A registration upload not yet accepted by the backend (sent again before the next consent).
const META_PENDING_UPLOAD: &str = "wallet.consent_upload";

impl From<ConsentError> for WalletError {
    fn from(e: ConsentError) -> Self {
        match e {
            ConsentError::WrongPasscode => AccountError::WrongPasscode { attempts_left: 0 }.into(),
            ConsentError::Protocol(what) => WalletError::Backend(
                crate::client::ClientError::Decode(format!("consent: {what}")),
            ),
        }
    }
}

impl Wallet {
    /// After activation: finishes the passcode's registration with the backend's answer and
    /// sends it. Kept in the store until the backend took it, so a failed send is retried.
    pub(super) async fn finish_consent_registration(
        &self,
        client: &BackendClient,
        signer: &WalletSigner<'_>,
        state: consent::Registration,
        passcode: &Passcode,
        response: &[u8],
    ) -> Result<()> {
        let upload = consent::registration_finish(state, passcode, response, self.kdf)?;
        self.store.meta_put(META_PENDING_UPLOAD, &upload)?;
        match self.send_pending_registration(client, signer).await {
            // The account is active: a send lost on the network is sent again before the next
            // consent, so activation does not fail for it.
            Err(WalletError::Backend(ClientError::Network(_))) => Ok(()),
            other => other,
        }
    }

    async fn send_pending_registration(
        &self,
        client: &BackendClient,
        signer: &WalletSigner<'_>,
    ) -> Result<()> {
        let Some(upload) = self.store.meta_get(META_PENDING_UPLOAD)? else {
            return Ok(());
        };
        match client.consent_register(signer, &upload, None).await {
            Ok(_) => {}
            // Taken by an earlier send whose answer was lost.
            Err(e) if e.code() == Some(crate::api::ErrorCode::NotAllowed) => {}
            Err(e) => return Err(e.into()),
        }
        self.store.meta_delete(META_PENDING_UPLOAD)?;
        Ok(())
    }

    /// The citizen's consent to `action` with parameters of SHA-256 `params_digest`: the
    /// passcode unlocks the wallet (local lockout), then an OPAQUE login at the backend proves
    /// it there. A passcode the backend does not accept is `WrongPasscode` with the backend's
    /// attempts left.
    ///
    /// Public for callers that build a consented request themselves (the calls of this wallet
    /// make their proofs on their own).
    pub async fn consent_proof(
        &self,
        client: &BackendClient,
        passcode: &Passcode,
        action: &str,
        params_digest: &[u8],
    ) -> Result<ConsentProof> {
        self.unlock(passcode)?;
        self.remote_consent(client, passcode, action, params_digest)
            .await
    }

    /// [`Wallet::consent_proof`] without the local check, for a wallet the same passcode
    /// unlocked a moment ago (several proofs in a row).
    pub(super) async fn remote_consent(
        &self,
        client: &BackendClient,
        passcode: &Passcode,
        action: &str,
        params_digest: &[u8],
    ) -> Result<ConsentProof> {
        let done = self.consent_login(client, passcode).await?;
        Ok(done.proof(action, params_digest))
    }

    /// The OPAQUE login of a consent (device-signed start, counted by the backend), finished
    /// with `passcode`; its proof is made once the action's parameters are known (an answer to
    /// the hub, whose bytes exist only after the credentials are taken).
    pub(super) async fn consent_login(
        &self,
        client: &BackendClient,
        passcode: &Passcode,
    ) -> Result<consent::LoggedIn> {
        let signer = self.request_signer()?;
        self.send_pending_registration(client, &signer).await?;
        let (login, ke1) = consent::login_start(passcode)?;
        let started = client.consent_start(&signer, ke1, None).await?;
        self.finish_login(login, passcode, &started)
    }

    fn finish_login(
        &self,
        login: consent::Login,
        passcode: &Passcode,
        started: &crate::api::ConsentStarted,
    ) -> Result<consent::LoggedIn> {
        consent::login_finish(
            login,
            passcode,
            &started.consent_id,
            &started.credential_response.0,
            self.kdf,
        )
        .map_err(|e| match e {
            ConsentError::WrongPasscode => AccountError::WrongPasscode {
                attempts_left: started.attempts_left,
            }
            .into(),
            other => other.into(),
        })
    }

    /// Changes the passcode of an activated wallet: a consent login with the old passcode
    /// registers the new one at the backend in the same authorised call, then the wallet
    /// re-wraps its data key. Without the old passcode nothing changes anywhere.
    pub async fn change_passcode_online(
        &self,
        client: &BackendClient,
        old: &Passcode,
        new: &Passcode,
    ) -> Result<()> {
        let result = self.change_passcode_online_inner(client, old, new).await;
        self.log_consented(
            TransactionKind::Account,
            "backend",
            "passcode change",
            vec![],
            &result,
            None,
        )?;
        result
    }

    async fn change_passcode_online_inner(
        &self,
        client: &BackendClient,
        old: &Passcode,
        new: &Passcode,
    ) -> Result<()> {
        // The old passcode opens the wallet (local lockout) and the new one is prepared before
        // anything is sent.
        self.unlock(old)?;
        let change = self.prepare_change(old, new)?;
        let signer = self.request_signer()?;
        self.send_pending_registration(client, &signer).await?;
        let (login, ke1) = consent::login_start(old)?;
        let (registration, request) = consent::registration_start(new)?;
        let started = client.consent_start(&signer, ke1, Some(request)).await?;
        let done = self.finish_login(login, old, &started)?;
        let response = started
            .registration_response
            .as_ref()
            .ok_or(ConsentError::Protocol("no registration response"))?;
        let upload = consent::registration_finish(registration, new, &response.0, self.kdf)?;
        let proof = done.proof(
            consent_action::PASSCODE_CHANGE,
            &registration_digest(&upload),
        );
        client
            .consent_register(&signer, &upload, Some(proof))
            .await?;
        self.commit_change(change)
    }

    /// Logs a consented action with its outcome: refused (the backend or the passcode said
    /// no) or failed (anything else). Only while unlocked: the log is sealed with the data key,
    /// and a passcode refused locally never opened it.
    pub(super) fn log_consented<T>(
        &self,
        kind: TransactionKind,
        counterparty: &str,
        profile: &str,
        fields: Vec<String>,
        result: &Result<T>,
        detail: Option<String>,
    ) -> Result<()> {
        if !self.is_unlocked() {
            return Ok(());
        }
        let (outcome, detail) = match result {
            Ok(_) => (Outcome::Success, detail),
            Err(e @ (WalletError::Backend(ClientError::Api { .. }) | WalletError::Account(_))) => {
                (Outcome::Refused, Some(e.to_string()))
            }
            Err(e) => (Outcome::Failed, Some(e.to_string())),
        };
        self.record(&Transaction {
            at_ms: self.clock.wall_ms(),
            kind,
            counterparty: counterparty.to_owned(),
            profile: profile.to_owned(),
            fields,
            outcome,
            detail,
        })
    }

    /// Locks the account at the backend (lost or stolen phone): the device key alone may.
    pub async fn lock_account_remote(&self, client: &BackendClient) -> Result<AccountStatus> {
        let signer = self.request_signer()?;
        let result = client
            .set_account_locked(&signer, true, None)
            .await
            .map_err(WalletError::from);
        self.log_consented(
            TransactionKind::Account,
            "backend",
            "account lock",
            vec![],
            &result,
            None,
        )?;
        result
    }

    /// Unlocks the account at the backend: needs the citizen's passcode.
    pub async fn unlock_account_remote(
        &self,
        client: &BackendClient,
        passcode: &Passcode,
    ) -> Result<AccountStatus> {
        let result = async {
            let account = self.account_id()?.ok_or(WalletError::InvalidInput(
                "the wallet is not activated".into(),
            ))?;
            let proof = self
                .consent_proof(
                    client,
                    passcode,
                    consent_action::ACCOUNT_UNLOCK,
                    &account_unlock_digest(&account),
                )
                .await?;
            let signer = self.request_signer()?;
            Ok(client
                .set_account_locked(&signer, false, Some(proof))
                .await?)
        }
        .await;
        self.log_consented(
            TransactionKind::Account,
            "backend",
            "account unlock",
            vec![],
            &result,
            None,
        )?;
        result
    }
}
