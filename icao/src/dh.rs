//! Finite-field Diffie-Hellman on the MODP groups of RFC 5114 §2.1–2.3, which are PACE's
//! standardized domain parameters 0, 1 and 2 (ICAO 9303-11 §9.5.1, BSI TR-03110-3 A.2.1.1):
//! the operations PACE generic mapping needs (ICAO 9303-11 §4.4.3.3.1), on big-endian byte
//! encodings. Arithmetic is crypto-bigint's Montgomery form; exponentiations with a secret
//! exponent run in time that depends only on the exponent's (public) length.

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{NonZero, Odd, U1024, U2048, U4096, Uint};
use der::asn1::{Any, BitString, ObjectIdentifier};
use der::{Decode, Encode};
use eid_crypto::{Rng, SecretKey};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use thiserror::Error;
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DhError {
    #[error("value is not an element of the group's prime-order subgroup")]
    InvalidElement,
    #[error("exponent out of range")]
    InvalidExponent,
}

/// A MODP group with a prime-order subgroup (RFC 5114 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhGroup {
    /// 1024-bit MODP group with 160-bit prime order subgroup (RFC 5114 §2.1), parameter ID 0.
    Modp1024,
    /// 2048-bit MODP group with 224-bit prime order subgroup (RFC 5114 §2.2), parameter ID 1.
    Modp2048q224,
    /// 2048-bit MODP group with 256-bit prime order subgroup (RFC 5114 §2.3), parameter ID 2.
    Modp2048q256,
}

/// Runs `$f::<LIMBS>(args)` with the limb count that fits the group's modulus.
macro_rules! on_group {
    ($group:expr, $f:ident ( $($arg:expr),* )) => {
        match $group {
            DhGroup::Modp1024 => $f::<{ U1024::LIMBS }>($($arg),*),
            DhGroup::Modp2048q224 | DhGroup::Modp2048q256 => $f::<{ U2048::LIMBS }>($($arg),*),
        }
    };
}

impl DhGroup {
    pub const ALL: [DhGroup; 3] = [
        DhGroup::Modp1024,
        DhGroup::Modp2048q224,
        DhGroup::Modp2048q256,
    ];

    /// Standardized domain parameter ID (ICAO 9303-11 §9.5.1 / BSI TR-03110-3 Table 4).
    pub fn param_id(self) -> u8 {
        match self {
            DhGroup::Modp1024 => 0,
            DhGroup::Modp2048q224 => 1,
            DhGroup::Modp2048q256 => 2,
        }
    }

    pub fn from_param_id(id: u32) -> Option<DhGroup> {
        DhGroup::ALL
            .into_iter()
            .find(|g| u32::from(g.param_id()) == id)
    }

    pub fn name(self) -> &'static str {
        match self {
            DhGroup::Modp1024 => "MODP-1024/160",
            DhGroup::Modp2048q224 => "MODP-2048/224",
            DhGroup::Modp2048q256 => "MODP-2048/256",
        }
    }

    /// Bytes of p: the length of every encoded element.
    pub fn element_len(self) -> usize {
        match self {
            DhGroup::Modp1024 => 128,
            DhGroup::Modp2048q224 | DhGroup::Modp2048q256 => 256,
        }
    }

    /// Bytes of the subgroup order q.
    pub fn order_len(self) -> usize {
        match self {
            DhGroup::Modp1024 => 20,
            DhGroup::Modp2048q224 => 28,
            DhGroup::Modp2048q256 => 32,
        }
    }

    fn hex(self) -> (&'static str, &'static str, &'static str) {
        match self {
            DhGroup::Modp1024 => (P_1024_160, G_1024_160, Q_1024_160),
            DhGroup::Modp2048q224 => (P_2048_224, G_2048_224, Q_2048_224),
            DhGroup::Modp2048q256 => (P_2048_256, G_2048_256, Q_2048_256),
        }
    }

    /// The prime p, `len()` bytes.
    pub fn p(self) -> Vec<u8> {
        decode_hex(self.hex().0)
    }

    /// The subgroup order q, `order_len()` bytes.
    pub fn q(self) -> Vec<u8> {
        decode_hex(self.hex().2)
    }

    /// The generator g of the order-q subgroup.
    pub fn generator(self) -> DhElement {
        DhElement {
            group: self,
            bytes: left_pad(&decode_hex(self.hex().1), self.element_len()),
        }
    }
}

