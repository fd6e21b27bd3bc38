//! Compact JWE (RFC 7516) with `alg` ECDH-ES (direct key agreement, RFC 7518 §4.6) on P-256 and
//! `enc` A128GCM or A256GCM: the encrypted response of `direct_post.jwt` (OpenID4VP 1.0 §8.3).
//! ECDH on p256 (arithmetic), the Concat KDF (NIST SP 800-56A, one SHA-256 round) here, AES-GCM
//! from ring; the protected header (as sent) is the AEAD's additional data (docs/adr/0033).

use super::error::Oid4vpError;
use crate::sdjwt::{b64, jwk_from_point, point_from_jwk, unb64};
use eid_crypto::Rng;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::{PublicKey, SecretKey};
use ring::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Largest JWE accepted.
const MAX_JWE: usize = 1024 * 1024;

/// A content encryption algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    A128Gcm,
    A256Gcm,
}

impl Enc {
    pub fn name(self) -> &'static str {
        match self {
            Enc::A128Gcm => "A128GCM",
            Enc::A256Gcm => "A256GCM",
        }
    }

    pub fn from_name(name: &str) -> Option<Enc> {
        match name {
            "A128GCM" => Some(Enc::A128Gcm),
            "A256GCM" => Some(Enc::A256Gcm),
            _ => None,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Enc::A128Gcm => 16,
            Enc::A256Gcm => 32,
        }
    }

    fn aead(self) -> &'static ring::aead::Algorithm {
        match self {
            Enc::A128Gcm => &AES_128_GCM,
            Enc::A256Gcm => &AES_256_GCM,
        }
    }
}

use Oid4vpError::Encryption;

/// The Concat KDF of RFC 7518 §4.6.2 for direct key agreement: SHA-256 over
/// `counter(1) || Z || AlgorithmID(enc) || PartyUInfo(apu) || PartyVInfo(apv) || keydatalen`.
pub fn concat_kdf(
    z: &[u8],
    enc: &str,
    apu: &[u8],
    apv: &[u8],
    key_len: usize,
) -> Zeroizing<Vec<u8>> {
    let len32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
    let mut h = Sha256::new();
    h.update(1u32.to_be_bytes());
    h.update(z);
    for part in [enc.as_bytes(), apu, apv] {
        h.update(len32(part.len()));
        h.update(part);
    }
    h.update(len32(key_len * 8));
    let mut out = h.finalize().to_vec();
    out.truncate(key_len);
    Zeroizing::new(out)
}

/// Z: the x coordinate of `secret` times `public`.
fn ecdh(secret: &SecretKey, public: &PublicKey) -> Zeroizing<Vec<u8>> {
    let shared = (public.to_projective() * *secret.to_nonzero_scalar()).to_affine();
    let point = shared.to_sec1_point(false);
    Zeroizing::new(point.as_bytes().get(1..33).unwrap_or_default().to_vec())
}

fn public_key(point: &[u8]) -> Result<PublicKey, Oid4vpError> {
    PublicKey::from_sec1_bytes(point).map_err(|_| Encryption("not a P-256 key"))
}

/// The encryption key to use from a JWK set (`{"keys": [...]}`): the first P-256 key whose `use`
/// is absent or `enc` and whose `alg` is ECDH-ES (§8.3: `alg` must be present).
pub fn choose_key(jwks: &Value) -> Option<&Value> {
    jwks.get("keys")?.as_array()?.iter().find(|k| {
        let s = |n: &str| k.get(n).and_then(Value::as_str);
        s("alg") == Some("ECDH-ES")
            && s("use").is_none_or(|u| u == "enc")
            && point_from_jwk(&strip_metadata(k)).is_some()
    })
}

