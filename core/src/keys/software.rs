//! [`SoftwareKeyStore`]: keys held in process memory, optionally persisted in one file sealed
//! with AES-256-GCM under a caller-supplied secret (the CLI derives it from the passcode).
//!
//! It offers none of the hardware guarantees (keys are extractable by anyone who can read the
//! process or knows the secret); it exists so tests, desktop and the CLI run every path that
//! the phone's Keystore / Secure Enclave runs.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::{Zeroize, Zeroizing};

use super::{KeyError, KeyStore};
use eid_crypto::{OsRng, Rng, SecretKey};

/// First byte of a wrapped key, so the format can change without guessing.
const WRAP_VERSION: u8 = 1;
/// Key file header; also the AAD of the file's seal, so a file of another format is refused.
const FILE_MAGIC: &[u8; 8] = b"EIDKEYS\x01";
const TAG_LEN: usize = 16;
const AES_KEY_LEN: usize = 32;
const MAX_ALIAS_LEN: usize = 256;

const KIND_SIGNING: u8 = 1;
const KIND_WRAPPING: u8 = 2;

/// One stored key. `SigningKey` zeroizes its scalar on drop, `SecretKey` its bytes.
enum Material {
    Signing(SigningKey),
    Wrapping(SecretKey),
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Material::Signing(_) => f.write_str("Signing(redacted)"),
            Material::Wrapping(_) => f.write_str("Wrapping(redacted)"),
        }
    }
}

/// Where and under which key the key file is sealed.
struct Backing {
    path: PathBuf,
    file_key: LessSafeKey,
}

/// Software implementation of [`KeyStore`]: in memory, or persisted in one sealed file.
pub struct SoftwareKeyStore {
    keys: Mutex<BTreeMap<String, Material>>,
    backing: Option<Backing>,
}

impl std::fmt::Debug for SoftwareKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareKeyStore")
            .field("persistent", &self.backing.is_some())
            .finish_non_exhaustive()
    }
}

impl SoftwareKeyStore {
    /// A store that forgets its keys when dropped.
    pub fn in_memory() -> Self {
        SoftwareKeyStore {
            keys: Mutex::new(BTreeMap::new()),
            backing: None,
        }
    }

