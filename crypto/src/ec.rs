//! The elliptic curves of ICAO 9303-11 §9.5.1 / BSI TR-03110-3 Table 4 (P-256, P-384, P-521,
//! brainpoolP256r1, brainpoolP384r1), and the operations on them: PACE, chip authentication and
//! active authentication on the chip (eid-icao), and ISO/IEC 18013-5's session ECDH and ECDSA
//! checks on the same curves (eid-core's mdoc module). Arithmetic comes from
//! the RustCrypto curve crates; this module only dispatches over the five curves and works on
//! byte encodings (SEC1 points, big-endian scalars).

use crate::tlv;
use crate::{Rng, SecretKey};
use der::asn1::{Any, BitString, ObjectIdentifier, OctetString, Uint};
use der::{Tag, Tagged};
use ecdsa::EcdsaCurve;
use elliptic_curve::ff::{Field, PrimeField};
use elliptic_curve::group::Group;
use elliptic_curve::hazmat::FieldArithmetic;
use elliptic_curve::ops::Reduce;
use elliptic_curve::sec1::{FromSec1Point, ToSec1Point};
use elliptic_curve::{FieldBytes, NonZeroScalar, ProjectivePoint, Scalar};
use primeorder::PrimeCurveParams;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

macro_rules! on_curve {
    ($curve:expr, $f:ident ( $($arg:expr),* )) => {
        match $curve {
            Curve::P256 => $f::<p256::NistP256>($($arg),*),
            Curve::P384 => $f::<p384::NistP384>($($arg),*),
            Curve::P521 => $f::<p521::NistP521>($($arg),*),
            Curve::BrainpoolP256r1 => $f::<bp256::BrainpoolP256r1>($($arg),*),
            Curve::BrainpoolP384r1 => $f::<bp384::BrainpoolP384r1>($($arg),*),
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EcError {
    #[error("point encoding invalid or not on the curve")]
    InvalidPoint,
    #[error("point at infinity")]
    Identity,
    #[error("private key out of range")]
    InvalidScalar,
    #[error("points are on different curves")]
    CurveMismatch,
    #[error("domain parameters not supported")]
    UnsupportedCurve,
    #[error("signature malformed")]
    InvalidSignature,
}

/// A curve with standardized domain parameters (ICAO 9303-11 §9.5.1, BSI TR-03110-3 A.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
    P521,
    BrainpoolP256r1,
    BrainpoolP384r1,
}

pub mod oid {
    use der::asn1::ObjectIdentifier;
    /// secp256r1 (ANSI X9.62).
    pub const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    /// secp384r1 (SEC 2).
    pub const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    /// secp521r1 (SEC 2).
    pub const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
    /// brainpoolP256r1 (RFC 5639).
    pub const BRAINPOOL_P256R1: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.7");
    /// brainpoolP384r1 (RFC 5639).
    pub const BRAINPOOL_P384R1: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.11");
    /// id-ecPublicKey (RFC 5480).
    pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    /// prime-field (ANSI X9.62).
    pub const PRIME_FIELD: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.1.1");
    /// standardizedDomainParameters (BSI TR-03110-3 A.2.1.1): parameters are an INTEGER id.
    pub const STANDARDIZED_DOMAIN_PARAMETERS: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.2");
}

/// Explicit domain parameters as big-endian integers without leading zeros (the generator is
/// an uncompressed SEC1 point).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainParameters {
    pub p: Vec<u8>,
    pub a: Vec<u8>,
    pub b: Vec<u8>,
    pub generator: Vec<u8>,
    pub order: Vec<u8>,
    pub cofactor: u8,
}

fn strip_zeros(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v.get(start..).unwrap_or_default()
}

/// `x + 1` for the encoding of an even number (`n - 1` or `p - 1` of a prime): no carry.
fn plus_one(mut v: Vec<u8>) -> Vec<u8> {
    if let Some(last) = v.last_mut() {
        *last |= 1;
    }
    v
}

impl Curve {
    pub const ALL: [Curve; 5] = [
        Curve::P256,
        Curve::BrainpoolP256r1,
        Curve::P384,
        Curve::BrainpoolP384r1,
        Curve::P521,
    ];

    /// Standardized domain parameter ID (ICAO 9303-11 Table 6 / BSI TR-03110-3 Table 4).
    pub fn param_id(self) -> u8 {
        match self {
            Curve::P256 => 12,
            Curve::BrainpoolP256r1 => 13,
            Curve::P384 => 15,
            Curve::BrainpoolP384r1 => 16,
            Curve::P521 => 18,
        }
    }

    pub fn from_param_id(id: u32) -> Option<Curve> {
        Curve::ALL
            .into_iter()
            .find(|c| u32::from(c.param_id()) == id)
    }

    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Curve::P256 => oid::P256,
            Curve::P384 => oid::P384,
            Curve::P521 => oid::P521,
            Curve::BrainpoolP256r1 => oid::BRAINPOOL_P256R1,
            Curve::BrainpoolP384r1 => oid::BRAINPOOL_P384R1,
        }
    }

    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Curve> {
        Curve::ALL.into_iter().find(|c| c.oid() == *oid)
    }

    /// Bytes of a field element or scalar.
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 | Curve::BrainpoolP256r1 => 32,
            Curve::P384 | Curve::BrainpoolP384r1 => 48,
            Curve::P521 => 66,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
            Curve::BrainpoolP256r1 => "brainpoolP256r1",
            Curve::BrainpoolP384r1 => "brainpoolP384r1",
        }
    }

    /// The curve's base point G.
    pub fn generator(self) -> EcPoint {
        EcPoint {
            curve: self,
            sec1: on_curve!(self, g_generator()),
        }
    }

    /// p, a, b, G, n and h, for comparing with (or writing) explicit ECParameters.
    pub fn domain_parameters(self) -> DomainParameters {
        let (p, a, b, order) = on_curve!(self, g_params());
        DomainParameters {
            p: strip_zeros(&p).to_vec(),
            a: strip_zeros(&a).to_vec(),
            b: strip_zeros(&b).to_vec(),
            generator: self.generator().sec1,
            order: strip_zeros(&order).to_vec(),
            cofactor: 1,
        }
    }

    /// Recognises one of the five curves from explicit parameters (X9.62 ECParameters as real
    /// chips put in DG14/DG15). Integers may carry leading zeros; G may be compressed.
    pub fn from_explicit(
        p: &[u8],
        a: &[u8],
        b: &[u8],
        generator: &[u8],
        order: &[u8],
    ) -> Option<Curve> {
        Curve::ALL.into_iter().find(|c| {
            let d = c.domain_parameters();
            strip_zeros(p) == d.p
                && strip_zeros(a) == d.a
                && strip_zeros(b) == d.b
                && strip_zeros(order) == d.order
                && EcPoint::from_sec1(*c, generator).is_ok_and(|g| g.sec1 == d.generator)
        })
    }
}

