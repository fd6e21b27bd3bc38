//! Client identifiers with their prefix (OpenID4VP 1.0 §5.9): `x509_san_dns:<dns name>` (a
//! dNSName SAN of the request's leaf certificate), `x509_hash:<base64url SHA-256 of the leaf
//! DER>`, and `redirect_uri:<uri>` (unsigned requests of test relying parties only). Other
//! prefixes, and identifiers without one (pre-registered), are refused.

use super::error::Oid4vpError;
use crate::sdjwt::b64;
use eid_crypto::x509::SignerCertificate;
use sha2::{Digest, Sha256};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

/// The prefix of a client identifier and the original identifier after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientIdPrefix {
    X509SanDns(String),
    X509Hash(String),
    RedirectUri(String),
}

/// A client identifier as sent (`as_str`, the KB-JWT audience) and read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId {
    raw: String,
    pub prefix: ClientIdPrefix,
}

impl ClientId {
    pub fn parse(raw: &str) -> Result<ClientId, Oid4vpError> {
        let (prefix, rest) = raw
            .split_once(':')
            .ok_or(Oid4vpError::ClientId("no client identifier prefix"))?;
        if rest.is_empty() {
            return Err(Oid4vpError::ClientId("empty client identifier"));
        }
        let prefix = match prefix {
            "x509_san_dns" => {
                let valid = rest.len() <= 253
                    && rest.split('.').all(|label| {
                        !label.is_empty()
                            && label.len() <= 63
                            && label
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    });
                if !valid {
                    return Err(Oid4vpError::ClientId(
                        "x509_san_dns value is not a DNS name",
                    ));
                }
                ClientIdPrefix::X509SanDns(rest.to_ascii_lowercase())
            }
            "x509_hash" => {
                if crate::sdjwt::unb64(rest).is_none_or(|h| h.len() != 32) {
                    return Err(Oid4vpError::ClientId(
                        "x509_hash value is not a SHA-256 hash",
                    ));
                }
                ClientIdPrefix::X509Hash(rest.to_owned())
            }
            "redirect_uri" => ClientIdPrefix::RedirectUri(rest.to_owned()),
            _ => {
                return Err(Oid4vpError::ClientId(
                    "unsupported client identifier prefix",
                ));
            }
        };
        Ok(ClientId {
            raw: raw.to_owned(),
            prefix,
        })
    }

    /// The client identifier with its prefix, as sent.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Checks the leaf certificate that signed the request against the identifier: its dNSName
    /// SANs hold the DNS name (`x509_san_dns`) or its SHA-256 is the hash (`x509_hash`). A
    /// `redirect_uri` identifier never goes with a signed request.
    pub fn check_leaf(&self, leaf: &SignerCertificate) -> Result<(), Oid4vpError> {
        match &self.prefix {
            ClientIdPrefix::X509SanDns(dns) => {
                if dns_names(leaf).iter().any(|n| n.eq_ignore_ascii_case(dns)) {
                    Ok(())
                } else {
                    Err(Oid4vpError::ClientId(
                        "DNS name not a SAN of the leaf certificate",
                    ))
                }
            }
            ClientIdPrefix::X509Hash(hash) => {
                let actual = x509_hash(&leaf.der);
                if eid_crypto::ct_eq(actual.as_bytes(), hash.as_bytes()) {
                    Ok(())
                } else {
                    Err(Oid4vpError::ClientId(
                        "x509_hash does not match the leaf certificate",
                    ))
                }
            }
            ClientIdPrefix::RedirectUri(_) => Err(Oid4vpError::ClientId(
                "a redirect_uri client cannot sign its request",
            )),
        }
    }
}

/// The base64url SHA-256 of a certificate's DER: the value of an `x509_hash` client identifier.
pub fn x509_hash(der: &[u8]) -> String {
    b64(&Sha256::digest(der))
}

/// The dNSName entries of a certificate's subject alternative name extension.
pub fn dns_names(cert: &SignerCertificate) -> Vec<String> {
    let Ok(Some((_, san))) = cert
        .certificate
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
    else {
        return Vec::new();
    };
    san.0
        .iter()
        .filter_map(|n| match n {
            GeneralName::DnsName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_read_and_others_refused() {
        let c = ClientId::parse("x509_san_dns:Bank.Example.vn").unwrap();
        assert_eq!(
            c.prefix,
            ClientIdPrefix::X509SanDns("bank.example.vn".into())
        );
        assert_eq!(c.as_str(), "x509_san_dns:Bank.Example.vn");
        let hash = "Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk";
        assert!(ClientId::parse(&format!("x509_hash:{hash}")).is_ok());
        assert!(ClientId::parse("x509_hash:abc").is_err());
        assert!(ClientId::parse("x509_san_dns:bad host/x").is_err());
        assert!(ClientId::parse("https://client.example.org").is_err());
        assert!(ClientId::parse("decentralized_identifier:did:example:1").is_err());
        assert!(ClientId::parse("verifier.example.org").is_err());
        assert!(ClientId::parse("redirect_uri:").is_err());
    }
}
