//! Secure messaging (ICAO 9303-11 §9.8): protecting commands and checking responses, for the
//! 3DES and AES families. The same session type serves the terminal (our reader) and the
//! simulated chip in `eid-fixtures` (the `*_command` / `*_response` card-side methods).

use super::apdu::{CommandApdu, EXTENDED_MAX_LE, ResponseApdu, SHORT_MAX_LE};
use super::symmetric::{self, Cipher, CryptoError};
use eid_crypto::tlv::{self, Tlv};
use eid_crypto::{SecretKey, ct_eq};
use thiserror::Error;
use zeroize::Zeroize;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SmError {
    /// The card answered without secure messaging: it has dropped the session.
    #[error("card answered without secure messaging (status {0:04X})")]
    Unprotected(u16),
    #[error("secure messaging MAC check failed")]
    BadMac,
    #[error("secure messaging data objects malformed")]
    Malformed,
    #[error("secure messaging cryptogram invalid: {0}")]
    Crypto(#[from] CryptoError),
}

impl From<tlv::TlvError> for SmError {
    fn from(_: tlv::TlvError) -> Self {
        SmError::Malformed
    }
}

/// The data objects of a protected APDU, as received.
struct ProtectedDos<'a> {
    /// DO'85' or DO'87' (the cryptogram).
    data: Option<Tlv<'a>>,
    /// DO'99' (status word) in a response, DO'97' (Le) in a command.
    other: Option<Tlv<'a>>,
    /// DO'8E' (the MAC).
    mac: Tlv<'a>,
    /// Every byte before DO'8E' exactly as sent: what the MAC covers (ICAO 9303-11 §9.8.3,
    /// §9.8.4). Re-encoding the objects would fail on a card that writes non-minimal lengths.
    mac_input: &'a [u8],
}

impl<'a> ProtectedDos<'a> {
    /// Splits the data field of a protected APDU. Each object at most once, DO'8E' last and
    /// present; anything else is malformed.
    fn split(bytes: &'a [u8], other_tag: u32) -> Result<Self, SmError> {
        let (mut data, mut other, mut mac) = (None, None, None);
        let mut rest = bytes;
        while !rest.is_empty() {
            if mac.is_some() {
                return Err(SmError::Malformed);
            }
            let offset = bytes.len() - rest.len();
            let (t, after) = tlv::read(rest)?;
            let slot = match t.tag {
                0x85 | 0x87 => &mut data,
                0x8E => {
                    let input = bytes.get(..offset).ok_or(SmError::Malformed)?;
                    mac = Some((t, input));
                    rest = after;
                    continue;
                }
                tag if tag == other_tag => &mut other,
                _ => return Err(SmError::Malformed),
            };
            if slot.replace(t).is_some() {
                return Err(SmError::Malformed);
            }
            rest = after;
        }
        let (mac, mac_input) = mac.ok_or(SmError::Malformed)?;
        Ok(ProtectedDos {
            data,
            other,
            mac,
            mac_input,
        })
    }
}

/// How a chip writes a protected response (the simulated chip's quirks use the other forms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseForm {
    /// Leave DO'99' (the status word) out.
    pub without_status: bool,
    /// Write DO'87' with a long-form length (`87 81 LL`).
    pub long_length: bool,
}

/// Session keys and send sequence counter of one secure-messaging session.
pub struct SecureMessaging {
    cipher: Cipher,
    ks_enc: SecretKey,
    ks_mac: SecretKey,
    /// Send sequence counter, big-endian, one cipher block long.
    ssc: Vec<u8>,
}

impl std::fmt::Debug for SecureMessaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecureMessaging({}, keys redacted)", self.cipher.name())
    }
}

impl Drop for SecureMessaging {
    fn drop(&mut self) {
        self.ssc.zeroize();
    }
}

