//! Active authentication (ICAO 9303-11 §6.1): the chip signs a random challenge with the private
//! key whose public half is in DG15, proving the chip was not copied.
//!
//! ECDSA signatures are plain `r || s` (BSI TR-03111) over hash(challenge), the hash named by
//! ActiveAuthenticationInfo in DG14 (SHA-256 when absent). RSA signatures follow ISO/IEC 9796-2
//! digital signature scheme 1 with partial message recovery.

use super::apdu::{CommandApdu, ins};
use super::channel::Channel;
use super::ec::{self, EcPoint, HashAlg, SignatureFormat};
use super::error::ChipError;
use super::security_info::ActiveAuthenticationInfo;
use super::transport::ApduTransport;
use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, U4096};
use der::asn1::{BitString, ObjectIdentifier, Uint};
use der::{Decode, Encode};
use eid_crypto::Rng;
use eid_crypto::tlv;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// rsaEncryption (PKCS #1).
pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Largest RSA modulus handled, in bytes (4096 bits).
const RSA_MAX_BYTES: usize = 512;

/// The active authentication public key of DG15.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AaPublicKey {
    Ec(EcPoint),
    /// Big-endian modulus and public exponent, leading zeros stripped.
    Rsa {
        modulus: Vec<u8>,
        exponent: Vec<u8>,
    },
}

/// RSAPublicKey (RFC 8017 A.1.1).
#[derive(der::Sequence)]
struct RsaPublicKey {
    modulus: Uint,
    public_exponent: Uint,
}

/// The modulus and public exponent of an RSAPublicKey (RFC 8017 A.1.1), as unsigned big-endian
/// bytes without leading zeros. Read leniently: some issued chips write a modulus with its top
/// bit set but without the leading 00 that DER asks for (the 2008 BSI test passport does), and
/// readers in the field (JMRTD) take it as the unsigned number it is meant to be. A strict DER
/// decoder would call it negative and refuse the whole DG15.
fn rsa_public_key(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let seq = tlv::read_exact(bytes, 0x30).ok()?;
    let mut items = seq.children();
    let mut unsigned = || -> Option<Vec<u8>> {
        let int = items.next()?.ok()?.expect_tag(0x02).ok()?;
        let start = int.value.iter().position(|&b| b != 0)?;
        Some(int.value[start..].to_vec())
    };
    let modulus = unsigned()?;
    let exponent = unsigned()?;
    items.next().is_none().then_some((modulus, exponent))
}

impl AaPublicKey {
    /// From DG15's SubjectPublicKeyInfo.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, ChipError> {
        let malformed = || ChipError::Malformed {
            what: "DG15 public key",
        };
        if spki.algorithm.oid == RSA_ENCRYPTION {
            let bytes = spki.subject_public_key.as_bytes().ok_or_else(malformed)?;
            let (modulus, exponent) = rsa_public_key(bytes).ok_or_else(malformed)?;
            if modulus.len() > RSA_MAX_BYTES || modulus.len() < 64 {
                return Err(ChipError::Unsupported("RSA key size".into()));
            }
            return Ok(AaPublicKey::Rsa { modulus, exponent });
        }
        EcPoint::from_spki(spki)
            .map(AaPublicKey::Ec)
            .map_err(|e| match e {
                ec::EcError::UnsupportedCurve => {
                    ChipError::Unsupported("active authentication key algorithm".into())
                }
                _ => malformed(),
            })
    }

    /// As a SubjectPublicKeyInfo; `explicit` writes EC curves as explicit parameters.
    pub fn to_spki(&self, explicit: bool) -> Result<SubjectPublicKeyInfoOwned, ChipError> {
        let bad = |_| ChipError::Malformed {
            what: "DG15 public key",
        };
        match self {
            AaPublicKey::Ec(p) => p.to_spki(explicit).map_err(|_| ChipError::Malformed {
                what: "DG15 public key",
            }),
            AaPublicKey::Rsa { modulus, exponent } => {
                let key = RsaPublicKey {
                    modulus: Uint::new(modulus).map_err(bad)?,
                    public_exponent: Uint::new(exponent).map_err(bad)?,
                };
                Ok(SubjectPublicKeyInfoOwned {
                    algorithm: AlgorithmIdentifierOwned {
                        oid: RSA_ENCRYPTION,
                        parameters: Some(der::asn1::Any::null()),
                    },
                    subject_public_key: BitString::from_bytes(&key.to_der().map_err(bad)?)
                        .map_err(bad)?,
                })
            }
        }
    }
}

