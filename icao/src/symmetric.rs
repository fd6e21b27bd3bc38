//! Symmetric primitives of ICAO 9303-11 §9: key derivation, the two cipher families of secure
//! messaging (2-key 3DES with the retail MAC, AES with CMAC), ISO 9797-1 padding.

use aes::{Aes128, Aes192, Aes256};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit};
use cmac::{Cmac, Mac};
use des::{Des, TdesEde2};
use eid_crypto::SecretKey;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CryptoError {
    #[error("key has the wrong length")]
    KeyLength,
    #[error("data is not a whole number of blocks")]
    NotBlockAligned,
    #[error("padding is invalid")]
    BadPadding,
}

/// The block cipher of a secure-messaging session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// Two-key triple DES in CBC mode with the ISO 9797-1 MAC algorithm 3 ("retail MAC").
    Tdes,
    Aes128,
    Aes192,
    Aes256,
}

impl Cipher {
    pub fn block_size(self) -> usize {
        match self {
            Cipher::Tdes => 8,
            _ => 16,
        }
    }

    pub fn key_len(self) -> usize {
        match self {
            Cipher::Tdes | Cipher::Aes128 => 16,
            Cipher::Aes192 => 24,
            Cipher::Aes256 => 32,
        }
    }

    /// Short name for reports ("3DES", "AES-128", ...).
    pub fn name(self) -> &'static str {
        match self {
            Cipher::Tdes => "3DES",
            Cipher::Aes128 => "AES-128",
            Cipher::Aes192 => "AES-192",
            Cipher::Aes256 => "AES-256",
        }
    }
}

/// Key derivation counters (ICAO 9303-11 §9.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdfPurpose {
    Enc = 1,
    Mac = 2,
    /// Derives the PACE password key K_π.
    Password = 3,
}

/// KDF(K, c) of ICAO 9303-11 §9.7.1: SHA-1 for 3DES and AES-128, SHA-256 for AES-192/256;
/// 3DES keys get their DES parity bits adjusted.
pub fn kdf(shared_secret: &[u8], purpose: KdfPurpose, cipher: Cipher) -> SecretKey {
    let counter = (purpose as u32).to_be_bytes();
    let mut digest: Zeroizing<Vec<u8>> = Zeroizing::new(match cipher {
        Cipher::Tdes | Cipher::Aes128 => Sha1::new()
            .chain_update(shared_secret)
            .chain_update(counter)
            .finalize()
            .to_vec(),
        Cipher::Aes192 | Cipher::Aes256 => Sha256::new()
            .chain_update(shared_secret)
            .chain_update(counter)
            .finalize()
            .to_vec(),
    });
    let mut key = digest
        .get(..cipher.key_len())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    digest.zeroize();
    if cipher == Cipher::Tdes {
        adjust_des_parity(&mut key);
    }
    SecretKey::new(key)
}

/// Sets the low bit of each byte so that every byte has odd parity (FIPS 46-3).
pub fn adjust_des_parity(key: &mut [u8]) {
    for b in key.iter_mut() {
        let ones = (*b & 0xFE).count_ones();
        *b = (*b & 0xFE) | u8::from(ones % 2 == 0);
    }
}

/// ISO 9797-1 padding method 2: `80` then zeros up to a whole block.
pub fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + block);
    out.extend_from_slice(data);
    out.push(0x80);
    while !out.len().is_multiple_of(block) {
        out.push(0);
    }
    out
}

/// Removes ISO 9797-1 method 2 padding.
pub fn unpad(data: &[u8]) -> Result<&[u8], CryptoError> {
    let end = data
        .iter()
        .rposition(|b| *b != 0)
        .ok_or(CryptoError::BadPadding)?;
    match data.get(end) {
        Some(0x80) => data.get(..end).ok_or(CryptoError::BadPadding),
        _ => Err(CryptoError::BadPadding),
    }
}