impl DhGroup {
    /// Integrated mapping's f_g (ICAO 9303-11 §4.4.3.3.2): `(x mod p)^((p-1)/q) mod p`, an
    /// element of the order-q subgroup, for x the big-endian output of the pseudo-random
    /// function (at most 512 bytes).
    pub fn map_to_subgroup(self, x: &[u8]) -> Result<DhElement, DhError> {
        let p = self.p();
        let reduced = reduce(x, &p).ok_or(DhError::InvalidElement)?;
        let j = on_group!(self, g_cofactor(&p, &self.q())).ok_or(DhError::InvalidElement)?;
        let base = DhElement {
            group: self,
            bytes: reduced,
        };
        if base.bytes.iter().all(|b| *b == 0) {
            return Err(DhError::InvalidElement);
        }
        base.pow(&j)
    }
}

/// `x mod p` as p-length bytes.
fn reduce(x: &[u8], p: &[u8]) -> Option<Vec<u8>> {
    const W: usize = U4096::LIMBS;
    let modulus = NonZero::new(to_uint::<W>(p)?).into_option()?;
    let r = Zeroizing::new(to_uint::<W>(x)?.rem_vartime(&modulus));
    from_uint(&*r, p.len())
}

/// `(p-1)/q`, p-length bytes (public).
fn g_cofactor<const L: usize>(p: &[u8], q: &[u8]) -> Option<Vec<u8>> {
    let p_minus_1 = to_uint::<L>(p)?.wrapping_sub(&Uint::ONE);
    let q = NonZero::new(to_uint::<L>(q)?).into_option()?;
    let (j, _) = p_minus_1.div_rem_vartime(&q);
    from_uint(&j, p.len())
}

/// dhpublicnumber (ANSI X9.42, RFC 3279 §2.3.3): a DH public key with explicit domain
/// parameters.
pub const DH_PUBLIC_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10046.2.1");

/// X9.42 `DomainParameters` (RFC 3279 §2.3.3).
#[derive(Clone, Debug, der::Sequence)]
struct DomainParameters {
    p: der::asn1::Uint,
    g: der::asn1::Uint,
    q: der::asn1::Uint,
    j: Option<der::asn1::Uint>,
    validation_params: Option<Any>,
}

fn strip(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v.get(start..).unwrap_or_default()
}

impl DhGroup {
    /// The group of an `AlgorithmIdentifier`: dhpublicnumber with explicit p, g, q equal to one
    /// of the three groups, or BSI standardizedDomainParameters with ID 0, 1 or 2.
    pub fn from_algorithm(alg: &AlgorithmIdentifierOwned) -> Result<DhGroup, DhError> {
        let params = alg.parameters.as_ref().ok_or(DhError::InvalidElement)?;
        if alg.oid == super::ec::oid::STANDARDIZED_DOMAIN_PARAMETERS {
            let id: u32 = params.decode_as().map_err(|_| DhError::InvalidElement)?;
            return DhGroup::from_param_id(id).ok_or(DhError::InvalidElement);
        }
        if alg.oid != DH_PUBLIC_NUMBER {
            return Err(DhError::InvalidElement);
        }
        let d: DomainParameters = params.decode_as().map_err(|_| DhError::InvalidElement)?;
        DhGroup::ALL
            .into_iter()
            .find(|g| {
                strip(d.p.as_bytes()) == strip(&g.p())
                    && strip(d.g.as_bytes()) == strip(g.generator().to_bytes())
                    && strip(d.q.as_bytes()) == strip(&g.q())
            })
            .ok_or(DhError::InvalidElement)
    }

    /// dhpublicnumber with this group's explicit p, g and q.
    pub fn algorithm_identifier(self) -> Result<AlgorithmIdentifierOwned, DhError> {
        let bad = |_| DhError::InvalidElement;
        let params = DomainParameters {
            p: der::asn1::Uint::new(&self.p()).map_err(bad)?,
            g: der::asn1::Uint::new(self.generator().to_bytes()).map_err(bad)?,
            q: der::asn1::Uint::new(&self.q()).map_err(bad)?,
            j: None,
            validation_params: None,
        };
        Ok(AlgorithmIdentifierOwned {
            oid: DH_PUBLIC_NUMBER,
            parameters: Some(Any::encode_from(&params).map_err(bad)?),
        })
    }
}

