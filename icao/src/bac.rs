//! Basic Access Control (ICAO 9303-11 §4.3): keys from the MRZ, mutual authentication with
//! 3DES and the retail MAC, then 3DES secure messaging.

use super::apdu::{CommandApdu, ins};
use super::channel::Channel;
use super::error::ChipError;
use super::sm::SecureMessaging;
use super::symmetric::{self, Cipher, KdfPurpose};
use super::transport::ApduTransport;
use eid_crypto::{Rng, SecretKey, ct_eq};
use sha1::{Digest, Sha1};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The MRZ fields that form the BAC/PACE password. Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct MrzKey {
    document_number: String,
    date_of_birth: String,
    date_of_expiry: String,
}

impl std::fmt::Debug for MrzKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MrzKey(redacted)")
    }
}

/// Whether `s` is a date that exists, as YYMMDD. The century is not written, so 29 February
/// is taken in any year divisible by 4 (2000 was a leap year, 1900 was not).
fn is_yymmdd(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && {
        let two = |r: std::ops::Range<usize>| s.get(r).and_then(|v| v.parse::<u8>().ok());
        let (Some(yy), Some(month), Some(day)) = (two(0..2), two(2..4), two(4..6)) else {
            return false;
        };
        crate::calendar::is_date(2000 + u16::from(yy), month, day)
    }
}

impl MrzKey {
    /// From a document number (letters, digits, `<`) and two YYMMDD dates.
    pub fn new(
        document_number: &str,
        date_of_birth: &str,
        date_of_expiry: &str,
    ) -> Result<Self, ChipError> {
        let doc = document_number.trim().to_ascii_uppercase();
        if doc.is_empty()
            || doc.len() > 22
            || !doc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'<')
        {
            return Err(ChipError::InvalidInput(
                "document number must be letters and digits".into(),
            ));
        }
        if !is_yymmdd(date_of_birth) || !is_yymmdd(date_of_expiry) {
            return Err(ChipError::InvalidInput("dates must be YYMMDD".into()));
        }
        Ok(MrzKey {
            document_number: doc,
            date_of_birth: date_of_birth.to_owned(),
            date_of_expiry: date_of_expiry.to_owned(),
        })
    }

    /// For a CCCD: the BAC document number is the last 9 digits of the 12-digit ID number.
    pub fn for_cccd(
        id_number: &str,
        date_of_birth: &str,
        date_of_expiry: &str,
    ) -> Result<Self, ChipError> {
        let id = id_number.trim();
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ChipError::InvalidInput(
                "the ID number must have 12 digits".into(),
            ));
        }
        MrzKey::new(
            id.get(3..).unwrap_or_default(),
            date_of_birth,
            date_of_expiry,
        )
    }

    /// The MRZ information: number, dates, each with its check digit (ICAO 9303-11 §9.7.2).
    pub fn mrz_information(&self) -> Zeroizing<String> {
        let mut doc = self.document_number.clone();
        while doc.len() < 9 {
            doc.push('<');
        }
        let mut s = String::with_capacity(doc.len() + 16);
        for field in [&doc, &self.date_of_birth, &self.date_of_expiry] {
            s.push_str(field);
            s.push(char::from(b'0' + check_digit(field)));
        }
        doc.zeroize();
        Zeroizing::new(s)
    }

    /// K_seed = first 16 bytes of SHA-1(MRZ information).
    pub fn key_seed(&self) -> SecretKey {
        let digest = Sha1::digest(self.mrz_information().as_bytes());
        SecretKey::new(digest.get(..16).map(<[u8]>::to_vec).unwrap_or_default())
    }

    /// The PACE password π for an MRZ: SHA-1 of the MRZ information (ICAO 9303-11 §9.7.3).
    pub fn pace_password(&self) -> SecretKey {
        SecretKey::new(Sha1::digest(self.mrz_information().as_bytes()).to_vec())
    }
}

