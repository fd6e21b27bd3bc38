//! The trust list: which CAs the wallet and verifiers trust to certify credential issuers, and
//! which document kinds each issuer may issue.
//!
//! Trust has two parts because one national root certifies every ministry's issuer: a chain
//! check alone would let the health ministry issue driving licences. So the list holds the CA
//! certificates (anchors) and, per issuer certificate subject, the authorised kinds (police →
//! identity, transport → driving licence, social insurance → health insurance card, health
//! ministry → health record). An issuer certificate must chain to an anchor *and* be authorised.

use super::DocumentKind;
use super::cbor::{self, Fields};
use super::error::CredentialError;
use ciborium::Value;
use der::{Decode, Encode};
#[cfg(test)]
use eid_crypto::pem::{self, PemError};
use eid_crypto::trust::TrustStore;
use eid_crypto::x509::{SignerCertificate, p256_point};
use std::collections::BTreeSet;
#[cfg(test)]
use std::str::FromStr;
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::name::Name;

/// Why a trust list could not be built or decoded. Never holds certificate content.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TrustListError {
    #[error("malformed certificate")]
    BadCertificate,
    #[error("no certificate in the PEM text")]
    NoCertificate,
    #[error("malformed issuer name")]
    BadName,
    #[error("malformed trust list: {0}")]
    Malformed(&'static str),
}

/// One issuer and what it may issue.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authorisation {
    /// DER of the issuer certificate's subject Name: compared exactly, no string forms.
    subject: Vec<u8>,
    kinds: BTreeSet<DocumentKind>,
    /// Kinds this library has no code for, by machine name: known to the wallet only from the
    /// backend's signed kind list (docs/adr/0060). A list naming them still decodes.
    named: BTreeSet<String>,
}

/// Trusted CAs and issuer authorisations. Serialised with [`TrustList::encode`] so a backend
/// can serve it (a verifier must get it over an authenticated channel).
#[derive(Debug, Clone, Default)]
pub struct TrustList {
    cas: TrustStore,
    /// The DER of each anchor, in insertion order, for encoding.
    ca_der: Vec<Vec<u8>>,
    issuers: Vec<Authorisation>,
    /// Certificates of authorised issuers (DER), so compact credentials that name their issuer
    /// by key id instead of carrying its certificate (QR presentations) can be checked.
    issuer_certs: Vec<Vec<u8>>,
}

/// Key id of an issuer certificate: the first 8 bytes of SHA-256 over its DER.
pub fn key_id(certificate_der: &[u8]) -> [u8; 8] {
    let digest = ring::digest::digest(&ring::digest::SHA256, certificate_der);
    let mut kid = [0u8; 8];
    kid.copy_from_slice(digest.as_ref().get(..8).unwrap_or(&[0; 8]));
    kid
}

const VERSION: u64 = 1;

/// A kind's machine name: non-empty snake_case ASCII, at most 64 bytes.
pub(crate) fn is_kind_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// An issuer certificate of the trust list with its chain checked once, for verifiers that
/// check many compact credentials (QR presentations): its key, subject, the validity window it
/// shares with its anchor, and the kinds it is authorised for.
#[derive(Debug, Clone)]
pub struct PreparedIssuer {
    pub kid: [u8; 8],
    /// SEC1 uncompressed P-256 point.
    pub point: Vec<u8>,
    /// RFC 4514 text.
    pub subject: String,
    chain_ok: bool,
    not_before: u64,
    not_after: u64,
    kinds: BTreeSet<DocumentKind>,
}

impl PreparedIssuer {
    /// The rules of [`TrustList::check`]: chain to an anchor, both valid at `now`, authorised
    /// for `kind`.
    pub fn check(&self, kind: DocumentKind, now: u64) -> Result<(), CredentialError> {
        if !self.chain_ok || now < self.not_before || now > self.not_after {
            return Err(CredentialError::UntrustedIssuer);
        }
        if !self.kinds.contains(&kind) {
            return Err(CredentialError::IssuerNotAuthorised(kind));
        }
        Ok(())
    }
}

impl TrustList {
    pub fn new() -> Self {
        TrustList::default()
    }

    /// Adds a CA certificate (DER).
    pub fn add_ca_der(&mut self, der: &[u8]) -> Result<(), TrustListError> {
        self.cas
            .add_der(der)
            .map_err(|_| TrustListError::BadCertificate)?;
        if !self.ca_der.iter().any(|d| d == der) {
            self.ca_der.push(der.to_vec());
        }
        Ok(())
    }

