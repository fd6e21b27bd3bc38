//! The issuer credential: a CBOR claims map (RFC 8949) signed as a tagged COSE_Sign1 (RFC 9052
//! §4.2) with ES256 (ECDSA P-256 / SHA-256, RFC 9053 §2.1).
//!
//! Protected header: `alg` (1) = ES256, `content type` (3) = [`CONTENT_TYPE`], `x5chain` (33,
//! RFC 9360) = the issuer certificate (DER). Unprotected header: empty. Payload:
//! `{ kind, id, iss, iat, nbf, exp, status: {list, index}, cnf: {1: COSE_Key}, doc }`, the claim
//! names of CWT (RFC 8392) with text keys; `cnf` is the holder's device key as in RFC 8747 §3.1.

use super::cbor::{self, Fields};
use super::error::{CredentialError, IssueError};
use super::kinds::KindDeclaration;
use super::trust::TrustList;
use super::{Document, DocumentKind};
use ciborium::Value;
use coset::{AsCborValue, CoseKey, CoseKeyBuilder, KeyType, Label, iana};
use der::Decode;
use eid_crypto::cose::{self, HeaderError, HeaderRules, Protected, Sign1, SignError, Tagging};
use eid_crypto::x509::{SignerCertificate, p256_point};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use std::fmt;
use x509_cert::Certificate;

/// COSE content type of the payload: tells this wallet's credentials from other COSE objects.
pub const CONTENT_TYPE: &str = "application/vnd.vn-eid.credential+cbor";
/// Largest credential accepted (a health record with its bundle fits easily).
pub const MAX_CREDENTIAL_BYTES: usize = 1024 * 1024;
/// RFC 8747 §3.1: `cnf` member holding a COSE_Key.
const CNF_COSE_KEY: i64 = 1;

/// An ES256 signer whose private key stays elsewhere (e.g. a PKCS#11 token).
pub trait Es256Signer: Send + Sync {
    /// ES256 over `message` (SHA-256, then ECDSA P-256): r || s, 64 bytes; `None` on failure.
    fn sign_es256(&self, message: &[u8]) -> Option<Vec<u8>>;
}

/// Where an issuer's private key is.
enum IssuerSecret {
    /// In memory, zeroized on drop (`SigningKey` is `ZeroizeOnDrop`).
    Software(SigningKey),
    /// Behind a signer (a token): never in this process.
    External(std::sync::Arc<dyn Es256Signer>),
}

/// An issuer's signing key and certificate. The key is never printed.
pub struct IssuerKey {
    certificate: Vec<u8>,
    name: String,
    key: IssuerSecret,
}

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl IssuerKey {
    /// The key must be the one certified by `certificate_der` (a P-256 certificate).
    pub fn new(certificate_der: Vec<u8>, key: SigningKey) -> Result<IssuerKey, IssueError> {
        let cert = Certificate::from_der(&certificate_der).map_err(|_| IssueError::BadIssuerKey)?;
        let point = p256_point(&cert).ok_or(IssueError::BadIssuerKey)?;
        if key.verifying_key().to_sec1_point(false).as_bytes() != point.as_slice() {
            return Err(IssueError::BadIssuerKey);
        }
        Ok(IssuerKey {
            name: cert.tbs_certificate().subject().to_string(),
            certificate: certificate_der,
            key: IssuerSecret::Software(key),
        })
    }

    /// An issuer whose key stays in `signer`; it must hold the key certified by
    /// `certificate_der` (checked by signing a probe and verifying it with the certificate).
    pub fn external(
        certificate_der: Vec<u8>,
        signer: std::sync::Arc<dyn Es256Signer>,
    ) -> Result<IssuerKey, IssueError> {
        let cert = Certificate::from_der(&certificate_der).map_err(|_| IssueError::BadIssuerKey)?;
        let point = p256_point(&cert).ok_or(IssueError::BadIssuerKey)?;
        const PROBE: &[u8] = b"eid issuer key possession probe v1";
        let sig = signer.sign_es256(PROBE).ok_or(IssueError::Signing)?;
        if !eid_crypto::es256::verify_raw(&point, PROBE, &sig) {
            return Err(IssueError::BadIssuerKey);
        }
        Ok(IssuerKey {
            name: cert.tbs_certificate().subject().to_string(),
            certificate: certificate_der,
            key: IssuerSecret::External(signer),
        })
    }

    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// [`super::trust::key_id`] of the certificate: how compact credentials name their issuer.
    pub fn kid(&self) -> [u8; 8] {
        super::trust::key_id(&self.certificate)
    }

    /// ES256 signature, r || s (RFC 9053 §2.1): RFC 6979 deterministic nonce for a key in
    /// memory, the signer's for an external one; always low-S ([`eid_crypto::es256`]).
    pub fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, IssueError> {
        let signature = match &self.key {
            IssuerSecret::Software(key) => {
                key.try_sign(message).map_err(|_| IssueError::Signing)?
            }
            IssuerSecret::External(signer) => signer
                .sign_es256(message)
                .and_then(|s| Signature::from_slice(&s).ok())
                .ok_or(IssueError::Signing)?,
        };
        Ok(signature.normalize_s().to_bytes().to_vec())
    }

    /// The certificate subject (RFC 4514), written as the credential's `iss`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Validity of a credential, Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub issued_at: u64,
    pub not_before: u64,
    /// First second at which the credential is no longer valid.
    pub expires: u64,
}

