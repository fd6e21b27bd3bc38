//! Remote signing from the wallet (issue 6): enrol a signing credential, list it, and sign a
//! file: consent (file, hash, relying party), passcode, device-key authorisation, signHash at
//! the backend, CMS assembly, verification, and a line in the transaction log.

use super::sync::WalletSigner;
use super::{Result, Wallet, WalletError};
use crate::account::passcode::Passcode;
use crate::api::{B64, consent_action, signing_authorization_digest};
use crate::client::{BackendClient, ClientError};
use crate::signing::api::{
    AuthorizeRequest, CredentialInfo, SAD_LIFETIME, SIGN_ALGO, SignHashRequest,
};
use crate::signing::cms::{SignedAttributes, verify_detached};
use crate::signing::{
    SignedDocument, SigningConsent, SigningCredential, SigningError, SigningRequest, api, hex,
};
use crate::transactions::{Outcome, Transaction, TransactionKind};
use sha2::{Digest, Sha256};

/// The signing CA certificate (DER), kept from enrolment to check signatures.
const META_SIGNING_CA: &str = "wallet.signing_ca";

fn credential_of(info: CredentialInfo) -> Result<SigningCredential> {
    let certificate = info
        .certificates
        .into_iter()
        .next()
        .ok_or(SigningError::Protocol("no certificate"))?
        .0;
    Ok(SigningCredential {
        credential_id: info.credential_id,
        subject: info.subject,
        status: info.status,
        valid_from: info.valid_from,
        valid_to: info.valid_to,
        certificate,
    })
}

impl Wallet {
    pub(super) fn request_signer(&self) -> Result<WalletSigner<'_>> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        let account_id = self.account_id()?.ok_or(WalletError::InvalidInput(
            "the wallet is not activated".into(),
        ))?;
        Ok(WalletSigner {
            wallet: self,
            account_id,
        })
    }

    /// Asks the backend for this account's signing credential (created on first call) and keeps
    /// the signing CA certificate to check signatures with.
    pub async fn signing_enrol(&self, client: &BackendClient) -> Result<SigningCredential> {
        let signer = self.request_signer()?;
        let info = client.signing_enrol(&signer).await?;
        let pem = client.signing_ca_pem().await?;
        let (_, ca) = der::pem::decode_vec(pem.as_bytes())
            .map_err(|_| SigningError::Protocol("CA certificate"))?;
        self.store.meta_put(META_SIGNING_CA, &ca)?;
        credential_of(info)
    }

    /// The account's signing credentials at the backend (CSC credentials/list).
    pub async fn signing_credentials(
        &self,
        client: &BackendClient,
    ) -> Result<Vec<SigningCredential>> {
        let signer = self.request_signer()?;
        let list = client.signing_credentials(&signer).await?;
        list.credential_infos
            .into_iter()
            .map(credential_of)
            .collect()
    }

    async fn enabled_credential(&self, client: &BackendClient) -> Result<SigningCredential> {
        self.signing_credentials(client)
            .await?
            .into_iter()
            .find(|c| c.status == "enabled")
            .ok_or(SigningError::NotEnrolled.into())
    }

    /// What the consent screen shows for `request`: file, hash, relying party and signer.
    pub async fn signing_consent(
        &self,
        client: &BackendClient,
        request: &SigningRequest,
    ) -> Result<SigningConsent> {
        let credential = self.enabled_credential(client).await?;
        Ok(consent(request, &credential))
    }

    /// Signs `request.content` with the account's remote key after checking `passcode`: the
    /// device key authorises exactly this hash, the passcode proves the citizen's consent to
    /// the backend (docs/adr/0017), the backend signs it, the CMS is verified before it is
    /// returned. Every attempt is logged.
    pub async fn sign(
        &self,
        client: &BackendClient,
        request: &SigningRequest,
        passcode: &Passcode,
    ) -> Result<SignedDocument> {
        // The passcode first (lockout rules apply): nothing reaches the backend without it.
        self.unlock(passcode)?;
        let credential = self.enabled_credential(client).await?;
        let consent = consent(request, &credential);
        let result = self
            .sign_inner(client, request, &credential, &consent, passcode)
            .await;
        let (outcome, detail) = match &result {
            Ok(_) => (Outcome::Success, None),
            Err(WalletError::Backend(ClientError::Api { message, .. })) => {
                (Outcome::Refused, Some(message.clone()))
            }
            Err(e) => (Outcome::Failed, Some(e.to_string())),
        };
        self.record(&Transaction {
            at_ms: self.clock.wall_ms(),
            kind: TransactionKind::Signing,
            counterparty: request.relying_party.clone(),
            profile: "remote signature (CMS, CAdES-BES)".into(),
            fields: vec![request.file_name.clone()],
            outcome,
            detail: detail.or_else(|| Some(format!("sha256 {}", consent.sha256_hex))),
        })?;
        result
    }

    async fn sign_inner(
        &self,
        client: &BackendClient,
        request: &SigningRequest,
        credential: &SigningCredential,
        consent: &SigningConsent,
        passcode: &Passcode,
    ) -> Result<SignedDocument> {
        let ca = self
            .store
            .meta_get(META_SIGNING_CA)?
            .ok_or(SigningError::NotEnrolled)?;
        let signer = self.request_signer()?;
        let signing_time = self.now();
        let attrs = SignedAttributes::new(
            &Sha256::digest(&request.content),
            &credential.certificate,
            signing_time,
        )?;
        let hashes = vec![attrs.hash()?];
        let id = &credential.credential_id;
        let challenge = client.signing_challenge(&signer, id).await?;
        let expires_at = signing_time + SAD_LIFETIME;
        let input = api::authorization_input(id, &challenge.challenge.0, &hashes, expires_at);
        let authorisation = self.sign_with_device_key(&input)?;
        // The citizen's consent to exactly this authorisation (docs/adr/0017).
        let proof = self
            .remote_consent(
                client,
                passcode,
                consent_action::SIGNING_AUTHORIZE,
                &signing_authorization_digest(&input),
            )
            .await?;
        let sad = client
            .signing_authorize(
                &signer,
                &AuthorizeRequest {
                    client_request_id: crate::client::new_request_id(),
                    credential_id: id.clone(),
                    challenge: challenge.challenge,
                    hashes: hashes.iter().cloned().map(B64).collect(),
                    expires_at,
                    device_signature: B64(authorisation),
                    consent: Some(proof),
                },
            )
            .await?;
        let signed = client
            .signing_sign_hash(
                &signer,
                &SignHashRequest {
                    client_request_id: crate::client::new_request_id(),
                    credential_id: id.clone(),
                    sad: sad.sad,
                    hashes: hashes.into_iter().map(B64).collect(),
                    sign_algo: SIGN_ALGO.into(),
                },
            )
            .await?;
        let [signature] = signed.signatures.as_slice() else {
            return Err(SigningError::Protocol("one signature expected").into());
        };
        let cms = attrs.assemble(&credential.certificate, &signature.0)?;
        let verified = verify_detached(&cms, &request.content, &ca)?;
        Ok(SignedDocument {
            cms,
            consent: consent.clone(),
            signing_time: verified.signing_time,
        })
    }
}

fn consent(request: &SigningRequest, credential: &SigningCredential) -> SigningConsent {
    SigningConsent {
        file_name: request.file_name.clone(),
        sha256_hex: hex(&Sha256::digest(&request.content)),
        size: request.content.len() as u64,
        relying_party: request.relying_party.clone(),
        credential_id: credential.credential_id.clone(),
        signer: credential.subject.clone(),
    }
}
