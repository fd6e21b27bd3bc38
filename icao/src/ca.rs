//! Chip authentication version 1 with ECDH or DH (ICAO 9303-11 §6.2, BSI TR-03110-1 §3.4):
//! proves the chip holds the private key of DG14 and replaces the secure-messaging keys (after
//! BAC or PACE alike), with 3DES (MSE:Set KAT) or AES (MSE:Set AT + GENERAL AUTHENTICATE).
//!
//! The chip does not answer with a proof. Success shows in the next protected exchange: the
//! caller MUST send one more command (e.g. SELECT or READ BINARY of the next file) and treat
//! [`SmError::BadMac`](super::sm::SmError::BadMac) on its response as "chip not genuine". A chip
//! that checks our MAC with other keys answers without secure messaging instead
//! ([`SmError::Unprotected`](super::sm::SmError::Unprotected), e.g. 6988): also "not genuine".
//! Either way [`Channel::send`] has already ended the session.

use super::apdu::{CommandApdu, ins};
use super::channel::Channel;
use super::error::ChipError;
use super::group::GroupKeyPair;
use super::pace::dynamic_auth_data;
use super::security_info::{
    ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo, KeyAgreement, SecurityInfos,
};
use super::sm::SecureMessaging;
use super::symmetric::{self, KdfPurpose};
use super::transport::ApduTransport;
use der::asn1::ObjectIdentifier;
use eid_crypto::Rng;
use eid_crypto::tlv;
use zeroize::Zeroizing;

/// The protocol and key to run from DG14: a ChipAuthenticationInfo with a public key of its key
/// agreement (matched by keyId when the info has one and several keys exist). Without
/// ChipAuthenticationInfo, id-CA-{ECDH,DH}-3DES-CBC-CBC is implied by the first usable key
/// (EAC 1.x chips, BSI TR-03110-3 A.1.1.2). Infos and keys this reader cannot use are passed
/// over.
pub fn choose(
    infos: &SecurityInfos,
) -> Option<(ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo)> {
    let keys: Vec<_> = infos
        .chip_authentication_keys()
        .filter(|k| k.public_key().is_ok())
        .collect();
    for ca in infos.chip_authentication() {
        let Some((agreement, _)) = ca.algorithm() else {
            continue;
        };
        let usable: Vec<_> = keys
            .iter()
            .filter(|k| k.agreement() == Some(agreement))
            .collect();
        let key = usable
            .iter()
            .find(|k| ca.key_id.is_none() || k.key_id == ca.key_id || usable.len() == 1);
        if let Some(key) = key {
            return Some((ca.clone(), (**key).clone()));
        }
    }
    if infos.chip_authentication().next().is_none() {
        let key = keys.first()?;
        let info = match key.agreement()? {
            KeyAgreement::Ecdh => ChipAuthenticationInfo::ecdh(symmetric::Cipher::Tdes, key.key_id),
            KeyAgreement::Dh => ChipAuthenticationInfo::dh(symmetric::Cipher::Tdes, key.key_id),
        };
        return Some((info, (*key).clone()));
    }
    None
}

/// Minimal big-endian encoding of a key reference.
fn key_ref(id: u32) -> Vec<u8> {
    let b = id.to_be_bytes();
    let start = b.iter().position(|x| *x != 0).unwrap_or(3);
    b.get(start..).unwrap_or(&[0]).to_vec()
}

