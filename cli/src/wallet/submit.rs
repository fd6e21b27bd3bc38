//! `eid wallet submit` and `eid wallet submissions` (issue 18, docs/adr/0057): the citizen's
//! record or change for the authority to verify (a vaccination given abroad, a temporary
//! residence) with its attachments, and the submissions' states and reasons.

use crate::context::{block_on, client};
use crate::output::print_json;
use anyhow::{Context as _, Result, bail};
use clap::Args;
use eid_core::account::Passcode;
use eid_core::api::{
    ATTACHMENT_MEDIA_TYPES, B64, MAX_ATTACHMENT_BYTES, SubmissionAttachment, SubmissionInfo,
};
use eid_core::wallet::Wallet;
use serde_json::json;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct SubmitArgs {
    /// The document kind's machine name: vaccination, residence.
    #[arg(long)]
    kind: String,
    /// A JSON file of the proposed top-level fields (`-`: standard input), typed as the kind's
    /// declaration says, e.g. {"doses": [{"vaccine": "213", "dose_number": 3, ...}]}.
    #[arg(long)]
    fields_json: PathBuf,
    /// A supporting file (JPEG, PNG or PDF, at most 1 MiB); repeat for more (at most 4).
    #[arg(long = "attach")]
    attach: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// The media type of a file, by its first bytes.
fn media_type(bytes: &[u8]) -> Option<&'static str> {
    ATTACHMENT_MEDIA_TYPES
        .into_iter()
        .find(|t| eid_core::api::attachment_matches(t, bytes))
}

fn attachment(path: &Path) -> Result<SubmissionAttachment> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("attachment {}", path.display()))?
        .len();
    if size > MAX_ATTACHMENT_BYTES as u64 {
        bail!(
            "attachment {} is too large: {size} bytes, at most {MAX_ATTACHMENT_BYTES}",
            path.display()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("attachment {}", path.display()))?;
    let Some(media_type) = media_type(&bytes) else {
        bail!(
            "attachment {} is not a JPEG, PNG or PDF file",
            path.display()
        );
    };
    Ok(SubmissionAttachment {
        media_type: media_type.to_owned(),
        content: B64(bytes),
    })
}

fn row(s: &SubmissionInfo) -> serde_json::Value {
    json!({
        "id": s.id,
        "kind": s.kind,
        "authority": s.authority,
        "state": s.state,
        "reason": s.reason,
        "fields": s.fields,
        "attachments": s.attachments,
        "created_at": s.created_at,
        "created": super::utc(i64::try_from(s.created_at).unwrap_or(0).saturating_mul(1000)),
        "decided_at": s.decided_at,
    })
}

/// The submission, with the passcode given as the citizen's consent (docs/adr/0057).
pub fn submit(
    w: &Wallet,
    pass: &Passcode,
    backend: Option<&str>,
    args: &SubmitArgs,
) -> Result<ExitCode> {
    let backend = backend.context("--backend URL is needed to submit")?;
    let text = if args.fields_json.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the fields from standard input")?;
        s
    } else {
        std::fs::read_to_string(&args.fields_json)
            .with_context(|| format!("reading {}", args.fields_json.display()))?
    };
    let fields: serde_json::Value =
        serde_json::from_str(&text).context("the fields are not JSON")?;
    let attachments = args
        .attach
        .iter()
        .map(|p| attachment(p))
        .collect::<Result<Vec<_>>>()?;
    let client = client(backend)?;
    let sent = block_on(w.submit(&client, &args.kind, &fields, attachments, pass))??;
    if args.json {
        print_json(&row(&sent))?;
    } else {
        println!(
            "{} {} ({}, authority {})",
            sent.id,
            sent.state.as_str(),
            sent.kind,
            sent.authority
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn submissions(w: &Wallet, backend: Option<&str>, json: bool) -> Result<ExitCode> {
    let backend = backend.context("--backend URL is needed: the list is kept by the backend")?;
    let client = client(backend)?;
    let list = block_on(w.submissions(&client))??;
    if json {
        print_json(&list.iter().map(row).collect::<Vec<_>>())?;
    } else if list.is_empty() {
        println!("no submissions");
    } else {
        for s in &list {
            let created = super::utc(
                i64::try_from(s.created_at)
                    .unwrap_or(0)
                    .saturating_mul(1000),
            );
            match &s.reason {
                Some(r) => println!(
                    "{}  {}  {}  {}  {}",
                    s.id,
                    created,
                    s.kind,
                    s.state.as_str(),
                    r
                ),
                None => println!("{}  {}  {}  {}", s.id, created, s.kind, s.state.as_str()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
