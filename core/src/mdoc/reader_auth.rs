//! Reader authentication (ISO/IEC 18013-5 §9.1.4): the holder's check that a DocRequest was
//! signed, over ReaderAuthentication with this session's transcript, by a reader certificate
//! issued by a reader CA it trusts, valid now and made for reader authentication (Annex B: the
//! extended key usage mdlReaderAuth `1.0.18013.5.1.6`, so an IACA's document signer or any
//! other certificate of a trusted root is never taken for a reader). The certificate is
//! returned so the wallet can show the citizen who is asking.

use super::request::DocRequest;
use super::signature::{SignatureCheck, certificate_key, verify_sign1};
use super::transcript::SessionTranscript;
use eid_crypto::cose::{Sign1, Tagging, x5chain_leaf};
use eid_crypto::crl::RevocationList;
use eid_crypto::trust::TrustStore;
use eid_crypto::x509::SignerCertificate;
use thiserror::Error;

/// Why a reader is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReaderAuthError {
    #[error("the request is not signed by the reader")]
    Unsigned,
    #[error("readerAuth is not a COSE_Sign1 with a reader certificate and a supported algorithm")]
    Form,
    #[error("reader certificate not issued by a trusted reader CA")]
    Untrusted,
    #[error("reader certificate not valid now")]
    Expired,
    #[error("reader signature invalid")]
    Signature,
    #[error("not a reader authentication certificate (extended key usage mdlReaderAuth)")]
    NotReaderCertificate,
    #[error("reader certificate revoked by its reader CA")]
    Revoked,
    #[error("reader certificate's revocation unknown (no current CRL of its reader CA)")]
    RevocationUnknown,
}

/// id-mdl-kp-mdlReaderAuth (ISO/IEC 18013-5 Annex B).
pub const MDL_READER_AUTH: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.0.18013.5.1.6");

/// Whether the certificate's extendedKeyUsage names mdlReaderAuth. Never panics.
pub fn is_reader_certificate(cert: &x509_cert::Certificate) -> bool {
    use der::oid::AssociatedOid;
    use x509_cert::ext::pkix::ExtendedKeyUsage;
    cert.tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .filter(|e| e.extn_id == ExtendedKeyUsage::OID)
        .any(|e| {
            <ExtendedKeyUsage as der::Decode>::from_der(e.extn_value.as_bytes())
                .is_ok_and(|k| k.0.contains(&MDL_READER_AUTH))
        })
}

/// Checks `request`'s readerAuth; returns the reader certificate (DER). With `revocations` (the
/// reader CA's verified CRL, docs/adr/0053) a listed certificate is refused, and so is any
/// when the CRL is not current.
pub fn verify_reader_auth(
    request: &DocRequest,
    transcript: &SessionTranscript,
    reader_cas: &TrustStore,
    revocations: Option<&RevocationList>,
    now: u64,
) -> Result<Vec<u8>, ReaderAuthError> {
    let bytes = request
        .reader_auth
        .as_ref()
        .ok_or(ReaderAuthError::Unsigned)?;
    let sign1 = Sign1::decode(bytes, Tagging::Untagged).ok_or(ReaderAuthError::Form)?;
    let der = sign1
        .unprotected_x5chain()
        .and_then(x5chain_leaf)
        .ok_or(ReaderAuthError::Form)?;
    let cert = SignerCertificate::from_der(der).map_err(|_| ReaderAuthError::Form)?;
    let ca = reader_cas
        .issuer_of(&cert)
        .ok_or(ReaderAuthError::Untrusted)?;
    let key = certificate_key(&cert.certificate).ok_or(ReaderAuthError::Form)?;
    let payload = request.reader_authentication_bytes(transcript);
    match verify_sign1(&sign1, &key, Some(&payload)) {
        Ok(()) => {}
        Err(SignatureCheck::Unsupported) => return Err(ReaderAuthError::Form),
        Err(SignatureCheck::Invalid) => return Err(ReaderAuthError::Signature),
    }
    let within = |c: &x509_cert::Certificate| {
        let v = c.tbs_certificate().validity();
        v.not_before.to_unix_duration().as_secs() <= now
            && now <= v.not_after.to_unix_duration().as_secs()
    };
    if !within(&cert.certificate) || !within(ca) {
        return Err(ReaderAuthError::Expired);
    }
    if !is_reader_certificate(&cert.certificate) {
        return Err(ReaderAuthError::NotReaderCertificate);
    }
    if let Some(list) = revocations {
        if !list.is_current(now) {
            return Err(ReaderAuthError::RevocationUnknown);
        }
        if list.revokes(&cert.certificate) {
            return Err(ReaderAuthError::Revoked);
        }
    }
    Ok(cert.der)
}
