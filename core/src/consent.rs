//! Citizen consent for remote actions (docs/adr/0017): the OPAQUE (RFC 9807) cipher suite the
//! wallet and the backend share, its Argon2id key stretching, and the client side of a
//! registration and of a consent login.
//!
//! The backend keeps an OPAQUE record of the passcode per device binding; it never sees the
//! passcode. A consent login (KE1 → KE2 → KE3) proves the passcode to the backend, which counts
//! every started login, and gives both sides a session key; the proof of one action is a MAC
//! under that key over `crate::api::consent_input` of the action and its parameters.

use crate::account::passcode::{KdfParams, Passcode};
use crate::api::{B64, ConsentProof, consent_mac};
use opaque_ke::errors::{InternalError, ProtocolError};
use opaque_ke::generic_array::{ArrayLength, GenericArray};
use opaque_ke::{
    CipherSuite, ClientLogin, ClientLoginFinishParameters, ClientRegistration,
    ClientRegistrationFinishParameters, CredentialResponse, Identifiers, RegistrationResponse,
};
use thiserror::Error;
use zeroize::Zeroizing;

/// The OPAQUE context string both sides bind their logins to.
pub const CONTEXT: &[u8] = b"eid-consent-v1";

/// OPAQUE-3DH over ristretto255 with SHA-512 (RFC 9807's first suite), Argon2id as the KSF.
#[derive(Debug, Clone, Copy)]
pub struct Suite;

impl CipherSuite for Suite {
    type OprfCs = opaque_ke::Ristretto255;
    type KeyExchange = opaque_ke::TripleDh<opaque_ke::Ristretto255, sha2_v010::Sha512>;
    type Ksf = PasscodeKsf;
}

/// Argon2id (the workspace's argon2 0.6) as OPAQUE's key stretching function, with the
/// wallet's passcode cost. The input is the OPRF output, already unique per passcode and
/// server key, so the salt is fixed (zeros, as RFC 9807 leaves it to the suite).
#[derive(Debug, Clone, Copy)]
pub struct PasscodeKsf(pub KdfParams);

impl Default for PasscodeKsf {
    fn default() -> Self {
        PasscodeKsf(KdfParams::DEFAULT)
    }
}

impl opaque_ke::ksf::Ksf for PasscodeKsf {
    fn hash<L: ArrayLength<u8>>(
        &self,
        input: GenericArray<u8, L>,
    ) -> Result<GenericArray<u8, L>, InternalError> {
        let params = argon2::Params::new(
            self.0.memory_kib,
            self.0.passes,
            self.0.lanes,
            Some(L::USIZE),
        )
        .map_err(|_| InternalError::KsfError)?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = GenericArray::<u8, L>::default();
        argon
            .hash_password_into(&input, &[0u8; 16], &mut out)
            .map_err(|_| InternalError::KsfError)?;
        Ok(out)
    }
}

/// The operating system's generator, for OPAQUE (rand_core 0.6 traits).
#[derive(Debug, Clone, Copy, Default)]
pub struct SysRng;

impl opaque_ke::rand::RngCore for SysRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        eid_crypto::Rng::fill(&mut eid_crypto::OsRng, dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), opaque_ke::rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl opaque_ke::rand::CryptoRng for SysRng {}

/// Why a consent exchange failed on the wallet's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ConsentError {
    /// The backend's answer does not open with this passcode (or was tampered with).
    #[error("the passcode does not match the one registered at the backend")]
    WrongPasscode,
    #[error("consent protocol: {0}")]
    Protocol(&'static str),
}

fn protocol<T>(what: &'static str) -> impl FnOnce(T) -> ConsentError {
    move |_| ConsentError::Protocol(what)
}

/// A registration under way: the blinded passcode sent, the answer awaited.
pub struct Registration(ClientRegistration<Suite>);

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registration(..)")
    }
}

/// Starts registering `passcode`: returns the state and the `RegistrationRequest` bytes.
pub fn registration_start(passcode: &Passcode) -> Result<(Registration, Vec<u8>), ConsentError> {
    let start = ClientRegistration::<Suite>::start(&mut SysRng, passcode.as_bytes())
        .map_err(protocol("registration request"))?;
    Ok((
        Registration(start.state),
        start.message.serialize().to_vec(),
    ))
}

/// Finishes a registration with the backend's `RegistrationResponse`: the `RegistrationUpload`.
pub fn registration_finish(
    state: Registration,
    passcode: &Passcode,
    response: &[u8],
    kdf: KdfParams,
) -> Result<Vec<u8>, ConsentError> {
    let response = RegistrationResponse::<Suite>::deserialize(response)
        .map_err(protocol("registration response"))?;
    let ksf = PasscodeKsf(kdf);
    let done = state
        .0
        .finish(
            &mut SysRng,
            passcode.as_bytes(),
            response,
            ClientRegistrationFinishParameters::new(Identifiers::default(), Some(&ksf)),
        )
        .map_err(protocol("registration"))?;
    Ok(done.message.serialize().to_vec())
}

/// A consent login under way.
pub struct Login(ClientLogin<Suite>);

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Login(..)")
    }
}

/// Starts a consent login with `passcode`: the state and the KE1 (`CredentialRequest`) bytes.
pub fn login_start(passcode: &Passcode) -> Result<(Login, Vec<u8>), ConsentError> {
    let start = ClientLogin::<Suite>::start(&mut SysRng, passcode.as_bytes())
        .map_err(protocol("login request"))?;
    Ok((Login(start.state), start.message.serialize().to_vec()))
}