    /// Opens (or creates, empty) the key file at `path`, sealed under the 32-byte `secret`.
    /// A wrong secret or an altered file fails with [`KeyError::Crypto`].
    pub fn open(path: &Path, secret: &SecretKey) -> Result<Self, KeyError> {
        let file_key = aes_key(secret.as_bytes())?;
        let backing = Backing {
            path: path.to_path_buf(),
            file_key,
        };
        let keys = match fs::read(path) {
            Ok(sealed) => decode_keys(&open_file(&backing.file_key, sealed)?)?,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let keys = BTreeMap::new();
                // Written at once so a later open with another secret is refused, not mistaken
                // for a first run.
                persist(&backing, &keys)?;
                keys
            }
            Err(e) => return Err(io_error("reading the key file", &e)),
        };
        Ok(SoftwareKeyStore {
            keys: Mutex::new(keys),
            backing: Some(backing),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, BTreeMap<String, Material>>, KeyError> {
        self.keys
            .lock()
            .map_err(|_| KeyError::Unavailable("key store lock poisoned".into()))
    }

    fn save(&self, keys: &BTreeMap<String, Material>) -> Result<(), KeyError> {
        match &self.backing {
            Some(b) => persist(b, keys),
            None => Ok(()),
        }
    }

    /// Inserts a new key and persists; on a failed write the key is dropped again, so memory and
    /// file never disagree.
    fn insert(
        &self,
        keys: &mut BTreeMap<String, Material>,
        alias: &str,
        material: Material,
    ) -> Result<(), KeyError> {
        check_alias(alias)?;
        keys.insert(alias.to_owned(), material);
        if let Err(e) = self.save(keys) {
            keys.remove(alias);
            return Err(e);
        }
        Ok(())
    }
}

impl KeyStore for SoftwareKeyStore {
    fn create_signing_key(&self, alias: &str) -> Result<Vec<u8>, KeyError> {
        let mut keys = self.lock()?;
        if keys.contains_key(alias) {
            return Err(KeyError::AlreadyExists);
        }
        let key = generate_signing_key()?;
        let public = sec1_public(&key);
        self.insert(&mut keys, alias, Material::Signing(key))?;
        Ok(public)
    }

    fn public_key(&self, alias: &str) -> Result<Option<Vec<u8>>, KeyError> {
        match self.lock()?.get(alias) {
            None => Ok(None),
            Some(Material::Signing(key)) => Ok(Some(sec1_public(key))),
            Some(Material::Wrapping(_)) => Err(KeyError::Crypto),
        }
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self.lock()?.get(alias) {
            None => Err(KeyError::NotFound),
            Some(Material::Signing(key)) => {
                // SHA-256 is the digest p256 pairs with the curve; nonces per RFC 6979; low-S,
                // the one encoding verifiers accept (eid_crypto::es256).
                let signature: Signature = key.try_sign(message).map_err(|_| KeyError::Crypto)?;
                Ok(signature.normalize_s().to_der().as_bytes().to_vec())
            }
            Some(Material::Wrapping(_)) => Err(KeyError::Crypto),
        }
    }

    fn delete(&self, alias: &str) -> Result<(), KeyError> {
        let mut keys = self.lock()?;
        if let Some(old) = keys.remove(alias)
            && let Err(e) = self.save(&keys)
        {
            keys.insert(alias.to_owned(), old);
            return Err(e);
        }
        Ok(())
    }

    fn attestation(&self, alias: &str) -> Result<Option<Vec<Vec<u8>>>, KeyError> {
        // Software keys have no hardware to vouch for them.
        match self.lock()?.get(alias) {
            None => Err(KeyError::NotFound),
            Some(_) => Ok(None),
        }
    }

    fn wrap_key(&self, alias: &str, key: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut keys = self.lock()?;
        if !keys.contains_key(alias) {
            let fresh = SecretKey::new(random_vec(AES_KEY_LEN));
            self.insert(&mut keys, alias, Material::Wrapping(fresh))?;
        }
        match keys.get(alias) {
            Some(Material::Wrapping(k)) => wrap(&aes_key(k.as_bytes())?, alias, key),
            Some(Material::Signing(_)) => Err(KeyError::Crypto),
            None => Err(KeyError::NotFound),
        }
    }

    fn key_agreement(
        &self,
        alias: &str,
        peer: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, KeyError> {
        match self.lock()?.get(alias) {
            None => Err(KeyError::NotFound),
            Some(Material::Signing(key)) => {
                let peer = p256::PublicKey::from_sec1_bytes(peer).map_err(|_| KeyError::Crypto)?;
                use p256::elliptic_curve::point::AffineCoordinates as _;
                let shared = (peer.to_projective() * **key.as_nonzero_scalar()).to_affine();
                Ok(Some(Zeroizing::new(shared.x().to_vec())))
            }
            Some(Material::Wrapping(_)) => Err(KeyError::Crypto),
        }
    }

    fn unwrap_key(&self, alias: &str, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        match self.lock()?.get(alias) {
            Some(Material::Wrapping(k)) => unwrap(&aes_key(k.as_bytes())?, alias, wrapped),
            Some(Material::Signing(_)) => Err(KeyError::Crypto),
            None => Err(KeyError::NotFound),
        }
    }
}

fn check_alias(alias: &str) -> Result<(), KeyError> {
    if alias.is_empty() || alias.len() > MAX_ALIAS_LEN {
        return Err(KeyError::Unavailable(format!(
            "an alias must be 1 to {MAX_ALIAS_LEN} bytes"
        )));
    }
    Ok(())
}

fn random_vec(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    OsRng.fill(&mut v);
    v
}

fn random_nonce() -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    OsRng.fill(&mut n);
    n
}

fn generate_signing_key() -> Result<SigningKey, KeyError> {
    // A random 32-byte string is a valid scalar except with probability ~2^-32; retry then.
    for _ in 0..4 {
        let candidate = Zeroizing::new(random_vec(32));
        if let Ok(key) = SigningKey::from_slice(&candidate) {
            return Ok(key);
        }
    }
    Err(KeyError::Crypto)
}

fn sec1_public(key: &SigningKey) -> Vec<u8> {
    key.verifying_key().to_sec1_point(false).as_bytes().to_vec()
}

fn aes_key(bytes: &[u8]) -> Result<LessSafeKey, KeyError> {
    if bytes.len() != AES_KEY_LEN {
        return Err(KeyError::Crypto);
    }
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| KeyError::Crypto)
}

/// `version || nonce || AES-256-GCM(key) || tag`, AAD = alias, so a blob only unwraps under the
/// alias it was made for.
fn wrap(wrapping: &LessSafeKey, alias: &str, key: &[u8]) -> Result<Vec<u8>, KeyError> {
    let nonce = random_nonce();
    let mut buf = Zeroizing::new(key.to_vec());
    let tag = wrapping
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(alias.as_bytes()),
            &mut buf,
        )
        .map_err(|_| KeyError::Crypto)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len() + TAG_LEN);
    out.push(WRAP_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

fn unwrap(
    wrapping: &LessSafeKey,
    alias: &str,
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let (version, rest) = wrapped.split_first().ok_or(KeyError::Crypto)?;
    if *version != WRAP_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
        return Err(KeyError::Crypto);
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Crypto)?;
    let mut buf = Zeroizing::new(sealed.to_vec());
    let plain_len = wrapping
        .open_in_place(nonce, Aad::from(alias.as_bytes()), &mut buf)
        .map_err(|_| KeyError::Crypto)?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

/// Key file: `FILE_MAGIC || nonce || AES-256-GCM(entries) || tag`, AAD = `FILE_MAGIC`.
fn seal_file(file_key: &LessSafeKey, plain: Zeroizing<Vec<u8>>) -> Result<Vec<u8>, KeyError> {
    let nonce = random_nonce();
    let mut buf = plain;
    let tag = file_key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&FILE_MAGIC[..]),
            &mut buf,
        )
        .map_err(|_| KeyError::Crypto)?;
    let mut out = Vec::with_capacity(FILE_MAGIC.len() + NONCE_LEN + buf.len() + TAG_LEN);
    out.extend_from_slice(FILE_MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

fn open_file(file_key: &LessSafeKey, sealed: Vec<u8>) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let rest = sealed
        .strip_prefix(&FILE_MAGIC[..])
        .ok_or(KeyError::Crypto)?;
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(KeyError::Crypto);
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Crypto)?;
    let mut buf = Zeroizing::new(body.to_vec());
    let plain_len = file_key
        .open_in_place(nonce, Aad::from(&FILE_MAGIC[..]), &mut buf)
        .map_err(|_| KeyError::Crypto)?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

