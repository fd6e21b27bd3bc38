//! `eid mdoc ...`: an ISO/IEC 18013-5 reader desk (`read`, over PC/SC NFC or the TCP stand-in for
//! BLE; `reader-cert`, its reader authentication certificate from the backend; `reader-revoke`) and the size/time table of the request presets (`sizes`). The holder side for tests is
//! `eid dev mdoc-holder`.

pub mod breakdown;
pub mod desk_cache;
pub mod desk_trust;
pub mod floor;
pub mod hold;
pub mod read;
pub mod reader_cert;
pub mod sizes;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum MdocCommand {
    /// Read an mdoc holder as a verifier desk: engagement, (signed) request, checked response.
    /// Prints {valid, doctype, elements, reasons, reader_authenticated, device_mac}; exit 0
    /// valid, 1 not.
    Read(Box<read::ReadArgs>),
    /// A reader key made here and its reader authentication certificate from the backend's
    /// reader CA (admin token; only the public key is sent). For `read --reader-key/--reader-cert`.
    ReaderCert(reader_cert::ReaderCertArgs),
    /// Revoke a reader certificate (admin token): listed in the reader CA's CRL, which wallets
    /// pull at sync; they then refuse that reader.
    ReaderRevoke(reader_cert::ReaderRevokeArgs),
    /// Engagement QR version, DeviceRequest and DeviceResponse bytes, modelled BLE time and NFC
    /// APDU count of the airport, hotel, age, licence and clinic (BHYT) requests (fixture mdocs).
    Sizes {
        #[arg(long)]
        json: bool,
        /// Also print where the bytes of a preset's DeviceResponse go (the airport's unless
        /// --preset).
        #[arg(long)]
        breakdown: bool,
        /// With --breakdown or --floor: the request preset (airport, hotel, age, licence,
        /// clinic).
        #[arg(long)]
        preset: Option<String>,
        /// With --breakdown: measure this IssuerSigned (CBOR, as `eid wallet mdoc export`
        /// writes what the backend issued) instead of the fixture mdoc; the preset is the
        /// first of its docType (airport for a PhotoID, licence for an mDL).
        #[arg(long, requires = "breakdown")]
        issuer_signed: Option<std::path::PathBuf>,
        /// Instead: a preset's DeviceResponse (the airport's unless --preset) built six ways,
        /// down to the smallest the standard allows and below, each measured and checked by
        /// our reader (docs/adr/0063).
        #[arg(long, conflicts_with = "breakdown")]
        floor: bool,
    },
}

pub fn run(cmd: MdocCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        MdocCommand::Read(args) => read::run(*args),
        MdocCommand::ReaderCert(args) => reader_cert::run(args),
        MdocCommand::ReaderRevoke(args) => reader_cert::revoke(args),
        MdocCommand::Sizes {
            json,
            floor: true,
            preset,
            ..
        } => sizes::floor(json, preset.as_deref()),
        MdocCommand::Sizes {
            json,
            breakdown,
            issuer_signed,
            preset,
            ..
        } => sizes::run(json, breakdown, issuer_signed.as_deref(), preset.as_deref()),
    }
}