/// ICAO 9303-3 §4.9 check digit: weights 7, 3, 1; digits as themselves, A–Z as 10–35, `<` as 0.
pub fn check_digit(field: &str) -> u8 {
    let sum: u32 = field
        .bytes()
        .zip([7u32, 3, 1].iter().cycle())
        .map(|(b, w)| {
            let v = match b {
                b'0'..=b'9' => u32::from(b - b'0'),
                b'A'..=b'Z' => u32::from(b - b'A') + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    (sum % 10) as u8
}

/// K_enc and K_mac of the mutual authentication.
pub struct BacKeys {
    pub k_enc: SecretKey,
    pub k_mac: SecretKey,
}

impl BacKeys {
    pub fn from_seed(seed: &SecretKey) -> Self {
        BacKeys {
            k_enc: symmetric::kdf(seed.as_bytes(), KdfPurpose::Enc, Cipher::Tdes),
            k_mac: symmetric::kdf(seed.as_bytes(), KdfPurpose::Mac, Cipher::Tdes),
        }
    }

    /// E(K_enc, data) || MAC(K_mac, E) as sent in EXTERNAL AUTHENTICATE and its answer.
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, ChipError> {
        let enc = symmetric::encrypt_cbc(Cipher::Tdes, self.k_enc.as_bytes(), &[0; 8], plain)
            .map_err(|_| ChipError::Malformed {
                what: "BAC cryptogram",
            })?;
        let mac = symmetric::mac(
            Cipher::Tdes,
            self.k_mac.as_bytes(),
            &symmetric::pad(&enc, 8),
        )
        .map_err(|_| ChipError::Malformed {
            what: "BAC cryptogram",
        })?;
        let mut out = enc;
        out.extend_from_slice(&mac);
        Ok(out)
    }

    /// Checks the MAC of a sealed cryptogram and decrypts it; `None` if the MAC is wrong.
    pub fn open(&self, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (enc, mac) = sealed.split_at_checked(sealed.len().checked_sub(8)?)?;
        let expected =
            symmetric::mac(Cipher::Tdes, self.k_mac.as_bytes(), &symmetric::pad(enc, 8)).ok()?;
        if !ct_eq(&expected, mac) {
            return None;
        }
        symmetric::decrypt_cbc(Cipher::Tdes, self.k_enc.as_bytes(), &[0; 8], enc)
            .ok()
            .map(Zeroizing::new)
    }
}

/// Session keys and SSC after a successful mutual authentication (ICAO 9303-11 §9.7.4).
pub fn session(k_ifd: &[u8], k_icc: &[u8], rnd_icc: &[u8], rnd_ifd: &[u8]) -> SecureMessaging {
    let seed: Zeroizing<Vec<u8>> =
        Zeroizing::new(k_ifd.iter().zip(k_icc).map(|(a, b)| a ^ b).collect());
    let mut ssc = rnd_icc.get(4..8).unwrap_or_default().to_vec();
    ssc.extend_from_slice(rnd_ifd.get(4..8).unwrap_or_default());
    SecureMessaging::new(
        Cipher::Tdes,
        symmetric::kdf(&seed, KdfPurpose::Enc, Cipher::Tdes),
        symmetric::kdf(&seed, KdfPurpose::Mac, Cipher::Tdes),
        &ssc,
    )
}

/// Runs BAC over `channel` (the eMRTD application must be selected) and starts secure messaging.
pub fn authenticate<T: ApduTransport>(
    channel: &mut Channel<T>,
    key: &MrzKey,
    rng: &mut dyn Rng,
) -> Result<(), ChipError> {
    channel.set_secure_messaging(None);
    let keys = BacKeys::from_seed(&key.key_seed());
    let challenge =
        channel.send_plain(&CommandApdu::new(0, ins::GET_CHALLENGE, 0, 0).with_le(8))?;
    if !challenge.is_ok() || challenge.data.len() != 8 {
        return Err(ChipError::Status {
            command: "GET CHALLENGE",
            sw: challenge.sw,
        });
    }
    let rnd_icc = challenge.data;
    let mut rnd_ifd = [0u8; 8];
    let mut k_ifd = Zeroizing::new([0u8; 16]);
    rng.fill(&mut rnd_ifd);
    rng.fill(k_ifd.as_mut());
    let mut s = Zeroizing::new(Vec::with_capacity(32));
    s.extend_from_slice(&rnd_ifd);
    s.extend_from_slice(&rnd_icc);
    s.extend_from_slice(k_ifd.as_ref());
    let cmd = CommandApdu::new(0, ins::EXTERNAL_AUTHENTICATE, 0, 0)
        .with_data(keys.seal(&s)?)
        .with_le(40);
    let resp = channel.send_plain(&cmd)?;
    if !resp.is_ok() {
        // 6300 / 6982 / 6A80: the card could not verify our cryptogram, i.e. a wrong MRZ key.
        return Err(ChipError::AccessDenied);
    }
    let plain = keys.open(&resp.data).ok_or(ChipError::AccessDenied)?;
    let (Some(rnd_icc2), Some(rnd_ifd2), Some(k_icc)) =
        (plain.get(..8), plain.get(8..16), plain.get(16..32))
    else {
        return Err(ChipError::Malformed {
            what: "BAC response",
        });
    };
    if !ct_eq(rnd_icc2, &rnd_icc) || !ct_eq(rnd_ifd2, &rnd_ifd) {
        return Err(ChipError::AccessDenied);
    }
    channel.set_secure_messaging(Some(session(k_ifd.as_ref(), k_icc, &rnd_icc, &rnd_ifd)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::{CommandApdu, ResponseApdu};
    use serde_json::Value;

    fn vectors() -> Value {
        let text = include_str!("../tests/vectors/icao9303.json");
        serde_json::from_str(text).unwrap()
    }

    fn hx(v: &Value, key: &str) -> Vec<u8> {
        hex::decode(v[key].as_str().unwrap()).unwrap()
    }

    /// Issue 12: dates that do not exist are refused (b40b263 took any day 1 to 31).
    #[test]
    fn yymmdd_dates_must_exist() {
        for good in ["000229", "240229", "690806", "991231", "010430", "010131"] {
            assert!(is_yymmdd(good), "{good}");
        }
        for bad in [
            "000231", "010229", "230229", "010431", "010631", "010931", "011131", "010230",
            "000000", "001301", "010100", "0102", "01023a", "+10101",
        ] {
            assert!(!is_yymmdd(bad), "{bad}");
        }
        assert!(MrzKey::new("L898902C", "690231", "940623").is_err());
    }

    #[test]
    fn check_digits_match_icao_examples() {
        assert_eq!(check_digit("L898902C<"), 3);
        assert_eq!(check_digit("690806"), 1);
        assert_eq!(check_digit("940623"), 6);
    }

    #[test]
    fn keys_match_icao_appendix_d() {
        let v = &vectors()["bac"];
        let key = MrzKey::new("L898902C", "690806", "940623").unwrap();
        assert_eq!(
            key.mrz_information().as_str(),
            v["mrz_information"].as_str().unwrap()
        );
        let seed = key.key_seed();
        assert_eq!(seed.as_bytes(), hx(v, "k_seed"));
        let keys = BacKeys::from_seed(&seed);
        assert_eq!(keys.k_enc.as_bytes(), hx(v, "k_enc_parity_adjusted"));
        assert_eq!(keys.k_mac.as_bytes(), hx(v, "k_mac_parity_adjusted"));

        let (rnd_ic, rnd_ifd, k_ifd) = (hx(v, "rnd_ic"), hx(v, "rnd_ifd"), hx(v, "k_ifd"));
        let sealed = keys
            .seal(&[rnd_ifd.clone(), rnd_ic.clone(), k_ifd.clone()].concat())
            .unwrap();
        assert_eq!(&sealed[32..], hx(v, "m_ifd"));
        assert_eq!(
            keys.open(&sealed).unwrap().as_slice(),
            [rnd_ifd.clone(), rnd_ic.clone(), k_ifd.clone()].concat()
        );

        let mut sm = session(&k_ifd, &hx(v, "k_icc"), &rnd_ic, &rnd_ifd);
        assert_eq!(sm.ssc(), hx(v, "ssc"));

        let steps = v["secure_messaging"].as_array().unwrap();
        // SELECT EF.COM
        let select = CommandApdu::new(0, 0xA4, 2, 0x0C).with_data(vec![0x01, 0x1E]);
        assert_eq!(
            sm.protect(&select).unwrap().to_bytes(),
            hx(&steps[0], "command")
        );
        let r = sm
            .unprotect(&ResponseApdu::parse(&hx(&steps[0], "response")).unwrap())
            .unwrap();
        assert!(r.is_ok() && r.data.is_empty());
        // READ BINARY of the first 4 bytes
        let read = CommandApdu::new(0, 0xB0, 0, 0).with_le(4);
        assert_eq!(
            sm.protect(&read).unwrap().to_bytes(),
            hx(&steps[1], "command")
        );
    }

    #[test]
    fn session_keys_match_icao_appendix_d() {
        let v = &vectors()["bac"];
        let seed: Vec<u8> = hx(v, "k_ifd")
            .iter()
            .zip(hx(v, "k_icc"))
            .map(|(a, b)| a ^ b)
            .collect();
        assert_eq!(
            symmetric::kdf(&seed, KdfPurpose::Enc, Cipher::Tdes).as_bytes(),
            hx(v, "ks_enc_parity_adjusted")
        );
        assert_eq!(
            symmetric::kdf(&seed, KdfPurpose::Mac, Cipher::Tdes).as_bytes(),
            hx(v, "ks_mac_parity_adjusted")
        );
    }

    #[test]
    fn cccd_document_number_is_last_nine_digits() {
        let a = MrzKey::for_cccd("079201234567", "010203", "310203").unwrap();
        let b = MrzKey::new("201234567", "010203", "310203").unwrap();
        assert_eq!(a, b);
        assert!(MrzKey::for_cccd("07920123456", "010203", "310203").is_err());
        assert!(MrzKey::for_cccd("079201234567", "011303", "310203").is_err());
        assert_eq!(format!("{a:?}"), "MrzKey(redacted)");
    }
}
