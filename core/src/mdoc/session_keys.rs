//! Session encryption (ISO/IEC 18013-5 §9.1.1.5): ECDH between the ephemeral keys (on the curve
//! of EDeviceKey, [`super::ephemeral::ecdh`]), HKDF-SHA-256
//! with salt SHA-256(SessionTranscriptBytes) and info "SKReader"/"SKDevice" (and "EMacKey" for the
//! device MAC, §9.1.3.5), AES-256-GCM with the 12-byte IV `identifier (8) || counter (4)`:
//! identifier 0 for the reader's messages, 1 for the device's, counter from 1 per direction.
//!
//! HKDF, AES-GCM and HMAC come from ring, already in the mobile library.

use super::cose_key::CoseKey;
use super::ephemeral::ecdh;
use super::error::MdocError;
use eid_crypto::SecretKey;
use ring::{aead, hkdf};
use sha2::{Digest, Sha256};

/// Which side of the session we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Reader,
    Device,
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// HKDF-SHA-256(IKM = ECDH(private, peer), salt = SHA-256(SessionTranscriptBytes), info), 32 bytes.
pub(crate) fn derive(
    private: &SecretKey,
    peer: &CoseKey,
    transcript_bytes: &[u8],
    info: &[u8],
) -> Result<SecretKey, MdocError> {
    let ikm = ecdh(private, peer)?;
    derive_from_shared(ikm.as_bytes(), transcript_bytes, info)
}

/// [`derive`] from the ECDH shared secret (its x-coordinate) computed elsewhere, e.g. by the
/// key store that holds the device key (EMacKey, §9.1.3.5).
pub(crate) fn derive_from_shared(
    ikm: &[u8],
    transcript_bytes: &[u8],
    info: &[u8],
) -> Result<SecretKey, MdocError> {
    let salt = Sha256::digest(transcript_bytes);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(ikm);
    let info = [info];
    let okm = prk.expand(&info, Len32).map_err(|_| MdocError::Key)?;
    let mut out = vec![0u8; 32];
    okm.fill(&mut out).map_err(|_| MdocError::Key)?;
    Ok(SecretKey::new(out))
}

/// SKReader and SKDevice.
#[derive(Debug, Clone)]
pub struct SessionKeys {
    pub sk_reader: SecretKey,
    pub sk_device: SecretKey,
}

impl SessionKeys {
    /// Derives both keys from our ephemeral private scalar and the peer's ephemeral key.
    pub fn derive(
        private: &SecretKey,
        peer: &CoseKey,
        transcript_bytes: &[u8],
    ) -> Result<SessionKeys, MdocError> {
        Ok(SessionKeys {
            sk_reader: derive(private, peer, transcript_bytes, b"SKReader")?,
            sk_device: derive(private, peer, transcript_bytes, b"SKDevice")?,
        })
    }
}

/// One side of an encrypted session: seals what it sends, opens what it receives, each with its
/// own counter.
#[derive(Debug)]
pub struct SessionCipher {
    keys: SessionKeys,
    role: Role,
    sent: u32,
    received: u32,
}

fn iv(from: Role, counter: u32) -> [u8; 12] {
    let mut iv = [0u8; 12];
    if from == Role::Device {
        iv[7] = 1;
    }
    iv[8..].copy_from_slice(&counter.to_be_bytes());
    iv
}

fn aes_key(key: &SecretKey) -> Result<aead::LessSafeKey, MdocError> {
    aead::UnboundKey::new(&aead::AES_256_GCM, key.as_bytes())
        .map(aead::LessSafeKey::new)
        .map_err(|_| MdocError::Key)
}

impl SessionCipher {
    pub fn new(keys: SessionKeys, role: Role) -> SessionCipher {
        SessionCipher {
            keys,
            role,
            sent: 0,
            received: 0,
        }
    }

    fn key_of(&self, from: Role) -> &SecretKey {
        match from {
            Role::Reader => &self.keys.sk_reader,
            Role::Device => &self.keys.sk_device,
        }
    }

    /// Encrypts our next message (ciphertext || tag).
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, MdocError> {
        let counter = self
            .sent
            .checked_add(1)
            .ok_or(MdocError::CounterExhausted)?;
        let key = aes_key(self.key_of(self.role))?;
        let mut buf = plaintext.to_vec();
        key.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(iv(self.role, counter)),
            aead::Aad::empty(),
            &mut buf,
        )
        .map_err(|_| MdocError::Key)?;
        self.sent = counter;
        Ok(buf)
    }

    /// Decrypts the peer's next message; the counter moves only on success.
    pub fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, MdocError> {
        let peer = match self.role {
            Role::Reader => Role::Device,
            Role::Device => Role::Reader,
        };
        let counter = self
            .received
            .checked_add(1)
            .ok_or(MdocError::CounterExhausted)?;
        let key = aes_key(self.key_of(peer))?;
        let mut buf = ciphertext.to_vec();
        let plain = key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(iv(peer, counter)),
                aead::Aad::empty(),
                &mut buf,
            )
            .map_err(|_| MdocError::Decrypt)?
            .to_vec();
        self.received = counter;
        Ok(plain)
    }
}
