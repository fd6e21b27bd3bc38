//! ISO/IEC 18013-5 structures over arbitrary input: every mdoc parser and the reader's whole
//! DeviceResponse check (in the Annex D session, with its IACA trusted), an IssuerSigned's check
//! and the Token Status List (CWT) verification never panic; a parsed DeviceResponse or
//! DeviceRequest re-encodes to bytes that parse to the same value.

use eid_core::mdoc::{
    DeviceEngagement, DeviceRequest, DeviceResponse, IssuerSigned, MobileSecurityObject,
    ReaderContext, SessionData, SessionEstablishment, SessionTranscript, check_device_response,
    check_issuer_signed, verify_status_list_cwt,
};
use eid_crypto::SecretKey;
use eid_crypto::trust::TrustStore;
use std::sync::OnceLock;

/// Inside the Annex D example's validity (2021-01-01).
const NOW: u64 = 1_609_459_200;

/// The Annex D session the reader's check runs in: its transcript, its IACA, the reader's
/// ephemeral key. Made once: they are the same for every input.
struct AnnexD {
    transcript: SessionTranscript,
    iacas: TrustStore,
    reader: SecretKey,
}

fn annex_d() -> &'static AnnexD {
    static ANNEX_D: OnceLock<AnnexD> = OnceLock::new();
    ANNEX_D.get_or_init(|| {
        let hex = |text: &str| hex::decode(text.trim()).expect("vector is hex");
        let transcript = SessionTranscript::parse_bytes(&hex(include_str!(
            "../../tests/vectors/iso18013-5/session_transcript_bytes.hex"
        )))
        .expect("Annex D transcript");
        let mut iacas = TrustStore::new();
        iacas
            .add_der(&hex(include_str!(
                "../../tests/vectors/iso18013-5/iaca_cert.hex"
            )))
            .expect("Annex D IACA");
        let reader = SecretKey::new(hex(
            "de3b4b9e5f72dd9b58406ae3091434da48a6f9fd010d88fcb0958e2cebec947c",
        ));
        AnnexD {
            transcript,
            iacas,
            reader,
        }
    })
}

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let _ = DeviceEngagement::parse(data);
    let _ = DeviceEngagement::from_uri(&format!("mdoc:{}", String::from_utf8_lossy(data)));
    let _ = SessionEstablishment::parse(data);
    let _ = SessionData::parse(data);
    let _ = SessionTranscript::parse_bytes(data);
    let _ = IssuerSigned::parse(data);
    let _ = MobileSecurityObject::parse_bytes(data);
    if let Ok(r) = DeviceRequest::parse(data) {
        assert_eq!(
            DeviceRequest::parse(&r.encode()).expect("re-encoded request"),
            r
        );
    }
    if let Ok(r) = DeviceResponse::parse(data)
        && let Ok(bytes) = r.encode()
    {
        assert_eq!(
            DeviceResponse::parse(&bytes).expect("re-encoded response"),
            r
        );
    }
    let AnnexD {
        transcript,
        iacas,
        reader,
    } = annex_d();
    let ctx = ReaderContext {
        transcript,
        iacas,
        now: NOW,
        e_reader_private: Some(reader),
    };
    let _ = check_device_response(data, &ctx);
    if let Ok(signed) = IssuerSigned::parse(data) {
        let _ = check_issuer_signed(&signed, "org.iso.18013.5.1.mDL", iacas, NOW);
    }
    let uri = "https://backend.eid.invalid/v1/status-list/cwt";
    let _ = verify_status_list_cwt(data, uri, iacas, NOW);
}