/// A JWK with only its key members (what `point_from_jwk` reads).
fn strip_metadata(jwk: &Value) -> Value {
    let mut out = Map::new();
    for name in ["kty", "crv", "x", "y", "d"] {
        if let Some(v) = jwk.get(name) {
            out.insert(name.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// Encrypts `plaintext` to the recipient's public JWK (P-256, `alg` ECDH-ES); the header carries
/// the JWK's `kid` when it has one.
pub fn encrypt(
    plaintext: &[u8],
    recipient: &Value,
    enc: Enc,
    rng: &mut dyn Rng,
) -> Result<String, Oid4vpError> {
    let point = point_from_jwk(&strip_metadata(recipient)).ok_or(Encryption("recipient key"))?;
    let recipient_key = public_key(&point)?;
    let ephemeral = loop {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill(bytes.as_mut());
        if let Ok(k) = SecretKey::from_slice(bytes.as_ref()) {
            break k;
        }
    };
    let epk_point = ephemeral.public_key().to_sec1_point(false);
    let epk = jwk_from_point(epk_point.as_bytes()).ok_or(Encryption("ephemeral key"))?;
    let mut header = Map::new();
    header.insert("alg".into(), "ECDH-ES".into());
    header.insert("enc".into(), enc.name().into());
    if let Some(kid) = recipient.get("kid").and_then(Value::as_str) {
        header.insert("kid".into(), kid.into());
    }
    header.insert("epk".into(), epk);
    let protected = b64(&serde_json::to_vec(&header).map_err(|_| Encryption("header"))?);
    let z = ecdh(&ephemeral, &recipient_key);
    let cek = concat_kdf(&z, enc.name(), &[], &[], enc.key_len());
    let key =
        LessSafeKey::new(UnboundKey::new(enc.aead(), &cek).map_err(|_| Encryption("content key"))?);
    let mut iv = [0u8; 12];
    rng.fill(&mut iv);
    let mut ciphertext = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(protected.as_bytes()),
            &mut ciphertext,
        )
        .map_err(|_| Encryption("seal"))?;
    Ok(format!(
        "{protected}..{}.{}.{}",
        b64(&iv),
        b64(&ciphertext),
        b64(tag.as_ref())
    ))
}

/// A decrypted JWE: its protected header and plaintext.
pub struct Decrypted {
    pub header: Map<String, Value>,
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// Decrypts a compact JWE made with ECDH-ES and A128GCM/A256GCM to `recipient`'s key. `kid`,
/// when given, must be the header's. A changed byte anywhere fails the tag.
pub fn decrypt(
    compact: &str,
    recipient: &SecretKey,
    kid: Option<&str>,
) -> Result<Decrypted, Oid4vpError> {
    if compact.len() > MAX_JWE {
        return Err(Encryption("too large"));
    }
    let parts: Vec<&str> = compact.split('.').collect();
    let [protected, encrypted_key, iv, ciphertext, tag] = parts.as_slice() else {
        return Err(Encryption("not five JWE parts"));
    };
    let header_bytes = unb64(protected).ok_or(Encryption("header"))?;
    let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(&header_bytes) else {
        return Err(Encryption("header"));
    };
    let text = |n: &str| header.get(n).and_then(Value::as_str);
    if text("alg") != Some("ECDH-ES") {
        return Err(Encryption("alg"));
    }
    let enc = text("enc")
        .and_then(Enc::from_name)
        .ok_or(Encryption("enc"))?;
    if header.contains_key("crit") || header.contains_key("zip") {
        return Err(Encryption("crit or zip header"));
    }
    if let Some(kid) = kid
        && text("kid") != Some(kid)
    {
        return Err(Encryption("kid"));
    }
    if !encrypted_key.is_empty() {
        return Err(Encryption("ECDH-ES carries no encrypted key"));
    }
    let epk = header
        .get("epk")
        .map(strip_metadata)
        .and_then(|k| point_from_jwk(&k))
        .ok_or(Encryption("epk"))?;
    let optional = |n: &str| match header.get(n) {
        None => Ok(Vec::new()),
        Some(v) => v.as_str().and_then(unb64).ok_or(Encryption("apu/apv")),
    };
    let (apu, apv) = (optional("apu")?, optional("apv")?);
    let iv: [u8; 12] = unb64(iv)
        .and_then(|v| v.try_into().ok())
        .ok_or(Encryption("iv"))?;
    let tag = unb64(tag)
        .filter(|t| t.len() == 16)
        .ok_or(Encryption("tag"))?;
    let mut buffer = unb64(ciphertext).ok_or(Encryption("ciphertext"))?;
    buffer.extend_from_slice(&tag);
    let z = ecdh(recipient, &public_key(&epk)?);
    let cek = concat_kdf(&z, enc.name(), &apu, &apv, enc.key_len());
    let key =
        LessSafeKey::new(UnboundKey::new(enc.aead(), &cek).map_err(|_| Encryption("content key"))?);
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key(iv),
            Aad::from(protected.as_bytes()),
            &mut buffer,
        )
        .map_err(|_| Encryption("does not decrypt"))?
        .to_vec();
    buffer.fill(0);
    Ok(Decrypted {
        header,
        plaintext: Zeroizing::new(plain),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(d: &str) -> SecretKey {
        SecretKey::from_slice(&unb64(d).unwrap()).unwrap()
    }

    /// RFC 7518 Appendix C: Alice's ephemeral key, Bob's static key, apu "Alice", apv "Bob",
    /// A128GCM: Z and the derived key are the RFC's.
    #[test]
    fn rfc7518_appendix_c_ecdh_es_key_agreement() {
        let alice = key("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo");
        let bob = key("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw");
        let alice_jwk = serde_json::json!({"kty": "EC", "crv": "P-256",
            "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
            "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"});
        let bob_jwk = serde_json::json!({"kty": "EC", "crv": "P-256",
            "x": "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
            "y": "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"});
        assert_eq!(
            point_from_jwk(&alice_jwk).unwrap(),
            alice.public_key().to_sec1_point(false).as_bytes()
        );
        let bob_pub = public_key(&point_from_jwk(&bob_jwk).unwrap()).unwrap();
        let alice_pub = public_key(&point_from_jwk(&alice_jwk).unwrap()).unwrap();
        let z = ecdh(&alice, &bob_pub);
        assert_eq!(
            *z,
            [
                158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
                110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196
            ]
        );
        assert_eq!(*ecdh(&bob, &alice_pub), *z);
        let derived = concat_kdf(&z, "A128GCM", b"Alice", b"Bob", 16);
        assert_eq!(b64(&derived), "VqqN6vgjbSBcIijNcacQGg");
        assert_eq!(
            *derived,
            [
                86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26
            ]
        );
    }
}