/// A point on one of the curves other than the identity, kept as its uncompressed SEC1 encoding
/// (`04 || x || y`), checked to be on the curve when built.
#[derive(Clone, PartialEq, Eq)]
pub struct EcPoint {
    curve: Curve,
    sec1: Vec<u8>,
}

impl std::fmt::Debug for EcPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcPoint({})", self.curve.name())
    }
}

impl EcPoint {
    /// Decodes a SEC1 point (uncompressed or compressed) and checks it lies on `curve`.
    pub fn from_sec1(curve: Curve, bytes: &[u8]) -> Result<EcPoint, EcError> {
        let sec1 = on_curve!(curve, g_normalize(bytes))?;
        Ok(EcPoint { curve, sec1 })
    }

    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// Uncompressed SEC1 encoding `04 || x || y`.
    pub fn to_sec1(&self) -> &[u8] {
        &self.sec1
    }

    pub fn x(&self) -> &[u8] {
        let n = self.curve.field_len();
        self.sec1.get(1..1 + n).unwrap_or_default()
    }

    pub fn y(&self) -> &[u8] {
        let n = self.curve.field_len();
        self.sec1.get(1 + n..).unwrap_or_default()
    }

    /// `k · self`; `k` is big-endian, at most the field length, reduced modulo the order.
    pub fn mul(&self, k: &[u8]) -> Result<EcPoint, EcError> {
        let sec1 = on_curve!(self.curve, g_mul(k, &self.sec1))?;
        Ok(EcPoint {
            curve: self.curve,
            sec1,
        })
    }

