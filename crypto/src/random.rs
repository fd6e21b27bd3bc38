//! Randomness: the operating system's generator behind a trait, so tests inject fixed values.

/// Source of randomness for challenges and ephemeral keys; tests inject fixed values.
pub trait Rng {
    fn fill(&mut self, out: &mut [u8]);
}

/// The operating system's random number generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRng;

impl Rng for OsRng {
    fn fill(&mut self, out: &mut [u8]) {
        // getrandom fails only where there is no OS entropy source at all; a wallet cannot run
        // safely there, so stopping is the only correct answer.
        #[allow(clippy::expect_used)]
        getrandom::fill(out).expect("the operating system has no random number generator");
    }
}