impl DhElement {
    /// The DH public key of a `SubjectPublicKeyInfo` (the key is a DER INTEGER in the BIT
    /// STRING, RFC 3279 §2.3.3), checked to be in the group's subgroup.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<DhElement, DhError> {
        let group = DhGroup::from_algorithm(&spki.algorithm)?;
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or(DhError::InvalidElement)?;
        let y = der::asn1::Uint::from_der(bytes).map_err(|_| DhError::InvalidElement)?;
        DhElement::from_bytes(group, y.as_bytes())
    }

    /// A `SubjectPublicKeyInfo` for this value with explicit domain parameters.
    pub fn to_spki(&self) -> Result<SubjectPublicKeyInfoOwned, DhError> {
        let bad = |_| DhError::InvalidElement;
        let y = der::asn1::Uint::new(&self.bytes).map_err(bad)?;
        Ok(SubjectPublicKeyInfoOwned {
            algorithm: self.group.algorithm_identifier()?,
            subject_public_key: BitString::from_bytes(&y.to_der().map_err(bad)?).map_err(bad)?,
        })
    }
}

/// An element of a group's order-q subgroup other than 1, as `len()` big-endian bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct DhElement {
    group: DhGroup,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for DhElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DhElement({})", self.group.name())
    }
}

impl DhElement {
    /// Decodes a big-endian value (at most p's length; leading zeros optional) and checks it
    /// lies in the order-q subgroup and is not 1 (BSI TR-03111 §4.3.3: 1 < y < p-1, y^q = 1).
    pub fn from_bytes(group: DhGroup, bytes: &[u8]) -> Result<DhElement, DhError> {
        if bytes.len() > group.element_len() {
            return Err(DhError::InvalidElement);
        }
        let bytes = left_pad(bytes, group.element_len());
        let ok = on_group!(group, g_is_subgroup_element(&group.p(), &group.q(), &bytes));
        if !ok {
            return Err(DhError::InvalidElement);
        }
        Ok(DhElement { group, bytes })
    }

    pub fn group(&self) -> DhGroup {
        self.group
    }

    /// `len()` big-endian bytes.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The value without leading zero bytes (the "unsigned integer" of BSI TR-03110-3 D.3.1).
    pub fn to_unsigned(&self) -> &[u8] {
        let start = self.bytes.iter().position(|b| *b != 0).unwrap_or(0);
        self.bytes.get(start..).unwrap_or_default()
    }

    /// `self^k mod p`; `k` big-endian, nonzero, at most p's length. The result must not be 1.
    pub fn pow(&self, k: &[u8]) -> Result<DhElement, DhError> {
        if k.len() > self.group.element_len() || k.iter().all(|b| *b == 0) {
            return Err(DhError::InvalidExponent);
        }
        let bytes = on_group!(self.group, g_pow(&self.group.p(), &self.bytes, k))
            .ok_or(DhError::InvalidElement)?;
        self.checked(bytes)
    }

    /// `self · other mod p` (generic mapping: G~ = g^s · h).
    pub fn mul(&self, other: &DhElement) -> Result<DhElement, DhError> {
        if self.group != other.group {
            return Err(DhError::InvalidElement);
        }
        let bytes = on_group!(
            self.group,
            g_mul(&self.group.p(), &self.bytes, &other.bytes)
        )
        .ok_or(DhError::InvalidElement)?;
        self.checked(bytes)
    }

    fn checked(&self, bytes: Vec<u8>) -> Result<DhElement, DhError> {
        let is_one = bytes.iter().rev().skip(1).all(|b| *b == 0) && bytes.last() == Some(&1);
        if is_one || bytes.iter().all(|b| *b == 0) {
            return Err(DhError::InvalidElement);
        }
        Ok(DhElement {
            group: self.group,
            bytes,
        })
    }
}

/// A private exponent (zeroized, never printed) and its public element `generator^x`.
pub struct DhKeyPair {
    private: SecretKey,
    public: DhElement,
}