fn check_aligned(data: &[u8], cipher: Cipher) -> Result<(), CryptoError> {
    if data.len().is_multiple_of(cipher.block_size()) {
        Ok(())
    } else {
        Err(CryptoError::NotBlockAligned)
    }
}

macro_rules! cbc_run {
    ($mode:ident, $method:ident, $c:ty, $key:expr, $iv:expr, $buf:expr) => {{
        let len = $buf.len();
        cbc::$mode::<$c>::new_from_slices($key, $iv)
            .map_err(|_| CryptoError::KeyLength)?
            .$method::<NoPadding>(&mut $buf, len)
            .map(|_| ())
            .map_err(|_| CryptoError::NotBlockAligned)
    }};
}

/// CBC encryption of block-aligned data (the caller pads).
pub fn encrypt_cbc(
    cipher: Cipher,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check_aligned(data, cipher)?;
    let mut buf = data.to_vec();
    match cipher {
        Cipher::Tdes => cbc_run!(Encryptor, encrypt_padded, TdesEde2, key, iv, buf)?,
        Cipher::Aes128 => cbc_run!(Encryptor, encrypt_padded, Aes128, key, iv, buf)?,
        Cipher::Aes192 => cbc_run!(Encryptor, encrypt_padded, Aes192, key, iv, buf)?,
        Cipher::Aes256 => cbc_run!(Encryptor, encrypt_padded, Aes256, key, iv, buf)?,
    }
    Ok(buf)
}

/// CBC decryption of block-aligned data (the caller unpads).
pub fn decrypt_cbc(
    cipher: Cipher,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check_aligned(data, cipher)?;
    let mut buf = data.to_vec();
    let len = buf.len();
    macro_rules! dec {
        ($c:ty) => {
            cbc::Decryptor::<$c>::new_from_slices(key, iv)
                .map_err(|_| CryptoError::KeyLength)?
                .decrypt_padded::<NoPadding>(&mut buf)
                .map(|_| ())
                .map_err(|_| CryptoError::NotBlockAligned)?
        };
    }
    match cipher {
        Cipher::Tdes => dec!(TdesEde2),
        Cipher::Aes128 => dec!(Aes128),
        Cipher::Aes192 => dec!(Aes192),
        Cipher::Aes256 => dec!(Aes256),
    }
    debug_assert_eq!(buf.len(), len);
    Ok(buf)
}

/// Encrypts one block with the raw block cipher (the AES secure-messaging IV is E(K, SSC)).
pub fn encrypt_block(cipher: Cipher, key: &[u8], block: &[u8]) -> Result<Vec<u8>, CryptoError> {
    encrypt_cbc(cipher, key, &vec![0u8; cipher.block_size()], block)
}

/// The 8-byte secure-messaging MAC of already padded data: the retail MAC (ISO 9797-1 MAC
/// algorithm 3 with single DES) for 3DES, AES-CMAC truncated to 8 bytes for AES.
pub fn mac(cipher: Cipher, key: &[u8], padded: &[u8]) -> Result<[u8; 8], CryptoError> {
    check_aligned(padded, cipher)?;
    let mut out = [0u8; 8];
    match cipher {
        Cipher::Tdes => {
            let (ka, kb) = key.split_at_checked(8).ok_or(CryptoError::KeyLength)?;
            let des_a = Des::new_from_slice(ka).map_err(|_| CryptoError::KeyLength)?;
            let mut state = des::cipher::Block::<Des>::default();
            for chunk in padded.chunks_exact(8) {
                for (s, b) in state.iter_mut().zip(chunk) {
                    *s ^= b;
                }
                des_a.encrypt_block(&mut state);
            }
            // Final transformation: decrypt with Kb, encrypt with Ka (ISO 9797-1 §7.3 output 3).
            let last = encrypt_cbc_final(ka, kb, &state)?;
            out.copy_from_slice(&last);
        }
        Cipher::Aes128 | Cipher::Aes192 | Cipher::Aes256 => {
            macro_rules! cmac {
                ($c:ty) => {{
                    let mut m = <Cmac<$c> as KeyInit>::new_from_slice(key)
                        .map_err(|_| CryptoError::KeyLength)?;
                    m.update(padded);
                    let tag = m.finalize().into_bytes();
                    out.copy_from_slice(tag.get(..8).ok_or(CryptoError::KeyLength)?);
                }};
            }
            match cipher {
                Cipher::Aes128 => cmac!(Aes128),
                Cipher::Aes192 => cmac!(Aes192),
                _ => cmac!(Aes256),
            }
        }
    }
    Ok(out)
}