/// Parses DG15: tag 6F around a SubjectPublicKeyInfo.
pub fn parse_dg15(bytes: &[u8]) -> Result<AaPublicKey, ChipError> {
    let malformed = || ChipError::Malformed { what: "DG15" };
    let (outer, _) = tlv::read(bytes).map_err(|_| malformed())?;
    let outer = outer.expect_tag(0x6F).map_err(|_| malformed())?;
    let spki = SubjectPublicKeyInfoOwned::from_der(outer.value).map_err(|_| malformed())?;
    AaPublicKey::from_spki(&spki)
}

/// DG15 bytes for a key (tag 6F around its SubjectPublicKeyInfo).
pub fn encode_dg15(key: &AaPublicKey, explicit: bool) -> Result<Vec<u8>, ChipError> {
    let spki = key
        .to_spki(explicit)?
        .to_der()
        .map_err(|_| ChipError::Malformed {
            what: "DG15 public key",
        })?;
    Ok(tlv::encode(0x6F, &spki))
}

/// The result of active authentication when the chip answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AaOutcome {
    Valid,
    /// The signature does not verify: the chip may be a clone. The reason names the check.
    Invalid {
        reason: &'static str,
    },
}

/// Sends INTERNAL AUTHENTICATE with an 8-byte random challenge (under the current secure
/// messaging) and checks the signature with the DG15 key. Transport and status failures are
/// errors; a signature that does not verify is [`AaOutcome::Invalid`].
pub fn authenticate<T: ApduTransport>(
    channel: &mut Channel<T>,
    dg15_key: &AaPublicKey,
    aa_info: Option<&ActiveAuthenticationInfo>,
    rng: &mut dyn Rng,
) -> Result<AaOutcome, ChipError> {
    let mut challenge = [0u8; 8];
    rng.fill(&mut challenge);
    let signature = internal_authenticate(channel, &challenge)?;
    verify(dg15_key, aa_info, &challenge, &signature)
}

/// INTERNAL AUTHENTICATE over a given challenge (e.g. a backend's nonce, so that the backend
/// itself can check the chip is genuine); returns the chip's signature unchecked.
pub fn internal_authenticate<T: ApduTransport>(
    channel: &mut Channel<T>,
    challenge: &[u8],
) -> Result<Vec<u8>, ChipError> {
    let cmd = CommandApdu::new(0, ins::INTERNAL_AUTHENTICATE, 0, 0)
        .with_data(challenge.to_vec())
        .with_le(256);
    let resp = channel.send(&cmd)?;
    if !resp.is_ok() {
        return Err(ChipError::Status {
            command: "INTERNAL AUTHENTICATE",
            sw: resp.sw,
        });
    }
    Ok(resp.data)
}

/// Checks an active authentication signature over `challenge`.
pub fn verify(
    key: &AaPublicKey,
    aa_info: Option<&ActiveAuthenticationInfo>,
    challenge: &[u8],
    signature: &[u8],
) -> Result<AaOutcome, ChipError> {
    match key {
        AaPublicKey::Ec(point) => {
            let hash = match aa_info {
                None => HashAlg::Sha256,
                Some(info) => info.hash().ok_or_else(|| {
                    ChipError::Unsupported("active authentication signature algorithm".into())
                })?,
            };
            let plain = signature.len() == 2 * point.curve().field_len();
            let format = if plain {
                SignatureFormat::Plain
            } else {
                SignatureFormat::Der
            };
            Ok(if ec::verify(point, hash, challenge, signature, format) {
                AaOutcome::Valid
            } else {
                AaOutcome::Invalid {
                    reason: "ECDSA signature does not verify",
                }
            })
        }
        AaPublicKey::Rsa { modulus, exponent } => {
            Ok(verify_iso9796_2(modulus, exponent, challenge, signature))
        }
    }
}

fn to_u4096(bytes: &[u8]) -> Option<U4096> {
    let mut buf = [0u8; RSA_MAX_BYTES];
    let start = RSA_MAX_BYTES.checked_sub(bytes.len())?;
    buf.get_mut(start..)?.copy_from_slice(bytes);
    Some(U4096::from_be_slice(&buf))
}

