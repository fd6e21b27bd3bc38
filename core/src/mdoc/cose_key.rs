//! COSE_Key (RFC 9052 §7) for the keys ISO/IEC 18013-5 uses: device keys in the MSO and the
//! ephemeral EDeviceKey and EReaderKey, on the curves of its cipher suite 1 (§9.1.5.2, Table 22)
//! that this library takes: EC2 keys on P-256, P-384, P-521, brainpoolP256r1 and
//! brainpoolP384r1 (x and y), OKP keys on X25519 and Ed25519 (x). Curve identifiers are IANA's
//! "COSE Elliptic Curves" registry. brainpoolP320r1, brainpoolP512r1, X448 and Ed448 are refused
//! as unsupported (docs/adr/0069).

use super::cbor;
use super::error::MdocError;
use ciborium::Value;
use eid_crypto::ec::{Curve as EcCurve, EcPoint};

const KTY: i64 = 1;
const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;
const CRV: i64 = -1;
const X: i64 = -2;
const Y: i64 = -3;

/// A curve of 18013-5's cipher suite 1 that we take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoseCurve {
    P256,
    P384,
    P521,
    BrainpoolP256r1,
    BrainpoolP384r1,
    /// Key agreement only (ECDH, RFC 7748).
    X25519,
    /// Signatures only (EdDSA, RFC 8032).
    Ed25519,
}

impl CoseCurve {
    pub const ALL: [CoseCurve; 7] = [
        CoseCurve::P256,
        CoseCurve::P384,
        CoseCurve::P521,
        CoseCurve::BrainpoolP256r1,
        CoseCurve::BrainpoolP384r1,
        CoseCurve::X25519,
        CoseCurve::Ed25519,
    ];

    /// The `crv` value (IANA COSE Elliptic Curves).
    pub fn cose(self) -> i64 {
        match self {
            CoseCurve::P256 => 1,
            CoseCurve::P384 => 2,
            CoseCurve::P521 => 3,
            CoseCurve::X25519 => 4,
            CoseCurve::Ed25519 => 6,
            CoseCurve::BrainpoolP256r1 => 256,
            CoseCurve::BrainpoolP384r1 => 258,
        }
    }

    pub fn from_cose(crv: i64) -> Option<CoseCurve> {
        CoseCurve::ALL.into_iter().find(|c| c.cose() == crv)
    }

    /// The short Weierstrass curve (EC2 keys), or None for the OKP curves.
    pub fn weierstrass(self) -> Option<EcCurve> {
        match self {
            CoseCurve::P256 => Some(EcCurve::P256),
            CoseCurve::P384 => Some(EcCurve::P384),
            CoseCurve::P521 => Some(EcCurve::P521),
            CoseCurve::BrainpoolP256r1 => Some(EcCurve::BrainpoolP256r1),
            CoseCurve::BrainpoolP384r1 => Some(EcCurve::BrainpoolP384r1),
            CoseCurve::X25519 | CoseCurve::Ed25519 => None,
        }
    }

    /// Whether ECDH is defined on it (all but Ed25519): EDeviceKey, EReaderKey, and a device
    /// key that authenticates by MAC.
    pub fn agrees(self) -> bool {
        self != CoseCurve::Ed25519
    }

    /// Bytes of a private key on it.
    pub fn private_len(self) -> usize {
        self.weierstrass().map_or(32, EcCurve::field_len)
    }
}

/// A public key, checked to be on its curve: the SEC1 uncompressed point of an EC2 key, the
/// 32 raw bytes of an OKP key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoseKey {
    curve: CoseCurve,
    public: Vec<u8>,
}

impl CoseKey {
    /// An EC2 key from a SEC1 uncompressed point on `curve`.
    pub fn from_sec1(curve: CoseCurve, point: &[u8]) -> Result<CoseKey, MdocError> {
        let ec = curve.weierstrass().ok_or(MdocError::Key)?;
        if point.len() != 1 + 2 * ec.field_len() || EcPoint::from_sec1(ec, point).is_err() {
            return Err(MdocError::Key);
        }
        Ok(CoseKey {
            curve,
            public: point.to_vec(),
        })
    }

    /// A P-256 key from a SEC1 uncompressed point (what platform key stores make).
    pub fn p256(point: &[u8]) -> Result<CoseKey, MdocError> {
        CoseKey::from_sec1(CoseCurve::P256, point)
    }

    /// An OKP key (X25519 or Ed25519) from its 32 bytes.
    pub fn okp(curve: CoseCurve, x: &[u8]) -> Result<CoseKey, MdocError> {
        if curve.weierstrass().is_some() || x.len() != 32 {
            return Err(MdocError::Key);
        }
        Ok(CoseKey {
            curve,
            public: x.to_vec(),
        })
    }