/// Entries as `count:u32 || { kind:u8 || alias_len:u16 || alias || key_len:u16 || key }*`.
fn encode_keys(keys: &BTreeMap<String, Material>) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    out.extend_from_slice(&(keys.len() as u32).to_be_bytes());
    for (alias, material) in keys {
        let (kind, mut secret) = match material {
            Material::Signing(k) => (KIND_SIGNING, Zeroizing::new(k.to_bytes().to_vec())),
            Material::Wrapping(k) => (KIND_WRAPPING, Zeroizing::new(k.as_bytes().to_vec())),
        };
        out.push(kind);
        // Aliases are checked to be at most MAX_ALIAS_LEN bytes, keys are 32 bytes.
        out.extend_from_slice(&(alias.len() as u16).to_be_bytes());
        out.extend_from_slice(alias.as_bytes());
        out.extend_from_slice(&(secret.len() as u16).to_be_bytes());
        out.extend_from_slice(&secret);
        secret.zeroize();
    }
    out
}

fn decode_keys(plain: &[u8]) -> Result<BTreeMap<String, Material>, KeyError> {
    let mut r = Cursor(plain);
    let count = u32::from_be_bytes(r.array()?);
    let mut keys = BTreeMap::new();
    for _ in 0..count {
        let [kind] = r.array::<1>()?;
        let alias_len = usize::from(u16::from_be_bytes(r.array()?));
        let alias = std::str::from_utf8(r.take(alias_len)?).map_err(|_| KeyError::Crypto)?;
        let key_len = usize::from(u16::from_be_bytes(r.array()?));
        let secret = r.take(key_len)?;
        let material = match kind {
            KIND_SIGNING => {
                Material::Signing(SigningKey::from_slice(secret).map_err(|_| KeyError::Crypto)?)
            }
            KIND_WRAPPING if secret.len() == AES_KEY_LEN => {
                Material::Wrapping(SecretKey::new(secret.to_vec()))
            }
            _ => return Err(KeyError::Crypto),
        };
        keys.insert(alias.to_owned(), material);
    }
    if !r.0.is_empty() {
        return Err(KeyError::Crypto);
    }
    Ok(keys)
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], KeyError> {
        let (head, tail) = self.0.split_at_checked(n).ok_or(KeyError::Crypto)?;
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], KeyError> {
        self.take(N)?.try_into().map_err(|_| KeyError::Crypto)
    }
}

fn persist(backing: &Backing, keys: &BTreeMap<String, Material>) -> Result<(), KeyError> {
    let sealed = seal_file(&backing.file_key, encode_keys(keys))?;
    write_atomic(&backing.path, &sealed).map_err(|e| io_error("writing the key file", &e))
}

