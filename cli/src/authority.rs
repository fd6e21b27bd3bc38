//! `eid authority`: an issuing authority's clerk working the queue of citizen-entered data
//! (issue 18, docs/adr/0057) with the backend's admin token: list the queue, look at one
//! submission and save its attachments, verify it (the record is merged and re-issued) or
//! reject it with a reason the citizen sees.

use crate::context::{block_on, client};
use crate::output::print_json;
use anyhow::{Context as _, Result, bail};
use clap::{ArgGroup, Args, Subcommand};
use eid_core::api::{QueuedSubmission, SubmissionDecision, SubmissionState};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct AuthorityArgs {
    #[arg(long, global = true, env = "EID_BACKEND")]
    pub backend: Option<String>,
    /// The admin token (every authority's queue), or the authority's own clerk token (`eid
    /// serve --authority-token`: that authority's queue only).
    #[arg(
        long,
        visible_alias = "token",
        global = true,
        env = "EID_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    #[command(subcommand)]
    pub command: AuthorityCommand,
}

#[derive(Subcommand)]
pub enum AuthorityCommand {
    /// The queue, oldest first: id, kind, ID number, fields, attachments.
    Queue {
        /// The authority (the issuer id of the kinds' declarations: health, police, ...);
        /// every authority when absent.
        #[arg(long)]
        authority: Option<String>,
        /// pending, verified or rejected.
        #[arg(long, default_value = "pending")]
        state: String,
        #[arg(long)]
        json: bool,
    },
    /// One submission; `--out-dir` saves its attachments there (attachment-N.jpg/.png/.pdf).
    Show {
        id: String,
        #[arg(long)]
        out_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Verify (the record is merged and re-issued to the citizen) or reject with a reason.
    #[command(group(ArgGroup::new("decision").required(true).args(["verify", "reject"])))]
    Decide {
        id: String,
        #[arg(long)]
        verify: bool,
        /// Why, in words the citizen can act on.
        #[arg(long, value_name = "REASON")]
        reject: Option<String>,
        /// A note kept with a verification.
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn row(s: &QueuedSubmission) -> serde_json::Value {
    json!({
        "id": s.id,
        "kind": s.kind,
        "authority": s.authority,
        "state": s.state,
        "id_number": s.id_number,
        "fields": s.fields,
        "attachments": s.attachments.iter().map(|a| json!({"media_type": a.media_type, "size": a.size})).collect::<Vec<_>>(),
        "reason": s.reason,
        "created_at": s.created_at,
        "created": crate::wallet::utc(i64::try_from(s.created_at).unwrap_or(0).saturating_mul(1000)),
        "decided_at": s.decided_at,
    })
}

fn extension(media_type: &str) -> &'static str {
    match media_type {
        "image/png" => "png",
        "application/pdf" => "pdf",
        _ => "jpg",
    }
}

pub fn run(args: AuthorityArgs) -> Result<ExitCode> {
    let backend = args
        .backend
        .as_deref()
        .context("--backend URL (or EID_BACKEND) is needed")?;
    let token = args
        .admin_token
        .as_deref()
        .context("--token (the admin's or the authority's; or EID_ADMIN_TOKEN) is needed")?;
    let client = client(backend)?;
    match args.command {
        AuthorityCommand::Queue {
            authority,
            state,
            json,
        } => {
            let Some(state) = SubmissionState::parse(&state) else {
                bail!("--state must be pending, verified or rejected");
            };
            let queue = block_on(client.submission_queue(token, authority.as_deref(), state))??;
            if json {
                print_json(&queue.submissions.iter().map(row).collect::<Vec<_>>())?;
            } else if queue.submissions.is_empty() {
                println!("the queue is empty");
            } else {
                for s in &queue.submissions {
                    println!(
                        "{}  {}  {}  {}  {} attachment(s)  {}",
                        s.id,
                        s.kind,
                        s.authority,
                        s.id_number,
                        s.attachments.len(),
                        s.fields
                    );
                }
            }
        }
        AuthorityCommand::Show { id, out_dir, json } => {
            let detail = block_on(client.submission(token, &id))??;
            let mut saved = Vec::new();
            if let Some(dir) = &out_dir {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                for (i, a) in detail.attachments.iter().enumerate() {
                    let path =
                        dir.join(format!("attachment-{}.{}", i + 1, extension(&a.media_type)));
                    std::fs::write(&path, &a.content.0)
                        .with_context(|| format!("writing {}", path.display()))?;
                    saved.push(path.display().to_string());
                }
            }
            if json {
                let mut v = row(&detail.submission);
                v["saved"] = json!(saved);
                print_json(&v)?;
            } else {
                let s = &detail.submission;
                println!("{} {} {} {}", s.id, s.kind, s.state.as_str(), s.id_number);
                println!("{}", serde_json::to_string_pretty(&s.fields)?);
                for p in &saved {
                    println!("saved {p}");
                }
            }
        }
        AuthorityCommand::Decide {
            id,
            verify,
            reject,
            note,
            json,
        } => {
            let decision = match (verify, reject) {
                (true, None) => SubmissionDecision {
                    decision: SubmissionState::Verified,
                    reason: note,
                },
                (false, Some(reason)) => SubmissionDecision {
                    decision: SubmissionState::Rejected,
                    reason: Some(reason),
                },
                _ => bail!("give --verify or --reject REASON"),
            };
            let decided = block_on(client.decide_submission(token, &id, &decision))??;
            if json {
                print_json(&decided)?;
            } else {
                println!(
                    "{} {} ({} credential(s) re-issued)",
                    decided.id,
                    decided.state.as_str(),
                    decided.reissued
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