    /// `self + other`.
    pub fn add(&self, other: &EcPoint) -> Result<EcPoint, EcError> {
        if self.curve != other.curve {
            return Err(EcError::CurveMismatch);
        }
        let sec1 = on_curve!(self.curve, g_add(&self.sec1, &other.sec1))?;
        Ok(EcPoint {
            curve: self.curve,
            sec1,
        })
    }
}

/// A private scalar (zeroized, never printed) and its public point `d · G'` for a generator G'
/// (the curve's base point, or the PACE mapped generator).
pub struct KeyPair {
    private: SecretKey,
    public: EcPoint,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KeyPair({}, private key redacted)",
            self.public.curve.name()
        )
    }
}

impl KeyPair {
    /// A fresh key pair on the curve's base point.
    pub fn generate(curve: Curve, rng: &mut dyn Rng) -> KeyPair {
        KeyPair::generate_on(&curve.generator(), rng)
    }

    /// A fresh key pair on `generator`: the private key is drawn by rejection sampling of
    /// random strings of the order's bit length in `[1, n-1]` (BSI TR-03111 §4.1.1).
    pub fn generate_on(generator: &EcPoint, rng: &mut dyn Rng) -> KeyPair {
        let curve = generator.curve;
        let mut buf = Zeroizing::new(vec![0u8; curve.field_len()]);
        // P-521's 66 bytes hold 528 bits: without the mask, 127 draws in 128 would be too large.
        let top = match curve {
            Curve::P521 => 0x01,
            _ => 0xff,
        };
        loop {
            rng.fill(&mut buf);
            if let Some(first) = buf.first_mut() {
                *first &= top;
            }
            if let Ok(pair) = KeyPair::from_private_on(generator, SecretKey::new(buf.to_vec())) {
                return pair;
            }
        }
    }

    /// The key pair of a known private key (big-endian, `1 <= d < n`) on the base point.
    pub fn from_private(curve: Curve, private: SecretKey) -> Result<KeyPair, EcError> {
        KeyPair::from_private_on(&curve.generator(), private)
    }

    /// The key pair of a known private key on `generator`.
    pub fn from_private_on(generator: &EcPoint, private: SecretKey) -> Result<KeyPair, EcError> {
        let curve = generator.curve;
        if private.as_bytes().len() > curve.field_len()
            || !on_curve!(curve, g_scalar_in_range(private.as_bytes()))
        {
            return Err(EcError::InvalidScalar);
        }
        let public = generator.mul(private.as_bytes())?;
        Ok(KeyPair { private, public })
    }

    pub fn curve(&self) -> Curve {
        self.public.curve
    }

    pub fn public(&self) -> &EcPoint {
        &self.public
    }

    pub fn private(&self) -> &SecretKey {
        &self.private
    }

    /// ECDH (BSI TR-03111 §4.3.1, ECKA-DH): the x-coordinate of `d · peer`.
    pub fn agree(&self, peer: &EcPoint) -> Result<SecretKey, EcError> {
        if peer.curve != self.public.curve {
            return Err(EcError::CurveMismatch);
        }
        let shared = Zeroizing::new(peer.mul(self.private.as_bytes())?.sec1);
        Ok(SecretKey::new(
            shared
                .get(1..1 + peer.curve.field_len())
                .unwrap_or_default()
                .to_vec(),
        ))
    }

    /// `d · P` as a point (PACE generic mapping needs H = SK_map · PK_map,IC).
    pub fn multiply(&self, peer: &EcPoint) -> Result<EcPoint, EcError> {
        if peer.curve != self.public.curve {
            return Err(EcError::CurveMismatch);
        }
        peer.mul(self.private.as_bytes())
    }

    /// ECDSA signature (deterministic nonce, RFC 6979) over `hash(message)` in the plain
    /// `r || s` format of BSI TR-03111 §5.2.1. Only meaningful for keys on the base point.
    pub fn sign(&self, hash: HashAlg, message: &[u8]) -> Result<Vec<u8>, EcError> {
        let digest = hash.digest(message);
        on_curve!(self.curve(), g_sign(self.private.as_bytes(), &digest))
    }
}

/// Hash functions named by signature algorithm OIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha1 => Sha1::digest(data).to_vec(),
            HashAlg::Sha224 => Sha224::digest(data).to_vec(),
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha224 => 28,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "SHA-1",
            HashAlg::Sha224 => "SHA-224",
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha384 => "SHA-384",
            HashAlg::Sha512 => "SHA-512",
        }
    }
}

