//! SecurityInfos (ICAO 9303-11 §9.2, BSI TR-03110-3 A.1.1): the `SET OF SecurityInfo` in
//! EF.CardAccess and DG14 announcing PACE, chip authentication and active authentication.
//!
//! Parsing is lenient per entry: an entry with an unknown protocol, or a known protocol whose
//! fields do not parse, is kept as [`SecurityInfo::Unknown`]. Only a malformed outer structure
//! is an error.

use super::dh::{DhElement, DhGroup};
use super::ec::{Curve, EcPoint, HashAlg};
use super::error::ChipError;
use super::group::{Element, PaceGroup};
use super::symmetric::Cipher;
use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use eid_crypto::tlv;
use spki::SubjectPublicKeyInfoOwned;

/// Protocol OIDs (BSI TR-03110-3 A.1.1, ICAO 9303-11 §9.2).
pub mod oid {
    use der::asn1::ObjectIdentifier;

    pub const ID_PACE: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4");
    pub const ID_CA: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.3");
    pub const ID_PK: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.1");
    pub const ID_PK_DH: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.1.1");
    pub const ID_PK_ECDH: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.1.2");
    pub const ID_TA: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.2");
    /// id-AA (ICAO 9303-11 §9.2.10).
    pub const ID_AA: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.5");

    /// ecdsa-plain-signatures (BSI TR-03111 §5.2.1): `.1` SHA-1 … `.5` SHA-512.
    pub const ECDSA_PLAIN_SHA1: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.1");
    pub const ECDSA_PLAIN_SHA224: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.2");
    pub const ECDSA_PLAIN_SHA256: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
    pub const ECDSA_PLAIN_SHA384: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.4");
    pub const ECDSA_PLAIN_SHA512: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.5");
    /// ecdsa-with-SHA* (RFC 5758, X9.62).
    pub const ECDSA_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
    pub const ECDSA_WITH_SHA224: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.1");
    pub const ECDSA_WITH_SHA256: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_WITH_SHA384: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
    pub const ECDSA_WITH_SHA512: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
}

/// The DER content octets of `parent` followed by `suffix`, as an OID.
fn child_oid(parent: &ObjectIdentifier, suffix: &[u8]) -> Option<ObjectIdentifier> {
    let mut bytes = parent.as_bytes().to_vec();
    bytes.extend_from_slice(suffix);
    ObjectIdentifier::from_bytes(&bytes).ok()
}

/// `Some((a, b))` when `oid` is `parent.a.b` with single-byte arcs.
fn two_arcs_under(oid: &ObjectIdentifier, parent: &ObjectIdentifier) -> Option<(u8, u8)> {
    match oid.as_bytes().strip_prefix(parent.as_bytes())? {
        [a, b] if a & 0x80 == 0 && b & 0x80 == 0 => Some((*a, *b)),
        _ => None,
    }
}

fn cipher_arc(c: Cipher) -> u8 {
    match c {
        Cipher::Tdes => 1,
        Cipher::Aes128 => 2,
        Cipher::Aes192 => 3,
        Cipher::Aes256 => 4,
    }
}

fn cipher_from_arc(arc: u8) -> Option<Cipher> {
    match arc {
        1 => Some(Cipher::Tdes),
        2 => Some(Cipher::Aes128),
        3 => Some(Cipher::Aes192),
        4 => Some(Cipher::Aes256),
        _ => None,
    }
}

/// Key agreement of PACE and chip authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAgreement {
    Dh,
    Ecdh,
}

/// PACE mapping (ICAO 9303-11 §4.4.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaceMapping {
    Generic,
    Integrated,
    ChipAuthentication,
}

/// A PACE protocol OID taken apart: id-PACE-{DH,ECDH}-{GM,IM,CAM}-{cipher}.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaceProtocol {
    pub agreement: KeyAgreement,
    pub mapping: PaceMapping,
    pub cipher: Cipher,
}

impl PaceProtocol {
    /// id-PACE-ECDH-GM-* with the given cipher.
    pub fn ecdh_gm(cipher: Cipher) -> Self {
        PaceProtocol {
            agreement: KeyAgreement::Ecdh,
            mapping: PaceMapping::Generic,
            cipher,
        }
    }

