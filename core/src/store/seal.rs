//! Record encryption: AES-256-GCM (ring) with a random 96-bit nonce per write.
//!
//! Sealed value: `version:u8 || nonce:12 || ciphertext || tag:16`. The AAD binds the table, the
//! column and the row (its id, plus any other plaintext column that gives the value meaning), so
//! a value copied into another row or column, or a row whose plaintext key was edited, no longer
//! opens. Random nonces are safe here: at 2^32 writes under one key the collision chance is still
//! below 2^-32, far beyond a wallet's lifetime of writes.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use super::error::{Result, StoreError};
use eid_crypto::{OsRng, Rng, SecretKey};

const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + NONCE_LEN;
/// Domain separation from any other use of the same key.
const AAD_LABEL: &[u8] = b"eid-store";

/// Where a sealed value lives: table, column and the row's identifying plaintext.
pub(crate) struct Place<'a> {
    pub table: &'static str,
    pub column: &'static str,
    pub row: &'a [&'a [u8]],
}

impl Place<'_> {
    /// `label || version || (len:u32 || part)*`: length prefixes keep ("ab","c") and ("a","bc")
    /// apart.
    fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64);
        aad.extend_from_slice(AAD_LABEL);
        aad.push(VERSION);
        let parts = [self.table.as_bytes(), self.column.as_bytes()];
        for part in parts.iter().chain(self.row.iter()) {
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part);
        }
        aad
    }

    fn error(&self) -> StoreError {
        StoreError::Unseal {
            table: self.table,
            column: self.column,
        }
    }
}

/// Holds the data key as a ring AEAD key, only in memory.
pub(crate) struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(redacted)")
    }
}

impl Sealer {
    pub fn new(data_key: &SecretKey) -> Result<Self> {
        let bytes = data_key.as_bytes();
        if bytes.len() != 32 {
            return Err(StoreError::DataKeyLength);
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| StoreError::DataKeyLength)?;
        Ok(Sealer {
            key: LessSafeKey::new(key),
        })
    }

    pub fn seal(&self, place: &Place<'_>, plain: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill(&mut nonce);
        let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let body = out.get_mut(HEADER_LEN..).ok_or(StoreError::Seal)?;
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(place.aad()),
                body,
            )
            .map_err(|_| StoreError::Seal)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    pub fn open(&self, place: &Place<'_>, sealed: &[u8]) -> Result<Vec<u8>> {
        let (header, body) = sealed
            .split_at_checked(HEADER_LEN)
            .ok_or_else(|| place.error())?;
        let (version, nonce) = header.split_first().ok_or_else(|| place.error())?;
        if *version != VERSION || body.len() < TAG_LEN {
            return Err(place.error());
        }
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| place.error())?;
        let mut buf = body.to_vec();
        let len = self
            .key
            .open_in_place(nonce, Aad::from(place.aad()), &mut buf)
            .map_err(|_| place.error())?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(b: u8) -> Sealer {
        Sealer::new(&SecretKey::new(vec![b; 32])).unwrap()
    }

    const A: Place<'static> = Place {
        table: "documents",
        column: "body",
        row: &[b"doc-1", b"cccd"],
    };

    #[test]
    fn round_trips_with_fresh_nonces() {
        let s = sealer(1);
        let one = s.seal(&A, b"personal data").unwrap();
        let two = s.seal(&A, b"personal data").unwrap();
        assert_ne!(one, two);
        assert_eq!(one.len(), HEADER_LEN + 13 + TAG_LEN);
        assert_eq!(s.open(&A, &one).unwrap(), b"personal data");
        assert_eq!(s.open(&A, &s.seal(&A, b"").unwrap()).unwrap(), b"");
    }

    #[test]
    fn refuses_another_place_key_or_any_altered_byte() {
        let s = sealer(1);
        let sealed = s.seal(&A, b"personal data").unwrap();
        let others = [
            Place { table: "log", ..A },
            Place {
                column: "summary",
                ..A
            },
            Place {
                row: &[b"doc-2", b"cccd"],
                ..A
            },
            Place {
                row: &[b"doc-1", b"bhyt"],
                ..A
            },
            Place {
                row: &[b"doc-1c", b"ccd"],
                ..A
            },
        ];
        for place in &others {
            assert!(matches!(
                s.open(place, &sealed),
                Err(StoreError::Unseal { .. })
            ));
        }
        assert!(sealer(2).open(&A, &sealed).is_err());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x80;
            assert!(s.open(&A, &bad).is_err(), "byte {i}");
        }
        for len in 0..sealed.len() {
            assert!(s.open(&A, &sealed[..len]).is_err());
        }
        assert!(matches!(
            Sealer::new(&SecretKey::new(vec![0; 16])),
            Err(StoreError::DataKeyLength)
        ));
        assert_eq!(format!("{s:?}"), "Sealer(redacted)");
    }
}