/// How an ECDSA signature is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFormat {
    /// `r || s`, each the length of the order (BSI TR-03111 §5.2.1), used by chips.
    Plain,
    /// `SEQUENCE { r INTEGER, s INTEGER }` (X9.62), used in certificates.
    Der,
}

/// Verifies an ECDSA signature over `hash(message)`. False for any malformed input.
pub fn verify(
    public: &EcPoint,
    hash: HashAlg,
    message: &[u8],
    signature: &[u8],
    format: SignatureFormat,
) -> bool {
    verify_prehash(public, &hash.digest(message), signature, format)
}

/// Verifies an ECDSA signature over an already computed digest (truncated or zero-extended to
/// the order's length as X9.62 prescribes).
pub fn verify_prehash(
    public: &EcPoint,
    digest: &[u8],
    signature: &[u8],
    format: SignatureFormat,
) -> bool {
    on_curve!(
        public.curve,
        g_verify(&public.sec1, digest, signature, format)
    )
}

/// X9.62 `ECParameters` (explicit prime-field parameters, RFC 3279 §2.3.5).
#[derive(Clone, Debug, der::Sequence)]
struct EcParameters {
    version: u8,
    field_id: FieldId,
    curve: CurveCoefficients,
    base: OctetString,
    order: Uint,
    cofactor: Option<Uint>,
}

#[derive(Clone, Debug, der::Sequence)]
struct FieldId {
    field_type: ObjectIdentifier,
    prime: Uint,
}

#[derive(Clone, Debug, der::Sequence)]
struct CurveCoefficients {
    a: OctetString,
    b: OctetString,
    seed: Option<BitString>,
}

/// The curve of an `AlgorithmIdentifier`: id-ecPublicKey with a named curve OID or explicit
/// ECParameters, or BSI standardizedDomainParameters with a domain parameter ID.
pub fn curve_from_algorithm(alg: &AlgorithmIdentifierOwned) -> Result<Curve, EcError> {
    let params = alg.parameters.as_ref().ok_or(EcError::UnsupportedCurve)?;
    if alg.oid == oid::STANDARDIZED_DOMAIN_PARAMETERS {
        let id: u32 = params.decode_as().map_err(|_| EcError::UnsupportedCurve)?;
        return Curve::from_param_id(id).ok_or(EcError::UnsupportedCurve);
    }
    if alg.oid != oid::EC_PUBLIC_KEY {
        return Err(EcError::UnsupportedCurve);
    }
    if params.tag() == Tag::ObjectIdentifier {
        let named: ObjectIdentifier = params.decode_as().map_err(|_| EcError::UnsupportedCurve)?;
        return Curve::from_oid(&named).ok_or(EcError::UnsupportedCurve);
    }
    let explicit: EcParameters = params.decode_as().map_err(|_| EcError::UnsupportedCurve)?;
    if explicit.field_id.field_type != oid::PRIME_FIELD
        || explicit
            .cofactor
            .as_ref()
            .is_some_and(|h| h.as_bytes() != [1])
    {
        return Err(EcError::UnsupportedCurve);
    }
    Curve::from_explicit(
        explicit.field_id.prime.as_bytes(),
        explicit.curve.a.as_bytes(),
        explicit.curve.b.as_bytes(),
        explicit.base.as_bytes(),
        explicit.order.as_bytes(),
    )
    .ok_or(EcError::UnsupportedCurve)
}

impl Curve {
    /// `AlgorithmIdentifier` of an EC public key on this curve: id-ecPublicKey with the named
    /// curve, or with explicit ECParameters as many chips write them.
    pub fn algorithm_identifier(self, explicit: bool) -> Result<AlgorithmIdentifierOwned, EcError> {
        let bad = |_| EcError::UnsupportedCurve;
        let parameters = if explicit {
            let d = self.domain_parameters();
            let n = self.field_len();
            let pad = |v: &[u8]| {
                let mut out = vec![0u8; n.saturating_sub(v.len())];
                out.extend_from_slice(v);
                out
            };
            let params = EcParameters {
                version: 1,
                field_id: FieldId {
                    field_type: oid::PRIME_FIELD,
                    prime: Uint::new(&d.p).map_err(bad)?,
                },
                curve: CurveCoefficients {
                    a: OctetString::new(pad(&d.a)).map_err(bad)?,
                    b: OctetString::new(pad(&d.b)).map_err(bad)?,
                    seed: None,
                },
                base: OctetString::new(d.generator).map_err(bad)?,
                order: Uint::new(&d.order).map_err(bad)?,
                cofactor: Some(Uint::new(&[1]).map_err(bad)?),
            };
            Any::encode_from(&params).map_err(bad)?
        } else {
            Any::encode_from(&self.oid()).map_err(bad)?
        };
        Ok(AlgorithmIdentifierOwned {
            oid: oid::EC_PUBLIC_KEY,
            parameters: Some(parameters),
        })
    }
}