impl std::fmt::Debug for DhKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DhKeyPair({}, private key redacted)",
            self.public.group.name()
        )
    }
}

impl DhKeyPair {
    /// A fresh key pair on `generator`: the private exponent is drawn by rejection sampling of
    /// q-length random strings in `[1, q-1]`.
    pub fn generate_on(generator: &DhElement, rng: &mut dyn Rng) -> DhKeyPair {
        let group = generator.group;
        let q = group.q();
        let mut buf = Zeroizing::new(vec![0u8; group.order_len()]);
        loop {
            rng.fill(&mut buf);
            if buf.as_slice() >= q.as_slice() {
                continue;
            }
            if let Ok(pair) = DhKeyPair::from_private_on(generator, SecretKey::new(buf.to_vec())) {
                return pair;
            }
        }
    }

    /// The key pair of a known private exponent (big-endian, nonzero, at most p's length).
    pub fn from_private_on(
        generator: &DhElement,
        private: SecretKey,
    ) -> Result<DhKeyPair, DhError> {
        let public = generator.pow(private.as_bytes())?;
        Ok(DhKeyPair { private, public })
    }

    pub fn public(&self) -> &DhElement {
        &self.public
    }

    /// `peer^x` as an element (generic mapping's h).
    pub fn multiply(&self, peer: &DhElement) -> Result<DhElement, DhError> {
        if peer.group != self.public.group {
            return Err(DhError::InvalidElement);
        }
        peer.pow(self.private.as_bytes())
    }

    /// The shared secret `peer^x mod p` as `len()` bytes.
    pub fn agree(&self, peer: &DhElement) -> Result<SecretKey, DhError> {
        Ok(SecretKey::new(self.multiply(peer)?.bytes))
    }
}

// ----- arithmetic over crypto-bigint, generic over the limb count -----

pub(crate) fn to_uint<const L: usize>(bytes: &[u8]) -> Option<Uint<L>> {
    let width = L * 8;
    let start = width.checked_sub(bytes.len())?;
    let mut buf = Zeroizing::new(vec![0u8; width]);
    buf.get_mut(start..)?.copy_from_slice(bytes);
    Some(Uint::<L>::from_be_slice(&buf))
}

pub(crate) fn from_uint<const L: usize>(value: &Uint<L>, len: usize) -> Option<Vec<u8>> {
    let encoded = value.to_be_bytes();
    let bytes: &[u8] = encoded.as_ref();
    bytes
        .get(bytes.len().checked_sub(len)?..)
        .map(<[u8]>::to_vec)
}

fn monty<const L: usize>(p: &[u8]) -> Option<FixedMontyParams<L>> {
    let p = Odd::new(to_uint::<L>(p)?).into_option()?;
    Some(FixedMontyParams::new_vartime(p))
}

/// `base^exp mod p`, constant time for a given exponent length.
fn g_pow<const L: usize>(p: &[u8], base: &[u8], exp: &[u8]) -> Option<Vec<u8>> {
    let params = monty::<L>(p)?;
    let b = to_uint::<L>(base)?;
    let e = Zeroizing::new(to_uint::<L>(exp)?);
    let bits = u32::try_from(exp.len() * 8).ok()?;
    let r = FixedMontyForm::new(&b, &params)
        .pow_bounded_exp(&*e, bits)
        .retrieve();
    from_uint(&r, p.len())
}

fn g_mul<const L: usize>(p: &[u8], a: &[u8], b: &[u8]) -> Option<Vec<u8>> {
    let params = monty::<L>(p)?;
    let a = FixedMontyForm::new(&to_uint::<L>(a)?, &params);
    let b = FixedMontyForm::new(&to_uint::<L>(b)?, &params);
    from_uint(&a.mul(&b).retrieve(), p.len())
}

