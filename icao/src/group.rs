//! The groups PACE runs on: one of the ICAO curves (ECDH) or one of the RFC 5114 MODP groups
//! (DH), chosen by the standardized domain parameter ID of the PACEInfo (ICAO 9303-11 §9.5.1).
//! PACE's steps are the same over both; this module hides which one it is.

use super::dh::{DhElement, DhGroup, DhKeyPair};
use super::ec::{Curve, EcPoint, KeyPair};
use super::security_info::KeyAgreement;
use der::asn1::ObjectIdentifier;
use eid_crypto::tlv;
use eid_crypto::{Rng, SecretKey};

/// Why a group operation failed (a peer's value not in the group, or an unusable result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid group element")]
pub struct GroupError;

/// A PACE group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaceGroup {
    Ec(Curve),
    Dh(DhGroup),
}

impl PaceGroup {
    /// The group of a standardized domain parameter ID this reader supports.
    pub fn from_param_id(id: u32) -> Option<PaceGroup> {
        Curve::from_param_id(id)
            .map(PaceGroup::Ec)
            .or_else(|| DhGroup::from_param_id(id).map(PaceGroup::Dh))
    }

    pub fn param_id(self) -> u8 {
        match self {
            PaceGroup::Ec(c) => c.param_id(),
            PaceGroup::Dh(g) => g.param_id(),
        }
    }

    pub fn agreement(self) -> KeyAgreement {
        match self {
            PaceGroup::Ec(_) => KeyAgreement::Ecdh,
            PaceGroup::Dh(_) => KeyAgreement::Dh,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PaceGroup::Ec(c) => c.name(),
            PaceGroup::Dh(g) => g.name(),
        }
    }

    /// Security strength in bits (NIST SP 800-57 Part 1 Table 2), for ordering choices.
    pub fn strength(self) -> u16 {
        match self {
            PaceGroup::Ec(c) => u16::try_from(c.field_len() * 4).unwrap_or(0),
            PaceGroup::Dh(DhGroup::Modp1024) => 80,
            PaceGroup::Dh(DhGroup::Modp2048q224) => 112,
            PaceGroup::Dh(DhGroup::Modp2048q256) => 112,
        }
    }

    /// The group's standard generator.
    pub fn generator(self) -> Element {
        match self {
            PaceGroup::Ec(c) => Element::Ec(c.generator()),
            PaceGroup::Dh(g) => Element::Dh(g.generator()),
        }
    }

    /// Decodes a peer's public value: an uncompressed or compressed SEC1 point, or a
    /// big-endian DH value; checked to be in the group.
    pub fn decode(self, bytes: &[u8]) -> Result<Element, GroupError> {
        match self {
            PaceGroup::Ec(c) => EcPoint::from_sec1(c, bytes)
                .map(Element::Ec)
                .map_err(|_| GroupError),
            PaceGroup::Dh(g) => DhElement::from_bytes(g, bytes)
                .map(Element::Dh)
                .map_err(|_| GroupError),
        }
    }
}

/// A group element other than the identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    Ec(EcPoint),
    Dh(DhElement),
}

impl Element {
    pub fn group(&self) -> PaceGroup {
        match self {
            Element::Ec(p) => PaceGroup::Ec(p.curve()),
            Element::Dh(e) => PaceGroup::Dh(e.group()),
        }
    }

    /// The encoding sent in GENERAL AUTHENTICATE: an uncompressed SEC1 point, or the DH value
    /// as p-length big-endian bytes.
    pub fn to_bytes(&self) -> &[u8] {
        match self {
            Element::Ec(p) => p.to_sec1(),
            Element::Dh(e) => e.to_bytes(),
        }
    }

    /// `k · self` (EC) or `self^k` (DH).
    pub fn scale(&self, k: &[u8]) -> Result<Element, GroupError> {
        match self {
            Element::Ec(p) => p.mul(k).map(Element::Ec).map_err(|_| GroupError),
            Element::Dh(e) => e.pow(k).map(Element::Dh).map_err(|_| GroupError),
        }
    }

