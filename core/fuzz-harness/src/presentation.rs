//! QR presentations over arbitrary input: the `VN1:`/`VNT2:` text parser (and the refused
//! `VNT1:`), the payload decoders behind base45, presentation credentials and the whole offline
//! verifier never panic, and with nothing trusted nothing is ever valid.

use eid_core::credential::TrustList;
use eid_core::present::{
    OFFLINE_PREFIX, OLD_TOKEN_PREFIX, Presentation, QrPayload, TOKEN_PREFIX, Token,
    verify_presentation_credential,
};
use eid_core::verify::Verifier;

/// A fixed "now" (2026-01-01), so that runs are reproducible.
const NOW: u64 = 1_767_225_600;

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let verifier = Verifier::new(TrustList::new());
    let _ = Presentation::decode(data);
    let _ = Token::decode(data);
    assert!(verify_presentation_credential(data, &TrustList::new(), NOW).is_err());
    // The bytes as scanned text, and wrapped in each prefix so that the decoders behind base45
    // are reached from the text parser too.
    let mut texts = vec![String::from_utf8_lossy(data).into_owned()];
    for prefix in [OFFLINE_PREFIX, TOKEN_PREFIX, OLD_TOKEN_PREFIX] {
        texts.push(format!("{prefix}{}", base45::encode(data)));
    }
    for text in &texts {
        let _ = QrPayload::parse(text);
        for nonce in [None, Some(&b"desk nonce"[..])] {
            let verdict = verifier.verify_offline(text, NOW, nonce, None);
            assert!(!verdict.valid, "nothing is trusted");
            assert!(!verdict.reasons.is_empty(), "an invalid verdict says why");
        }
    }
}