    /// Whether this reader (and the simulated chip) can run it: generic mapping over ECDH or
    /// DH with any cipher, integrated mapping over ECDH or DH with AES-128 (ICAO 9303-11
    /// §4.4.3.3.2; the pseudo-random function is implemented for 128-bit keys and blocks, as in
    /// the worked examples). Chip authentication mapping is not run.
    pub fn is_supported(&self) -> bool {
        match self.mapping {
            PaceMapping::Generic => true,
            PaceMapping::Integrated => self.cipher == Cipher::Aes128,
            PaceMapping::ChipAuthentication => false,
        }
    }

    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        let (m, c) = two_arcs_under(oid, &oid::ID_PACE)?;
        let (agreement, mapping) = match m {
            1 => (KeyAgreement::Dh, PaceMapping::Generic),
            2 => (KeyAgreement::Ecdh, PaceMapping::Generic),
            3 => (KeyAgreement::Dh, PaceMapping::Integrated),
            4 => (KeyAgreement::Ecdh, PaceMapping::Integrated),
            6 => (KeyAgreement::Ecdh, PaceMapping::ChipAuthentication),
            _ => return None,
        };
        Some(PaceProtocol {
            agreement,
            mapping,
            cipher: cipher_from_arc(c)?,
        })
    }

    pub fn oid(&self) -> Option<ObjectIdentifier> {
        let m = match (self.agreement, self.mapping) {
            (KeyAgreement::Dh, PaceMapping::Generic) => 1,
            (KeyAgreement::Ecdh, PaceMapping::Generic) => 2,
            (KeyAgreement::Dh, PaceMapping::Integrated) => 3,
            (KeyAgreement::Ecdh, PaceMapping::Integrated) => 4,
            (KeyAgreement::Ecdh, PaceMapping::ChipAuthentication) => 6,
            (KeyAgreement::Dh, PaceMapping::ChipAuthentication) => return None,
        };
        child_oid(&oid::ID_PACE, &[m, cipher_arc(self.cipher)])
    }
}

/// PACEInfo (ICAO 9303-11 §9.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaceInfo {
    pub protocol: ObjectIdentifier,
    pub version: u32,
    /// Standardized domain parameter ID; absent when PACEDomainParameterInfo gives them.
    pub parameter_id: Option<u32>,
}

impl PaceInfo {
    /// PACE version 2 with ECDH generic mapping on a standardized curve.
    pub fn ecdh_gm(cipher: Cipher, curve: Curve) -> Self {
        PaceInfo::new(PaceProtocol::ecdh_gm(cipher), PaceGroup::Ec(curve))
    }

    /// PACE version 2 with DH generic mapping on a standardized MODP group.
    pub fn dh_gm(cipher: Cipher, group: DhGroup) -> Self {
        PaceInfo::new(
            PaceProtocol {
                agreement: KeyAgreement::Dh,
                mapping: PaceMapping::Generic,
                cipher,
            },
            PaceGroup::Dh(group),
        )
    }

    /// PACE version 2 with `protocol` on the standardized domain parameters `group`.
    pub fn new(protocol: PaceProtocol, group: PaceGroup) -> Self {
        PaceInfo {
            protocol: protocol.oid().unwrap_or(oid::ID_PACE),
            version: 2,
            parameter_id: Some(u32::from(group.param_id())),
        }
    }

    pub fn protocol(&self) -> Option<PaceProtocol> {
        PaceProtocol::from_oid(&self.protocol)
    }

    pub fn cipher(&self) -> Option<Cipher> {
        self.protocol().map(|p| p.cipher)
    }

    pub fn curve(&self) -> Option<Curve> {
        self.parameter_id.and_then(Curve::from_param_id)
    }

    /// The standardized group of the parameter ID, when it matches the protocol's key
    /// agreement (a DH protocol with a curve's ID is no usable group).
    pub fn group(&self) -> Option<PaceGroup> {
        let group = self.parameter_id.and_then(PaceGroup::from_param_id)?;
        let protocol = self.protocol()?;
        (group.agreement() == protocol.agreement).then_some(group)
    }

    /// Whether this reader can run it: PACE version 2, a protocol of
    /// [`PaceProtocol::is_supported`] on standardized domain parameters it knows (the five
    /// curves, the three MODP groups). Integrated mapping is implemented for fields up to 384
    /// bits (im.rs), so not on P-521.
    pub fn is_supported(&self) -> bool {
        let integrated_p521 = self
            .protocol()
            .is_some_and(|p| p.mapping == PaceMapping::Integrated)
            && self.curve() == Some(Curve::P521);
        self.protocol().is_some_and(|p| p.is_supported())
            && self.group().is_some()
            && self.version == 2
            && !integrated_p521
    }

