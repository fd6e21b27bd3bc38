//! `eid keys`: the backend's own keys in its database (ADR 0018): list them, or rotate an
//! issuer key so that a new one signs from a date on.

use crate::context::{block_on, now_s};
use crate::output::print_json;
use anyhow::{Context as _, Result, anyhow};
use eid_backend::db::Store;
use eid_backend::keys;
use eid_backend::signing::seal::{KEK_ENV, SealKey};
use eid_core::credential::{Date, DocumentKind};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct KeysArgs {
    /// The backend's database (as for `eid serve`).
    #[arg(
        long,
        default_value = "sqlite://eid-backend.db",
        env = "EID_DATABASE_URL",
        global = true
    )]
    db: String,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(clap::Subcommand)]
enum KeysCommand {
    /// Every key: purpose, origin (generated or fixture), key id, from when it signs.
    List {
        #[arg(long)]
        json: bool,
        /// The mdoc PKI's keys (IACA, document signer; docs/adr/0031) instead of the issuers'.
        #[arg(long, conflicts_with_all = ["rp", "reader"])]
        mdoc: bool,
        /// The RP CA (relying parties' access certificates; docs/adr/0036) instead.
        #[arg(long, conflicts_with = "reader")]
        rp: bool,
        /// The reader CA (mdoc readers' authentication certificates; docs/adr/0040) instead.
        #[arg(long)]
        reader: bool,
    },
    /// A new key for one document kind, signing from `--from` on; the current one stays in the
    /// trust list until what it signed has expired. Restart the backends to take it up, before
    /// that date.
    Rotate {
        /// identity, driving_licence, health_insurance or health_record.
        #[arg(long)]
        kind: String,
        /// YYYY-MM-DD (midnight UTC), Unix seconds, or `now`.
        #[arg(long)]
        from: String,
        /// A development database (sealed under the development key unless EID_KEK is set).
        #[arg(long)]
        dev: bool,
        /// Make the new key on this PKCS#11 module (`pkcs11:MODULE_PATH`; token label and PIN
        /// from EID_PKCS11_TOKEN_LABEL, EID_PKCS11_PIN), as `eid serve --issuer-keys`.
        #[arg(long, default_value = "software", env = "EID_ISSUER_KEYS")]
        issuer_keys: eid_backend::signing::SignerChoice,
    },
}

/// `YYYY-MM-DD`, Unix seconds or `now`.
fn parse_time(text: &str) -> Result<u64> {
    if text == "now" {
        return Ok(now_s());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds);
    }
    Date::parse_iso(text)
        .map(Date::unix_seconds)
        .ok_or_else(|| anyhow!("--from: expected YYYY-MM-DD, Unix seconds or now, got {text}"))
}

pub fn run(args: KeysArgs) -> Result<ExitCode> {
    match args.command {
        KeysCommand::List {
            json,
            mdoc,
            rp,
            reader,
        } => block_on(async {
            let store = Store::open(&args.db).await?;
            let list = if mdoc {
                eid_backend::mdoc_keys::list(&store).await?
            } else if rp {
                eid_backend::rp_keys::list(&store).await?
            } else if reader {
                eid_backend::reader_keys::list(&store).await?
            } else {
                keys::list(&store).await?
            };
            if json {
                print_json(&list)?;
            } else {
                let mut out = std::io::stdout().lock();
                for k in &list {
                    let _ = writeln!(
                        out,
                        "{:<24} {:<9} {:<6} kid {} signs from {}",
                        k.purpose, k.origin, k.holder, k.kid, k.signs_from
                    );
                }
            }
            Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
        })?,
        KeysCommand::Rotate {
            kind,
            from,
            dev,
            issuer_keys,
        } => {
            let kind = DocumentKind::parse(&kind)
                .context("--kind: identity, driving_licence, health_insurance or health_record")?;
            let from = parse_time(&from)?;
            let kek = SealKey::from_env(dev)?.ok_or_else(|| {
                anyhow!("{KEK_ENV} is not set (or --dev for a development database)")
            })?;
            let token: Option<std::sync::Arc<dyn eid_backend::signing::KeySigner>> =
                match &issuer_keys {
                    eid_backend::signing::SignerChoice::Software => None,
                    eid_backend::signing::SignerChoice::Pkcs11 { module } => {
                        Some(std::sync::Arc::new(
                            eid_backend::signing::pkcs11::Pkcs11Signer::from_env(module)?,
                        ))
                    }
                };
            let vault = keys::Vault {
                kek: std::sync::Arc::new(kek),
                token,
            };
            block_on(async {
                let store = Store::open(&args.db).await?;
                let r = keys::rotate(&store, &vault, kind, from, now_s()).await?;
                let _ = writeln!(
                    std::io::stdout().lock(),
                    "new {} key {} signs from {}; the previous one leaves the trust list at {}",
                    kind.as_str(),
                    eid_core::credential::key_id(&r.certificate)
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>(),
                    r.signs_from,
                    r.predecessor_retires_at
                );
                Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
            })?
        }
    }
}