/// 1 < y < p-1 and y^q = 1 (mod p).
fn g_is_subgroup_element<const L: usize>(p: &[u8], q: &[u8], y: &[u8]) -> bool {
    let (Some(params), Some(pu), Some(yu), Some(qu)) = (
        monty::<L>(p),
        to_uint::<L>(p),
        to_uint::<L>(y),
        to_uint::<L>(q),
    ) else {
        return false;
    };
    let p_minus_1 = pu.wrapping_sub(&Uint::ONE);
    if yu.cmp_vartime(&Uint::ONE).is_le() || yu.cmp_vartime(&p_minus_1).is_ge() {
        return false;
    }
    let r = FixedMontyForm::new(&yu, &params)
        .pow_vartime(&qu)
        .retrieve();
    r == Uint::ONE
}

fn left_pad(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len.saturating_sub(bytes.len())];
    out.extend_from_slice(bytes);
    out
}

fn decode_hex(s: &str) -> Vec<u8> {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'A'..=b'F' => c - b'A' + 10,
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    };
    s.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [h, l] => nibble(*h) << 4 | nibble(*l),
            _ => 0,
        })
        .collect()
}

// RFC 5114 §2.1–2.3: p, g and q of each group.
const P_1024_160: &str = concat!(
    "B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B61",
    "6073E28675A23D189838EF1E2EE652C013ECB4AEA906112324975C3CD49B83BF",
    "ACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0",
    "A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371",
);
const G_1024_160: &str = concat!(
    "A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31",
    "266FEA1E5C41564B777E690F5504F213160217B4B01B886A5E91547F9E2749F4",
    "D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F531DBF0A0169B6A28A",
    "D662A4D18E73AFA32D779D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5",
);
const Q_1024_160: &str = "F518AA8781A8DF278ABA4E7D64B7CB9D49462353";

const P_2048_224: &str = concat!(
    "AD107E1E9123A9D0D660FAA79559C51FA20D64E5683B9FD1B54B1597B61D0A75",
    "E6FA141DF95A56DBAF9A3C407BA1DF15EB3D688A309C180E1DE6B85A1274A0A6",
    "6D3F8152AD6AC2129037C9EDEFDA4DF8D91E8FEF55B7394B7AD5B7D0B6C12207",
    "C9F98D11ED34DBF6C6BA0B2C8BBC27BE6A00E0A0B9C49708B3BF8A3170918836",
    "81286130BC8985DB1602E714415D9330278273C7DE31EFDC7310F7121FD5A074",
    "15987D9ADC0A486DCDF93ACC44328387315D75E198C641A480CD86A1B9E587E8",
    "BE60E69CC928B2B9C52172E413042E9B23F10B0E16E79763C9B53DCF4BA80A29",
    "E3FB73C16B8E75B97EF363E2FFA31F71CF9DE5384E71B81C0AC4DFFE0C10E64F",
);
const G_2048_224: &str = concat!(
    "AC4032EF4F2D9AE39DF30B5C8FFDAC506CDEBE7B89998CAF74866A08CFE4FFE3",
    "A6824A4E10B9A6F0DD921F01A70C4AFAAB739D7700C29F52C57DB17C620A8652",
    "BE5E9001A8D66AD7C17669101999024AF4D027275AC1348BB8A762D0521BC98A",
    "E247150422EA1ED409939D54DA7460CDB5F6C6B250717CBEF180EB34118E98D1",
    "19529A45D6F834566E3025E316A330EFBB77A86F0C1AB15B051AE3D428C8F8AC",
    "B70A8137150B8EEB10E183EDD19963DDD9E263E4770589EF6AA21E7F5F2FF381",
    "B539CCE3409D13CD566AFBB48D6C019181E1BCFE94B30269EDFE72FE9B6AA4BD",
    "7B5A0F1C71CFFF4C19C418E1F6EC017981BC087F2A7065B384B890D3191F2BFA",
);
const Q_2048_224: &str = "801C0D34C58D93FE997177101F80535A4738CEBCBF389A99B36371EB";

