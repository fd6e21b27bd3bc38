//! Passive authentication (ICAO 9303-11 §5.1, certificates per ICAO 9303-12): the data groups
//! hash to the values in EF.SOD, the SOD is signed by its document signer (DSC), and the DSC is
//! issued by a trusted country signing CA (CSCA).

use super::sod::{
    self, HashAlgorithm, ID_CSCA_MASTER_LIST, Sod, SodCertificate, authority_key_identifier,
    subject_key_identifier,
};
use super::tlv;
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use ecdsa::signature::hazmat::PrehashVerifier;
use elliptic_curve::bigint::ArrayEncoding;
use serde::Serialize;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;
use x509_cert::Certificate;

/// Overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaStatus {
    /// Hashes, SOD signature and certificate chain are all good.
    Valid,
    /// Something does not verify: the data may have been altered or the SOD is not genuine.
    Invalid,
    /// Nothing failed, but not everything could be checked (usually: no trust store).
    NotChecked,
}

/// Hash comparison for one data group that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DgHashStatus {
    Match,
    Mismatch,
    /// The SOD has no hash for this data group.
    NotInSod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DgHashResult {
    pub dg: u8,
    pub status: DgHashStatus,
}

/// Whether the DSC chains to a trusted CSCA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainStatus {
    /// Issued by this CSCA (its subject).
    Trusted { csca: String },
    /// No CSCA of the trust store issued the DSC.
    Untrusted,
    /// No trust store, or no DSC to check.
    NotChecked,
}

/// Facts about the document signer certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DscInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// Whether today is within the validity period. An expired DSC does not make the document
    /// invalid: it only signs during the first months of a document's life (ICAO 9303-12 §7.1.1).
    pub valid_now: bool,
}

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassiveAuthentication {
    pub status: PaStatus,
    /// One sentence for people; names data groups and algorithms, never personal data.
    pub reason: String,
    pub data_groups: Vec<DgHashResult>,
    /// The messageDigest attribute equals the hash of the eContent (true when there are no
    /// signed attributes and the signature covers the eContent directly).
    pub message_digest_ok: bool,
    pub signature_ok: bool,
    pub chain: ChainStatus,
    pub dsc: Option<DscInfo>,
    pub signature_algorithm: String,
}

/// Why a signature could not be verified.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("signature does not verify")]
    Invalid,
    #[error("public key is malformed")]
    BadKey,
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
}

/// Why a trust store file could not be loaded. Paths are the caller's; no certificate content.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TrustError {
    #[error("cannot read {0}")]
    Io(String),
    #[error("not a certificate, PEM file or CSCA master list")]
    UnknownFormat,
    #[error("malformed certificate")]
    BadCertificate,
    #[error("malformed master list: {0}")]
    BadMasterList(&'static str),
}

/// The CSCA certificates a verifier trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<SodCertificate>,
}