    /// The preference key of [`SecurityInfos::pace_preference`], larger first.
    fn preference(&self) -> (bool, bool, bool, u8, u16) {
        let p = self.protocol();
        (
            p.is_some_and(|p| p.cipher != Cipher::Tdes),
            p.is_some_and(|p| p.agreement == KeyAgreement::Ecdh),
            p.is_some_and(|p| p.mapping == PaceMapping::Generic),
            p.map_or(0, |p| cipher_arc(p.cipher)),
            self.group().map_or(0, PaceGroup::strength),
        )
    }
}

/// ChipAuthenticationInfo (ICAO 9303-11 §9.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipAuthenticationInfo {
    pub protocol: ObjectIdentifier,
    pub version: u32,
    pub key_id: Option<u32>,
}

impl ChipAuthenticationInfo {
    /// id-CA-ECDH-{cipher}, version 1.
    pub fn ecdh(cipher: Cipher, key_id: Option<u32>) -> Self {
        ChipAuthenticationInfo {
            protocol: child_oid(&oid::ID_CA, &[2, cipher_arc(cipher)]).unwrap_or(oid::ID_CA),
            version: 1,
            key_id,
        }
    }

    /// id-CA-DH-{cipher}, version 1.
    pub fn dh(cipher: Cipher, key_id: Option<u32>) -> Self {
        ChipAuthenticationInfo {
            protocol: child_oid(&oid::ID_CA, &[1, cipher_arc(cipher)]).unwrap_or(oid::ID_CA),
            version: 1,
            key_id,
        }
    }

    /// Key agreement and cipher of the protocol OID.
    pub fn algorithm(&self) -> Option<(KeyAgreement, Cipher)> {
        let (k, c) = two_arcs_under(&self.protocol, &oid::ID_CA)?;
        let agreement = match k {
            1 => KeyAgreement::Dh,
            2 => KeyAgreement::Ecdh,
            _ => return None,
        };
        Some((agreement, cipher_from_arc(c)?))
    }

    pub fn cipher(&self) -> Option<Cipher> {
        self.algorithm().map(|(_, c)| c)
    }
}

/// ChipAuthenticationPublicKeyInfo (ICAO 9303-11 §9.2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipAuthenticationPublicKeyInfo {
    /// id-PK-DH or id-PK-ECDH.
    pub protocol: ObjectIdentifier,
    pub public_key: SubjectPublicKeyInfoOwned,
    pub key_id: Option<u32>,
}

impl ChipAuthenticationPublicKeyInfo {
    /// An id-PK-ECDH entry; `explicit` writes the curve as explicit ECParameters.
    pub fn ecdh(key: &EcPoint, explicit: bool, key_id: Option<u32>) -> Result<Self, ChipError> {
        Ok(ChipAuthenticationPublicKeyInfo {
            protocol: oid::ID_PK_ECDH,
            public_key: key
                .to_spki(explicit)
                .map_err(|_| ChipError::Malformed { what: "public key" })?,
            key_id,
        })
    }

    /// An id-PK-DH entry with explicit X9.42 domain parameters.
    pub fn dh(key: &DhElement, key_id: Option<u32>) -> Result<Self, ChipError> {
        Ok(ChipAuthenticationPublicKeyInfo {
            protocol: oid::ID_PK_DH,
            public_key: key
                .to_spki()
                .map_err(|_| ChipError::Malformed { what: "public key" })?,
            key_id,
        })
    }

    /// The key agreement of the key's protocol (id-PK-DH or id-PK-ECDH).
    pub fn agreement(&self) -> Option<KeyAgreement> {
        if self.protocol == oid::ID_PK_ECDH {
            Some(KeyAgreement::Ecdh)
        } else if self.protocol == oid::ID_PK_DH {
            Some(KeyAgreement::Dh)
        } else {
            None
        }
    }

    /// The chip's static key, EC or DH, checked to be in its group.
    pub fn public_key(&self) -> Result<Element, ChipError> {
        match self.agreement() {
            Some(KeyAgreement::Ecdh) => self.ec_public_key().map(Element::Ec),
            Some(KeyAgreement::Dh) => DhElement::from_spki(&self.public_key)
                .map(Element::Dh)
                .map_err(|_| {
                    ChipError::Unsupported(
                        "chip authentication DH key outside the standardized groups".into(),
                    )
                }),
            None => Err(ChipError::Unsupported(
                "chip authentication key of an unknown kind".into(),
            )),
        }
    }