impl SecureMessaging {
    /// A session with the given keys. `ssc` is left-padded with zeros to the block size
    /// (BAC starts from RND.IC/RND.IFD, PACE and chip authentication from zero).
    pub fn new(cipher: Cipher, ks_enc: SecretKey, ks_mac: SecretKey, ssc: &[u8]) -> Self {
        let bs = cipher.block_size();
        let mut full = vec![0u8; bs.saturating_sub(ssc.len())];
        full.extend_from_slice(ssc.get(ssc.len().saturating_sub(bs)..).unwrap_or_default());
        SecureMessaging {
            cipher,
            ks_enc,
            ks_mac,
            ssc: full,
        }
    }

    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// The current send sequence counter (tests compare it with the ICAO examples).
    pub fn ssc(&self) -> &[u8] {
        &self.ssc
    }

    fn increment_ssc(&mut self) {
        for b in self.ssc.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }

    /// IV for the encrypted data object: zero for 3DES, E(KSenc, SSC) for AES (§9.8.6.1).
    fn iv(&self) -> Result<Vec<u8>, CryptoError> {
        match self.cipher {
            Cipher::Tdes => Ok(vec![0u8; 8]),
            _ => symmetric::encrypt_block(self.cipher, self.ks_enc.as_bytes(), &self.ssc),
        }
    }

    fn mac_over(&self, parts: &[&[u8]]) -> Result<[u8; 8], CryptoError> {
        let mut input = self.ssc.clone();
        for p in parts {
            input.extend_from_slice(p);
        }
        let padded = symmetric::pad(&input, self.cipher.block_size());
        input.zeroize();
        symmetric::mac(self.cipher, self.ks_mac.as_bytes(), &padded)
    }

    fn encrypt_do(&self, ins: u8, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if plain.is_empty() {
            return Ok(Vec::new());
        }
        let mut padded = symmetric::pad(plain, self.cipher.block_size());
        let enc = symmetric::encrypt_cbc(self.cipher, self.ks_enc.as_bytes(), &self.iv()?, &padded);
        padded.zeroize();
        let enc = enc?;
        // Odd INS (e.g. READ BINARY B1) carries BER-TLV data in DO'85' without the padding byte.
        Ok(if ins & 1 == 1 {
            tlv::encode(0x85, &enc)
        } else {
            tlv::encode_parts(0x87, &[&[0x01], &enc])
        })
    }

    fn decrypt_do(&self, tag: u32, value: &[u8]) -> Result<Vec<u8>, SmError> {
        let cryptogram = match tag {
            0x87 => match value.split_first() {
                Some((0x01, c)) => c,
                _ => return Err(SmError::Malformed),
            },
            _ => value,
        };
        let mut padded =
            symmetric::decrypt_cbc(self.cipher, self.ks_enc.as_bytes(), &self.iv()?, cryptogram)?;
        let plain = symmetric::unpad(&padded).map(<[u8]>::to_vec);
        padded.zeroize();
        Ok(plain?)
    }