impl Validity {
    /// Valid from `now` for `seconds`.
    pub fn starting(now: u64, seconds: u64) -> Validity {
        Validity {
            issued_at: now,
            not_before: now,
            expires: now.saturating_add(seconds),
        }
    }
}

/// Where the credential's revocation status is published: a status list and an index in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRef {
    /// URI of the status list.
    pub list: String,
    pub index: u32,
}

/// A credential that passed every check. `Debug` shows no personal data and no correlatable
/// handle (holder key, status index): kind, id, issuer, validity and the redacted document.
#[derive(Clone, PartialEq)]
pub struct VerifiedCredential {
    pub kind: DocumentKind,
    pub id: String,
    /// Issuer name (`iss`, the certificate subject).
    pub issuer: String,
    pub validity: Validity,
    pub status: StatusRef,
    /// The holder's device key, SEC1 uncompressed P-256 point: presentations must be signed by it.
    pub holder_key: Vec<u8>,
    pub document: Document,
    /// DER of the issuer certificate.
    pub issuer_certificate: Vec<u8>,
}

impl fmt::Debug for VerifiedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCredential")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("validity", &self.validity)
            .field("document", &self.document)
            .finish_non_exhaustive()
    }
}

/// Credential id: 128 bits of SHA-256 over what makes a credential unique (issuer, status list
/// entry, holder, kind, time), so the same inputs give the same id (deterministic fixtures).
fn credential_id(
    issuer: &IssuerKey,
    kind: &str,
    holder: &[u8],
    status: &StatusRef,
    issued_at: u64,
) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [
        issuer.certificate.as_slice(),
        kind.as_bytes(),
        holder,
        status.list.as_bytes(),
        &status.index.to_be_bytes(),
        &issued_at.to_be_bytes(),
    ] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    ctx.finish()
        .as_ref()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Signs `doc` as a credential of `kind` for the holder's device key (SEC1 P-256 point,
/// compressed or not). The document is validated first: an issuer never signs a broken one.
pub fn issue(
    kind: DocumentKind,
    doc: &Document,
    holder_key: &[u8],
    validity: Validity,
    status: &StatusRef,
    issuer: &IssuerKey,
) -> Result<Vec<u8>, IssueError> {
    if doc.kind() != kind {
        return Err(IssueError::KindMismatch);
    }
    doc.validate()?;
    let claims = claims(
        kind.as_str(),
        doc.to_cbor(),
        holder_key,
        validity,
        status,
        issuer,
    )?;
    sign_payload(&claims, issuer)
}

/// The claims map around any `doc` value: [`issue`] after validation, and tests that need
/// broken documents.
pub(crate) fn claims(
    kind: &str,
    doc: Value,
    holder_key: &[u8],
    validity: Validity,
    status: &StatusRef,
    issuer: &IssuerKey,
) -> Result<Value, IssueError> {
    if validity.not_before >= validity.expires || validity.issued_at >= validity.expires {
        return Err(IssueError::BadValidity);
    }
    let holder = VerifyingKey::from_sec1_bytes(holder_key)
        .map_err(|_| IssueError::BadHolderKey)?
        .to_sec1_point(false);
    let point = holder.as_bytes();
    let (x, y) = (
        point.get(1..33).ok_or(IssueError::BadHolderKey)?,
        point.get(33..65).ok_or(IssueError::BadHolderKey)?,
    );
    let cose_key =
        CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, x.to_vec(), y.to_vec())
            .build()
            .to_cbor_value()
            .map_err(|_| IssueError::Encoding)?;
    let claims = cbor::map(vec![
        ("kind", Some(cbor::text(kind))),
        (
            "id",
            Some(cbor::text(credential_id(
                issuer,
                kind,
                point,
                status,
                validity.issued_at,
            ))),
        ),
        ("iss", Some(cbor::text(&issuer.name))),
        ("iat", Some(Value::from(validity.issued_at))),
        ("nbf", Some(Value::from(validity.not_before))),
        ("exp", Some(Value::from(validity.expires))),
        (
            "status",
            Some(cbor::map(vec![
                ("list", Some(cbor::text(&status.list))),
                ("index", Some(Value::from(status.index))),
            ])),
        ),
        (
            "cnf",
            Some(Value::Map(vec![(Value::from(CNF_COSE_KEY), cose_key)])),
        ),
        ("doc", Some(doc)),
    ]);
    Ok(claims)
}