    /// The chip's static EC key (curve from named or explicit parameters, point checked).
    pub fn ec_public_key(&self) -> Result<EcPoint, ChipError> {
        if self.protocol != oid::ID_PK_ECDH {
            return Err(ChipError::Unsupported(
                "chip authentication with DH keys".into(),
            ));
        }
        EcPoint::from_spki(&self.public_key).map_err(|e| match e {
            super::ec::EcError::UnsupportedCurve => {
                ChipError::Unsupported("chip authentication key on an unsupported curve".into())
            }
            _ => ChipError::Malformed {
                what: "chip authentication public key",
            },
        })
    }
}

/// ActiveAuthenticationInfo (ICAO 9303-11 §9.2.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveAuthenticationInfo {
    pub version: u32,
    pub signature_algorithm: ObjectIdentifier,
}

impl ActiveAuthenticationInfo {
    pub fn new(hash: HashAlg) -> Self {
        ActiveAuthenticationInfo {
            version: 1,
            signature_algorithm: match hash {
                HashAlg::Sha1 => oid::ECDSA_PLAIN_SHA1,
                HashAlg::Sha224 => oid::ECDSA_PLAIN_SHA224,
                HashAlg::Sha256 => oid::ECDSA_PLAIN_SHA256,
                HashAlg::Sha384 => oid::ECDSA_PLAIN_SHA384,
                HashAlg::Sha512 => oid::ECDSA_PLAIN_SHA512,
            },
        }
    }

    /// The hash of the ECDSA signature algorithm (plain or X9.62 OIDs).
    pub fn hash(&self) -> Option<HashAlg> {
        let a = &self.signature_algorithm;
        [
            (oid::ECDSA_PLAIN_SHA1, oid::ECDSA_WITH_SHA1, HashAlg::Sha1),
            (
                oid::ECDSA_PLAIN_SHA224,
                oid::ECDSA_WITH_SHA224,
                HashAlg::Sha224,
            ),
            (
                oid::ECDSA_PLAIN_SHA256,
                oid::ECDSA_WITH_SHA256,
                HashAlg::Sha256,
            ),
            (
                oid::ECDSA_PLAIN_SHA384,
                oid::ECDSA_WITH_SHA384,
                HashAlg::Sha384,
            ),
            (
                oid::ECDSA_PLAIN_SHA512,
                oid::ECDSA_WITH_SHA512,
                HashAlg::Sha512,
            ),
        ]
        .into_iter()
        .find(|(plain, x962, _)| a == plain || a == x962)
        .map(|(_, _, h)| h)
    }
}

/// One SecurityInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityInfo {
    Pace(PaceInfo),
    ChipAuthentication(ChipAuthenticationInfo),
    ChipAuthenticationPublicKey(ChipAuthenticationPublicKeyInfo),
    ActiveAuthentication(ActiveAuthenticationInfo),
    /// Anything else (terminal authentication, PACE domain parameters, proprietary entries,
    /// or a known protocol whose fields do not parse), kept as its DER encoding.
    Unknown {
        protocol: Option<ObjectIdentifier>,
        der: Vec<u8>,
    },
}

/// The parsed `SET OF SecurityInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityInfos {
    pub entries: Vec<SecurityInfo>,
}

impl SecurityInfos {
    pub fn pace(&self) -> impl Iterator<Item = &PaceInfo> {
        self.entries.iter().filter_map(|e| match e {
            SecurityInfo::Pace(p) => Some(p),
            _ => None,
        })
    }

    /// The PACE entries this reader can run, best first (docs/adr/0025):
    /// 1. AES before 3DES (3DES has 112-bit keys and 64-bit blocks: the weakest link);
    /// 2. ECDH before DH (the curves are at least as strong as the MODP groups, the 1024-bit
    ///    group only 80 bits, and ECDH is several times faster on the chip);
    /// 3. generic before integrated mapping (the one every chip and reader implements);
    /// 4. the longer AES key, then the stronger group.
    ///
    /// Entries that tie keep the order of EF.CardAccess. Entries this reader cannot run (other
    /// versions, unknown parameter IDs, chip authentication mapping) are left out.
    pub fn pace_preference(&self) -> Vec<&PaceInfo> {
        let mut supported: Vec<&PaceInfo> = self.pace().filter(|p| p.is_supported()).collect();
        supported.sort_by_key(|p| std::cmp::Reverse(p.preference()));
        supported
    }