    /// Protects a plain command APDU (terminal side).
    pub fn protect(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, SmError> {
        let cla = cmd.cla | 0x0C;
        let header = symmetric::pad(&[cla, cmd.ins, cmd.p1, cmd.p2], self.cipher.block_size());
        // The counter moves first: the AES IV is computed from the incremented SSC.
        self.increment_ssc();
        let do87 = self.encrypt_do(cmd.ins, &cmd.data)?;
        let do97 = match cmd.le {
            None => Vec::new(),
            Some(le) if le > SHORT_MAX_LE => {
                let le = if le >= EXTENDED_MAX_LE { 0 } else { le };
                tlv::encode(0x97, &[(le >> 8) as u8, le as u8])
            }
            Some(le) => tlv::encode(0x97, &[if le >= SHORT_MAX_LE { 0 } else { le as u8 }]),
        };
        let mac = self.mac_over(&[&header, &do87, &do97])?;
        let mut data = do87;
        data.extend_from_slice(&do97);
        data.extend_from_slice(&tlv::encode(0x8E, &mac));
        // Le of the protected APDU: the full response, short or extended like the plain one.
        let le = if cmd.needs_extended() || data.len() > 255 {
            EXTENDED_MAX_LE
        } else {
            SHORT_MAX_LE
        };
        Ok(CommandApdu {
            cla,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le: Some(le),
        })
    }

    /// Checks and decrypts a protected response (terminal side).
    pub fn unprotect(&mut self, resp: &ResponseApdu) -> Result<ResponseApdu, SmError> {
        if resp.data.is_empty() {
            return Err(SmError::Unprotected(resp.sw));
        }
        let dos = ProtectedDos::split(&resp.data, 0x99)?;
        // DO'99' is how the status word is MACed; a chip may leave it out (ISO 7816-4 §10.2),
        // and then only the plain status word says how the command went. The data stays MACed:
        // an altered status can at most cut a file short, which its hash in the SOD shows.
        let [sw1, sw2] = match dos.other {
            Some(do99) => match do99.value {
                &[sw1, sw2] => [sw1, sw2],
                _ => return Err(SmError::Malformed),
            },
            None => resp.sw.to_be_bytes(),
        };
        self.increment_ssc();
        let expected = self.mac_over(&[dos.mac_input])?;
        if !ct_eq(&expected, dos.mac.value) {
            return Err(SmError::BadMac);
        }
        let data = match dos.data {
            Some(t) => self.decrypt_do(t.tag, t.value)?,
            None => Vec::new(),
        };
        Ok(ResponseApdu::new(data, u16::from_be_bytes([sw1, sw2])))
    }

    /// Checks and decrypts a protected command (card side). Returns the plain command.
    pub fn unprotect_command(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, SmError> {
        if cmd.cla & 0x0C != 0x0C {
            return Err(SmError::Unprotected(0));
        }
        let dos = ProtectedDos::split(&cmd.data, 0x97)?;
        let header = symmetric::pad(
            &[cmd.cla, cmd.ins, cmd.p1, cmd.p2],
            self.cipher.block_size(),
        );
        self.increment_ssc();
        let expected = self.mac_over(&[&header, dos.mac_input])?;
        if !ct_eq(&expected, dos.mac.value) {
            return Err(SmError::BadMac);
        }
        let data = match dos.data {
            Some(t) => self.decrypt_do(t.tag, t.value)?,
            None => Vec::new(),
        };
        let le = match dos.other.map(|t| t.value) {
            None => None,
            Some([0]) => Some(SHORT_MAX_LE),
            Some([b]) => Some(usize::from(*b)),
            Some([0, 0]) => Some(EXTENDED_MAX_LE),
            Some([h, l]) => Some(usize::from(*h) << 8 | usize::from(*l)),
            Some(_) => return Err(SmError::Malformed),
        };
        Ok(CommandApdu {
            cla: cmd.cla & !0x0C,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le,
        })
    }

    /// Protects a plain response (card side).
    pub fn protect_response(
        &mut self,
        ins: u8,
        resp: &ResponseApdu,
    ) -> Result<ResponseApdu, SmError> {
        self.protect_response_as(ins, resp, ResponseForm::default())
    }

    /// Protects a plain response (card side) in one of the forms chips use.
    pub fn protect_response_as(
        &mut self,
        ins: u8,
        resp: &ResponseApdu,
        form: ResponseForm,
    ) -> Result<ResponseApdu, SmError> {
        self.increment_ssc();
        let mut data_do = self.encrypt_do(ins, &resp.data)?;
        if form.long_length
            && let Ok((t, _)) = tlv::read(&data_do)
            && t.tag == 0x87
            && t.value.len() < 0x100
        {
            data_do = [&[0x87, 0x81, t.value.len() as u8][..], t.value].concat();
        }
        let do99 = if form.without_status {
            Vec::new()
        } else {
            tlv::encode(0x99, &resp.sw.to_be_bytes())
        };
        let mac = self.mac_over(&[&data_do, &do99])?;
        let mut data = data_do;
        data.extend_from_slice(&do99);
        data.extend_from_slice(&tlv::encode(0x8E, &mac));
        Ok(ResponseApdu::new(data, resp.sw))
    }

    /// The most plaintext bytes one protected READ BINARY can return inside a response of
    /// `max_response` bytes (status word included): DO'87' + DO'99' + DO'8E' overhead.
    pub fn max_plain_response(cipher: Cipher, max_response: usize) -> usize {
        let bs = cipher.block_size();
        // SW (2) + DO'99' (4) + DO'8E' (10) + DO'87' tag (1) + length (up to 3) + padding byte 01.
        let room = max_response.saturating_sub(2 + 4 + 10 + 1 + 3 + 1);
        // Padded length must fit; padding always adds at least one byte.
        (room / bs * bs).saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(c: Cipher) -> (SecureMessaging, SecureMessaging) {
        let enc = vec![0x11; c.key_len()];
        let mac = vec![0x22; c.key_len()];
        let mk = || {
            SecureMessaging::new(
                c,
                SecretKey::new(enc.clone()),
                SecretKey::new(mac.clone()),
                &[],
            )
        };
        (mk(), mk())
    }

    #[test]
    fn terminal_and_card_agree_for_every_cipher() {
        for c in [Cipher::Tdes, Cipher::Aes128, Cipher::Aes192, Cipher::Aes256] {
            let (mut term, mut card) = session(c);
            for cmd in [
                CommandApdu::new(0, 0xA4, 2, 0x0C).with_data(vec![0x01, 0x1E]),
                CommandApdu::new(0, 0xB0, 0, 0).with_le(65536),
                CommandApdu::new(0, 0xB1, 0, 0)
                    .with_data(vec![0x54, 0x02, 0x80, 0x00])
                    .with_le(256),
                CommandApdu::new(0, 0x84, 0, 0),
            ] {
                let wire = term.protect(&cmd).unwrap();
                let wire = CommandApdu::parse(&wire.to_bytes()).unwrap();
                assert_eq!(card.unprotect_command(&wire).unwrap(), cmd);
                let resp = ResponseApdu::new(vec![0x5A; 300], 0x6282);
                let wire = card.protect_response(cmd.ins, &resp).unwrap();
                assert_eq!(term.unprotect(&wire).unwrap(), resp);
            }
        }
    }

    #[test]
    fn tampered_or_replayed_responses_fail() {
        let (mut term, mut card) = session(Cipher::Aes128);
        let cmd = CommandApdu::new(0, 0xB0, 0, 0).with_le(16);
        card.unprotect_command(&term.protect(&cmd).unwrap())
            .unwrap();
        let good = card
            .protect_response(0xB0, &ResponseApdu::new(vec![1; 16], 0x9000))
            .unwrap();
        for i in 0..good.data.len() {
            let mut bad = good.clone();
            bad.data[i] ^= 0x01;
            let mut t = SecureMessaging::new(
                Cipher::Aes128,
                SecretKey::new(vec![0x11; 16]),
                SecretKey::new(vec![0x22; 16]),
                &[1],
            );
            assert!(t.unprotect(&bad).is_err(), "byte {i}");
        }
        assert!(term.unprotect(&good).is_ok());
        // The same response again: the counter has moved on, so the MAC no longer matches.
        assert_eq!(term.unprotect(&good), Err(SmError::BadMac));
        assert_eq!(
            term.unprotect(&ResponseApdu::status(0x6987)),
            Err(SmError::Unprotected(0x6987))
        );
    }

    /// `87 81 LL ...` instead of `87 LL ...`: the same object with a non-minimal length.
    fn long_form(do87: &[u8]) -> Vec<u8> {
        let (t, rest) = tlv::read(do87).unwrap();
        assert!(rest.is_empty() && t.value.len() < 0x80);
        [&[0x87, 0x81, t.value.len() as u8][..], t.value].concat()
    }

    #[test]
    fn mac_covers_the_data_objects_as_received() {
        // ICAO 9303-11 §9.8: the MAC is over the objects as sent. A card that writes DO'87' with
        // a non-minimal length (87 81 09 ... for 9 bytes under 3DES) must still verify; the MAC
        // used to be computed over the re-encoded, minimal form.
        for c in [Cipher::Tdes, Cipher::Aes128, Cipher::Aes256] {
            let (mut term, mut card) = session(c);
            card.increment_ssc();
            let plain = [0x5A, 0x01, 0x02];
            let do87 = long_form(&card.encrypt_do(0xB0, &plain).unwrap());
            if c == Cipher::Tdes {
                assert_eq!(do87[..3], [0x87, 0x81, 0x09]);
            }
            let do99 = [0x99, 0x02, 0x90, 0x00];
            let mac = card.mac_over(&[&do87, &do99]).unwrap();
            let data = [&do87[..], &do99, &tlv::encode(0x8E, &mac)].concat();
            let resp = ResponseApdu::new(data, 0x9000);
            assert_eq!(
                term.unprotect(&resp).unwrap(),
                ResponseApdu::new(plain.to_vec(), 0x9000),
                "{c:?}"
            );

            // The same objects re-encoded minimally no longer match that MAC.
            let (mut term, _) = session(c);
            let minimal = {
                let (t, _) = tlv::read(&do87).unwrap();
                tlv::encode(0x87, t.value)
            };
            let data = [&minimal[..], &do99, &tlv::encode(0x8E, &mac)].concat();
            assert_eq!(
                term.unprotect(&ResponseApdu::new(data, 0x9000)),
                Err(SmError::BadMac)
            );
        }
    }

    #[test]
    fn command_mac_covers_the_data_objects_as_received() {
        for c in [Cipher::Tdes, Cipher::Aes128] {
            let (mut term, mut card) = session(c);
            term.increment_ssc();
            let cmd = CommandApdu::new(0x0C, 0xA4, 0x02, 0x0C);
            let do87 = long_form(&term.encrypt_do(cmd.ins, &[0x01, 0x1E]).unwrap());
            let do97 = [0x97, 0x01, 0x00];
            let header = symmetric::pad(&[0x0C, 0xA4, 0x02, 0x0C], c.block_size());
            let mac = term.mac_over(&[&header, &do87, &do97]).unwrap();
            let wire = cmd
                .with_data([&do87[..], &do97, &tlv::encode(0x8E, &mac)].concat())
                .with_le(256);
            let plain = card.unprotect_command(&wire).unwrap();
            assert_eq!(
                plain,
                CommandApdu::new(0, 0xA4, 0x02, 0x0C)
                    .with_data(vec![0x01, 0x1E])
                    .with_le(256),
                "{c:?}"
            );
        }
    }

    #[test]
    fn data_objects_out_of_place_are_malformed() {
        let (_, mut card) = session(Cipher::Aes128);
        card.increment_ssc();
        let do87 = card.encrypt_do(0xB0, &[1, 2, 3]).unwrap();
        let do99 = tlv::encode(0x99, &[0x90, 0x00]);
        let mac = card.mac_over(&[&do87, &do99]).unwrap();
        let do8e = tlv::encode(0x8E, &mac);
        for data in [
            // Something after the MAC: not covered by it.
            [&do87[..], &do99, &do8e, &do99].concat(),
            // The cryptogram twice.
            [&do87[..], &do87, &do99, &do8e].concat(),
            // No MAC at all.
            [&do87[..], &do99].concat(),
            // An object that has no place here.
            [&do87[..], &do99, &tlv::encode(0x97, &[0]), &do8e].concat(),
        ] {
            let (mut term, _) = session(Cipher::Aes128);
            assert_eq!(
                term.unprotect(&ResponseApdu::new(data, 0x9000)),
                Err(SmError::Malformed)
            );
        }
    }

    #[test]
    fn max_plain_response_fits() {
        for c in [Cipher::Tdes, Cipher::Aes128] {
            for max in [258usize, 1000, 65538] {
                let n = SecureMessaging::max_plain_response(c, max);
                let (_, mut card) = session(c);
                let r = card
                    .protect_response(0xB0, &ResponseApdu::new(vec![0; n], 0x9000))
                    .unwrap();
                assert!(r.to_bytes().len() <= max, "{c:?} {max} {n}");
                assert!(
                    n + c.block_size() * 2 > max.saturating_sub(25),
                    "{c:?} {max} {n} too small"
                );
            }
        }
    }
}