    /// From a COSE_Key map: kty EC2 with crv, x and y of the curve's length, or kty OKP with crv
    /// and x. Other parameters (kid, alg, ...) are ignored.
    pub fn from_cose(value: &Value) -> Result<CoseKey, MdocError> {
        let m = value.as_map().ok_or(MdocError::Key)?;
        let int = |k| {
            cbor::get_int(m, k)
                .and_then(Value::as_integer)
                .and_then(|i| i64::try_from(i).ok())
        };
        let curve = int(CRV)
            .and_then(CoseCurve::from_cose)
            .ok_or(MdocError::UnsupportedCurve)?;
        let bytes = |k| cbor::get_int(m, k).and_then(Value::as_bytes);
        match (int(KTY), curve.weierstrass()) {
            (Some(KTY_EC2), Some(ec)) => {
                let n = ec.field_len();
                let coord = |k| bytes(k).filter(|b| b.len() == n).ok_or(MdocError::Key);
                let mut point = vec![0x04];
                point.extend_from_slice(coord(X)?);
                point.extend_from_slice(coord(Y)?);
                CoseKey::from_sec1(curve, &point)
            }
            (Some(KTY_OKP), None) => CoseKey::okp(curve, bytes(X).ok_or(MdocError::Key)?),
            _ => Err(MdocError::Key),
        }
    }

    /// The COSE_Key map: kty, crv, x (and y for EC2) in this order, as the Annex D example
    /// encodes it.
    pub fn to_cose(&self) -> Value {
        let mut map = vec![
            (
                Value::from(KTY),
                Value::from(if self.curve.weierstrass().is_some() {
                    KTY_EC2
                } else {
                    KTY_OKP
                }),
            ),
            (Value::from(CRV), Value::from(self.curve.cose())),
        ];
        match self.coordinates() {
            Some((x, y)) => {
                map.push((Value::from(X), Value::Bytes(x.to_vec())));
                map.push((Value::from(Y), Value::Bytes(y.to_vec())));
            }
            None => map.push((Value::from(X), Value::Bytes(self.public.clone()))),
        }
        Value::Map(map)
    }

    pub fn curve(&self) -> CoseCurve {
        self.curve
    }

    /// The public key's bytes: the SEC1 uncompressed point (EC2) or the raw key (OKP).
    pub fn public_bytes(&self) -> &[u8] {
        &self.public
    }

    /// The EC2 point (None for OKP keys).
    pub fn point(&self) -> Option<EcPoint> {
        EcPoint::from_sec1(self.curve.weierstrass()?, &self.public).ok()
    }

    /// x and y of an EC2 key.
    fn coordinates(&self) -> Option<(&[u8], &[u8])> {
        let n = self.curve.weierstrass()?.field_len();
        Some((self.public.get(1..1 + n)?, self.public.get(1 + n..)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_curve_round_trips_through_cose_and_unknown_curves_are_refused() {
        for curve in CoseCurve::ALL {
            let (_, key) =
                super::super::ephemeral::key_pair(curve, &mut eid_crypto::OsRng).unwrap();
            assert_eq!(key.curve(), curve);
            assert_eq!(
                CoseKey::from_cose(&key.to_cose()).unwrap(),
                key,
                "{curve:?}"
            );
            assert_eq!(CoseCurve::from_cose(curve.cose()), Some(curve));
        }
        // X448 (5), Ed448 (7), secp256k1 (8), brainpoolP320r1 (257), brainpoolP512r1 (259).
        for crv in [5, 7, 8, 257, 259] {
            let key = Value::Map(vec![
                (Value::from(KTY), Value::from(KTY_EC2)),
                (Value::from(CRV), Value::from(crv)),
            ]);
            assert_eq!(CoseKey::from_cose(&key), Err(MdocError::UnsupportedCurve));
        }
    }

    #[test]
    fn a_key_is_refused_off_its_curve_or_with_the_wrong_kty_or_length() {
        let (_, key) =
            super::super::ephemeral::key_pair(CoseCurve::P384, &mut eid_crypto::OsRng).unwrap();
        let Value::Map(mut m) = key.to_cose() else {
            unreachable!()
        };
        // The P-384 coordinates labelled P-256: wrong length.
        m[1].1 = Value::from(1);
        assert_eq!(
            CoseKey::from_cose(&Value::Map(m.clone())),
            Err(MdocError::Key)
        );
        // A point moved off the curve.
        m[1].1 = Value::from(2);
        if let Value::Bytes(y) = &mut m[3].1 {
            y[47] ^= 1;
        }
        assert_eq!(
            CoseKey::from_cose(&Value::Map(m.clone())),
            Err(MdocError::Key)
        );
        // An OKP curve with kty EC2, and an EC2 curve with kty OKP.
        let x25519 = Value::Map(vec![
            (Value::from(KTY), Value::from(KTY_EC2)),
            (Value::from(CRV), Value::from(4)),
            (Value::from(X), Value::Bytes(vec![9; 32])),
        ]);
        assert_eq!(CoseKey::from_cose(&x25519), Err(MdocError::Key));
        m[0].1 = Value::from(KTY_OKP);
        assert_eq!(CoseKey::from_cose(&Value::Map(m)), Err(MdocError::Key));
        assert!(CoseKey::okp(CoseCurve::X25519, &[9; 31]).is_err());
        assert!(CoseKey::okp(CoseCurve::P256, &[9; 32]).is_err());
    }
}