    /// The PACE entry to run: the first of [`SecurityInfos::pace_preference`].
    pub fn best_pace(&self) -> Option<&PaceInfo> {
        self.pace_preference().into_iter().next()
    }

    pub fn chip_authentication(&self) -> impl Iterator<Item = &ChipAuthenticationInfo> {
        self.entries.iter().filter_map(|e| match e {
            SecurityInfo::ChipAuthentication(p) => Some(p),
            _ => None,
        })
    }

    pub fn chip_authentication_keys(
        &self,
    ) -> impl Iterator<Item = &ChipAuthenticationPublicKeyInfo> {
        self.entries.iter().filter_map(|e| match e {
            SecurityInfo::ChipAuthenticationPublicKey(p) => Some(p),
            _ => None,
        })
    }

    pub fn active_authentication(&self) -> Option<&ActiveAuthenticationInfo> {
        self.entries.iter().find_map(|e| match e {
            SecurityInfo::ActiveAuthentication(p) => Some(p),
            _ => None,
        })
    }

    /// Parses the DER `SET OF SecurityInfo` (EF.CardAccess). Trailing 00/FF padding after the
    /// set, as some chips leave in the file, is ignored.
    pub fn parse(bytes: &[u8]) -> Result<SecurityInfos, ChipError> {
        let malformed = || ChipError::Malformed {
            what: "SecurityInfos",
        };
        let (set, rest) = tlv::read(bytes).map_err(|_| malformed())?;
        if set.tag != 0x31 || !rest.iter().all(|b| *b == 0 || *b == 0xFF) {
            return Err(malformed());
        }
        let mut reader = SliceReader::new(set.value).map_err(|_| malformed())?;
        let mut entries = Vec::new();
        while !reader.is_finished() {
            let item: AnyRef<'_> = reader.decode().map_err(|_| malformed())?;
            entries.push(parse_entry(item));
        }
        Ok(SecurityInfos { entries })
    }

    /// Parses DG14: tag 6E around the `SET OF SecurityInfo`.
    pub fn parse_dg14(bytes: &[u8]) -> Result<SecurityInfos, ChipError> {
        let (outer, _) = tlv::read(bytes).map_err(|_| ChipError::Malformed { what: "DG14" })?;
        let outer = outer
            .expect_tag(0x6E)
            .map_err(|_| ChipError::Malformed { what: "DG14" })?;
        SecurityInfos::parse(outer.value)
    }

    /// DER `SET OF SecurityInfo` (elements in DER order), as in EF.CardAccess.
    pub fn encode(&self) -> Result<Vec<u8>, ChipError> {
        let mut items = self
            .entries
            .iter()
            .map(encode_entry)
            .collect::<Result<Vec<_>, _>>()?;
        // X.690 §11.6: ascending order of the encodings, shorter ones padded with zeros.
        items.sort_by(|a, b| {
            let n = a.len().max(b.len());
            let pa = a.iter().copied().chain(std::iter::repeat(0)).take(n);
            let pb = b.iter().copied().chain(std::iter::repeat(0)).take(n);
            pa.cmp(pb)
        });
        Ok(tlv::encode(0x31, &items.concat()))
    }

    /// DG14 content: tag 6E around [`SecurityInfos::encode`].
    pub fn encode_dg14(&self) -> Result<Vec<u8>, ChipError> {
        Ok(tlv::encode(0x6E, &self.encode()?))
    }
}

fn parse_entry(item: AnyRef<'_>) -> SecurityInfo {
    let der = item.to_der().unwrap_or_default();
    let unknown = |protocol| SecurityInfo::Unknown {
        protocol,
        der: der.clone(),
    };
    if item.tag() != Tag::Sequence {
        return unknown(None);
    }
    let fields = item.sequence(|r: &mut SliceReader<'_>| {
        let protocol: ObjectIdentifier = r.decode()?;
        let required: AnyRef<'_> = r.decode()?;
        let optional: Option<AnyRef<'_>> = if r.is_finished() {
            None
        } else {
            Some(r.decode()?)
        };
        // Later fields, if any, are extensions this reader does not know.
        while !r.is_finished() {
            let _: AnyRef<'_> = r.decode()?;
        }
        Ok::<_, der::Error>((protocol, required, optional))
    });
    let Ok((protocol, required, optional)) = fields else {
        return unknown(None);
    };
    let known = if PaceProtocol::from_oid(&protocol).is_some() {
        parse_pace(protocol, required, optional)
    } else if two_arcs_under(&protocol, &oid::ID_CA).is_some() {
        parse_ca(protocol, required, optional)
    } else if protocol == oid::ID_PK_ECDH || protocol == oid::ID_PK_DH {
        parse_ca_key(protocol, required, optional)
    } else if protocol == oid::ID_AA {
        parse_aa(required, optional)
    } else {
        None
    };
    known.unwrap_or_else(|| unknown(Some(protocol)))
}