impl EcPoint {
    /// The EC public key of a `SubjectPublicKeyInfo`.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<EcPoint, EcError> {
        let curve = curve_from_algorithm(&spki.algorithm)?;
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or(EcError::InvalidPoint)?;
        EcPoint::from_sec1(curve, bytes)
    }

    /// A `SubjectPublicKeyInfo` for this point (see [`Curve::algorithm_identifier`]).
    pub fn to_spki(&self, explicit: bool) -> Result<SubjectPublicKeyInfoOwned, EcError> {
        Ok(SubjectPublicKeyInfoOwned {
            algorithm: self.curve.algorithm_identifier(explicit)?,
            subject_public_key: BitString::from_bytes(&self.sec1)
                .map_err(|_| EcError::InvalidPoint)?,
        })
    }
}

/// `SEQUENCE { r INTEGER, s INTEGER }` to `r || s` with each half `len` bytes.
pub fn der_to_plain(der: &[u8], len: usize) -> Option<Vec<u8>> {
    let seq = tlv::read_exact(der, 0x30).ok()?;
    let mut out = Vec::with_capacity(2 * len);
    let mut count = 0;
    for item in seq.children() {
        let int = item.ok()?.expect_tag(0x02).ok()?;
        let v = strip_zeros(int.value);
        if v.len() > len || int.value.first().is_none_or(|b| b & 0x80 != 0) {
            return None;
        }
        out.resize(out.len() + len - v.len(), 0);
        out.extend_from_slice(v);
        count += 1;
    }
    (count == 2).then_some(out)
}

/// `r || s` to `SEQUENCE { r INTEGER, s INTEGER }`.
pub fn plain_to_der(plain: &[u8]) -> Option<Vec<u8>> {
    if plain.is_empty() || !plain.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = plain.split_at(plain.len() / 2);
    let int = |v: &[u8]| {
        let v = strip_zeros(v);
        let mut body = Vec::with_capacity(v.len() + 1);
        if v.first().is_none_or(|b| b & 0x80 != 0) {
            body.push(0);
        }
        body.extend_from_slice(v);
        tlv::encode(0x02, &body)
    };
    Some(tlv::encode(0x30, &[int(r), int(s)].concat()))
}

// ----- generic implementations over the RustCrypto curve types -----

type FieldElement<C> = <C as FieldArithmetic>::FieldElement;

fn g_decode<C: PrimeCurveParams>(bytes: &[u8]) -> Result<ProjectivePoint<C>, EcError> {
    let affine =
        primeorder::AffinePoint::<C>::from_sec1_bytes(bytes).map_err(|_| EcError::InvalidPoint)?;
    let point = ProjectivePoint::<C>::from(affine);
    if bool::from(point.is_identity()) {
        return Err(EcError::Identity);
    }
    Ok(point)
}

fn g_encode<C: PrimeCurveParams>(point: &ProjectivePoint<C>) -> Result<Vec<u8>, EcError> {
    if bool::from(point.is_identity()) {
        return Err(EcError::Identity);
    }
    Ok(point.to_affine().to_sec1_point(false).as_bytes().to_vec())
}

fn g_normalize<C: PrimeCurveParams>(bytes: &[u8]) -> Result<Vec<u8>, EcError> {
    g_encode::<C>(&g_decode::<C>(bytes)?)
}

fn g_generator<C: PrimeCurveParams>() -> Vec<u8> {
    ProjectivePoint::<C>::generator()
        .to_affine()
        .to_sec1_point(false)
        .as_bytes()
        .to_vec()
}

