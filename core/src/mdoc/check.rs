//! The reader's check of a DeviceResponse (ISO/IEC 18013-5 §9.3.1): issuer authentication (the
//! MSO's signature, ECDSA or EdDSA as [`super::signature`] takes them, by the document signer in
//! the unprotected x5chain, issued by a trusted
//! IACA, both certificates valid now), the digest of every disclosed element, the MSO's docType
//! and validity, and device authentication (signature by the MSO's device key, or MAC under
//! EMacKey) over DeviceAuthentication with this session's transcript. First failure wins.

use super::cbor;
use super::cose_key::CoseKey;
use super::error::{CheckError, MdocError};
use super::issuer_signed::IssuerSigned;
use super::mso::MobileSecurityObject;
use super::response::{
    DeviceAuth, DeviceResponse, Document, STATUS_OK, device_authentication_bytes,
};
use super::session_keys;
use super::signature::{SignatureCheck, certificate_key, verify_sign1};
use super::transcript::SessionTranscript;
use ciborium::Value;
use eid_crypto::cose::{Mac0, Sign1, Tagging, x5chain_leaf};
use eid_crypto::trust::TrustStore;
use eid_crypto::x509::SignerCertificate;
use eid_crypto::{SecretKey, ct_eq};
use x509_cert::Certificate;

/// What the reader knows when it checks: the session, the IACAs it trusts, the time.
pub struct ReaderContext<'a> {
    pub transcript: &'a SessionTranscript,
    pub iacas: &'a TrustStore,
    /// Unix seconds.
    pub now: u64,
    /// The reader's ephemeral private key (EReaderKey), needed for a device MAC.
    pub e_reader_private: Option<&'a SecretKey>,
}

/// A document that passed every check. Its Debug output names the elements, never their values.
#[derive(Clone, PartialEq)]
pub struct VerifiedDocument {
    pub doc_type: String,
    /// (namespace, element identifier, value) of every disclosed element.
    pub elements: Vec<(String, String, Value)>,
    /// The document signer certificate (DER).
    pub document_signer: Vec<u8>,
    pub mso: MobileSecurityObject,
    /// Whether the device authenticated by MAC (otherwise by signature).
    pub device_mac: bool,
}

/// (namespace, identifier) of each element, for `Debug` output without the values.
fn element_names(elements: &[(String, String, Value)]) -> Vec<(&str, &str)> {
    elements
        .iter()
        .map(|(ns, id, _)| (ns.as_str(), id.as_str()))
        .collect()
}

impl std::fmt::Debug for VerifiedDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = element_names(&self.elements);
        f.debug_struct("VerifiedDocument")
            .field("doc_type", &self.doc_type)
            .field("elements", &names)
            .field("device_mac", &self.device_mac)
            .finish_non_exhaustive()
    }
}

/// Checks every document of an encoded DeviceResponse.
pub fn check_device_response(
    bytes: &[u8],
    ctx: &ReaderContext<'_>,
) -> Result<Vec<VerifiedDocument>, CheckError> {
    let response = DeviceResponse::parse(bytes)?;
    if response.status != STATUS_OK {
        return Err(CheckError::Status(response.status));
    }
    if response.documents.is_empty() {
        return Err(CheckError::NoDocuments);
    }
    response
        .documents
        .iter()
        .map(|d| check_document(d, ctx))
        .collect()
}

fn within(cert: &Certificate, now: u64) -> bool {
    let v = cert.tbs_certificate().validity();
    v.not_before.to_unix_duration().as_secs() <= now
        && now <= v.not_after.to_unix_duration().as_secs()
}

/// What issuer authentication yields: the MSO, verified, and the document signer's DER and
/// validity (Unix seconds, from and to).
struct IssuerAuthenticated {
    mso: MobileSecurityObject,
    document_signer: Vec<u8>,
    signer_validity: (u64, u64),
}

/// Issuer authentication of an `issuerAuth` COSE_Sign1.
fn issuer_auth(
    issuer_auth: &[u8],
    iacas: &TrustStore,
    now: u64,
) -> Result<IssuerAuthenticated, CheckError> {
    let sign1 = Sign1::decode(issuer_auth, Tagging::Untagged).ok_or(CheckError::IssuerAuthForm)?;
    let ds_der = sign1
        .unprotected_x5chain()
        .and_then(x5chain_leaf)
        .ok_or(CheckError::IssuerAuthForm)?;
    let ds = SignerCertificate::from_der(ds_der).map_err(|_| CheckError::IssuerAuthForm)?;
    let iaca = iacas.issuer_of(&ds).ok_or(CheckError::UntrustedIssuer)?;
    // A reader authentication certificate never signs an MSO, whatever root it chains to
    // (docs/adr/0040): a reader CA taken for an IACA still authorises no issuer.
    if super::reader_auth::is_reader_certificate(&ds.certificate) {
        return Err(CheckError::UntrustedIssuer);
    }
    let key = certificate_key(&ds.certificate).ok_or(CheckError::IssuerAuthForm)?;
    match verify_sign1(&sign1, &key, None) {
        Ok(()) => {}
        Err(SignatureCheck::Unsupported) => return Err(CheckError::IssuerAuthForm),
        Err(SignatureCheck::Invalid) => return Err(CheckError::IssuerSignature),
    }
    if !within(&ds.certificate, now) || !within(iaca, now) {
        return Err(CheckError::CertificateExpired);
    }
    let payload = sign1.payload().ok_or(CheckError::IssuerAuthForm)?;
    let v = ds.certificate.tbs_certificate().validity();
    let ds_validity = (
        v.not_before.to_unix_duration().as_secs(),
        v.not_after.to_unix_duration().as_secs(),
    );
    Ok(IssuerAuthenticated {
        mso: MobileSecurityObject::parse_bytes(payload)?,
        document_signer: ds.der,
        signer_validity: ds_validity,
    })
}

