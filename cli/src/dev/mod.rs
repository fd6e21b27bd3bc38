//! Measurements and load-test preparation: `eid chip bench`, `eid chip field`, `eid qr-sizes`, `eid qr-bench`,
//! `eid load-prep`, `eid load-prep-redeem`, `eid load-activate`, `eid load-hub`, `eid dev mdoc-holder`. Not part of a citizen's or a desk's journey.

pub mod chip_bench;
pub mod chip_field;
pub mod load;
pub mod load_activate;
pub mod load_hub;
pub mod load_redeem;
pub mod mdoc_holder;
pub mod qr;

use clap::Subcommand;

/// `eid dev ...`: tools for developers and tests.
#[derive(Subcommand)]
pub enum DevCommand {
    /// An ISO/IEC 18013-5 holder serving the fixture mdocs over TCP (BLE stand-in) or as an NFC
    /// card in vpcd.
    MdocHolder(mdoc_holder::MdocHolderArgs),
}

pub fn run(cmd: DevCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        DevCommand::MdocHolder(args) => mdoc_holder::run(args),
    }
}