fn g_field_bytes<C: PrimeCurveParams>(k: &[u8]) -> Result<Zeroizing<FieldBytes<C>>, EcError> {
    let mut fb = Zeroizing::new(FieldBytes::<C>::default());
    let len = fb.len();
    let start = len.checked_sub(k.len()).ok_or(EcError::InvalidScalar)?;
    fb.get_mut(start..)
        .ok_or(EcError::InvalidScalar)?
        .copy_from_slice(k);
    Ok(fb)
}

fn g_scalar_in_range<C: PrimeCurveParams>(k: &[u8]) -> bool {
    g_field_bytes::<C>(k).is_ok_and(|fb| {
        let s = NonZeroScalar::<C>::from_repr(*fb).into_option();
        let ok = s.is_some();
        if let Some(mut s) = s {
            s.zeroize();
        }
        ok
    })
}

fn g_mul<C: PrimeCurveParams>(k: &[u8], point: &[u8]) -> Result<Vec<u8>, EcError> {
    let p = g_decode::<C>(point)?;
    let fb = g_field_bytes::<C>(k)?;
    let s = Zeroizing::new(<Scalar<C> as Reduce<FieldBytes<C>>>::reduce(&fb));
    if bool::from(s.is_zero()) {
        return Err(EcError::InvalidScalar);
    }
    g_encode::<C>(&(p * *s))
}

fn g_add<C: PrimeCurveParams>(a: &[u8], b: &[u8]) -> Result<Vec<u8>, EcError> {
    g_encode::<C>(&(g_decode::<C>(a)? + g_decode::<C>(b)?))
}

/// (p, a, b, n) as big-endian field-length encodings.
fn g_params<C: PrimeCurveParams>() -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let p_minus_1 = (-FieldElement::<C>::ONE).to_repr();
    let n_minus_1 = (-Scalar::<C>::ONE).to_repr();
    (
        plus_one(AsRef::<[u8]>::as_ref(&p_minus_1).to_vec()),
        AsRef::<[u8]>::as_ref(&C::EQUATION_A.to_repr()).to_vec(),
        AsRef::<[u8]>::as_ref(&C::EQUATION_B.to_repr()).to_vec(),
        plus_one(AsRef::<[u8]>::as_ref(&n_minus_1).to_vec()),
    )
}

fn g_sign<C: PrimeCurveParams + EcdsaCurve>(d: &[u8], digest: &[u8]) -> Result<Vec<u8>, EcError> {
    let fb = g_field_bytes::<C>(d)?;
    let d = NonZeroScalar::<C>::from_repr(*fb)
        .into_option()
        .ok_or(EcError::InvalidScalar)?;
    let d = Zeroizing::new(d);
    let (sig, _) = ecdsa::hazmat::sign_prehashed_rfc6979::<C, Sha256>(&d, digest, &[]);
    Ok(sig.to_bytes().to_vec())
}