fn encrypt_cbc_final(ka: &[u8], kb: &[u8], state: &[u8]) -> Result<Vec<u8>, CryptoError> {
    use des::cipher::BlockCipherDecrypt;
    let des_a = Des::new_from_slice(ka).map_err(|_| CryptoError::KeyLength)?;
    let des_b = Des::new_from_slice(kb).map_err(|_| CryptoError::KeyLength)?;
    let mut block = des::cipher::Block::<Des>::default();
    block.copy_from_slice(state);
    des_b.decrypt_block(&mut block);
    des_a.encrypt_block(&mut block);
    Ok(block.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn padding_round_trips_and_rejects_garbage() {
        assert_eq!(pad(&[1, 2, 3], 8), [1, 2, 3, 0x80, 0, 0, 0, 0]);
        assert_eq!(pad(&[0; 8], 8).len(), 16);
        assert_eq!(unpad(&pad(&[1, 0, 0x80], 16)).unwrap(), [1, 0, 0x80]);
        assert!(unpad(&[1, 2, 0, 0]).is_err());
        assert!(unpad(&[0, 0]).is_err());
        assert!(unpad(&[]).is_err());
    }

    #[test]
    fn retail_mac_matches_icao_appendix_d() {
        // ICAO 9303-11 Appendix D.3: MAC over the padded EXTERNAL AUTHENTICATE cryptogram.
        let k_mac = h("7962D9ECE03D1ACD4C76089DCE131543");
        let e_ifd = h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2");
        let m = mac(Cipher::Tdes, &k_mac, &pad(&e_ifd, 8)).unwrap();
        assert_eq!(m.to_vec(), h("5F1448EEA8AD90A7"));
    }

    #[test]
    fn cbc_round_trips_for_every_cipher() {
        for c in [Cipher::Tdes, Cipher::Aes128, Cipher::Aes192, Cipher::Aes256] {
            let key = vec![0x42; c.key_len()];
            let iv = vec![7; c.block_size()];
            let data = pad(b"secure messaging", c.block_size());
            let enc = encrypt_cbc(c, &key, &iv, &data).unwrap();
            assert_ne!(enc, data);
            assert_eq!(decrypt_cbc(c, &key, &iv, &enc).unwrap(), data);
            assert_eq!(
                encrypt_cbc(c, &key, &iv, &data[1..]),
                Err(CryptoError::NotBlockAligned)
            );
            assert_eq!(
                encrypt_cbc(c, &key[1..], &iv, &data),
                Err(CryptoError::KeyLength)
            );
        }
    }

    #[test]
    fn kdf_lengths_and_parity() {
        let k = kdf(b"seed", KdfPurpose::Enc, Cipher::Tdes);
        assert_eq!(k.as_bytes().len(), 16);
        assert!(k.as_bytes().iter().all(|b| b.count_ones() % 2 == 1));
        assert_eq!(
            kdf(b"seed", KdfPurpose::Mac, Cipher::Aes192)
                .as_bytes()
                .len(),
            24
        );
        assert_eq!(
            kdf(b"seed", KdfPurpose::Mac, Cipher::Aes256)
                .as_bytes()
                .len(),
            32
        );
        assert_ne!(
            kdf(b"s", KdfPurpose::Enc, Cipher::Aes128),
            kdf(b"s", KdfPurpose::Mac, Cipher::Aes128)
        );
        assert_eq!(format!("{k:?}"), "SecretKey(16 bytes, redacted)");
    }
}
