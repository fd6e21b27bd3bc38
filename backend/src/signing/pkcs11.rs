//! The PKCS#11 signer (`--signer pkcs11:MODULE_PATH`): user keys are generated on the token
//! (sensitive, not extractable) and found again by CKA_ID, which is all the database keeps.
//! The token is chosen by label and logged in with the user PIN, both from the environment.

use super::signer::{KeySigner, NewKey, signer_error};
use crate::error::Error;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use der::Decode;
use der::Encode;
use der::asn1::{ObjectIdentifier, OctetString};
use std::sync::Mutex;

/// Token label and user PIN.
pub const TOKEN_LABEL_ENV: &str = "EID_PKCS11_TOKEN_LABEL";
pub const PIN_ENV: &str = "EID_PKCS11_PIN";

const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// One logged-in session, used by one request at a time.
pub struct Pkcs11Signer {
    session: Mutex<Session>,
    _context: Pkcs11,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pkcs11Signer")
    }
}

fn p11(e: cryptoki::error::Error) -> Error {
    // The PKCS#11 return value only: no key material or PIN can be in it.
    signer_error(&format!("PKCS#11: {e}"))
}

impl Pkcs11Signer {
    /// Loads `module`, finds the token labelled `label` and logs in with `pin`.
    pub fn open(module: &str, label: &str, pin: &str) -> Result<Self, Error> {
        let context = Pkcs11::new(module).map_err(p11)?;
        // Another signer of this process may have initialised the module already (the issuer
        // keys and the remote signer on two tokens of one module, or a backend reopened).
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(())
            | Err(cryptoki::error::Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(p11(e)),
        }
        let slot = context
            .get_slots_with_token()
            .map_err(p11)?
            .into_iter()
            .find(|s| {
                context
                    .get_token_info(*s)
                    .is_ok_and(|t| t.label().trim_end() == label)
            })
            .ok_or_else(|| signer_error("no token with that label"))?;
        let session = context.open_rw_session(slot).map_err(p11)?;
        session
            .login(UserType::User, Some(&AuthPin::from(pin.to_owned())))
            .map_err(p11)?;
        Ok(Pkcs11Signer {
            session: Mutex::new(session),
            _context: context,
        })
    }

    /// Opens the module at `module` with the token label and PIN from the environment.
    pub fn from_env(module: &str) -> Result<Self, Error> {
        let label = std::env::var(TOKEN_LABEL_ENV)
            .map_err(|_| Error::Config(format!("{TOKEN_LABEL_ENV} is not set")))?;
        let pin = zeroize::Zeroizing::new(
            std::env::var(PIN_ENV).map_err(|_| Error::Config(format!("{PIN_ENV} is not set")))?,
        );
        Pkcs11Signer::open(module, &label, &pin)
    }

    fn session(&self) -> Result<std::sync::MutexGuard<'_, Session>, Error> {
        self.session
            .lock()
            .map_err(|_| signer_error("session poisoned"))
    }
}

impl KeySigner for Pkcs11Signer {
    fn kind(&self) -> &'static str {
        "pkcs11"
    }

    fn generate(&self) -> Result<NewKey, Error> {
        let id = crate::http::random_bytes(16)?;
        let params = SECP256R1
            .to_der()
            .map_err(|_| signer_error("curve parameters"))?;
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params),
            Attribute::Id(id.clone()),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Id(id.clone()),
        ];
        let session = self.session()?;
        let (public, _private) = session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &public_template,
                &private_template,
            )
            .map_err(p11)?;
        let point = session
            .get_attributes(public, &[AttributeType::EcPoint])
            .map_err(p11)?
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p),
                _ => None,
            })
            .ok_or_else(|| signer_error("no public point"))?;
        // CKA_EC_POINT is the DER OCTET STRING of the SEC1 point (PKCS#11 v2.40 §2.3.3); some
        // modules give the raw point.
        let public_key = match OctetString::from_der(&point) {
            Ok(o) if o.as_bytes().first() == Some(&4) => o.as_bytes().to_vec(),
            _ => point,
        };
        Ok(NewKey {
            handle: id,
            public_key,
        })
    }

    fn sign_hash(&self, handle: &[u8], hash: &[u8]) -> Result<Vec<u8>, Error> {
        let session = self.session()?;
        let key = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::KeyType(KeyType::EC),
                Attribute::Id(handle.to_vec()),
            ])
            .map_err(p11)?
            .into_iter()
            .next()
            .ok_or_else(|| signer_error("no key with that id on the token"))?;
        // CKM_ECDSA signs the hash as given and answers r || s (PKCS#11 v2.40 §2.3.1).
        let raw = session.sign(&Mechanism::Ecdsa, key, hash).map_err(p11)?;
        let sig = p256::ecdsa::Signature::from_slice(&raw)
            .map_err(|_| signer_error("malformed token signature"))?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}