fn g_verify<C: PrimeCurveParams + EcdsaCurve>(
    public: &[u8],
    digest: &[u8],
    signature: &[u8],
    format: SignatureFormat,
) -> bool {
    let Ok(q) = g_decode::<C>(public) else {
        return false;
    };
    let plain = match format {
        SignatureFormat::Plain => Some(signature.to_vec()),
        SignatureFormat::Der => der_to_plain(signature, FieldBytes::<C>::default().len()),
    };
    let Some(Ok(sig)) = plain.map(|p| ecdsa::Signature::<C>::from_slice(&p)) else {
        return false;
    };
    ecdsa::hazmat::verify_prehashed::<C>(&q, digest, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Vec<u8>);
    impl Rng for Fixed {
        fn fill(&mut self, out: &mut [u8]) {
            for b in out.iter_mut() {
                *b = self.0.pop().unwrap_or(0x5A);
            }
        }
    }

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn ids_and_oids_round_trip() {
        for c in Curve::ALL {
            assert_eq!(Curve::from_param_id(c.param_id().into()), Some(c));
            assert_eq!(Curve::from_oid(&c.oid()), Some(c));
            assert_eq!(c.generator().to_sec1().len(), 1 + 2 * c.field_len());
        }
        assert_eq!(Curve::from_param_id(14), None);
    }

    #[test]
    fn p256_domain_parameters_match_fips_186() {
        let d = Curve::P256.domain_parameters();
        assert_eq!(
            d.p,
            h("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF")
        );
        assert_eq!(
            d.b,
            h("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B")
        );
        assert_eq!(
            d.order,
            h("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")
        );
        for c in Curve::ALL {
            let d = c.domain_parameters();
            let mut p = vec![0];
            p.extend_from_slice(&d.p);
            let g = &d.generator[..1 + c.field_len()];
            let mut gc = g.to_vec();
            gc[0] = 2 + (d.generator.last().unwrap() & 1);
            assert_eq!(Curve::from_explicit(&p, &d.a, &d.b, &gc, &d.order), Some(c));
            assert_eq!(
                Curve::from_explicit(&d.p, &d.a, &d.p, &d.generator, &d.order),
                None
            );
            let g = c.generator();
            for explicit in [false, true] {
                let spki = g.to_spki(explicit).unwrap();
                let der = der::Encode::to_der(&spki).unwrap();
                let back: SubjectPublicKeyInfoOwned = der::Decode::from_der(&der).unwrap();
                assert_eq!(EcPoint::from_spki(&back).unwrap(), g);
            }
        }
    }

    #[test]
    fn points_are_checked() {
        let g = Curve::BrainpoolP256r1.generator();
        let mut bad = g.to_sec1().to_vec();
        bad[40] ^= 1;
        assert!(EcPoint::from_sec1(Curve::BrainpoolP256r1, &bad).is_err());
        assert!(EcPoint::from_sec1(Curve::P256, g.to_sec1()).is_err());
        assert!(EcPoint::from_sec1(Curve::P256, &[0]).is_err());
        assert!(EcPoint::from_sec1(Curve::P256, &[]).is_err());
        assert!(EcPoint::from_sec1(Curve::P256, &[4; 65]).is_err());
        // n · G is the identity.
        let n = Curve::P256.domain_parameters().order;
        assert!(Curve::P256.generator().mul(&n).is_err());
        assert!(Curve::P256.generator().mul(&[0]).is_err());
    }

    #[test]
    fn ecdh_agrees_and_addition_matches_scalars() {
        for c in Curve::ALL {
            let mut rng = Fixed((0..200).collect());
            let a = KeyPair::generate(c, &mut rng);
            let b = KeyPair::generate(c, &mut rng);
            assert_eq!(
                a.agree(b.public()).unwrap().as_bytes(),
                b.agree(a.public()).unwrap().as_bytes()
            );
            let g = c.generator();
            let two_g = g.mul(&[2]).unwrap();
            assert_eq!(g.add(&g).unwrap(), two_g);
            assert_eq!(two_g.add(&g).unwrap(), g.mul(&[3]).unwrap());
            assert!(KeyPair::from_private(c, SecretKey::new(vec![0; 4])).is_err());
            assert!(KeyPair::from_private(c, SecretKey::new(vec![1; 80])).is_err());
        }
    }

    #[test]
    fn ecdsa_signs_and_verifies_with_every_hash() {
        for c in Curve::ALL {
            let key = KeyPair::from_private(c, SecretKey::new(vec![7; 20])).unwrap();
            for hash in [
                HashAlg::Sha1,
                HashAlg::Sha224,
                HashAlg::Sha256,
                HashAlg::Sha384,
                HashAlg::Sha512,
            ] {
                let sig = key.sign(hash, b"challenge").unwrap();
                assert_eq!(sig.len(), 2 * c.field_len());
                assert!(verify(
                    key.public(),
                    hash,
                    b"challenge",
                    &sig,
                    SignatureFormat::Plain
                ));
                assert!(!verify(
                    key.public(),
                    hash,
                    b"challengf",
                    &sig,
                    SignatureFormat::Plain
                ));
                let der = plain_to_der(&sig).unwrap();
                assert_eq!(der_to_plain(&der, c.field_len()).unwrap(), sig);
                assert!(verify(
                    key.public(),
                    hash,
                    b"challenge",
                    &der,
                    SignatureFormat::Der
                ));
                assert!(!verify(
                    key.public(),
                    hash,
                    b"challenge",
                    &sig[1..],
                    SignatureFormat::Plain
                ));
                assert!(!verify(
                    key.public(),
                    hash,
                    b"challenge",
                    &sig,
                    SignatureFormat::Der
                ));
            }
        }
    }
}
