//! `eid verifier --dir DIR --backend URL register ...`: a verifier desk (airport, clinic) gets a
//! key in its key store and registers it with the backend's admin token; `eid verify
//! --verifier-dir DIR` then redeems online tokens as that desk.

use crate::context::{block_on, client, open_key_store};
use crate::output::print_json;
use anyhow::{Context as _, Result, anyhow};
use clap::{Args, Subcommand};
use eid_core::api::{B64, VerifierRegistration};
use eid_core::client::KeyStoreVerifier;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The desk's key alias in its key store.
const ALIAS: &str = "eid.verifier";
/// What the desk directory keeps besides the sealed key store (nothing secret).
const FILE: &str = "verifier.json";

#[derive(Serialize, Deserialize)]
struct Desk {
    verifier_id: String,
    name: String,
    profiles: Vec<String>,
}

#[derive(Args)]
pub struct VerifierArgs {
    /// Directory of this desk's key store and registration.
    #[arg(long)]
    pub dir: PathBuf,
    #[arg(long, env = "EID_BACKEND")]
    pub backend: String,
    #[command(subcommand)]
    pub command: VerifierCommand,
}

#[derive(Subcommand)]
pub enum VerifierCommand {
    /// Create this desk's key and register it (admin token of the backend).
    Register {
        #[arg(long, env = "EID_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        /// The desk's label, e.g. "Noi Bai T2 check-in 14".
        #[arg(long)]
        name: String,
        /// Profiles it may redeem, comma-separated (airport,clinic,...).
        #[arg(long, value_delimiter = ',')]
        profiles: Vec<String>,
    },
}

/// `eid verifier register`: the desk's key, made once, registered with the admin token.
pub fn run(args: VerifierArgs) -> Result<ExitCode> {
    let VerifierCommand::Register {
        admin_token,
        name,
        profiles,
    } = args.command;
    register(&args.dir, &args.backend, &admin_token, name, profiles)
}

/// The desk's key in `dir`, made once, registered at `backend` for `profiles` with the admin
/// token; the registration kept in `dir` and printed (`eid verifier register`, `eid host
/// register`).
pub fn register(
    dir: &Path,
    backend: &str,
    admin_token: &str,
    name: String,
    profiles: Vec<String>,
) -> Result<ExitCode> {
    let keys = open_key_store(dir)?;
    let public_key = match keys.public_key(ALIAS)? {
        Some(k) => k,
        None => keys.create_signing_key(ALIAS)?,
    };
    let client = client(backend)?;
    let registered = block_on(client.register_verifier(
        admin_token,
        &VerifierRegistration {
            name: name.clone(),
            public_key: B64(public_key),
            profiles: profiles.clone(),
        },
    ))??;
    let desk = Desk {
        verifier_id: registered.verifier_id,
        name,
        profiles,
    };
    let path = dir.join(FILE);
    std::fs::write(&path, serde_json::to_vec_pretty(&desk)?)
        .with_context(|| path.display().to_string())?;
    print_json(&desk)?;
    Ok(ExitCode::SUCCESS)
}

/// The desk registered in `dir`, as a request signer.
pub fn desk(dir: &Path) -> Result<KeyStoreVerifier> {
    let path = dir.join(FILE);
    let desk: Desk = serde_json::from_slice(&std::fs::read(&path).map_err(|e| {
        anyhow!(
            "{}: {e} (register the desk with `eid verifier register`)",
            path.display()
        )
    })?)
    .with_context(|| path.display().to_string())?;
    Ok(KeyStoreVerifier {
        keys: open_key_store(dir)?,
        alias: ALIAS.to_owned(),
        verifier_id: desk.verifier_id,
    })
}
