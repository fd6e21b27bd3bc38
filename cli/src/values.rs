//! Option values that more than one command parses: presentation profile names and verifier
//! nonces.

use anyhow::{Result, anyhow, bail};
use eid_core::present::Profile;

/// A profile by its name (`airport`, `clinic`, ...).
pub fn profile(name: &str) -> Result<Profile> {
    Profile::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Profile::ALL.iter().map(|p| p.as_str()).collect();
        anyhow!("unknown profile {name:?}; one of {}", names.join(", "))
    })
}

/// A verifier's nonce: hex, at most 64 bytes.
pub fn nonce(s: &str) -> Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("the nonce must be hex, at most 64 bytes");
    }
    Ok((0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16))
        .collect::<Result<_, _>>()?)
}