/// What issuer authentication alone establishes of an IssuerSigned: the verified MSO, the
/// document signer, and every element whose digest matched. Not a presentation: nothing here
/// says the holder's device took part.
#[derive(Clone, PartialEq)]
pub struct IssuerVerified {
    /// (namespace, element identifier, value) of every element carried.
    pub elements: Vec<(String, String, Value)>,
    /// The document signer certificate (DER).
    pub document_signer: Vec<u8>,
    pub mso: MobileSecurityObject,
}

impl std::fmt::Debug for IssuerVerified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = element_names(&self.elements);
        f.debug_struct("IssuerVerified")
            .field("elements", &names)
            .finish_non_exhaustive()
    }
}

/// Checks an IssuerSigned on its own (e.g. one `mdoc export` wrote): issuer authentication
/// against `iacas`, the MSO's docType equal to `doc_type`, its validity at `now`, and the digest
/// of every element carried.
pub fn check_issuer_signed(
    issuer_signed: &IssuerSigned,
    doc_type: &str,
    iacas: &TrustStore,
    now: u64,
) -> Result<IssuerVerified, CheckError> {
    let IssuerAuthenticated {
        mso,
        document_signer,
        signer_validity: (ds_from, ds_to),
    } = issuer_auth(&issuer_signed.issuer_auth, iacas, now)?;
    if mso.doc_type != doc_type {
        return Err(CheckError::DocType);
    }
    let v = mso.validity;
    if v.signed > v.valid_from || now < v.valid_from || now > v.valid_until {
        return Err(CheckError::Validity);
    }
    // ISO/IEC 18013-5 §9.3.1: the MSO was signed while its document signer's certificate was
    // valid.
    if v.signed < ds_from || v.signed > ds_to {
        return Err(CheckError::Validity);
    }
    let algorithm = mso.digest_algorithm.ok_or(CheckError::DigestAlgorithm)?;
    let mut elements = Vec::new();
    for (namespace, items) in &issuer_signed.namespaces {
        let mut seen = std::collections::BTreeSet::new();
        for item in items {
            let expected = mso
                .value_digests
                .iter()
                .find(|(ns, id, _)| ns == namespace && *id == item.digest_id)
                .map(|(_, _, d)| d);
            let ok = expected.is_some_and(|d| ct_eq(d, &algorithm.digest(&item.bytes.encoded())));
            if !ok {
                return Err(CheckError::Digest {
                    namespace: namespace.clone(),
                });
            }
            if !seen.insert(item.element_identifier.as_str()) {
                return Err(CheckError::DuplicateElement {
                    namespace: namespace.clone(),
                });
            }
            elements.push((
                namespace.clone(),
                item.element_identifier.clone(),
                item.element_value.clone(),
            ));
        }
    }
    Ok(IssuerVerified {
        elements,
        document_signer,
        mso,
    })
}

/// Checks one document.
pub fn check_document(
    doc: &Document,
    ctx: &ReaderContext<'_>,
) -> Result<VerifiedDocument, CheckError> {
    let IssuerVerified {
        elements,
        document_signer,
        mso,
    } = check_issuer_signed(&doc.issuer_signed, &doc.doc_type, ctx.iacas, ctx.now)?;
    // Device-signed elements are not supported yet: the namespaces must be an empty map.
    let device_ns = doc
        .device_signed
        .namespaces
        .item()
        .map_err(CheckError::Malformed)?;
    if !cbor::map(&device_ns, "DeviceNameSpaces")
        .map_err(CheckError::Malformed)?
        .is_empty()
    {
        return Err(CheckError::Malformed(MdocError::Structure(
            "DeviceNameSpaces",
        )));
    }
    let payload =
        device_authentication_bytes(ctx.transcript, &doc.doc_type, &doc.device_signed.namespaces);
    let device_mac = match &doc.device_signed.auth {
        DeviceAuth::Signature(s) => {
            let sign1 = Sign1::decode(s, Tagging::Untagged).ok_or(CheckError::DeviceAuth)?;
            if verify_sign1(&sign1, &mso.device_key, Some(&payload)).is_err() {
                return Err(CheckError::DeviceAuth);
            }
            false
        }
        DeviceAuth::Mac(m) => {
            let private = ctx.e_reader_private.ok_or(CheckError::NoReaderKey)?;
            // EMacKey is ECDH of the device key and EReaderKey (§9.1.3.5): one curve.
            let e_reader_curve = ctx
                .transcript
                .e_reader_key_bytes
                .as_ref()
                .and_then(|b| b.item().ok())
                .and_then(|k| CoseKey::from_cose(&k).ok())
                .map(|k| k.curve());
            if e_reader_curve != Some(mso.device_key.curve()) {
                return Err(CheckError::DeviceAuth);
            }
            let key = session_keys::derive(
                private,
                &mso.device_key,
                &ctx.transcript.bytes(),
                b"EMacKey",
            )?;
            let mac0 = Mac0::decode(m).ok_or(CheckError::DeviceAuth)?;
            if !mac0.is_hmac256() || !mac0.verify_hmac256_detached(key.as_bytes(), &payload) {
                return Err(CheckError::DeviceAuth);
            }
            true
        }
    };
    Ok(VerifiedDocument {
        doc_type: doc.doc_type.clone(),
        elements,
        document_signer,
        mso,
        device_mac,
    })
}