    /// Adds every `CERTIFICATE` block of a PEM text (RFC 7468); returns how many. Tests only:
    /// trust lists arrive signed from the backend, CAs as DER.
    #[cfg(test)]
    pub(crate) fn add_ca_pem(&mut self, pem: &str) -> Result<usize, TrustListError> {
        pem::for_each_certificate(
            pem,
            |der| self.add_ca_der(der),
            |e| match e {
                PemError::NoCertificate => TrustListError::NoCertificate,
                PemError::Malformed => TrustListError::BadCertificate,
            },
        )
    }

    /// Authorises the issuer with this subject (RFC 4514 text, e.g.
    /// `CN=Bo Cong an TEST,O=Bo Cong an,C=VN`) for `kinds`, adding to what it had. Tests only:
    /// issuers are authorised by their certificate ([`Self::authorise_certificate`]).
    #[cfg(test)]
    pub(crate) fn authorise(
        &mut self,
        issuer_subject: &str,
        kinds: &[DocumentKind],
    ) -> Result<(), TrustListError> {
        let name = Name::from_str(issuer_subject).map_err(|_| TrustListError::BadName)?;
        let der = name.to_der().map_err(|_| TrustListError::BadName)?;
        self.authorise_der(der, kinds.iter().copied());
        Ok(())
    }

    /// Authorises the subject of this issuer certificate (DER) for `kinds`.
    pub fn authorise_certificate(
        &mut self,
        issuer_certificate: &[u8],
        kinds: &[DocumentKind],
    ) -> Result<(), TrustListError> {
        let cert = Certificate::from_der(issuer_certificate)
            .map_err(|_| TrustListError::BadCertificate)?;
        let der = cert
            .tbs_certificate()
            .subject()
            .to_der()
            .map_err(|_| TrustListError::BadCertificate)?;
        self.authorise_der(der, kinds.iter().copied());
        if !self.issuer_certs.iter().any(|c| c == issuer_certificate) {
            self.issuer_certs.push(issuer_certificate.to_vec());
        }
        Ok(())
    }

    /// The issuer certificate with this [`key_id`], prepared (its chain checked now).
    pub fn prepared_issuer(&self, kid: &[u8]) -> Option<PreparedIssuer> {
        let der = self.issuer_certs.iter().find(|c| key_id(c) == kid)?;
        self.prepare(der)
    }

    /// Every issuer certificate, prepared: what a verifier device keeps between scans.
    pub fn prepared_issuers(&self) -> Vec<PreparedIssuer> {
        self.issuer_certs
            .iter()
            .filter_map(|der| self.prepare(der))
            .collect()
    }

    fn prepare(&self, der: &[u8]) -> Option<PreparedIssuer> {
        let certificate = Certificate::from_der(der).ok()?;
        let point = p256_point(&certificate)?;
        let tbs = certificate.tbs_certificate();
        let subject = tbs.subject().to_string();
        let subject_der = tbs.subject().to_der().ok()?;
        let kinds = self.kinds_of(&subject_der).cloned().unwrap_or_default();
        let secs = |t: x509_cert::time::Time| t.to_unix_duration().as_secs();
        let (mut not_before, mut not_after) = (
            secs(tbs.validity().not_before),
            secs(tbs.validity().not_after),
        );
        let cert = SignerCertificate {
            der: der.to_vec(),
            certificate: certificate.clone(),
        };
        let anchor = self.cas.issuer_of(&cert);
        if let Some(a) = anchor {
            let v = a.tbs_certificate().validity();
            not_before = not_before.max(secs(v.not_before));
            not_after = not_after.min(secs(v.not_after));
        }
        Some(PreparedIssuer {
            kid: key_id(der),
            point,
            subject,
            chain_ok: anchor.is_some(),
            not_before,
            not_after,
            kinds,
        })
    }

    fn authorise_der(&mut self, subject: Vec<u8>, kinds: impl Iterator<Item = DocumentKind>) {
        self.authorise_der_named(subject, kinds, std::iter::empty());
    }

    fn authorise_der_named(
        &mut self,
        subject: Vec<u8>,
        kinds: impl Iterator<Item = DocumentKind>,
        named: impl Iterator<Item = String>,
    ) {
        match self.issuers.iter_mut().find(|a| a.subject == subject) {
            Some(a) => {
                a.kinds.extend(kinds);
                a.named.extend(named);
            }
            None => self.issuers.push(Authorisation {
                subject,
                kinds: kinds.collect(),
                named: named.collect(),
            }),
        }
    }