const P_2048_256: &str = concat!(
    "87A8E61DB4B6663CFFBBD19C651959998CEEF608660DD0F25D2CEED4435E3B00",
    "E00DF8F1D61957D4FAF7DF4561B2AA3016C3D91134096FAA3BF4296D830E9A7C",
    "209E0C6497517ABD5A8A9D306BCF67ED91F9E6725B4758C022E0B1EF4275BF7B",
    "6C5BFC11D45F9088B941F54EB1E59BB8BC39A0BF12307F5C4FDB70C581B23F76",
    "B63ACAE1CAA6B7902D52526735488A0EF13C6D9A51BFA4AB3AD8347796524D8E",
    "F6A167B5A41825D967E144E5140564251CCACB83E6B486F6B3CA3F7971506026",
    "C0B857F689962856DED4010ABD0BE621C3A3960A54E710C375F26375D7014103",
    "A4B54330C198AF126116D2276E11715F693877FAD7EF09CADB094AE91E1A1597",
);
const G_2048_256: &str = concat!(
    "3FB32C9B73134D0B2E77506660EDBD484CA7B18F21EF205407F4793A1A0BA125",
    "10DBC15077BE463FFF4FED4AAC0BB555BE3A6C1B0C6B47B1BC3773BF7E8C6F62",
    "901228F8C28CBB18A55AE31341000A650196F931C77A57F2DDF463E5E9EC144B",
    "777DE62AAAB8A8628AC376D282D6ED3864E67982428EBC831D14348F6F2F9193",
    "B5045AF2767164E1DFC967C1FB3F2E55A4BD1BFFE83B9C80D052B985D182EA0A",
    "DB2A3B7313D3FE14C8484B1E052588B9B7D2BBD2DF016199ECD06E1557CD0915",
    "B3353BBB64E0EC377FD028370DF92B52C7891428CDC67EB6184B523D1DB246C3",
    "2F63078490F00EF8D647D148D47954515E2327CFEF98C582664B4C0F6CC41659",
);
const Q_2048_256: &str = "8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3";

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u8);
    impl Rng for Counter {
        fn fill(&mut self, out: &mut [u8]) {
            for b in out.iter_mut() {
                self.0 = self.0.wrapping_mul(13).wrapping_add(7);
                *b = self.0;
            }
        }
    }

    #[test]
    fn groups_agree_and_check_their_elements() {
        for group in DhGroup::ALL {
            assert_eq!(DhGroup::from_param_id(group.param_id().into()), Some(group));
            assert_eq!(group.p().len(), group.element_len());
            assert_eq!(group.q().len(), group.order_len());
            let g = group.generator();
            assert!(DhElement::from_bytes(group, g.to_bytes()).is_ok());
            let mut rng = Counter(1);
            let a = DhKeyPair::generate_on(&g, &mut rng);
            let b = DhKeyPair::generate_on(&g, &mut rng);
            assert_eq!(
                a.agree(b.public()).unwrap().as_bytes(),
                b.agree(a.public()).unwrap().as_bytes()
            );
            assert_eq!(
                a.agree(b.public()).unwrap().as_bytes().len(),
                group.element_len()
            );
            // 0, 1, p-1, p, values longer than p and values outside the subgroup are refused.
            let p = group.p();
            let mut p_minus_1 = p.clone();
            if let Some(last) = p_minus_1.last_mut() {
                *last -= 1;
            }
            for bad in [
                vec![0],
                vec![1],
                p_minus_1,
                p.clone(),
                vec![3],
                vec![1; 300],
            ] {
                assert!(DhElement::from_bytes(group, &bad).is_err(), "{group:?}");
            }
            // g^q = 1: an exponent equal to q gives no usable element.
            assert!(g.pow(&group.q()).is_err());
            assert!(g.pow(&[0, 0]).is_err());
            // SubjectPublicKeyInfo with explicit parameters round-trips.
            let spki = a.public().to_spki().unwrap();
            assert_eq!(DhElement::from_spki(&spki).unwrap(), *a.public());
            // Standardized domain parameters name the group by its ID.
            let standardized = SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: super::super::ec::oid::STANDARDIZED_DOMAIN_PARAMETERS,
                    parameters: Some(Any::encode_from(&u32::from(group.param_id())).unwrap()),
                },
                subject_public_key: spki.subject_public_key.clone(),
            };
            assert_eq!(DhElement::from_spki(&standardized).unwrap(), *a.public());
        }
        // Parameters of no known group are refused.
        let other = DhGroup::Modp2048q224.algorithm_identifier().unwrap();
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: other,
            subject_public_key: DhGroup::Modp2048q256
                .generator()
                .to_spki()
                .unwrap()
                .subject_public_key,
        };
        assert!(DhElement::from_spki(&spki).is_err());
    }
}