impl TrustStore {
    pub fn new() -> Self {
        TrustStore::default()
    }

    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    pub fn certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.anchors.iter().map(|a| &a.certificate)
    }

    /// Adds one DER certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), TrustError> {
        let certificate = Certificate::from_der(der).map_err(|_| TrustError::BadCertificate)?;
        if !self.anchors.iter().any(|a| a.der == der) {
            self.anchors.push(SodCertificate {
                der: der.to_vec(),
                certificate,
            });
        }
        Ok(())
    }

    /// Adds every `CERTIFICATE` block of a PEM text; returns how many.
    pub fn add_pem(&mut self, pem: &str) -> Result<usize, TrustError> {
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let mut count = 0;
        let mut rest = pem;
        while let Some(start) = rest.find(BEGIN) {
            let after = rest.get(start..).unwrap_or_default();
            let end = after.find(END).ok_or(TrustError::BadCertificate)? + END.len();
            let block = after.get(..end).unwrap_or_default();
            let (_, der) =
                der::pem::decode_vec(block.as_bytes()).map_err(|_| TrustError::BadCertificate)?;
            self.add_der(&der)?;
            count += 1;
            rest = after.get(end..).unwrap_or_default();
        }
        if count == 0 {
            return Err(TrustError::UnknownFormat);
        }
        Ok(count)
    }

    /// Adds the certificates of an ICAO CSCA master list (ICAO 9303-12 §9: CMS SignedData over
    /// `CscaMasterList { version, certList SET OF Certificate }`); returns how many.
    ///
    /// The master list's own signature is **not** verified: only certificates are extracted.
    /// Load master lists only from a source already trusted (e.g. the ICAO PKD over TLS, or a
    /// file checked out of band); a master list is a convenience, not a trust anchor.
    pub fn add_master_list(&mut self, bytes: &[u8]) -> Result<usize, TrustError> {
        let parts = sod::signed_data_parts(bytes).map_err(|_| TrustError::BadMasterList("CMS"))?;
        if parts.econtent_type != ID_CSCA_MASTER_LIST {
            return Err(TrustError::BadMasterList("content type"));
        }
        let content = parts
            .econtent
            .ok_or(TrustError::BadMasterList("no content"))?;
        let list = tlv::read_exact(&content, 0x30)
            .map_err(|_| TrustError::BadMasterList("CscaMasterList"))?;
        let set = list
            .children()
            .find(0x31)
            .map_err(|_| TrustError::BadMasterList("certList"))?
            .ok_or(TrustError::BadMasterList("certList"))?;
        let certs = sod::elements(set.value).map_err(|_| TrustError::BadMasterList("certList"))?;
        let mut count = 0;
        for der in certs {
            // Skip the odd malformed entry rather than losing the whole list.
            if self.add_der(der).is_ok() {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Adds a file: PEM (one or more certificates), a DER certificate, or a DER master list.
    pub fn add_file(&mut self, path: &Path) -> Result<usize, TrustError> {
        let bytes = std::fs::read(path).map_err(|e| TrustError::Io(e.kind().to_string()))?;
        if let Ok(text) = std::str::from_utf8(&bytes)
            && text.contains("-----BEGIN")
        {
            return self.add_pem(text);
        }
        if self.add_der(&bytes).is_ok() {
            return Ok(1);
        }
        self.add_master_list(&bytes)
            .map_err(|_| TrustError::UnknownFormat)
    }

    /// A store from files (see [`TrustStore::add_file`]).
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, TrustError> {
        let mut store = TrustStore::new();
        for p in paths {
            store.add_file(p.as_ref())?;
        }
        Ok(store)
    }

    /// The CSCA that issued `cert`, checked by signature: candidates are found by authority key
    /// identifier or issuer name.
    pub fn issuer_of(&self, cert: &SodCertificate) -> Option<&Certificate> {
        let aki = authority_key_identifier(&cert.certificate);
        let issuer = cert.certificate.tbs_certificate().issuer();
        self.anchors
            .iter()
            .filter(|a| {
                let by_key = aki.is_some() && subject_key_identifier(&a.certificate) == aki;
                by_key || a.certificate.tbs_certificate().subject() == issuer
            })
            .find(|a| verify_certificate(cert, &a.certificate).is_ok())
            .map(|a| &a.certificate)
    }
}

/// Verifies `cert`'s signature with `issuer`'s public key, over the TBS bytes as read.
pub fn verify_certificate(
    cert: &SodCertificate,
    issuer: &Certificate,
) -> Result<(), SignatureError> {
    let outer = tlv::read_exact(&cert.der, 0x30).map_err(|_| SignatureError::Invalid)?;
    let tbs = sod::elements(outer.value)
        .ok()
        .and_then(|e| e.first().copied())
        .ok_or(SignatureError::Invalid)?;
    let signature = cert
        .certificate
        .signature()
        .as_bytes()
        .ok_or(SignatureError::Invalid)?;
    verify_signature(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.certificate.signature_algorithm(),
        None,
        tbs,
        signature,
    )
}

/// The curves whose ECDSA signatures can be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    Bp256,
    Bp384,
}

fn order_bytes<C: elliptic_curve::Curve>() -> Vec<u8> {
    C::ORDER.get().to_be_byte_array().to_vec()
}

/// The curve of an EC public key: named (RFC 5480) or explicit parameters (common in eMRTD
/// certificates, ICAO 9303-11 §9.4.1 / BSI TR-03111), recognised by the group order.
fn curve_of(spki: &SubjectPublicKeyInfoOwned) -> Result<Curve, SignatureError> {
    let params = spki
        .algorithm
        .parameters
        .as_ref()
        .ok_or(SignatureError::BadKey)?;
    if let Ok(named) = params.decode_as::<ObjectIdentifier>() {
        return match named.to_string().as_str() {
            "1.2.840.10045.3.1.7" => Ok(Curve::P256),
            "1.3.132.0.34" => Ok(Curve::P384),
            "1.3.36.3.3.2.8.1.1.7" => Ok(Curve::Bp256),
            "1.3.36.3.3.2.8.1.1.11" => Ok(Curve::Bp384),
            other => Err(SignatureError::Unsupported(format!("curve {other}"))),
        };
    }
    // ECParameters ::= SEQUENCE { version, fieldID, curve, base, order, cofactor OPTIONAL }
    let der = params.to_der().map_err(|_| SignatureError::BadKey)?;
    let seq = tlv::read_exact(&der, 0x30).map_err(|_| SignatureError::BadKey)?;
    let order = seq
        .children()
        .nth(4)
        .and_then(Result::ok)
        .filter(|t| t.tag == 0x02)
        .ok_or(SignatureError::BadKey)?;
    let first_nonzero = order.value.iter().position(|b| *b != 0).unwrap_or(0);
    let order = order.value.get(first_nonzero..).unwrap_or_default();
    [
        (Curve::P256, order_bytes::<p256::NistP256>()),
        (Curve::P384, order_bytes::<p384::NistP384>()),
        (Curve::Bp256, order_bytes::<bp256::BrainpoolP256r1>()),
        (Curve::Bp384, order_bytes::<bp384::BrainpoolP384r1>()),
    ]
    .into_iter()
    .find(|(_, o)| o.as_slice() == order)
    .map(|(c, _)| c)
    .ok_or_else(|| SignatureError::Unsupported("explicit curve parameters".into()))
}

macro_rules! ecdsa_verify {
    ($curve:ty, $point:expr, $prehash:expr, $sig:expr) => {{
        let key = ecdsa::VerifyingKey::<$curve>::from_sec1_bytes($point)
            .map_err(|_| SignatureError::BadKey)?;
        // X9.62 DER (RFC 5480) or plain r||s (BSI TR-03111 ecdsa-plain-*).
        let sig = ecdsa::Signature::<$curve>::from_der($sig)
            .or_else(|_| ecdsa::Signature::<$curve>::from_slice($sig))
            .map_err(|_| SignatureError::Invalid)?;
        key.verify_prehash($prehash, &sig)
            .map_err(|_| SignatureError::Invalid)
    }};
}

enum Scheme {
    Ecdsa(HashAlgorithm),
    RsaPkcs1(HashAlgorithm),
    RsaPss(HashAlgorithm),
}

/// The hash of RSASSA-PSS-params (RFC 4055 §3.1): `[0] hashAlgorithm`, SHA-1 by default.
fn pss_hash(alg: &AlgorithmIdentifierOwned) -> Result<HashAlgorithm, SignatureError> {
    let Some(params) = alg.parameters.as_ref() else {
        return Ok(HashAlgorithm::Sha1);
    };
    let der = params
        .to_der()
        .map_err(|_| SignatureError::Unsupported("PSS parameters".into()))?;
    let seq = tlv::read_exact(&der, 0x30)
        .map_err(|_| SignatureError::Unsupported("PSS parameters".into()))?;
    match seq.children().find(0xA0) {
        Ok(Some(h)) => {
            let inner = AlgorithmIdentifierOwned::from_der(h.value)
                .map_err(|_| SignatureError::Unsupported("PSS parameters".into()))?;
            HashAlgorithm::from_oid(&inner.oid)
                .ok_or_else(|| SignatureError::Unsupported(format!("PSS hash {}", inner.oid)))
        }
        Ok(None) => Ok(HashAlgorithm::Sha1),
        Err(_) => Err(SignatureError::Unsupported("PSS parameters".into())),
    }
}

fn scheme(
    alg: &AlgorithmIdentifierOwned,
    digest: Option<HashAlgorithm>,
) -> Result<Scheme, SignatureError> {
    let need_digest =
        || digest.ok_or_else(|| SignatureError::Unsupported("signature without a hash".into()));
    let a = alg.oid.to_string();
    Ok(match a.as_str() {
        "1.2.840.10045.4.1" | "0.4.0.127.0.7.1.1.4.1.1" => Scheme::Ecdsa(HashAlgorithm::Sha1),
        "1.2.840.10045.4.3.1" | "0.4.0.127.0.7.1.1.4.1.2" => Scheme::Ecdsa(HashAlgorithm::Sha224),
        "1.2.840.10045.4.3.2" | "0.4.0.127.0.7.1.1.4.1.3" => Scheme::Ecdsa(HashAlgorithm::Sha256),
        "1.2.840.10045.4.3.3" | "0.4.0.127.0.7.1.1.4.1.4" => Scheme::Ecdsa(HashAlgorithm::Sha384),
        "1.2.840.10045.4.3.4" | "0.4.0.127.0.7.1.1.4.1.5" => Scheme::Ecdsa(HashAlgorithm::Sha512),
        // id-ecPublicKey as a signature algorithm: the hash is the signer's digest algorithm.
        "1.2.840.10045.2.1" => Scheme::Ecdsa(need_digest()?),
        "1.2.840.113549.1.1.5" => Scheme::RsaPkcs1(HashAlgorithm::Sha1),
        "1.2.840.113549.1.1.14" => Scheme::RsaPkcs1(HashAlgorithm::Sha224),
        "1.2.840.113549.1.1.11" => Scheme::RsaPkcs1(HashAlgorithm::Sha256),
        "1.2.840.113549.1.1.12" => Scheme::RsaPkcs1(HashAlgorithm::Sha384),
        "1.2.840.113549.1.1.13" => Scheme::RsaPkcs1(HashAlgorithm::Sha512),
        "1.2.840.113549.1.1.1" => Scheme::RsaPkcs1(need_digest()?),
        "1.2.840.113549.1.1.10" => Scheme::RsaPss(pss_hash(alg)?),
        other => return Err(SignatureError::Unsupported(format!("signature {other}"))),
    })
}

/// A readable name of a signature algorithm.
pub fn algorithm_name(alg: &AlgorithmIdentifierOwned, digest: Option<HashAlgorithm>) -> String {
    match scheme(alg, digest) {
        Ok(Scheme::Ecdsa(h)) => format!("ECDSA with {}", h.name()),
        Ok(Scheme::RsaPkcs1(h)) => format!("RSA PKCS#1 v1.5 with {}", h.name()),
        Ok(Scheme::RsaPss(h)) => format!("RSA-PSS with {}", h.name()),
        Err(_) => alg.oid.to_string(),
    }
}

/// Verifies `signature` over `message` with the key in `spki`. `digest` is the hash for
/// algorithms that do not name one (`id-ecPublicKey`, `rsaEncryption`). ECDSA on P-256, P-384,
/// brainpoolP256r1/P384r1; RSA PKCS#1 v1.5 (SHA-1/256/384/512, 2048–8192 bits) and PSS
/// (SHA-256/384/512, MGF1 with the same hash, salt length = hash length).
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    digest: Option<HashAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or(SignatureError::BadKey)?;
    match scheme(alg, digest)? {
        Scheme::Ecdsa(h) => {
            let prehash = h.digest(message);
            match curve_of(spki)? {
                Curve::P256 => ecdsa_verify!(p256::NistP256, key, &prehash, signature),
                Curve::P384 => ecdsa_verify!(p384::NistP384, key, &prehash, signature),
                Curve::Bp256 => ecdsa_verify!(bp256::BrainpoolP256r1, key, &prehash, signature),
                Curve::Bp384 => ecdsa_verify!(bp384::BrainpoolP384r1, key, &prehash, signature),
            }
        }
        Scheme::RsaPkcs1(h) | Scheme::RsaPss(h) => {
            use ring::signature as rs;
            let pss = matches!(scheme(alg, digest)?, Scheme::RsaPss(_));
            let algorithm: &dyn rs::VerificationAlgorithm = match (pss, h) {
                (false, HashAlgorithm::Sha1) => &rs::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                (false, HashAlgorithm::Sha256) => &rs::RSA_PKCS1_2048_8192_SHA256,
                (false, HashAlgorithm::Sha384) => &rs::RSA_PKCS1_2048_8192_SHA384,
                (false, HashAlgorithm::Sha512) => &rs::RSA_PKCS1_2048_8192_SHA512,
                (true, HashAlgorithm::Sha256) => &rs::RSA_PSS_2048_8192_SHA256,
                (true, HashAlgorithm::Sha384) => &rs::RSA_PSS_2048_8192_SHA384,
                (true, HashAlgorithm::Sha512) => &rs::RSA_PSS_2048_8192_SHA512,
                (_, other) => {
                    return Err(SignatureError::Unsupported(format!(
                        "RSA with {}",
                        other.name()
                    )));
                }
            };
            rs::UnparsedPublicKey::new(algorithm, key)
                .verify(message, signature)
                .map_err(|_| SignatureError::Invalid)
        }
    }
}