    /// Authorises the subject of this issuer certificate (DER) for kinds by machine name: a
    /// built-in kind's name as [`Self::authorise_certificate`], any other (a kind declared
    /// only as data, docs/adr/0060) by its name. A name must be snake_case.
    pub fn authorise_certificate_named(
        &mut self,
        issuer_certificate: &[u8],
        names: &[&str],
    ) -> Result<(), TrustListError> {
        let (mut kinds, mut named) = (Vec::new(), Vec::new());
        for n in names {
            match DocumentKind::parse(n) {
                Some(k) => kinds.push(k),
                None if is_kind_name(n) => named.push((*n).to_owned()),
                None => return Err(TrustListError::Malformed("kind name")),
            }
        }
        self.authorise_certificate(issuer_certificate, &kinds)?;
        let cert = Certificate::from_der(issuer_certificate)
            .map_err(|_| TrustListError::BadCertificate)?;
        let der = cert
            .tbs_certificate()
            .subject()
            .to_der()
            .map_err(|_| TrustListError::BadCertificate)?;
        self.authorise_der_named(der, std::iter::empty(), named.into_iter());
        Ok(())
    }

    pub fn ca_count(&self) -> usize {
        self.ca_der.len()
    }

    /// The anchors as a store, for verifiers that check an `x5c` chain to them.
    pub fn anchor_store(&self) -> &TrustStore {
        &self.cas
    }

    /// The anchors (CA certificates, DER), in insertion order.
    pub fn anchors(&self) -> &[Vec<u8>] {
        &self.ca_der
    }

    /// The kinds an issuer certificate subject (DER Name) may issue.
    fn kinds_of(&self, subject_der: &[u8]) -> Option<&BTreeSet<DocumentKind>> {
        self.issuers
            .iter()
            .find(|a| a.subject == subject_der)
            .map(|a| &a.kinds)
    }

    /// The credential's issuer certificate: valid at `now`, issued by an anchor (signature
    /// checked), and authorised for `kind`.
    pub(crate) fn check(
        &self,
        issuer: &SignerCertificate,
        kind: DocumentKind,
        now: u64,
    ) -> Result<(), CredentialError> {
        match self.authorisation_of(issuer, now)? {
            Some(a) if a.kinds.contains(&kind) => Ok(()),
            _ => Err(CredentialError::IssuerNotAuthorised(kind)),
        }
    }

    /// [`Self::check`] for a kind this library has no code for, by machine name
    /// (docs/adr/0060).
    pub(crate) fn check_named(
        &self,
        issuer: &SignerCertificate,
        name: &str,
        now: u64,
    ) -> Result<(), CredentialError> {
        match self.authorisation_of(issuer, now)? {
            Some(a) if a.named.contains(name) => Ok(()),
            _ => Err(CredentialError::IssuerNotAuthorisedFor(name.to_owned())),
        }
    }

    /// The issuer's authorisations once its certificate is valid at `now` and issued by an
    /// anchor valid then; `None` when the trust list authorises it for nothing.
    fn authorisation_of(
        &self,
        issuer: &SignerCertificate,
        now: u64,
    ) -> Result<Option<&Authorisation>, CredentialError> {
        let validity = issuer.certificate.tbs_certificate().validity();
        let now = std::time::Duration::from_secs(now);
        if now < validity.not_before.to_unix_duration()
            || now > validity.not_after.to_unix_duration()
        {
            return Err(CredentialError::UntrustedIssuer);
        }
        let anchor = self
            .cas
            .issuer_of(issuer)
            .ok_or(CredentialError::UntrustedIssuer)?;
        let ca_validity = anchor.tbs_certificate().validity();
        if now < ca_validity.not_before.to_unix_duration()
            || now > ca_validity.not_after.to_unix_duration()
        {
            return Err(CredentialError::UntrustedIssuer);
        }
        let subject = issuer
            .certificate
            .tbs_certificate()
            .subject()
            .to_der()
            .map_err(|_| CredentialError::MalformedEncoding("issuer certificate"))?;
        Ok(self.issuers.iter().find(|a| a.subject == subject))
    }

    /// CBOR: `{ "version": 1, "cas": [bstr DER certificate], "issuers": [{ "subject": bstr DER
    /// Name, "kinds": [tstr] }] }`.
    pub fn encode(&self) -> Result<Vec<u8>, TrustListError> {
        let issuers = self
            .issuers
            .iter()
            .map(|a| {
                cbor::map(vec![
                    ("subject", Some(Value::Bytes(a.subject.clone()))),
                    (
                        "kinds",
                        Some(Value::Array(
                            a.kinds
                                .iter()
                                .map(|k| k.as_str())
                                .chain(a.named.iter().map(String::as_str))
                                .map(cbor::text)
                                .collect(),
                        )),
                    ),
                ])
            })
            .collect();
        let value = cbor::map(vec![
            ("version", Some(Value::from(VERSION))),
            (
                "cas",
                Some(Value::Array(
                    self.ca_der.iter().cloned().map(Value::Bytes).collect(),
                )),
            ),
            ("issuers", Some(Value::Array(issuers))),
            (
                "issuer_certs",
                (!self.issuer_certs.is_empty()).then(|| {
                    Value::Array(
                        self.issuer_certs
                            .iter()
                            .cloned()
                            .map(Value::Bytes)
                            .collect(),
                    )
                }),
            ),
        ]);
        cbor::encode(&value).map_err(|_| TrustListError::Malformed("encoding"))
    }