/// `base^exp mod modulus` for an odd modulus of at most 4096 bits, as `len` big-endian bytes.
/// The operands are public (verification only).
pub fn rsa_modexp(modulus: &[u8], exp: &[u8], base: &[u8], len: usize) -> Option<Vec<u8>> {
    let n = Odd::new(to_u4096(modulus)?).into_option()?;
    let b = to_u4096(base)?;
    if b >= *n.as_ref() {
        return None;
    }
    let e = to_u4096(exp)?;
    let params = FixedMontyParams::new_vartime(n);
    let r = FixedMontyForm::new(&b, &params)
        .pow_bounded_exp(&e, e.bits())
        .retrieve();
    let bytes = r.to_be_bytes();
    let bytes: &[u8] = bytes.as_ref();
    bytes
        .get(RSA_MAX_BYTES.checked_sub(len)?..)
        .map(<[u8]>::to_vec)
}

/// ISO/IEC 10118-3 hash identifiers of the two-byte trailer `xx CC` (ISO/IEC 9796-2 §8.1.2).
fn hash_from_trailer_id(id: u8) -> Option<HashAlg> {
    match id {
        0x33 => Some(HashAlg::Sha1),
        0x34 => Some(HashAlg::Sha256),
        0x35 => Some(HashAlg::Sha512),
        0x36 => Some(HashAlg::Sha384),
        0x38 => Some(HashAlg::Sha224),
        _ => None,
    }
}

