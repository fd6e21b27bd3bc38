//! `eid wallet --data-dir D authorize URI [--json] [--decline]`: answers a relying party's
//! OpenID4VP request (docs/adr/0039). The request is fetched and checked by the core
//! (`Wallet::authorize_prepare`: RP CA chain, client id, registry, purpose); the relying party,
//! its purpose and exactly which claims go out are shown on standard error; on a terminal the
//! citizen answers y/N, otherwise the passcode given is the consent. `--decline` sends
//! `access_denied`. Refusals end with the reason and nothing sent. An answer to the hub of the
//! wallet's own backend (`--backend`, "Log in with e-ID") carries the citizen's consent proof,
//! made with the passcode (docs/adr/0058).

use crate::context::{block_on, client};
use anyhow::Result;
use clap::Args;
use eid_core::account::Passcode;
use eid_core::client::UreqTransport;
use eid_core::wallet::{AuthorizationPrompt, Consent, Wallet, claim_text};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

#[derive(Args)]
pub struct AuthorizeArgs {
    /// The `openid4vp://` (or `https` same-device) URI of the request (the RP's QR or link).
    pub uri: String,
    /// Decline: the relying party receives `access_denied` and nothing else.
    #[arg(long)]
    pub decline: bool,
    /// Print {rp, on_behalf_of, shown_as, purpose, claims, sent, redirect_uri} as JSON.
    #[arg(long)]
    pub json: bool,
}

fn show(prompt: &AuthorizationPrompt) {
    let rp = &prompt.rp;
    match &prompt.on_behalf_of {
        Some(b) => eprintln!(
            "{} (registration number {}, {}; via {}, {})",
            prompt.shown_as(),
            b.registration_number,
            b.client_id,
            rp.legal_name,
            rp.client_id
        ),
        None => eprintln!(
            "{} (registration number {}), {}",
            rp.legal_name, rp.registration_number, rp.client_id
        ),
    }
    eprintln!("purpose: {}", prompt.shown_purpose());
    if let Some(b) = &prompt.on_behalf_of {
        let passed: Vec<String> = b.claims.iter().map(claim_text).collect();
        eprintln!(
            "{} receives: {}",
            b.legal_name,
            if passed.is_empty() {
                "a pseudonymous login only".to_owned()
            } else {
                passed.join(", ")
            }
        );
    }
    eprintln!("asks for:");
    for c in &prompt.claims {
        eprintln!("  {}  (from {})", c.text(), c.credential);
    }
}

/// y/N on a terminal.
fn ask() -> Result<bool> {
    eprint!("Send these claims? [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

pub fn run(
    w: &Wallet,
    pass: &Passcode,
    backend: Option<&str>,
    args: &AuthorizeArgs,
) -> Result<ExitCode> {
    let http = UreqTransport::new();
    let prompt = w.authorize_prepare(&args.uri, &http)?;
    show(&prompt);
    let consent = !args.decline && (!std::io::stdin().is_terminal() || ask()?);
    // The hub of the wallet's own backend takes the answer with the citizen's consent proof.
    let hub = backend
        .map(client)
        .transpose()?
        .filter(|c| prompt.answers_hub_of(c));
    let sent = if consent {
        match &hub {
            Some(api) => block_on(w.authorize_answer_hub(&prompt, pass, api, &http))??,
            None => w.authorize_answer(&prompt, Consent::Passcode(pass), &http)?,
        }
    } else {
        w.authorize_decline(&prompt, &http)?
    };
    if args.json {
        let claims: Vec<_> = prompt
            .claims
            .iter()
            .map(|c| json!({"query_id": c.query_id, "credential": c.credential, "format": c.format, "path": c.text()}))
            .collect();
        crate::output::print_json(&json!({
            "rp": {
                "client_id": prompt.rp.client_id,
                "legal_name": prompt.rp.legal_name,
                "registration_number": prompt.rp.registration_number,
            },
            "on_behalf_of": prompt.on_behalf_of.as_ref().map(|b| json!({
                "client_id": b.client_id,
                "legal_name": b.legal_name,
                "registration_number": b.registration_number,
                "purpose": b.purpose,
                "claims": b.claims.iter().map(claim_text).collect::<Vec<_>>(),
            })),
            "shown_as": prompt.shown_as(),
            "purpose": prompt.shown_purpose(),
            "claims": claims,
            "sent": sent.disclosed,
            "redirect_uri": sent.redirect_uri,
        }))?;
    } else {
        println!(
            "{}",
            if sent.disclosed {
                "sent"
            } else {
                "declined: nothing sent"
            }
        );
        if sent.disclosed {
            for c in &prompt.claims {
                println!("disclosed {}  (from {})", c.text(), c.credential);
            }
        }
        if let Some(r) = &sent.redirect_uri {
            println!("continue at {r}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
