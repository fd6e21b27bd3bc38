//! Pairwise subject identifiers (OpenID Connect Core 1.0 §8.1): HMAC-SHA256 under the hub's
//! pairwise key over the relying party's sector identifier (its registered DNS name) and the
//! citizen's ID number, base64url. The same citizen gets one `sub` at one relying party, login
//! after login, and unrelated ones at two; without the key nobody can link them or recover the
//! ID number.

use base64::Engine;

/// The `sub` of the citizen with `id_number` at the relying party of `sector` (its DNS name).
pub fn pairwise(key: &[u8; 32], sector: &str, id_number: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    // Length-prefixed, so no (sector, id) pair reads as another.
    ctx.update(&(sector.len() as u64).to_be_bytes());
    ctx.update(sector.as_bytes());
    ctx.update(id_number.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_pairwise_and_stable() {
        let key = [7u8; 32];
        let a = pairwise(&key, "bank.example.vn", "001099012345");
        assert_eq!(a, pairwise(&key, "bank.example.vn", "001099012345"));
        assert_ne!(a, pairwise(&key, "city.example.vn", "001099012345"));
        assert_ne!(a, pairwise(&key, "bank.example.vn", "001099012346"));
        assert_ne!(a, pairwise(&[8u8; 32], "bank.example.vn", "001099012345"));
        assert_eq!(a.len(), 43);
        assert!(!a.contains("001099012345"));
        // HMAC-SHA256 per RFC 4231 test case 2 shape, through the same framing: a known value.
        let k = [0u8; 32];
        assert_eq!(
            pairwise(&k, "", ""),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
                ring::hmac::sign(
                    &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &k),
                    &[0u8; 8]
                )
                .as_ref()
            )
        );
    }
}