/// Runs chip authentication under the current secure messaging and switches to the new keys
/// (SSC 0). See the module documentation for how success is confirmed.
pub fn authenticate<T: ApduTransport>(
    channel: &mut Channel<T>,
    ca_info: &ChipAuthenticationInfo,
    key: &ChipAuthenticationPublicKeyInfo,
    rng: &mut dyn Rng,
) -> Result<(), ChipError> {
    let Some((agreement, cipher)) = ca_info.algorithm() else {
        return Err(ChipError::Unsupported(
            "chip authentication protocol unknown".into(),
        ));
    };
    if channel.secure_messaging().is_none() {
        return Err(ChipError::InvalidInput(
            "chip authentication needs BAC or PACE first".into(),
        ));
    }
    let chip_key = key.public_key()?;
    if chip_key.group().agreement() != agreement {
        return Err(ChipError::Malformed {
            what: "chip authentication public key",
        });
    }
    // The ephemeral key on the static key's domain parameters; sent as a SEC1 point or as the
    // p-length DH value.
    let eph = GroupKeyPair::generate_on(&chip_key.group().generator(), rng);
    let eph_public = eph.public();
    let key_id = ca_info.key_id.or(key.key_id);
    let id_do = key_id
        .map(|id| tlv::encode(0x84, &key_ref(id)))
        .unwrap_or_default();

    if cipher == symmetric::Cipher::Tdes {
        // MSE:Set KAT (ICAO 9303-11 §6.2.4.1).
        let data = [tlv::encode(0x91, eph_public.to_bytes()), id_do].concat();
        let resp = channel.send(&CommandApdu::new(0, ins::MSE, 0x41, 0xA6).with_data(data))?;
        if !resp.is_ok() {
            return Err(ChipError::Status {
                command: "MSE:Set KAT",
                sw: resp.sw,
            });
        }
    } else {
        // MSE:Set AT + GENERAL AUTHENTICATE (ICAO 9303-11 §6.2.4.2).
        let oid: &ObjectIdentifier = &ca_info.protocol;
        let data = [tlv::encode(0x80, oid.as_bytes()), id_do].concat();
        let resp = channel.send(&CommandApdu::new(0, ins::MSE, 0x41, 0xA4).with_data(data))?;
        if !resp.is_ok() {
            return Err(ChipError::Status {
                command: "MSE:Set AT",
                sw: resp.sw,
            });
        }
        let cmd = CommandApdu::new(0, ins::GENERAL_AUTHENTICATE, 0, 0)
            .with_data(dynamic_auth_data(0x80, eph_public.to_bytes()))
            .with_le(256);
        let resp = channel.send(&cmd)?;
        if !resp.is_ok() {
            return Err(ChipError::Status {
                command: "GENERAL AUTHENTICATE",
                sw: resp.sw,
            });
        }
        // The response is an empty 7C template (CA version 1); tolerate a missing one.
        if !resp.data.is_empty() {
            tlv::read_exact(&resp.data, 0x7C).map_err(|_| ChipError::Malformed {
                what: "GENERAL AUTHENTICATE response",
            })?;
        }
    }

    let shared = eph.agree(&chip_key).map_err(|_| ChipError::Malformed {
        what: "chip authentication public key",
    })?;
    let shared = Zeroizing::new(shared.as_bytes().to_vec());
    drop(eph);
    channel.set_secure_messaging(Some(SecureMessaging::new(
        cipher,
        symmetric::kdf(&shared, KdfPurpose::Enc, cipher),
        symmetric::kdf(&shared, KdfPurpose::Mac, cipher),
        &[],
    )));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec::{Curve, KeyPair};
    use crate::security_info::SecurityInfo;
    use crate::symmetric::Cipher;
    use eid_crypto::SecretKey;

    #[test]
    fn chooses_key_by_id_and_defaults_to_3des() {
        let k1 = KeyPair::from_private(Curve::P256, SecretKey::new(vec![1; 32])).unwrap();
        let k2 = KeyPair::from_private(Curve::P256, SecretKey::new(vec![2; 32])).unwrap();
        let pk = |k: &KeyPair, id| {
            SecurityInfo::ChipAuthenticationPublicKey(
                ChipAuthenticationPublicKeyInfo::ecdh(k.public(), false, Some(id)).unwrap(),
            )
        };
        let infos = SecurityInfos {
            entries: vec![
                pk(&k1, 1),
                pk(&k2, 2),
                SecurityInfo::ChipAuthentication(ChipAuthenticationInfo::ecdh(
                    Cipher::Aes128,
                    Some(2),
                )),
            ],
        };
        let (ca, key) = choose(&infos).unwrap();
        assert_eq!(ca.cipher(), Some(Cipher::Aes128));
        assert_eq!(key.ec_public_key().unwrap(), *k2.public());

        let infos = SecurityInfos {
            entries: vec![pk(&k1, 1)],
        };
        let (ca, _) = choose(&infos).unwrap();
        assert_eq!(ca.cipher(), Some(Cipher::Tdes));
        assert!(choose(&SecurityInfos::default()).is_none());
        assert_eq!(key_ref(0), [0]);
        assert_eq!(key_ref(258), [1, 2]);
    }
}