    pub fn decode(bytes: &[u8]) -> Result<TrustList, TrustListError> {
        let value = cbor::decode(bytes).ok_or(TrustListError::Malformed("CBOR"))?;
        let bad = |what| move |_| TrustListError::Malformed(what);
        let f = Fields::new(&value, "").map_err(bad("not a map"))?;
        if f.uint("version").map_err(bad("version"))? != VERSION {
            return Err(TrustListError::Malformed("unsupported version"));
        }
        let mut list = TrustList::new();
        for ca in f.array("cas").map_err(bad("cas"))? {
            let Value::Bytes(der) = ca else {
                return Err(TrustListError::Malformed("cas"));
            };
            list.add_ca_der(der)?;
        }
        for issuer in f.array("issuers").map_err(bad("issuers"))? {
            let i = Fields::new(issuer, "issuer").map_err(bad("issuers"))?;
            let Some(Value::Bytes(subject)) = i.get("subject") else {
                return Err(TrustListError::Malformed("issuer subject"));
            };
            Name::from_der(subject).map_err(|_| TrustListError::BadName)?;
            let (mut kinds, mut named) = (Vec::new(), Vec::new());
            for k in i.array("kinds").map_err(bad("issuer kinds"))? {
                // A kind this library does not know is kept by name: it may be declared in
                // the backend's kind list (docs/adr/0060).
                match k {
                    Value::Text(t) => match DocumentKind::parse(t) {
                        Some(kind) => kinds.push(kind),
                        None if is_kind_name(t) => named.push(t.clone()),
                        None => return Err(TrustListError::Malformed("issuer kinds")),
                    },
                    _ => return Err(TrustListError::Malformed("issuer kinds")),
                }
            }
            list.authorise_der_named(subject.clone(), kinds.into_iter(), named.into_iter());
        }
        // Optional (lists from before presentations have none).
        if f.get("issuer_certs").is_some() {
            for c in f.array("issuer_certs").map_err(bad("issuer_certs"))? {
                let Value::Bytes(der) = c else {
                    return Err(TrustListError::Malformed("issuer_certs"));
                };
                Certificate::from_der(der).map_err(|_| TrustListError::BadCertificate)?;
                list.issuer_certs.push(der.clone());
            }
        }
        Ok(list)
    }
}

impl PartialEq for TrustList {
    fn eq(&self, other: &Self) -> bool {
        self.ca_der == other.ca_der
            && self.issuers == other.issuers
            && self.issuer_certs == other.issuer_certs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_refused() {
        let mut t = TrustList::new();
        assert_eq!(t.add_ca_der(b"junk"), Err(TrustListError::BadCertificate));
        assert_eq!(t.add_ca_pem("nothing"), Err(TrustListError::NoCertificate));
        assert_eq!(
            t.authorise("not a name", &[DocumentKind::Identity]),
            Err(TrustListError::BadName)
        );
        assert!(TrustList::decode(b"\xa0").is_err());
        assert!(TrustList::decode(&[]).is_err());
        t.authorise("CN=Bo Y te TEST,C=VN", &[DocumentKind::HealthRecord])
            .unwrap();
        let back = TrustList::decode(&t.encode().unwrap()).unwrap();
        assert_eq!(back, t);
    }

    /// A kind this library does not know (declared in a backend's kind list, docs/adr/0060)
    /// is kept by name, so the list still decodes; a name that is not snake_case is refused.
    #[test]
    fn unknown_kind_names_are_kept() {
        let mut t = TrustList::new();
        t.authorise("CN=Cuc Thuy san TEST,C=VN", &[DocumentKind::Identity])
            .unwrap();
        let subject = t.issuers[0].subject.clone();
        t.authorise_der_named(
            subject.clone(),
            std::iter::empty(),
            ["fishing_licence".to_owned()].into_iter(),
        );
        let back = TrustList::decode(&t.encode().unwrap()).unwrap();
        assert_eq!(back, t);
        assert!(back.issuers[0].named.contains("fishing_licence"));
        assert!(back.issuers[0].kinds.contains(&DocumentKind::Identity));
        let mut bad = TrustList::new();
        bad.authorise_der_named(
            subject,
            std::iter::empty(),
            ["Fishing-Licence".to_owned()].into_iter(),
        );
        assert_eq!(
            TrustList::decode(&bad.encode().unwrap()),
            Err(TrustListError::Malformed("issuer kinds"))
        );
    }
}
