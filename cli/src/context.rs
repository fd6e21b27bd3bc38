//! What the commands share to reach the wallet core: the async runtime, the clock, the desktop
//! key store, a wallet in a directory, a backend client and the passcode.

use anyhow::{Context as _, Result, bail};
use eid_core::account::Passcode;
use eid_core::client::{BackendClient, RetryPolicy};
use eid_core::keys::{KeyStore, SoftwareKeyStore};
use eid_core::platform::{Clock, SystemClock};
use eid_core::wallet::Wallet;
use eid_crypto::SecretKey;
use sha2::{Digest, Sha256};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

/// Runs a future to completion on the core's runtime.
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    eid_core::runtime::block_on(f).context("no async runtime could be started")
}

/// Unix seconds now (0 on a clock set before 1970).
pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A client of the backend at `url`, with the default retry policy.
pub fn client(url: &str) -> Result<BackendClient> {
    Ok(BackendClient::new(url, RetryPolicy::default())?)
}

/// The desktop's software key store. There is no secure hardware on a desktop: the key file is
/// sealed under a key bound to this machine and directory (device binding, not secrecy: the
/// passcode is what protects the documents; see docs/adr/0006).
pub fn open_key_store(dir: &Path) -> Result<Arc<dyn KeyStore>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let machine = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let dir = std::fs::canonicalize(dir).with_context(|| dir.display().to_string())?;
    let secret = Sha256::new()
        .chain_update(b"eid-cli software key store v1\0")
        .chain_update(machine.trim().as_bytes())
        .chain_update(b"\0")
        .chain_update(dir.as_os_str().as_encoded_bytes())
        .finalize();
    let keys = SoftwareKeyStore::open(&dir.join("keystore.bin"), &SecretKey::new(secret.to_vec()))
        .map_err(|e| {
            anyhow::anyhow!("key store: {e} (was the wallet copied from another machine?)")
        })?;
    Ok(Arc::new(keys))
}

/// The wallet in `dir` (its key store beside it), on the system clock.
pub fn open_wallet(dir: &Path) -> Result<Wallet> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::default());
    Ok(Wallet::open(dir, open_key_store(dir)?, clock)?)
}

/// The passcode from the option/environment, or a prompt when a person is at the terminal.
pub fn passcode(given: Option<&str>) -> Result<Passcode> {
    let text = match given {
        Some(p) => p.to_owned(),
        None if std::io::stdin().is_terminal() => rpassword::prompt_password("Passcode: ")?,
        None => bail!("the passcode is needed: --passcode, EID_PASSCODE, or run on a terminal"),
    };
    Ok(Passcode::new(&text)?)
}
