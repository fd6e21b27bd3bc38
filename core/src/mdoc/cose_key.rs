//! COSE_Key (RFC 9052 §7) for the only keys ISO/IEC 18013-5 uses here: EC2 on P-256 with x and y
//! (device keys in the MSO, the ephemeral EDeviceKey and EReaderKey).

use super::cbor;
use super::error::MdocError;
use ciborium::Value;

const KTY: i64 = 1;
const KTY_EC2: i64 = 2;
const CRV: i64 = -1;
const CRV_P256: i64 = 1;
const X: i64 = -2;
const Y: i64 = -3;

/// A P-256 public key, checked to be on the curve; kept as the SEC1 uncompressed point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P256Key {
    point: Vec<u8>,
}

impl P256Key {
    /// From a SEC1 uncompressed point (65 bytes, on the curve).
    pub fn from_sec1(point: &[u8]) -> Result<P256Key, MdocError> {
        if point.len() != 65 || p256::PublicKey::from_sec1_bytes(point).is_err() {
            return Err(MdocError::Key);
        }
        Ok(P256Key {
            point: point.to_vec(),
        })
    }

    /// From a COSE_Key map: kty EC2, crv P-256, 32-byte x and y.
    pub fn from_cose(value: &Value) -> Result<P256Key, MdocError> {
        let m = value.as_map().ok_or(MdocError::Key)?;
        let int = |k| {
            cbor::get_int(m, k)
                .and_then(Value::as_integer)
                .and_then(|i| i64::try_from(i).ok())
        };
        if int(KTY) != Some(KTY_EC2) || int(CRV) != Some(CRV_P256) {
            return Err(MdocError::Key);
        }
        let coord = |k| {
            cbor::get_int(m, k)
                .and_then(Value::as_bytes)
                .filter(|b| b.len() == 32)
                .ok_or(MdocError::Key)
        };
        let mut point = vec![0x04];
        point.extend_from_slice(coord(X)?);
        point.extend_from_slice(coord(Y)?);
        P256Key::from_sec1(&point)
    }

    /// The COSE_Key map (kty, crv, x, y in this order, as the Annex D example encodes it).
    pub fn to_cose(&self) -> Value {
        Value::Map(vec![
            (Value::from(KTY), Value::from(KTY_EC2)),
            (Value::from(CRV), Value::from(CRV_P256)),
            (Value::from(X), Value::Bytes(self.point[1..33].to_vec())),
            (Value::from(Y), Value::Bytes(self.point[33..65].to_vec())),
        ])
    }

    /// SEC1 uncompressed point.
    pub fn sec1(&self) -> &[u8] {
        &self.point
    }
}
