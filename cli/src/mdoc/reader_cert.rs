//! `eid mdoc reader-cert`: a verifier desk's reader key and its reader authentication
//! certificate from the backend's reader CA (docs/adr/0040). The key is made here and written
//! with mode 0600; only its public half goes to the backend (the admin call
//! `POST /v1/admin/reader-certificates`). [`DeskReader`] loads the pair for `eid mdoc read
//! --reader-key --reader-cert`.

use crate::context::{block_on, client};
use anyhow::{Context as _, Result, anyhow, bail};
use eid_core::api::{B64, ReaderCertificateRequest};
use eid_core::mdoc::{ReaderError, ephemeral_key};
use eid_crypto::x509::SignerCertificate;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::der::pem::{self, LineEnding};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ReaderCertArgs {
    #[arg(long, env = "EID_BACKEND")]
    backend: String,
    /// The backend's admin token.
    #[arg(long, env = "EID_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// The reader's name as citizens will see it (the certificate's CN), e.g. "Quay an ninh T1".
    #[arg(long)]
    name: String,
    /// Where the new private key goes (PKCS#8 PEM, mode 0600; an existing file is refused).
    #[arg(long)]
    key_out: PathBuf,
    /// Where the reader certificate goes (PEM).
    #[arg(long)]
    cert_out: PathBuf,
}

#[derive(clap::Args)]
pub struct ReaderRevokeArgs {
    #[arg(long, env = "EID_BACKEND")]
    backend: String,
    /// The backend's admin token.
    #[arg(long, env = "EID_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// The reader certificate to revoke (PEM, as `reader-cert` wrote it).
    #[arg(long)]
    cert: PathBuf,
}

/// `eid mdoc reader-revoke`: the backend lists the certificate in its reader CA's CRL, which
/// wallets pull at sync and then refuse the reader (docs/adr/0053).
pub fn revoke(args: ReaderRevokeArgs) -> Result<ExitCode> {
    let der = read_certificate(&args.cert)?;
    let api = client(&args.backend)?;
    let done = block_on(api.revoke_reader_certificate(&args.admin_token, &der))??;
    let subject = SignerCertificate::from_der(&der)
        .map(|c| c.certificate.tbs_certificate().subject().to_string())
        .unwrap_or_default();
    eprintln!(
        "reader certificate of {subject} revoked at {} (listed in the reader CA's CRL)",
        done.revoked_at
    );
    Ok(ExitCode::SUCCESS)
}

/// The first certificate of a PEM file (DER).
fn read_certificate(path: &Path) -> Result<Vec<u8>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut ders = Vec::new();
    eid_crypto::pem::for_each_certificate(
        &text,
        |der| {
            ders.push(der.to_vec());
            Ok(())
        },
        |_| anyhow!("{} holds no PEM certificate", path.display()),
    )?;
    ders.into_iter()
        .next()
        .ok_or_else(|| anyhow!("{} holds no PEM certificate", path.display()))
}

/// A certificate as PEM (RFC 7468).
pub fn certificate_pem(der: &[u8]) -> Result<String> {
    pem::encode_string("CERTIFICATE", LineEnding::LF, der)
        .map_err(|_| anyhow!("certificate encoding failed"))
}

pub fn run(args: ReaderCertArgs) -> Result<ExitCode> {
    if args.key_out.exists() {
        bail!(
            "{} exists: an existing key is never overwritten",
            args.key_out.display()
        );
    }
    // A fresh random P-256 key (the session keys' generator; this one is kept).
    let (secret, public) = ephemeral_key(&mut eid_crypto::OsRng)?;
    let key = p256::SecretKey::from_slice(secret.as_bytes())
        .map_err(|_| anyhow!("key generation failed"))?;
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|_| anyhow!("key encoding failed"))?;
    let key_pem = zeroize::Zeroizing::new(
        pem::encode_string("PRIVATE KEY", LineEnding::LF, pkcs8.as_bytes())
            .map_err(|_| anyhow!("key encoding failed"))?,
    );
    let api = client(&args.backend)?;
    let issued = block_on(api.issue_reader_certificate(
        &args.admin_token,
        &ReaderCertificateRequest {
            name: args.name,
            public_key: B64(public.public_bytes().to_vec()),
        },
    ))??;
    let cert = SignerCertificate::from_der(&issued.certificate.0)
        .map_err(|_| anyhow!("the backend answered no X.509 certificate"))?;
    if eid_crypto::x509::p256_point(&cert.certificate).as_deref() != Some(public.public_bytes()) {
        bail!("the backend certified another key");
    }
    let subject = cert.certificate.tbs_certificate().subject().to_string();
    // The key is kept only once the backend has certified it.
    crate::output::write_private(&args.key_out, &key_pem)?;
    std::fs::write(&args.cert_out, certificate_pem(&issued.certificate.0)?)
        .with_context(|| format!("writing {}", args.cert_out.display()))?;
    eprintln!(
        "reader certificate for {subject} written to {}, key to {}",
        args.cert_out.display(),
        args.key_out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A desk's reader key and certificate, read from the files `eid mdoc reader-cert` wrote.
pub struct DeskReader {
    key: SigningKey,
    /// DER.
    pub certificate: Vec<u8>,
}

impl std::fmt::Debug for DeskReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeskReader").finish_non_exhaustive()
    }
}

impl DeskReader {
    pub fn load(key: &Path, certificate: &Path) -> Result<DeskReader> {
        let not_a_key = || anyhow!("{} is not a P-256 PKCS#8 private key", key.display());
        let key_text = zeroize::Zeroizing::new(
            std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?,
        );
        let (label, der) = pem::decode_vec(key_text.as_bytes()).map_err(|_| not_a_key())?;
        let der = zeroize::Zeroizing::new(der);
        if label != "PRIVATE KEY" {
            return Err(not_a_key());
        }
        let key = p256::SecretKey::from_pkcs8_der(&der).map_err(|_| not_a_key())?;
        let der = read_certificate(certificate)?;
        let key = SigningKey::from(key);
        let point = eid_crypto::x509::p256_point(
            &SignerCertificate::from_der(&der)
                .map_err(|_| anyhow!("{} is not X.509", certificate.display()))?
                .certificate,
        );
        if point.as_deref() != Some(key.verifying_key().to_sec1_point(false).as_bytes()) {
            bail!("the reader key does not match the reader certificate");
        }
        Ok(DeskReader {
            key,
            certificate: der,
        })
    }

    /// ES256 r || s over `tbs`.
    pub fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let s: Signature = self.key.try_sign(tbs).map_err(|_| ReaderError::Signing)?;
        Ok(s.to_bytes().to_vec())
    }
}