/// A finished login: the KE3 to send and the session key the proofs are made with.
pub struct LoggedIn {
    pub consent_id: String,
    finalization: Vec<u8>,
    session_key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggedIn")
            .field("consent_id", &self.consent_id)
            .finish_non_exhaustive()
    }
}

/// Finishes a login with the backend's KE2 (`CredentialResponse`). A wrong passcode shows
/// here, on the wallet: [`ConsentError::WrongPasscode`].
pub fn login_finish(
    state: Login,
    passcode: &Passcode,
    consent_id: &str,
    response: &[u8],
    kdf: KdfParams,
) -> Result<LoggedIn, ConsentError> {
    let response =
        CredentialResponse::<Suite>::deserialize(response).map_err(protocol("login response"))?;
    let ksf = PasscodeKsf(kdf);
    let done = state
        .0
        .finish(
            &mut SysRng,
            passcode.as_bytes(),
            response,
            ClientLoginFinishParameters::new(Some(CONTEXT), Identifiers::default(), Some(&ksf)),
        )
        .map_err(|e| match e {
            ProtocolError::InvalidLoginError => ConsentError::WrongPasscode,
            _ => ConsentError::Protocol("login"),
        })?;
    Ok(LoggedIn {
        consent_id: consent_id.to_owned(),
        finalization: done.message.serialize().to_vec(),
        session_key: Zeroizing::new(done.session_key.to_vec()),
    })
}

impl LoggedIn {
    /// The proof of consent to `action` with parameters of SHA-256 `params_digest`. Consumes
    /// the login: the backend accepts one proof per login.
    pub fn proof(self, action: &str, params_digest: &[u8]) -> ConsentProof {
        ConsentProof {
            mac: B64(consent_mac(&self.session_key, action, params_digest)),
            consent_id: self.consent_id,
            finalization: B64(self.finalization),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opaque_ke::{
        CredentialFinalization, CredentialRequest, RegistrationRequest, RegistrationUpload,
        ServerLogin, ServerLoginParameters, ServerRegistration, ServerSetup,
    };

    fn pass(s: &str) -> Passcode {
        Passcode::new(s).unwrap()
    }

    const KDF: KdfParams = KdfParams::FAST_FOR_TESTS;

    /// Registers `p` at a fresh server; returns the server's setup and record.
    fn register(p: &Passcode) -> (ServerSetup<Suite>, ServerRegistration<Suite>) {
        let setup = ServerSetup::<Suite>::new(&mut SysRng);
        let (state, request) = registration_start(p).unwrap();
        let response = ServerRegistration::<Suite>::start(
            &setup,
            RegistrationRequest::deserialize(&request).unwrap(),
            b"device-1",
        )
        .unwrap()
        .message
        .serialize()
        .to_vec();
        let upload = registration_finish(state, p, &response, KDF).unwrap();
        let record = ServerRegistration::finish(RegistrationUpload::deserialize(&upload).unwrap());
        (setup, record)
    }

    /// A login with `p` against the record; the server's session key when the KE3 verifies.
    fn login(
        setup: &ServerSetup<Suite>,
        record: &ServerRegistration<Suite>,
        p: &Passcode,
    ) -> Result<(LoggedIn, Vec<u8>), ConsentError> {
        let params = ServerLoginParameters {
            context: Some(CONTEXT),
            identifiers: Identifiers::default(),
        };
        let (state, ke1) = login_start(p)?;
        let server = ServerLogin::start(
            &mut SysRng,
            setup,
            Some(record.clone()),
            CredentialRequest::deserialize(&ke1).unwrap(),
            b"device-1",
            params.clone(),
        )
        .unwrap();
        let ke2 = server.message.serialize().to_vec();
        let done = login_finish(state, p, "c1", &ke2, KDF)?;
        let key = server
            .state
            .finish(
                CredentialFinalization::deserialize(&done.finalization).unwrap(),
                params,
            )
            .unwrap()
            .session_key
            .to_vec();
        Ok((done, key))
    }

    #[test]
    fn the_right_passcode_logs_in_and_both_sides_share_the_key() {
        let (setup, record) = register(&pass("123456"));
        let (done, server_key) = login(&setup, &record, &pass("123456")).unwrap();
        assert_eq!(done.session_key.as_slice(), server_key.as_slice());
        let proof = done.proof("account_unlock", &[7; 32]);
        assert!(crate::api::consent_mac_ok(
            &server_key,
            "account_unlock",
            &[7; 32],
            &proof.mac.0
        ));
        assert_eq!(proof.consent_id, "c1");
    }

    #[test]
    fn a_wrong_passcode_is_told_on_the_wallet() {
        let (setup, record) = register(&pass("123456"));
        assert_eq!(
            login(&setup, &record, &pass("654321")).unwrap_err(),
            ConsentError::WrongPasscode
        );
    }

    #[test]
    fn garbage_from_the_backend_is_a_protocol_error_not_a_panic() {
        let (state, _) = login_start(&pass("123456")).unwrap();
        assert!(matches!(
            login_finish(state, &pass("123456"), "c", &[0u8; 7], KDF),
            Err(ConsentError::Protocol(_))
        ));
        let (state, _) = registration_start(&pass("123456")).unwrap();
        assert!(registration_finish(state, &pass("123456"), &[1u8; 64], KDF).is_err());
    }
}