/// ISO/IEC 9796-2 scheme 1 verification with partial recovery: F = s^e mod n (or n − F when
/// its last nibble is not C), F = `6A || M1 || H || trailer`, H = hash(M1 || challenge).
fn verify_iso9796_2(modulus: &[u8], exponent: &[u8], challenge: &[u8], sig: &[u8]) -> AaOutcome {
    let invalid = |reason| AaOutcome::Invalid { reason };
    let k = modulus.len();
    if sig.is_empty() || sig.len() > k {
        return invalid("RSA signature length");
    }
    let Some(mut f) = rsa_modexp(modulus, exponent, sig, k) else {
        return invalid("RSA signature out of range");
    };
    if f.last().is_none_or(|b| b & 0x0F != 0x0C) {
        // The signer may have sent n − J^d (ISO/IEC 9796-2 with RSA, odd e).
        let (Some(n), Some(fv)) = (to_u4096(modulus), to_u4096(&f)) else {
            return invalid("RSA signature out of range");
        };
        let alt = n.wrapping_sub(&fv).to_be_bytes();
        let alt: &[u8] = alt.as_ref();
        f = alt.get(RSA_MAX_BYTES - k..).unwrap_or_default().to_vec();
    }
    let (hash, trailer_len) = match f.as_slice() {
        [.., 0xBC] => (HashAlg::Sha1, 1),
        [.., id, 0xCC] => match hash_from_trailer_id(*id) {
            Some(h) => (h, 2),
            None => return invalid("RSA signature names an unknown hash"),
        },
        _ => return invalid("RSA signature trailer"),
    };
    // Header: nibble 6 (partial recovery), padding nibbles B, then A (ISO/IEC 9796-2 §8.1.2).
    let nibbles = f.iter().flat_map(|b| [b >> 4, b & 0x0F]);
    let mut start = None;
    for (i, nib) in nibbles.enumerate() {
        match (i, nib) {
            (0, 0x6) => continue,
            (0, _) => return invalid("RSA signature header"),
            (_, 0xB) => continue,
            (_, 0xA) if i % 2 == 1 => {
                start = Some(i / 2 + 1);
                break;
            }
            _ => return invalid("RSA signature header"),
        }
    }
    let Some(start) = start else {
        return invalid("RSA signature header");
    };
    let hlen = hash.output_len();
    let Some(h_start) = k.checked_sub(trailer_len + hlen) else {
        return invalid("RSA signature too short");
    };
    let (Some(m1), Some(h)) = (f.get(start..h_start), f.get(h_start..k - trailer_len)) else {
        return invalid("RSA signature too short");
    };
    let expected = hash.digest(&[m1, challenge].concat());
    if eid_crypto::ct_eq(&expected, h) {
        AaOutcome::Valid
    } else {
        invalid("RSA signature does not verify")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec::{Curve, KeyPair};
    use eid_crypto::SecretKey;

    // A 1024-bit RSA test key generated for these tests (e = 65537).
    const N: &str = "ACB11A50B77B6100A62E7A979CF47DF152F80D0C2926004DBC2CC7347449A8383917EA7C51AE03174134FF1F377CDB0DE9667233CBF79E20AFFC6A397AE8ADBE6BC9B3FB493E892833F8AEDB338CFD790A43A72D14D45B5CD4EFED9B874C9CCFE4FE35298EA6701A050318E50C47981ADD8C5CC9D7D5E1089AE76E4D011017DB";
    const D: &str = "A31E668CF7C342CD2A2B9D00B8F0F8458AE962E9A9B48B74E1DA2A101207C12DDA400CED80F9AD51B9F6254587541855FBB1190E740B6101DF39BDDCAD8C3B0FA512B0B2EDB8D0282D2ADE6F1F8436B6B68E4801B1369B2EDE06091F61AB0E430C7719FA6961EBBECA07CA4CFE2B6868A771386C8BEAE3D23EF0819376E0AA81";

    fn rsa_sign(hash: HashAlg, challenge: &[u8]) -> Vec<u8> {
        let n = hex::decode(N).unwrap();
        let d = hex::decode(D).unwrap();
        let trailer: Vec<u8> = match hash {
            HashAlg::Sha1 => vec![0xBC],
            HashAlg::Sha256 => vec![0x34, 0xCC],
            _ => unreachable!(),
        };
        let m1_len = n.len() - 1 - hash.output_len() - trailer.len();
        let m1: Vec<u8> = (0..m1_len).map(|i| i as u8).collect();
        let h = hash.digest(&[&m1[..], challenge].concat());
        let f = [vec![0x6A], m1, h, trailer].concat();
        rsa_modexp(&n, &d, &f, n.len()).unwrap()
    }

    fn rsa_key() -> AaPublicKey {
        AaPublicKey::Rsa {
            modulus: hex::decode(N).unwrap(),
            exponent: vec![1, 0, 1],
        }
    }

    #[test]
    fn rsa_iso9796_2_valid_and_invalid() {
        let key = rsa_key();
        let ch = [1, 2, 3, 4, 5, 6, 7, 8];
        for hash in [HashAlg::Sha1, HashAlg::Sha256] {
            let sig = rsa_sign(hash, &ch);
            assert_eq!(verify(&key, None, &ch, &sig).unwrap(), AaOutcome::Valid);
            let mut other = ch;
            other[0] ^= 1;
            assert!(matches!(
                verify(&key, None, &other, &sig).unwrap(),
                AaOutcome::Invalid { .. }
            ));
            let mut bad = sig.clone();
            bad[10] ^= 1;
            assert!(matches!(
                verify(&key, None, &ch, &bad).unwrap(),
                AaOutcome::Invalid { .. }
            ));
            // n − s: F comes out as n − J and the verifier takes n − F.
            let n = to_u4096(&hex::decode(N).unwrap()).unwrap();
            let s = to_u4096(&sig).unwrap();
            let alt = n.wrapping_sub(&s).to_be_bytes();
            let alt: &[u8] = alt.as_ref();
            assert_eq!(
                verify(&key, None, &ch, &alt[RSA_MAX_BYTES - 128..]).unwrap(),
                AaOutcome::Valid
            );
        }
        for junk in [&[][..], &[0xFF; 129], &[0xFF; 128], &[1]] {
            assert!(matches!(
                verify(&key, None, &ch, junk).unwrap(),
                AaOutcome::Invalid { .. }
            ));
        }
    }

    #[test]
    fn dg15_round_trips_for_rsa_and_ec() {
        let ec = AaPublicKey::Ec(
            KeyPair::from_private(Curve::BrainpoolP384r1, SecretKey::new(vec![9; 48]))
                .unwrap()
                .public()
                .clone(),
        );
        for key in [rsa_key(), ec] {
            for explicit in [false, true] {
                let dg15 = encode_dg15(&key, explicit).unwrap();
                assert_eq!(parse_dg15(&dg15).unwrap(), key);
            }
        }
        assert!(parse_dg15(&[0x6F, 0x00]).is_err());
        assert!(parse_dg15(&[0x6E, 0x00]).is_err());
        assert!(parse_dg15(&[]).is_err());
    }
}
