//! Remote signing (issue 6) as `WalletHandle` methods over `eid_core::wallet`: enrol, list, the
//! consent screen and signing a file into a detached CMS, verified before it is returned.

use crate::error::EidError;
use crate::run::{logged, on_runtime};
use crate::wallet::{WalletHandle, passcode};
pub use eid_core::signing::{SignedDocument, SigningConsent, SigningCredential, SigningRequest};

/// The account's remote signing credential.
#[uniffi::remote(Record)]
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

/// What the citizen is asked to sign: the file's name and bytes, and who asked for it.
#[uniffi::remote(Record)]
pub struct SigningRequest {
    pub file_name: String,
    pub content: Vec<u8>,
    /// The public service or company the signature is for.
    pub relying_party: String,
}

/// What the consent screen shows before the passcode is asked.
#[uniffi::remote(Record)]
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

/// A finished signature, already verified against the signing CA.
#[uniffi::remote(Record)]
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
        on_runtime(
            "signing_enrol",
            async move { Ok(w.signing_enrol(&b).await?) },
        )
        .await
    }

    /// The account's signing credentials at the backend.
    pub async fn signing_credentials(&self) -> Result<Vec<SigningCredential>, EidError> {
        let (w, b) = (self.wallet.clone(), self.backend.clone());
        on_runtime("signing_credentials", async move {
            Ok(w.signing_credentials(&b).await?)
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
            Ok(w.signing_consent(&b, &request).await?)
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
        on_runtime(
            "sign",
            async move { Ok(w.sign(&b, &request, &pass).await?) },
        )
        .await
    }
}