/// Temp file in the same directory, fsync, rename over the target, fsync the directory: a crash
/// leaves either the old file or the new one, never a torn mix.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        // Owner-only: the file is sealed, but there is no reason to let others read it.
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    #[cfg(unix)]
    {
        // The rename itself is durable only once the directory entry is on disk.
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn io_error(what: &str, e: &std::io::Error) -> KeyError {
    // The kind only: an OS message could carry a path, and paths can carry a user name.
    KeyError::Unavailable(format!("{what}: {}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};

    fn secret(b: u8) -> SecretKey {
        SecretKey::new(vec![b; 32])
    }

    #[test]
    fn key_agreement_is_ecdh_with_the_signing_key() {
        use p256::elliptic_curve::point::AffineCoordinates as _;
        let store = SoftwareKeyStore::in_memory();
        let public = store.create_signing_key("mdoc").unwrap();
        let other = p256::SecretKey::from_slice(&[7; 32]).unwrap();
        let other_public = p256::ecdsa::VerifyingKey::from(other.public_key()).to_sec1_point(false);
        let ours = store
            .key_agreement("mdoc", other_public.as_bytes())
            .unwrap()
            .unwrap();
        // The other side computes the same x-coordinate from our public key.
        let mine = p256::PublicKey::from_sec1_bytes(&public).unwrap();
        let theirs = (mine.to_projective() * *other.to_nonzero_scalar()).to_affine();
        assert_eq!(ours.as_slice(), theirs.x().as_slice());
        assert_eq!(ours.len(), 32);
        // No key, a wrapping key, a point off the curve: refused, never a secret.
        assert!(matches!(
            store.key_agreement("none", other_public.as_bytes()),
            Err(KeyError::NotFound)
        ));
        store.wrap_key("wrap", &[1; 32]).unwrap();
        assert!(matches!(
            store.key_agreement("wrap", other_public.as_bytes()),
            Err(KeyError::Crypto)
        ));
        let mut bad = other_public.as_bytes().to_vec();
        bad[40] ^= 1;
        assert!(matches!(
            store.key_agreement("mdoc", &bad),
            Err(KeyError::Crypto)
        ));
    }

    fn verify(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public)
            .verify(message, signature)
            .is_ok()
    }

    /// The raw secret bytes of every key, to look for them on disk.
    fn secrets_of(store: &SoftwareKeyStore) -> Vec<Vec<u8>> {
        store
            .keys
            .lock()
            .unwrap()
            .values()
            .map(|m| match m {
                Material::Signing(k) => k.to_bytes().to_vec(),
                Material::Wrapping(k) => k.as_bytes().to_vec(),
            })
            .collect()
    }

    #[test]
    fn signs_and_ring_verifies() {
        let ks = SoftwareKeyStore::in_memory();
        let public = ks.create_signing_key("device").unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(public[0], 0x04);
        assert_eq!(ks.public_key("device").unwrap(), Some(public.clone()));
        let sig = ks.sign("device", b"challenge").unwrap();
        assert_eq!(sig[0], 0x30, "DER SEQUENCE");
        assert!(verify(&public, b"challenge", &sig));
        assert!(!verify(&public, b"challengf", &sig));
        assert_eq!(
            ks.create_signing_key("device"),
            Err(KeyError::AlreadyExists)
        );
        assert_eq!(ks.public_key("other").unwrap(), None);
        assert_eq!(ks.sign("other", b"x"), Err(KeyError::NotFound));
        assert_eq!(ks.attestation("device"), Ok(None));
        assert_eq!(ks.attestation("other"), Err(KeyError::NotFound));
        ks.delete("device").unwrap();
        ks.delete("device").unwrap();
        assert_eq!(ks.public_key("device").unwrap(), None);
        assert_ne!(ks.create_signing_key("device").unwrap(), public);
        assert!(matches!(
            ks.create_signing_key(""),
            Err(KeyError::Unavailable(_))
        ));
    }

    #[test]
    fn wraps_and_unwraps_only_under_the_same_alias() {
        let ks = SoftwareKeyStore::in_memory();
        let data_key = [0x5A; 32];
        let wrapped = ks.wrap_key("data", &data_key).unwrap();
        assert_eq!(wrapped.len(), 1 + NONCE_LEN + 32 + TAG_LEN);
        assert_eq!(&ks.unwrap_key("data", &wrapped).unwrap()[..], &data_key);
        // Random nonce: two wraps differ, both unwrap.
        let again = ks.wrap_key("data", &data_key).unwrap();
        assert_ne!(again, wrapped);
        assert_eq!(&ks.unwrap_key("data", &again).unwrap()[..], &data_key);

        ks.wrap_key("other", b"x").unwrap();
        assert_eq!(ks.unwrap_key("other", &wrapped), Err(KeyError::Crypto));
        assert_eq!(ks.unwrap_key("missing", &wrapped), Err(KeyError::NotFound));
        for i in 0..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                ks.unwrap_key("data", &bad),
                Err(KeyError::Crypto),
                "byte {i}"
            );
        }
        for len in 0..wrapped.len() {
            assert_eq!(
                ks.unwrap_key("data", &wrapped[..len]),
                Err(KeyError::Crypto)
            );
        }
    }

    #[test]
    fn kinds_do_not_mix() {
        let ks = SoftwareKeyStore::in_memory();
        ks.create_signing_key("sig").unwrap();
        ks.wrap_key("wrap", b"k").unwrap();
        assert_eq!(ks.wrap_key("sig", b"k"), Err(KeyError::Crypto));
        assert_eq!(ks.unwrap_key("sig", b"k"), Err(KeyError::Crypto));
        assert_eq!(ks.sign("wrap", b"m"), Err(KeyError::Crypto));
        assert_eq!(ks.public_key("wrap"), Err(KeyError::Crypto));
        assert_eq!(ks.create_signing_key("wrap"), Err(KeyError::AlreadyExists));
    }

    #[test]
    fn persists_across_reopen_and_refuses_a_wrong_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.bin");
        let (public, wrapped) = {
            let ks = SoftwareKeyStore::open(&path, &secret(1)).unwrap();
            (
                ks.create_signing_key("device").unwrap(),
                ks.wrap_key("data", b"store data key").unwrap(),
            )
        };
        let ks = SoftwareKeyStore::open(&path, &secret(1)).unwrap();
        assert_eq!(ks.public_key("device").unwrap(), Some(public.clone()));
        assert!(verify(&public, b"m", &ks.sign("device", b"m").unwrap()));
        assert_eq!(
            &ks.unwrap_key("data", &wrapped).unwrap()[..],
            b"store data key"
        );
        ks.delete("device").unwrap();
        drop(ks);
        let ks = SoftwareKeyStore::open(&path, &secret(1)).unwrap();
        assert_eq!(ks.public_key("device").unwrap(), None);
        assert!(!dir.path().join("keys.bin.tmp").exists());

        assert_eq!(
            SoftwareKeyStore::open(&path, &secret(2)).unwrap_err(),
            KeyError::Crypto
        );
        assert_eq!(
            SoftwareKeyStore::open(&path, &SecretKey::new(vec![1; 16])).unwrap_err(),
            KeyError::Crypto
        );
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(
            SoftwareKeyStore::open(&path, &secret(1)).unwrap_err(),
            KeyError::Crypto
        );
        fs::write(&path, b"short").unwrap();
        assert_eq!(
            SoftwareKeyStore::open(&path, &secret(1)).unwrap_err(),
            KeyError::Crypto
        );
    }

    #[test]
    fn an_empty_store_is_written_so_a_wrong_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.bin");
        drop(SoftwareKeyStore::open(&path, &secret(1)).unwrap());
        assert!(path.exists());
        assert_eq!(
            SoftwareKeyStore::open(&path, &secret(2)).unwrap_err(),
            KeyError::Crypto
        );
    }

    #[test]
    fn key_file_holds_no_private_key_in_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.bin");
        let ks = SoftwareKeyStore::open(&path, &secret(1)).unwrap();
        ks.create_signing_key("device-key-alias").unwrap();
        ks.wrap_key("data-key-alias", b"x").unwrap();
        let file = fs::read(&path).unwrap();
        let secrets = secrets_of(&ks);
        assert_eq!(secrets.len(), 2);
        for s in &secrets {
            assert_eq!(s.len(), 32);
            // Any 8-byte run of a secret would show a partial leak.
            for window in s.windows(8) {
                assert!(!file.windows(8).any(|w| w == window));
            }
        }
        for alias in [&b"device-key-alias"[..], b"data-key-alias"] {
            assert!(!file.windows(alias.len()).any(|w| w == alias));
        }
    }

    #[test]
    fn debug_is_redacted() {
        let ks = SoftwareKeyStore::in_memory();
        ks.create_signing_key("device").unwrap();
        ks.wrap_key("data", b"x").unwrap();
        let text = format!("{ks:?} {:?}", ks.keys.lock().unwrap());
        for s in secrets_of(&ks) {
            assert!(!text.contains(&hex::encode(&s)));
            assert!(!text.contains(&format!("{:?}", &s[..4])));
        }
        assert!(text.contains("redacted"));
    }
}
