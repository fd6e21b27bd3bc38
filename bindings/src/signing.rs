//! Remote signing (issue 6) as `WalletHandle` methods over `eid_core::wallet`: enrol, list, the
//! consent screen and signing a file into a detached CMS, verified before it is returned.

use crate::error::EidError;
use crate::run::{logged, on_runtime};
use crate::wallet::{WalletHandle, passcode};
use eid_core::signing;

/// The account's remote signing credential.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct SigningCredential {
    pub credential_id: String,
    /// The certificate's subject, e.g. `CN=NGUYEN VAN A,serialNumber=CCCD-001099012345,C=VN`.
    pub subject: String,
    /// `enabled` or `disabled`.
    pub status: String,
    /// Unix seconds.
    pub valid_from: u64,
    pub valid_to: u64,
    /// X.509 certificate, DER.
    pub certificate: Vec<u8>,
}

impl From<signing::SigningCredential> for SigningCredential {
    fn from(c: signing::SigningCredential) -> Self {
        SigningCredential {
            credential_id: c.credential_id,
            subject: c.subject,
            status: c.status,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
            certificate: c.certificate,
        }
    }
}

/// What the citizen is asked to sign: the file's name and bytes, and who asked for it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct SigningRequest {
    pub file_name: String,
    pub content: Vec<u8>,
    /// The public service or company the signature is for.
    pub relying_party: String,
}

impl From<SigningRequest> for signing::SigningRequest {
    fn from(r: SigningRequest) -> Self {
        signing::SigningRequest {
            file_name: r.file_name,
            content: r.content,
            relying_party: r.relying_party,
        }
    }
}

/// What the consent screen shows before the passcode is asked.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct SigningConsent {
    pub file_name: String,
    /// SHA-256 of the file, lower-case hex.
    pub sha256_hex: String,
    pub size: u64,
    pub relying_party: String,
    pub credential_id: String,
    /// Who signs: the certificate's subject.
    pub signer: String,
}

impl From<signing::SigningConsent> for SigningConsent {
    fn from(c: signing::SigningConsent) -> Self {
        SigningConsent {
            file_name: c.file_name,
            sha256_hex: c.sha256_hex,
            size: c.size,
            relying_party: c.relying_party,
            credential_id: c.credential_id,
            signer: c.signer,
        }
    }
}

/// A finished signature, already verified against the signing CA.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignedDocument {
    /// Detached CMS SignedData (CAdES-BES), DER: save as `.p7s` next to the file.
    pub cms: Vec<u8>,
    pub consent: SigningConsent,
    /// Unix seconds.
    pub signing_time: u64,
}

#[uniffi::export]
impl WalletHandle {
    /// Gets the account's signing credential from the backend (created on the first call).
    /// Activated and unlocked wallet.
    pub async fn signing_enrol(&self) -> Result<SigningCredential, EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("signing_enrol", async move {
            Ok(w.signing_enrol(&b).await?.into())
        })
        .await
    }

    /// The account's signing credentials at the backend.
    pub async fn signing_credentials(&self) -> Result<Vec<SigningCredential>, EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("signing_credentials", async move {
            let all = w.signing_credentials(&b).await?;
            Ok(all.into_iter().map(Into::into).collect())
        })
        .await
    }

    /// What the consent screen shows for `request`: file, SHA-256, relying party, signer.
    pub async fn signing_consent(
        &self,
        request: SigningRequest,
    ) -> Result<SigningConsent, EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("signing_consent", async move {
            Ok(w.signing_consent(&b, &request.into()).await?.into())
        })
        .await
    }

    /// Signs `request.content` after checking `passcode` (`WrongPasscode { attempts_left }`,
    /// `Locked`): the device key authorises exactly this hash, the backend signs it, and the
    /// CMS is verified before it is returned. Every attempt goes into the transaction log.
    pub async fn sign(
        &self,
        request: SigningRequest,
        passcode: String,
    ) -> Result<SignedDocument, EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        let pass = logged("sign", self::passcode(&zeroize::Zeroizing::new(passcode)))?;
        on_runtime("sign", async move {
            let signed = w.sign(&b, &request.into(), &pass).await?;
            Ok(SignedDocument {
                cms: signed.cms,
                consent: signed.consent.into(),
                signing_time: signed.signing_time,
            })
        })
        .await
    }
}