fn small_int(any: Option<AnyRef<'_>>) -> Option<Option<u32>> {
    match any {
        None => Some(None),
        Some(a) => a.decode_as::<u32>().ok().map(Some),
    }
}

fn parse_pace(
    protocol: ObjectIdentifier,
    required: AnyRef<'_>,
    optional: Option<AnyRef<'_>>,
) -> Option<SecurityInfo> {
    Some(SecurityInfo::Pace(PaceInfo {
        protocol,
        version: required.decode_as::<u32>().ok()?,
        parameter_id: small_int(optional)?,
    }))
}

fn parse_ca(
    protocol: ObjectIdentifier,
    required: AnyRef<'_>,
    optional: Option<AnyRef<'_>>,
) -> Option<SecurityInfo> {
    Some(SecurityInfo::ChipAuthentication(ChipAuthenticationInfo {
        protocol,
        version: required.decode_as::<u32>().ok()?,
        key_id: small_int(optional)?,
    }))
}

fn parse_ca_key(
    protocol: ObjectIdentifier,
    required: AnyRef<'_>,
    optional: Option<AnyRef<'_>>,
) -> Option<SecurityInfo> {
    let der = required.to_der().ok()?;
    Some(SecurityInfo::ChipAuthenticationPublicKey(
        ChipAuthenticationPublicKeyInfo {
            protocol,
            public_key: SubjectPublicKeyInfoOwned::from_der(&der).ok()?,
            key_id: small_int(optional)?,
        },
    ))
}

fn parse_aa(required: AnyRef<'_>, optional: Option<AnyRef<'_>>) -> Option<SecurityInfo> {
    Some(SecurityInfo::ActiveAuthentication(
        ActiveAuthenticationInfo {
            version: required.decode_as::<u32>().ok()?,
            signature_algorithm: optional?.decode_as::<ObjectIdentifier>().ok()?,
        },
    ))
}

