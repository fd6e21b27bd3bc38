//! `eid rp --backend URL --admin-token T ...`: the relying-party hub's admin side (issue 16,
//! docs/adr/0036): `register` (the RP's P-256 public key in, its access certificate out),
//! `list`, `suspend` / `resume`, `report` (the metering) and `oidc-client` ("Log in with
//! e-ID", docs/adr/0042); and a relying party's own desk: `ekyc` (bank eKYC by chip, docs/adr/0054).

use crate::context::{block_on, client};
use crate::output::print_json;
use anyhow::{Context as _, Result, anyhow};
use clap::{Args, Subcommand};
use eid_core::api::{RpPurpose, RpRegistrationRequest};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct RpArgs {
    #[arg(long, env = "EID_BACKEND", global = true)]
    pub backend: Option<String>,
    /// The hub's admin token (register, list, report).
    #[arg(long, env = "EID_ADMIN_TOKEN", hide_env_values = true, global = true)]
    pub admin_token: Option<String>,
    #[command(subcommand)]
    pub command: RpCommand,
}

#[derive(Subcommand)]
pub enum RpCommand {
    /// A reference relying party's page (a bank's "open an account"): cross-device QR, request
    /// object, response endpoint, verified claims (no admin token needed).
    Serve(crate::rp_serve::RpServeArgs),
    /// Register a relying party; the backend's RP CA issues its access certificate.
    Register {
        /// Legal name, e.g. "Ngan hang Example".
        #[arg(long)]
        name: String,
        /// Business registration number.
        #[arg(long)]
        registration_number: String,
        /// DNS name of its access certificate (client id `x509_san_dns:<dns>`).
        #[arg(long)]
        dns: String,
        /// A response or redirect URI (https); repeat for more.
        #[arg(long = "response-uri", required = true)]
        response_uris: Vec<String>,
        /// `login`, `ekyc`, `age_check`, or `NAME=PATH,PATH` with claim paths as dotted keys
        /// (`*` for every array element, digits for an index): `sim=given_name,address.formatted`.
        /// Repeat for more.
        #[arg(long = "purpose", required = true)]
        purposes: Vec<String>,
        #[arg(long)]
        logo_url: Option<String>,
        /// Its P-256 public key, PEM (`PUBLIC KEY`).
        #[arg(long)]
        key_pem: PathBuf,
        /// Where to write its access certificate (PEM).
        #[arg(long)]
        out_cert: Option<PathBuf>,
    },
    /// Make a registered relying party a client of "Log in with e-ID" (OIDC): its redirect
    /// URIs in; its client id and secret out (JSON; the secret is shown this once, again
    /// rotates it).
    OidcClient {
        /// The relying party's registration id (`RP-...`), its OIDC client_id.
        #[arg(long)]
        id: String,
        /// A redirect URI (https); repeat for more.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
    },
    /// Bank eKYC by chip at the relying party's desk (docs/adr/0054): a challenge from the
    /// backend, the card read with it, the evidence checked by the backend, the signed result
    /// verified against the backend's trust list and printed. No admin token: the relying
    /// party's OIDC client id and secret.
    Ekyc(EkycArgs),
    /// Suspend a relying party: it leaves the signed registry (wallets stop answering it at
    /// their next sync), and the hub refuses its logins and eKYC checks at once (JSON record).
    Suspend {
        /// Its registration id (`RP-...`), its OIDC client_id.
        client_id: String,
        /// Why (logged by the backend with the suspension; at most 200 characters).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Resume a suspended relying party: back in the registry, its logins and checks accepted.
    Resume {
        /// Its registration id (`RP-...`).
        client_id: String,
    },
    /// Every registered relying party (JSON).
    List,
    /// Billable events per relying party, purpose, kind and day.
    Report {
        /// First day, YYYY-MM-DD (default: 30 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today).
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct EkycArgs {
    /// The relying party's registration id (`RP-...`), its OIDC client_id.
    #[arg(long)]
    pub client_id: String,
    #[arg(long, env = "EID_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,
    /// One of its registered purposes (`ekyc`, `age_check`, ...).
    #[arg(long)]
    pub purpose: String,
    /// The simulated card of a synthetic citizen: its index in the fixtures or its ID number.
    #[arg(long, conflicts_with = "pcsc", required_unless_present = "pcsc")]
    pub chip_fixture: Option<String>,
    /// A card on a PC/SC desk reader (PACE with --can).
    #[arg(long, requires = "can")]
    pub pcsc: bool,
    #[arg(long, requires = "pcsc")]
    pub reader: Option<String>,
    /// The card's 6-digit CAN (printed on its front).
    #[arg(long)]
    pub can: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// `eid rp ekyc`: challenge, read, check, verify.
fn ekyc(backend: &str, args: EkycArgs) -> Result<ExitCode> {
    use eid_core::api::{ChipEvidence, EkycCheckRequest};
    use eid_core::credential::TrustList;
    use eid_core::verify::{EkycExpected, check_ekyc_result};
    let api = client(backend)?;
    let secret = args.client_secret.as_str();
    let challenge = block_on(api.ekyc_challenge(&args.client_id, secret))??;
    let chip = match &args.chip_fixture {
        Some(n) => {
            let id = match n.parse::<usize>() {
                Ok(i) if n.len() < 12 => eid_fixtures::citizens::citizens()
                    .get(i)
                    .map(|c| c.id_number.clone())
                    .context("no synthetic citizen with that index")?,
                _ => n.clone(),
            };
            crate::card::read_sim_card(&id, &challenge.challenge.0, None)?
        }
        None => crate::card::read_pcsc_for_activation(
            args.reader.as_deref(),
            args.can.as_deref().context("--can is needed with --pcsc")?,
            &challenge.challenge.0,
        )?,
    };
    let evidence = ChipEvidence::from_chip(&chip).map_err(|m| anyhow!(m))?;
    let request = EkycCheckRequest {
        challenge_id: challenge.challenge_id.clone(),
        purpose: args.purpose.clone(),
        chip: evidence,
    };
    let answer = block_on(api.ekyc_check(&args.client_id, secret, &request))??;
    let t = block_on(api.trust_list())??;
    let trust =
        TrustList::decode(&t.issuers.0).map_err(|_| anyhow!("the trust list does not decode"))?;
    let expected = EkycExpected {
        rp_id: &args.client_id,
        purpose: &args.purpose,
        challenge_id: &challenge.challenge_id,
        challenge: &challenge.challenge.0,
    };
    let result = check_ekyc_result(&answer.signed.0, &trust, crate::context::now_s(), &expected)
        .context("the backend's eKYC result")?;
    if args.json {
        print_json(&result)?;
    } else {
        println!("genuine chip:   {}", result.genuine);
        println!("registry match: {}", result.registry_match);
        println!("not revoked:    {}", result.not_revoked);
        for (name, value) in &result.fields {
            println!("{name}: {value}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One `--purpose` argument.
pub fn purpose(arg: &str) -> Result<RpPurpose> {
    let Some((name, paths)) = arg.split_once('=') else {
        return Ok(RpPurpose {
            name: arg.to_owned(),
            claims: Vec::new(),
        });
    };
    let claims = paths
        .split(',')
        .map(|p| {
            if p.is_empty() || p.split('.').any(str::is_empty) {
                return Err(anyhow!("empty claim path in --purpose {arg}"));
            }
            Ok(Value::Array(
                p.split('.')
                    .map(|step| match step {
                        "*" => Value::Null,
                        s if s.bytes().all(|b| b.is_ascii_digit()) => {
                            s.parse::<u64>().map_or(Value::from(s), Value::from)
                        }
                        s => Value::from(s),
                    })
                    .collect(),
            ))
        })
        .collect::<Result<_>>()?;
    Ok(RpPurpose {
        name: name.to_owned(),
        claims,
    })
}

pub fn run(args: RpArgs) -> Result<ExitCode> {
    let backend = args.backend.context("--backend URL is needed")?;
    let command = match args.command {
        RpCommand::Serve(serve) => return crate::rp_serve::run(&backend, serve),
        RpCommand::Ekyc(e) => return ekyc(&backend, e),
        other => other,
    };
    let admin_token = args.admin_token.context("--admin-token is needed")?;
    let api = client(&backend)?;
    match command {
        RpCommand::Serve(_) | RpCommand::Ekyc(_) => {}
        RpCommand::Register {
            name,
            registration_number,
            dns,
            response_uris,
            purposes,
            logo_url,
            key_pem,
            out_cert,
        } => {
            let pem =
                std::fs::read_to_string(&key_pem).with_context(|| key_pem.display().to_string())?;
            let req = RpRegistrationRequest {
                legal_name: name,
                registration_number,
                logo_url,
                dns_name: dns,
                response_uris,
                purposes: purposes.iter().map(|p| purpose(p)).collect::<Result<_>>()?,
                public_key_pem: Some(pem),
                public_key_jwk: None,
            };
            let record = block_on(api.register_relying_party(&admin_token, &req))??;
            if let Some(path) = out_cert {
                std::fs::write(&path, &record.access_certificate_pem)
                    .with_context(|| path.display().to_string())?;
            }
            print_json(&record)?;
        }
        RpCommand::OidcClient { id, redirect_uris } => {
            print_json(&block_on(api.oidc_client(
                &admin_token,
                &id,
                &redirect_uris,
            ))??)?;
        }
        RpCommand::Suspend { client_id, reason } => {
            print_json(&block_on(api.suspend_relying_party(
                &admin_token,
                &client_id,
                reason.as_deref(),
            ))??)?;
        }
        RpCommand::Resume { client_id } => {
            print_json(&block_on(
                api.resume_relying_party(&admin_token, &client_id),
            )??)?;
        }
        RpCommand::List => {
            print_json(&block_on(api.list_relying_parties(&admin_token))??)?;
        }
        RpCommand::Report { from, to, json } => {
            let report =
                block_on(api.metering_report(&admin_token, from.as_deref(), to.as_deref()))??;
            if json {
                print_json(&report)?;
            } else {
                println!("metering {} .. {}", report.from, report.to);
                println!(
                    "{:<40} {:<20} {:<26} {:<10} {:>8}",
                    "client id", "purpose", "kind", "day", "count"
                );
                for r in &report.rows {
                    println!(
                        "{:<40} {:<20} {:<26} {:<10} {:>8}",
                        r.client_id, r.purpose, r.kind, r.day, r.count
                    );
                }
                let total: u64 = report.rows.iter().map(|r| r.count).sum();
                println!("total {total}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn purposes_read_known_names_and_dotted_paths() {
        assert!(purpose("login").unwrap().claims.is_empty());
        let p = purpose("sim=given_name,address.formatted,nationalities.*,items.0").unwrap();
        assert_eq!(p.name, "sim");
        assert_eq!(
            p.claims,
            [
                json!(["given_name"]),
                json!(["address", "formatted"]),
                json!(["nationalities", null]),
                json!(["items", 0])
            ]
        );
        assert!(purpose("sim=").is_err());
        assert!(purpose("sim=a..b").is_err());
    }
}