    /// The group operation: `self + other` (EC) or `self · other` (DH).
    pub fn combine(&self, other: &Element) -> Result<Element, GroupError> {
        match (self, other) {
            (Element::Ec(a), Element::Ec(b)) => a.add(b).map(Element::Ec).map_err(|_| GroupError),
            (Element::Dh(a), Element::Dh(b)) => a.mul(b).map(Element::Dh).map_err(|_| GroupError),
            _ => Err(GroupError),
        }
    }

    /// The public key data object of the authentication token input (ICAO 9303-11 §4.4.3.4,
    /// BSI TR-03110-3 D.3.4): `7F49 { 06 protocol OID, 86 point }` for ECDH and
    /// `7F49 { 06 protocol OID, 84 y }` for DH, y an unsigned integer without leading zeros.
    pub fn public_key_data_object(&self, protocol: &ObjectIdentifier) -> Vec<u8> {
        let key = match self {
            Element::Ec(p) => tlv::encode(0x86, p.to_sec1()),
            Element::Dh(e) => tlv::encode(0x84, e.to_unsigned()),
        };
        tlv::encode(
            0x7F49,
            &[tlv::encode(0x06, protocol.as_bytes()), key].concat(),
        )
    }
}

/// A private key (zeroized, never printed) and its public element on some generator.
#[derive(Debug)]
pub enum GroupKeyPair {
    Ec(KeyPair),
    Dh(DhKeyPair),
}

impl GroupKeyPair {
    /// A fresh key pair on `generator` (the group's own, or PACE's mapped generator).
    pub fn generate_on(generator: &Element, rng: &mut dyn Rng) -> GroupKeyPair {
        match generator {
            Element::Ec(g) => GroupKeyPair::Ec(KeyPair::generate_on(g, rng)),
            Element::Dh(g) => GroupKeyPair::Dh(DhKeyPair::generate_on(g, rng)),
        }
    }

    /// The key pair of a known private key on `generator`.
    pub fn from_private_on(
        generator: &Element,
        private: SecretKey,
    ) -> Result<GroupKeyPair, GroupError> {
        match generator {
            Element::Ec(g) => KeyPair::from_private_on(g, private)
                .map(GroupKeyPair::Ec)
                .map_err(|_| GroupError),
            Element::Dh(g) => DhKeyPair::from_private_on(g, private)
                .map(GroupKeyPair::Dh)
                .map_err(|_| GroupError),
        }
    }

    pub fn public(&self) -> Element {
        match self {
            GroupKeyPair::Ec(k) => Element::Ec(k.public().clone()),
            GroupKeyPair::Dh(k) => Element::Dh(k.public().clone()),
        }
    }

    /// `x · peer` / `peer^x` as an element (generic mapping's H).
    pub fn multiply(&self, peer: &Element) -> Result<Element, GroupError> {
        match (self, peer) {
            (GroupKeyPair::Ec(k), Element::Ec(p)) => {
                k.multiply(p).map(Element::Ec).map_err(|_| GroupError)
            }
            (GroupKeyPair::Dh(k), Element::Dh(p)) => {
                k.multiply(p).map(Element::Dh).map_err(|_| GroupError)
            }
            _ => Err(GroupError),
        }
    }

    /// The shared secret K: the x-coordinate of `x · peer` (ECKA-DH, BSI TR-03111 §4.3.1), or
    /// `peer^x mod p` as p-length bytes.
    pub fn agree(&self, peer: &Element) -> Result<SecretKey, GroupError> {
        match (self, peer) {
            (GroupKeyPair::Ec(k), Element::Ec(p)) => k.agree(p).map_err(|_| GroupError),
            (GroupKeyPair::Dh(k), Element::Dh(p)) => k.agree(p).map_err(|_| GroupError),
            _ => Err(GroupError),
        }
    }
}
