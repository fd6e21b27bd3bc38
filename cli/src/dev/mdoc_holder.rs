//! `eid dev mdoc-holder`: an ISO/IEC 18013-5 holder serving the fixture mdocs, for trying and
//! testing readers (transports in `crate::mdoc::hold`). Consent is given automatically
//! (`--decline` refuses); the request is shown on standard error. `eid wallet mdoc present` does
//! the same with the wallet's stored MSOs.

use crate::context::now_s;
use crate::mdoc::hold::{self, HolderTransport};
use anyhow::Result;
use eid_core::mdoc::{Decision, HolderPolicy, PresentationRequest};
use eid_fixtures::mdoc::MdocFixtures;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct MdocHolderArgs {
    #[command(flatten)]
    transport: HolderTransport,
    /// Refuse readers that do not authenticate with a certificate of the fixture reader CA.
    #[arg(long)]
    require_reader_auth: bool,
    /// Decline the request (the reader gets a session termination, no data).
    #[arg(long)]
    decline: bool,
    /// Hold only the fixture mdocs of these docTypes (comma-separated), as a wallet without a
    /// licence, say: readers asking for another are told it is not returned.
    #[arg(long, value_delimiter = ',')]
    holds: Option<Vec<String>>,
}

pub fn run(args: MdocHolderArgs) -> Result<ExitCode> {
    let mut f = MdocFixtures::new()?;
    if let Some(holds) = &args.holds {
        f.wallet
            .mdocs
            .retain(|m| holds.iter().any(|d| d == m.doc_type));
    }
    let cas = f.reader.cas()?;
    let policy = HolderPolicy {
        reader_cas: Some(std::borrow::Cow::Borrowed(&cas)),
        reader_crl: None,
        require_reader_auth: args.require_reader_auth,
        now: now_s(),
        device_mac: false,
    };
    let decision = if args.decline {
        Decision::Decline
    } else {
        Decision::Accept
    };
    let mut consent = |r: &PresentationRequest| {
        hold::show(r);
        eprintln!("answer: {decision:?}");
        decision
    };
    hold::serve(&args.transport, policy, &mut f.wallet, &mut consent)?;
    Ok(ExitCode::SUCCESS)
}