/// COSE_Sign1 over the encoded claims.
pub(crate) fn sign_payload(claims: &Value, issuer: &IssuerKey) -> Result<Vec<u8>, IssueError> {
    let payload = cbor::encode(claims).map_err(|_| IssueError::Encoding)?;
    let protected = Protected {
        content_type: Some(CONTENT_TYPE),
        x5chain: Some(&issuer.certificate),
        ..Protected::default()
    };
    // RFC 9053 §2.1: the signature is r || s, 32 bytes each; low-S (eid_crypto::es256).
    cose::sign_es256(&protected, payload, Tagging::Tagged, |tbs| {
        issuer.sign_raw(tbs)
    })
    .map_err(|e| match e {
        SignError::Signer(_) => IssueError::Signing,
        SignError::Encoding => IssueError::Encoding,
    })
}

/// The issuer certificate from the protected `x5chain`: a bstr, or an array whose first
/// element is the signer's certificate (RFC 9360 §2).
fn issuer_certificate(sign1: &Sign1) -> Result<SignerCertificate, CredentialError> {
    let value = sign1
        .x5chain()
        .ok_or(CredentialError::MalformedEncoding("no x5chain"))?;
    let der = cose::x5chain_leaf(value).ok_or(CredentialError::MalformedEncoding("x5chain"))?;
    let certificate = Certificate::from_der(der)
        .map_err(|_| CredentialError::MalformedEncoding("issuer certificate"))?;
    Ok(SignerCertificate {
        der: der.clone(),
        certificate,
    })
}

/// The holder key of `cnf`: an EC2 P-256 COSE_Key whose point is on the curve.
fn holder_key(cnf: Option<&Value>) -> Option<Vec<u8>> {
    let Value::Map(entries) = cnf? else {
        return None;
    };
    let (_, key) = entries
        .iter()
        .find(|(k, _)| *k == Value::from(CNF_COSE_KEY))?;
    let key = CoseKey::from_cbor_value(key.clone()).ok()?;
    if key.kty != KeyType::Assigned(iana::KeyType::EC2) {
        return None;
    }
    let param = |p: iana::Ec2KeyParameter| {
        key.params
            .iter()
            .find(|(l, _)| *l == Label::Int(p as i64))
            .map(|(_, v)| v)
    };
    if param(iana::Ec2KeyParameter::Crv) != Some(&Value::from(iana::EllipticCurve::P_256 as i64)) {
        return None;
    }
    let (Some(Value::Bytes(x)), Some(Value::Bytes(y))) = (
        param(iana::Ec2KeyParameter::X),
        param(iana::Ec2KeyParameter::Y),
    ) else {
        return None;
    };
    let point = [&[4u8][..], x.as_slice(), y.as_slice()].concat();
    VerifyingKey::from_sec1_bytes(&point).ok()?;
    Some(point)
}

/// Checks a credential: structure, issuer signature, issuer trust and authorisation for the
/// kind, validity at `now` (Unix seconds), holder key, and the document's own rules, in that
/// order (so a tampered credential is `BadSignature`, not a confusing later error). Only the
/// built-in kinds: [`verify_any`] also takes kinds declared in a kind list.
pub fn verify(
    bytes: &[u8],
    trust: &TrustList,
    now: u64,
) -> Result<VerifiedCredential, CredentialError> {
    match verify_any(bytes, trust, now, &[])? {
        Held::Typed(v) => Ok(v),
        Held::Declared(_) => Err(CredentialError::MalformedEncoding("kind")),
    }
}

/// A credential that passed every check: of a built-in kind, or of a kind known only from its
/// declaration (docs/adr/0060).
#[derive(Debug, Clone, PartialEq)]
pub enum Held {
    Typed(VerifiedCredential),
    Declared(super::by_declaration::DeclaredCredential),
}

/// The kind a credential names, resolved.
enum Resolved<'a> {
    Typed(DocumentKind),
    Declared(&'a KindDeclaration),
}