fn encode_entry(e: &SecurityInfo) -> Result<Vec<u8>, ChipError> {
    let bad = |_| ChipError::Malformed {
        what: "SecurityInfo",
    };
    let oid = |o: &ObjectIdentifier| tlv::encode(0x06, o.as_bytes());
    let int = |v: u32| v.to_der().map_err(bad);
    let opt_int = |v: Option<u32>| v.map(int).transpose().map(Option::unwrap_or_default);
    let body = match e {
        SecurityInfo::Pace(p) => {
            [oid(&p.protocol), int(p.version)?, opt_int(p.parameter_id)?].concat()
        }
        SecurityInfo::ChipAuthentication(c) => {
            [oid(&c.protocol), int(c.version)?, opt_int(c.key_id)?].concat()
        }
        SecurityInfo::ChipAuthenticationPublicKey(k) => [
            oid(&k.protocol),
            k.public_key.to_der().map_err(bad)?,
            opt_int(k.key_id)?,
        ]
        .concat(),
        SecurityInfo::ActiveAuthentication(a) => [
            oid(&oid::ID_AA),
            int(a.version)?,
            oid(&a.signature_algorithm),
        ]
        .concat(),
        SecurityInfo::Unknown { der, .. } => return Ok(der.clone()),
    };
    Ok(tlv::encode(0x30, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec::KeyPair;
    use eid_crypto::SecretKey;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn parses_icao_g1_card_access() {
        let infos =
            SecurityInfos::parse(&h("31143012060A04007F0007020204020202010202010D")).unwrap();
        let pace = infos.best_pace().unwrap();
        assert_eq!(pace.version, 2);
        assert_eq!(pace.curve(), Some(Curve::BrainpoolP256r1));
        assert_eq!(pace.cipher(), Some(Cipher::Aes128));
        assert_eq!(
            *pace,
            PaceInfo::ecdh_gm(Cipher::Aes128, Curve::BrainpoolP256r1)
        );
        assert_eq!(
            infos.encode().unwrap(),
            h("31143012060A04007F0007020204020202010202010D")
        );
    }

    #[test]
    fn round_trips_every_kind_and_keeps_unknown_entries() {
        let key = KeyPair::from_private(Curve::P384, SecretKey::new(vec![3; 48])).unwrap();
        let ta = tlv::encode(
            0x30,
            &[tlv::encode(0x06, oid::ID_TA.as_bytes()), vec![2, 1, 2]].concat(),
        );
        let entries = vec![
            SecurityInfo::Pace(PaceInfo::ecdh_gm(Cipher::Tdes, Curve::P256)),
            SecurityInfo::Pace(PaceInfo::ecdh_gm(Cipher::Aes256, Curve::BrainpoolP384r1)),
            SecurityInfo::ChipAuthentication(ChipAuthenticationInfo::ecdh(Cipher::Aes192, Some(7))),
            SecurityInfo::ChipAuthenticationPublicKey(
                ChipAuthenticationPublicKeyInfo::ecdh(key.public(), true, Some(7)).unwrap(),
            ),
            SecurityInfo::ActiveAuthentication(ActiveAuthenticationInfo::new(HashAlg::Sha384)),
            SecurityInfo::Unknown {
                protocol: Some(oid::ID_TA),
                der: ta,
            },
            // A DH-IM PACE entry with 3DES: recognised, reported as unsupported.
            SecurityInfo::Pace(PaceInfo {
                protocol: ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.3.1"),
                version: 2,
                parameter_id: Some(2),
            }),
        ];
        let infos = SecurityInfos { entries };
        let dg14 = infos.encode_dg14().unwrap();
        let back = SecurityInfos::parse_dg14(&dg14).unwrap();
        assert_eq!(back.entries.len(), infos.entries.len());
        for e in &infos.entries {
            assert!(back.entries.contains(e), "{e:?}");
        }
        assert_eq!(back.best_pace().unwrap().cipher(), Some(Cipher::Aes256));
        let im = back
            .pace()
            .find(|p| p.protocol().unwrap().mapping == PaceMapping::Integrated)
            .unwrap();
        assert!(!im.is_supported());
        let ca = back.chip_authentication().next().unwrap();
        assert_eq!(ca.algorithm(), Some((KeyAgreement::Ecdh, Cipher::Aes192)));
        let pk = back.chip_authentication_keys().next().unwrap();
        assert_eq!(pk.ec_public_key().unwrap(), *key.public());
        assert_eq!(
            back.active_authentication().unwrap().hash(),
            Some(HashAlg::Sha384)
        );
    }

    #[test]
    fn known_oid_with_bad_fields_is_kept_as_unknown() {
        // PACEInfo whose version is an OCTET STRING.
        let bad = tlv::encode(
            0x30,
            &[
                tlv::encode(0x06, &h("04007F00070202040202")),
                vec![0x04, 1, 2],
            ]
            .concat(),
        );
        let infos = SecurityInfos::parse(&tlv::encode(0x31, &bad)).unwrap();
        assert!(matches!(
            infos.entries[0],
            SecurityInfo::Unknown {
                protocol: Some(_),
                ..
            }
        ));
        assert!(infos.best_pace().is_none());
        // Not even a SEQUENCE.
        let infos = SecurityInfos::parse(&tlv::encode(0x31, &[2, 1, 5])).unwrap();
        assert!(matches!(
            infos.entries[0],
            SecurityInfo::Unknown { protocol: None, .. }
        ));
    }

    #[test]
    fn malformed_input_is_an_error_never_a_panic() {
        let good = h("31143012060A04007F0007020204020202010202010D");
        assert!(SecurityInfos::parse(&[]).is_err());
        assert!(SecurityInfos::parse(&[0x30, 0]).is_err());
        assert!(SecurityInfos::parse_dg14(&good).is_err());
        assert!(SecurityInfos::parse(&[good.clone(), vec![0, 0, 0xFF]].concat()).is_ok());
        assert!(SecurityInfos::parse(&[good.clone(), vec![1]].concat()).is_err());
        // Every truncation and every single-byte corruption.
        for n in 0..good.len() {
            let _ = SecurityInfos::parse(&good[..n]);
        }
        let mut x: u32 = 1;
        for i in 0..good.len() {
            for _ in 0..64 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let mut bad = good.clone();
                bad[i] = (x >> 16) as u8;
                let _ = SecurityInfos::parse(&bad);
                let _ = SecurityInfos::parse_dg14(&tlv::encode(0x6E, &bad));
            }
        }
    }

    #[test]
    fn pace_preference_orders_supported_entries_and_keeps_ties_in_file_order() {
        let im = |agreement, group| {
            PaceInfo::new(
                PaceProtocol {
                    agreement,
                    mapping: PaceMapping::Integrated,
                    cipher: Cipher::Aes128,
                },
                group,
            )
        };
        let entries = vec![
            PaceInfo::ecdh_gm(Cipher::Tdes, Curve::BrainpoolP384r1),
            PaceInfo::dh_gm(Cipher::Aes256, DhGroup::Modp2048q256),
            im(KeyAgreement::Dh, PaceGroup::Dh(DhGroup::Modp1024)),
            PaceInfo::ecdh_gm(Cipher::Aes128, Curve::P256),
            im(KeyAgreement::Ecdh, PaceGroup::Ec(Curve::P384)),
            PaceInfo::ecdh_gm(Cipher::Aes128, Curve::BrainpoolP256r1),
            PaceInfo::ecdh_gm(Cipher::Aes128, Curve::P384),
            PaceInfo::dh_gm(Cipher::Aes128, DhGroup::Modp1024),
            // Not runnable: a DH protocol on a curve's ID, an unknown ID, version 1, CAM.
            PaceInfo {
                parameter_id: Some(13),
                ..PaceInfo::dh_gm(Cipher::Aes256, DhGroup::Modp1024)
            },
            PaceInfo {
                parameter_id: Some(9),
                ..PaceInfo::ecdh_gm(Cipher::Aes256, Curve::P256)
            },
            PaceInfo {
                version: 1,
                ..PaceInfo::ecdh_gm(Cipher::Aes256, Curve::P256)
            },
            PaceInfo::new(
                PaceProtocol {
                    agreement: KeyAgreement::Ecdh,
                    mapping: PaceMapping::ChipAuthentication,
                    cipher: Cipher::Aes256,
                },
                PaceGroup::Ec(Curve::P256),
            ),
        ];
        let infos = SecurityInfos {
            entries: entries.iter().cloned().map(SecurityInfo::Pace).collect(),
        };
        let order: Vec<&PaceInfo> = infos.pace_preference();
        let expected: Vec<&PaceInfo> = [6, 3, 5, 4, 1, 7, 2, 0]
            .iter()
            .map(|i| &entries[*i])
            .collect();
        // P-384 (192-bit) before the two 128-bit curves, which keep their file order.
        assert_eq!(order, expected);
        assert_eq!(infos.best_pace(), Some(&entries[6]));
        // The same entries in another file order give the same choice.
        let mut reversed = infos.clone();
        reversed.entries.reverse();
        assert_eq!(reversed.best_pace(), Some(&entries[6]));
    }

    /// A chip writes DG14: its DH key entry, however corrupted, parses or is refused, never a
    /// panic; the intact one gives the key back.
    #[test]
    fn dh_key_entries_never_panic() {
        let bytes = |n: usize| -> Vec<u8> { (0..n).map(|i| (i * 37 + 11) as u8).collect() };
        let group = DhGroup::Modp1024;
        let key =
            crate::dh::DhKeyPair::from_private_on(&group.generator(), SecretKey::new(bytes(20)))
                .unwrap();
        let info = ChipAuthenticationPublicKeyInfo::dh(key.public(), Some(1)).unwrap();
        let dg14 = SecurityInfos {
            entries: vec![SecurityInfo::ChipAuthenticationPublicKey(info)],
        }
        .encode_dg14()
        .unwrap();
        let back = SecurityInfos::parse_dg14(&dg14).unwrap();
        let k = back.chip_authentication_keys().next().unwrap();
        assert_eq!(k.agreement(), Some(KeyAgreement::Dh));
        assert_eq!(
            k.public_key().unwrap(),
            crate::group::Element::Dh(key.public().clone())
        );
        let mut x: u32 = 7;
        for i in (0..dg14.len()).step_by(3) {
            for _ in 0..8 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let mut bad = dg14.clone();
                bad[i] = (x >> 16) as u8;
                if let Ok(infos) = SecurityInfos::parse_dg14(&bad) {
                    for k in infos.chip_authentication_keys() {
                        let _ = k.public_key();
                    }
                }
            }
        }
        for n in [0, 1, 127, 128, 129, 300] {
            let _ = PaceGroup::Dh(group).decode(&bytes(n));
            let _ = PaceGroup::Ec(Curve::P256).decode(&bytes(n));
        }
    }
}
