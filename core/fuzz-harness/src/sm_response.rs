//! Secure-messaging response checking with fixed session keys, for 3DES and AES: never panics.
//!
//! The first byte picks the cipher and the mode. Raw mode hands the rest to `unprotect` as a
//! response APDU (almost always a MAC failure or malformed data objects). MAC'd mode builds a
//! response with a correct MAC around an arbitrary cryptogram, so decryption and padding removal
//! see hostile input too. Mode bit 4 writes the cryptogram's length in a non-minimal form (as
//! some cards do); the MAC covers the objects as sent, so that must verify as well.

use eid_crypto::SecretKey;
use eid_crypto::tlv;
use eid_icao::apdu::ResponseApdu;
use eid_icao::sm::SecureMessaging;
use eid_icao::symmetric::{self, Cipher};

const CIPHERS: [Cipher; 4] = [Cipher::Tdes, Cipher::Aes128, Cipher::Aes192, Cipher::Aes256];

fn session(c: Cipher) -> SecureMessaging {
    SecureMessaging::new(
        c,
        SecretKey::new(vec![0x11; c.key_len()]),
        SecretKey::new(vec![0x22; c.key_len()]),
        &[],
    )
}

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let cipher = CIPHERS[usize::from(mode & 3)];
    let mut sm = session(cipher);
    if mode & 0x80 == 0 {
        if let Ok(resp) = ResponseApdu::parse(rest) {
            let _ = sm.unprotect(&resp);
            // A second call on the same session (counter moved on) must be as safe.
            let _ = sm.unprotect(&resp);
        }
        return;
    }
    // MAC'd mode: rest = SW1 SW2 and the value of DO'87' (mode bit 2 clear) or DO'85'.
    let Some((sw, value)) = rest.split_first_chunk::<2>() else {
        return;
    };
    let tag: u8 = if mode & 4 == 0 { 0x87 } else { 0x85 };
    let data_do = if mode & 8 != 0 {
        Vec::new()
    } else if mode & 0x10 == 0 {
        tlv::encode(u32::from(tag), value)
    } else {
        // A non-minimal length (82 LL LL), as some cards write: the MAC covers it as sent.
        let Ok(len) = u16::try_from(value.len()) else {
            return;
        };
        [&[tag, 0x82][..], &len.to_be_bytes(), value].concat()
    };
    let do99 = tlv::encode(0x99, sw);
    // The terminal checks the first response of a fresh session with SSC = 1.
    let bs = cipher.block_size();
    let mut input = vec![0u8; bs];
    input[bs - 1] = 1;
    input.extend_from_slice(&data_do);
    input.extend_from_slice(&do99);
    let mac = symmetric::mac(
        cipher,
        &[0x22; 32][..cipher.key_len()],
        &symmetric::pad(&input, bs),
    )
    .expect("fixed key has the right length");
    let mut body = data_do;
    body.extend_from_slice(&do99);
    body.extend_from_slice(&tlv::encode(0x8E, &mac));
    let resp = ResponseApdu::new(body, u16::from_be_bytes(*sw));
    match sm.unprotect(&resp) {
        Ok(plain) => assert_eq!(plain.sw, u16::from_be_bytes(*sw)),
        Err(e) => assert_ne!(e, eid_icao::sm::SmError::BadMac, "MAC built right"),
    }
}