/// [`verify`] for any kind: a built-in one as there, any other by its declaration among
/// `declared` (the wallet's verified kind list; built-in names there are ignored). The issuer
/// must be authorised for the kind's name in the trust list, and the document must keep every
/// rule of the declaration. A kind neither built in nor declared is `UnknownKind`.
pub fn verify_any(
    bytes: &[u8],
    trust: &TrustList,
    now: u64,
    declared: &[KindDeclaration],
) -> Result<Held, CredentialError> {
    use CredentialError::{MalformedEncoding as Malformed, *};
    if bytes.len() > MAX_CREDENTIAL_BYTES {
        return Err(Malformed("too large"));
    }
    let sign1 = Sign1::decode(bytes, Tagging::Tagged).ok_or(Malformed("not a COSE_Sign1"))?;
    let rules = HeaderRules {
        content_type: Some(CONTENT_TYPE),
        other_parameters: true,
    };
    // Nothing unsigned rides along (an empty unprotected header).
    sign1.check_header(&rules).map_err(|e| {
        Malformed(match e {
            HeaderError::Algorithm => "algorithm is not ES256",
            HeaderError::ContentType => "content type",
            HeaderError::Critical | HeaderError::OtherParameters => "unknown critical header",
            HeaderError::Unprotected => "unprotected header is not empty",
        })
    })?;
    let issuer = issuer_certificate(&sign1)?;
    let point = p256_point(&issuer.certificate).ok_or(Malformed("issuer key is not P-256"))?;
    if !sign1.verify_es256(&point) {
        return Err(BadSignature);
    }

    let payload = sign1.payload().ok_or(Malformed("no payload"))?;
    let claims = cbor::decode(payload).ok_or(Malformed("payload is not CBOR"))?;
    let f = Fields::new(&claims, "").map_err(|_| Malformed("claims are not a map"))?;
    let name = f.text("kind").map_err(|_| Malformed("kind"))?;
    let kind = match DocumentKind::parse(name) {
        Some(k) => Resolved::Typed(k),
        None if !super::trust::is_kind_name(name) => return Err(Malformed("kind")),
        None => Resolved::Declared(
            declared
                .iter()
                .find(|d| d.name == name)
                .ok_or_else(|| UnknownKind(name.to_owned()))?,
        ),
    };
    let iss = f.text("iss").map_err(|_| Malformed("iss"))?;
    if iss != issuer.certificate.tbs_certificate().subject().to_string() {
        return Err(Malformed("iss does not match the issuer certificate"));
    }
    let id = f.text("id").map_err(|_| Malformed("id"))?.to_owned();
    let validity = Validity {
        issued_at: f.uint("iat").map_err(|_| Malformed("iat"))?,
        not_before: f.uint("nbf").map_err(|_| Malformed("nbf"))?,
        expires: f.uint("exp").map_err(|_| Malformed("exp"))?,
    };
    let status = f.map("status").map_err(|_| Malformed("status"))?;
    let status = StatusRef {
        list: status
            .text("list")
            .map_err(|_| Malformed("status"))?
            .to_owned(),
        index: status
            .uint("index")
            .ok()
            .and_then(|i| u32::try_from(i).ok())
            .ok_or(Malformed("status"))?,
    };

    match kind {
        Resolved::Typed(k) => trust.check(&issuer, k, now)?,
        Resolved::Declared(d) => trust.check_named(&issuer, &d.name, now)?,
    }
    if now < validity.not_before {
        return Err(NotYetValid);
    }
    if now >= validity.expires {
        return Err(Expired);
    }
    let holder_key = holder_key(f.get("cnf")).ok_or(HolderKeyMissing)?;
    let doc = f.get("doc").ok_or(Malformed("no doc"))?;
    let issuer_certificate = issuer.der;
    Ok(match kind {
        Resolved::Typed(kind) => Held::Typed(VerifiedCredential {
            kind,
            id,
            issuer: iss.to_owned(),
            validity,
            status,
            holder_key,
            document: Document::from_cbor(kind, doc).map_err(InvalidDocument)?,
            issuer_certificate,
        }),
        Resolved::Declared(declaration) => {
            super::kinds::validate(declaration, doc).map_err(InvalidDocument)?;
            Held::Declared(super::by_declaration::DeclaredCredential {
                declaration: declaration.clone(),
                id,
                issuer: iss.to_owned(),
                validity,
                status,
                holder_key,
                doc: doc.clone(),
                issuer_certificate,
            })
        }
    })
}

/// The kind a credential claims, without any check (tests only: nothing routes on it).
#[cfg(test)]
pub(crate) fn peek_kind(bytes: &[u8]) -> Option<DocumentKind> {
    let sign1 = Sign1::decode(bytes, Tagging::Tagged)?;
    let claims = cbor::decode(sign1.payload()?)?;
    let f = Fields::new(&claims, "").ok()?;
    DocumentKind::parse(f.text("kind").ok()?)
}