fn dsc_info(cert: &Certificate) -> DscInfo {
    let tbs = cert.tbs_certificate();
    let validity = tbs.validity();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    DscInfo {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        serial: tbs.serial_number().to_string(),
        not_before: validity.not_before.to_date_time().to_string(),
        not_after: validity.not_after.to_date_time().to_string(),
        valid_now: validity.not_before.to_unix_duration() <= now
            && now <= validity.not_after.to_unix_duration(),
    }
}

impl PassiveAuthentication {
    fn without_sod(status: PaStatus, reason: &str) -> Self {
        PassiveAuthentication {
            status,
            reason: reason.to_owned(),
            data_groups: Vec::new(),
            message_digest_ok: false,
            signature_ok: false,
            chain: ChainStatus::NotChecked,
            dsc: None,
            signature_algorithm: String::new(),
        }
    }

    /// Nothing could be checked (e.g. EF.SOD was not read).
    pub fn not_checked(reason: &str) -> Self {
        Self::without_sod(PaStatus::NotChecked, reason)
    }

    /// The SOD itself is unusable.
    pub fn invalid(reason: &str) -> Self {
        Self::without_sod(PaStatus::Invalid, reason)
    }
}

/// Passive authentication of the data groups read (`number → file bytes`) against `sod`.
/// Without a trust store the chain is not checked and the best result is `NotChecked`.
pub fn verify(
    sod: &Sod,
    data_groups: &BTreeMap<u8, Vec<u8>>,
    trust: Option<&TrustStore>,
) -> PassiveAuthentication {
    let mut problems: Vec<String> = Vec::new();
    let mut unchecked: Vec<String> = Vec::new();

    // 1. Data group hashes (ICAO 9303-11 §5.1.1 step 3).
    let data_groups: Vec<DgHashResult> = data_groups
        .iter()
        .map(|(dg, bytes)| {
            let status = match sod.hash_of(*dg) {
                None => DgHashStatus::NotInSod,
                Some(h) if super::crypto::ct_eq(h, &sod.hash_algorithm.digest(bytes)) => {
                    DgHashStatus::Match
                }
                Some(_) => DgHashStatus::Mismatch,
            };
            DgHashResult { dg: *dg, status }
        })
        .collect();
    let list = |s: DgHashStatus| {
        data_groups
            .iter()
            .filter(|r| r.status == s)
            .map(|r| format!("DG{}", r.dg))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mismatched = list(DgHashStatus::Mismatch);
    if !mismatched.is_empty() {
        problems.push(format!("{mismatched} does not match its hash in the SOD"));
    }
    let missing = list(DgHashStatus::NotInSod);
    if !missing.is_empty() {
        problems.push(format!("{missing} has no hash in the SOD"));
    }

    // 2. Signed attributes (RFC 5652 §5.4, §11.1–11.2).
    let signer = &sod.signer;
    let digest = HashAlgorithm::from_oid(&signer.digest_algorithm.oid);
    let (message, message_digest_ok) = match &signer.signed_attributes {
        Some(attrs) => {
            let ok = match (digest, &signer.message_digest) {
                (Some(h), Some(md)) => super::crypto::ct_eq(md, &h.digest(&sod.econtent)),
                _ => false,
            };
            if !ok {
                problems.push("the messageDigest attribute does not match the SOD content".into());
            }
            if signer.content_type.as_ref() != Some(&sod.econtent_type) {
                problems.push("the contentType attribute does not match the SOD content".into());
            }
            (attrs.as_slice(), ok)
        }
        None => (sod.econtent.as_slice(), true),
    };

    // 3. SOD signature by the DSC (ICAO 9303-11 §5.1.1 step 2).
    let signature_algorithm = algorithm_name(&signer.signature_algorithm, digest);
    let dsc = sod.signer_certificate();
    let signature_ok = match dsc {
        None => {
            unchecked.push("the SOD holds no document signer certificate".into());
            false
        }
        Some(c) => match verify_signature(
            c.certificate.tbs_certificate().subject_public_key_info(),
            &signer.signature_algorithm,
            digest,
            message,
            &signer.signature,
        ) {
            Ok(()) => true,
            Err(SignatureError::Unsupported(what)) => {
                unchecked.push(format!(
                    "the SOD signature algorithm is not supported ({what})"
                ));
                false
            }
            Err(e) => {
                problems.push(format!(
                    "the SOD signature ({signature_algorithm}) is invalid: {e}"
                ));
                false
            }
        },
    };

    // 4. DSC issued by a trusted CSCA (ICAO 9303-11 §5.1.1 step 1).
    let chain = match (trust, dsc) {
        (Some(store), Some(c)) => match store.issuer_of(c) {
            Some(csca) => ChainStatus::Trusted {
                csca: csca.tbs_certificate().subject().to_string(),
            },
            None => {
                problems
                    .push("the document signer certificate is not issued by a trusted CSCA".into());
                ChainStatus::Untrusted
            }
        },
        (None, _) => {
            unchecked.push("the certificate chain was not checked (no trust store)".into());
            ChainStatus::NotChecked
        }
        (Some(_), None) => ChainStatus::NotChecked,
    };

    let (status, reason) = if !problems.is_empty() {
        (PaStatus::Invalid, problems.join("; "))
    } else if !unchecked.is_empty() {
        let good = if signature_ok {
            "data group hashes and the SOD signature are valid, but "
        } else {
            "data group hashes are valid, but "
        };
        (
            PaStatus::NotChecked,
            format!("{good}{}", unchecked.join("; ")),
        )
    } else {
        (
            PaStatus::Valid,
            format!(
                "{} data groups match the SOD, signed with {signature_algorithm} by a DSC of a trusted CSCA",
                data_groups.len()
            ),
        )
    };
    PassiveAuthentication {
        status,
        reason,
        data_groups,
        message_digest_ok,
        signature_ok,
        chain,
        dsc: dsc.map(|c| dsc_info(&c.certificate)),
        signature_algorithm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::{Any, BitString};
    use ecdsa::signature::hazmat::PrehashSigner;

    const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

    fn spki(point: &[u8], params: Any) -> SubjectPublicKeyInfoOwned {
        SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: ObjectIdentifier::new_unwrap(EC_PUBLIC_KEY),
                parameters: Some(params),
            },
            subject_public_key: BitString::from_bytes(point).unwrap(),
        }
    }

    fn named(oid: &str) -> Any {
        Any::encode_from(&ObjectIdentifier::new_unwrap(oid)).unwrap()
    }

    fn alg(oid: &str) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap(oid),
            parameters: None,
        }
    }

    /// ECParameters with only the order meaningful (the verifier recognises curves by order).
    fn explicit(order: &[u8]) -> Any {
        let mut n = vec![0u8];
        n.extend_from_slice(order);
        let body = [
            tlv::encode(0x02, &[1]),
            tlv::encode(
                0x30,
                &tlv::encode(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01]),
            ),
            tlv::encode(
                0x30,
                &[tlv::encode(0x04, &[1]), tlv::encode(0x04, &[2])].concat(),
            ),
            tlv::encode(0x04, &[4]),
            tlv::encode(0x02, &n),
            tlv::encode(0x02, &[1]),
        ]
        .concat();
        Any::from_der(&tlv::encode(0x30, &body)).unwrap()
    }

    macro_rules! curve_case {
        ($curve:ty, $len:expr, $oid:expr, $sig_oid:expr, $hash:expr) => {{
            let key = ecdsa::SigningKey::<$curve>::from_slice(&[7u8; $len]).unwrap();
            let point = key.verifying_key().to_sec1_point(false);
            let message = b"signed attributes";
            let sig: ecdsa::Signature<$curve> = key.sign_prehash(&$hash.digest(message)).unwrap();
            let der_sig = sig.to_der().as_bytes().to_vec();
            let plain = sig.to_bytes().to_vec();
            for params in [named($oid), explicit(&order_bytes::<$curve>())] {
                let k = spki(point.as_bytes(), params);
                assert_eq!(
                    verify_signature(&k, &alg($sig_oid), None, message, &der_sig),
                    Ok(())
                );
                assert_eq!(
                    verify_signature(&k, &alg($sig_oid), None, message, &plain),
                    Ok(())
                );
                assert_eq!(
                    verify_signature(&k, &alg($sig_oid), None, b"other", &der_sig),
                    Err(SignatureError::Invalid)
                );
                // id-ecPublicKey as the signature algorithm takes the hash from the digest.
                assert_eq!(
                    verify_signature(&k, &alg(EC_PUBLIC_KEY), Some($hash), message, &der_sig),
                    Ok(())
                );
            }
        }};
    }

    #[test]
    fn ecdsa_on_every_supported_curve() {
        curve_case!(
            p256::NistP256,
            32,
            "1.2.840.10045.3.1.7",
            "1.2.840.10045.4.3.2",
            HashAlgorithm::Sha256
        );
        curve_case!(
            p384::NistP384,
            48,
            "1.3.132.0.34",
            "1.2.840.10045.4.3.3",
            HashAlgorithm::Sha384
        );
        curve_case!(
            bp256::BrainpoolP256r1,
            32,
            "1.3.36.3.3.2.8.1.1.7",
            "1.2.840.10045.4.3.2",
            HashAlgorithm::Sha256
        );
        curve_case!(
            bp384::BrainpoolP384r1,
            48,
            "1.3.36.3.3.2.8.1.1.11",
            "1.2.840.10045.4.3.3",
            HashAlgorithm::Sha384
        );
        // SHA-512 over P-256 (hash longer than the curve) also works.
        curve_case!(
            p256::NistP256,
            32,
            "1.2.840.10045.3.1.7",
            "1.2.840.10045.4.3.4",
            HashAlgorithm::Sha512
        );
    }

    #[test]
    fn unsupported_and_malformed_inputs_are_errors() {
        let k = spki(&[4; 65], named("1.2.840.10045.3.1.7"));
        assert_eq!(
            verify_signature(&k, &alg("1.2.840.10045.4.3.2"), None, b"m", &[0x30, 0]),
            Err(SignatureError::BadKey)
        );
        let k = spki(&[4; 133], named("1.3.132.0.35"));
        assert!(matches!(
            verify_signature(&k, &alg("1.2.840.10045.4.3.4"), None, b"m", &[]),
            Err(SignatureError::Unsupported(_))
        ));
        assert!(matches!(
            verify_signature(&k, &alg("1.2.3.4"), None, b"m", &[]),
            Err(SignatureError::Unsupported(_))
        ));
        assert!(matches!(
            verify_signature(&k, &alg("1.2.840.113549.1.1.1"), None, b"m", &[]),
            Err(SignatureError::Unsupported(_))
        ));
        assert_eq!(
            algorithm_name(&alg("1.2.840.113549.1.1.11"), None),
            "RSA PKCS#1 v1.5 with SHA-256"
        );
        assert_eq!(
            algorithm_name(&alg("1.2.840.113549.1.1.10"), None),
            "RSA-PSS with SHA-1"
        );
    }

    #[test]
    fn trust_store_rejects_junk() {
        let mut t = TrustStore::new();
        assert_eq!(t.add_der(b"junk"), Err(TrustError::BadCertificate));
        assert_eq!(
            t.add_pem("no certificate here"),
            Err(TrustError::UnknownFormat)
        );
        assert!(
            t.add_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
        assert!(t.add_master_list(&[0x30, 0x00]).is_err());
        assert!(t.is_empty());
    }
}
