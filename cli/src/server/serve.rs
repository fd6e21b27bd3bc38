//! `eid serve`: the reference backend on a local address. Production-safe by default (keys of
//! its own, sealed under `EID_KEK`; no outbox; no logged codes); `--dev` for development.

use anyhow::{Context as _, Result, anyhow, bail};
use eid_backend::signing::seal::SealKey;
use eid_backend::{App, Config};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the real one is printed).
    #[arg(long, default_value = "127.0.0.1:8088")]
    addr: String,
    /// Database: sqlite://PATH (created on first run) or postgres://USER@HOST:PORT/DB.
    #[arg(
        long,
        default_value = "sqlite://eid-backend.db",
        env = "EID_DATABASE_URL"
    )]
    db: String,
    /// A PostgreSQL streaming replica of --db (postgres://USER@HOST:PORT/DB) for the public,
    /// cacheable reads (the status list); everything that must see the latest write stays on
    /// the primary. A replica that is down or behind is skipped (docs/adr/0030).
    #[arg(long, env = "EID_REPLICA_URL")]
    replica_url: Option<String>,
    /// Development mode: the public fixture issuer keys (anyone can forge what this backend
    /// signs), the SMS outbox readable over HTTP, SMS codes logged, an admin token made and
    /// printed when none is given. Never for a deployment. Without it the backend needs
    /// EID_KEK (64 hex digits) and generates keys of its own on the first start.
    #[arg(long)]
    dev: bool,
    /// Accepted for older scripts and ignored: production is the default (ADR 0018).
    #[arg(long, hide = true, conflicts_with = "dev")]
    production: bool,
    /// Synthetic citizens to seed an empty registry with (load measurements use more; the
    /// first ones are always the default population). Ignored when the registry is seeded.
    #[arg(long, default_value_t = eid_fixtures::citizens::POPULATION_SIZE)]
    population: usize,
    /// Kinds declared only as data, with their documents (docs/adr/0060): a JSON file
    /// `[{"declaration": {...}, "documents": [{"id_number": "...", "doc": {...}}]}]`. They
    /// are published in GET /v1/kinds and issued at sync by an issuer key of their own.
    #[arg(long)]
    kinds: Option<std::path::PathBuf>,
    /// Bearer token of the admin endpoints (verifier registration), at least 32 characters
    /// in production; without one the admin endpoints refuse everyone. In development mode a
    /// random one is made when none is given and printed once on standard output.
    #[arg(long, env = "EID_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// An issuing authority's clerk token, `AUTHORITY=TOKEN` (the issuer id of the kinds'
    /// declarations: health, police, ...): it opens that authority's queue of citizen
    /// submissions only (`eid authority`); repeat for more, or comma-separate in the variable.
    /// At least 32 characters in production.
    #[arg(
        long = "authority-token",
        env = "EID_AUTHORITY_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    authority_tokens: Vec<eid_backend::AuthorityToken>,
    /// Log level: error, warn, info, debug, trace.
    #[arg(long, default_value = "info", env = "EID_LOG")]
    log: tracing_subscriber::filter::LevelFilter,
    /// Log lines as `text` (for people) or `json` (one object per line, with the request id of
    /// each request's lines; for a log collector).
    #[arg(long, default_value = "text", env = "EID_LOG_FORMAT")]
    log_format: eid_backend::logs::LogFormat,
    /// Serve GET /metrics (Prometheus text format) on this address, e.g. 127.0.0.1:9188: a
    /// listener of its own, never the API's, so bind it to loopback or an internal interface
    /// that only the scraper reaches. Without it there is no metrics endpoint.
    #[arg(long, env = "EID_METRICS_ADDR")]
    metrics_addr: Option<String>,
    /// Where citizens' remote signing keys live: `software` (sealed in the database) or
    /// `pkcs11:MODULE_PATH` (token label and PIN from EID_PKCS11_TOKEN_LABEL, EID_PKCS11_PIN).
    #[arg(long, default_value = "software", env = "EID_SIGNER")]
    signer: eid_backend::signing::SignerChoice,
    /// Where the backend's issuer keys are made and kept on the first start: `software`
    /// (sealed under EID_KEK in the database) or `pkcs11:MODULE_PATH` (generated on the token,
    /// never extractable; token label and PIN as for --signer).
    #[arg(long, default_value = "software", env = "EID_ISSUER_KEYS")]
    issuer_keys: eid_backend::signing::SignerChoice,
    /// The backend's public base URL, as readers reach it: the mdocs' status list URI is made
    /// of it (docs/adr/0031). Development default: http://ADDR with the port it got (also for
    /// port 0); production default: an
    /// `.invalid` host, so set it.
    #[arg(long, env = "EID_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    limits: super::limits::LimitArgs,
}

/// Shortest admin token accepted in production (a guessable token opens verifier registration).
const MIN_ADMIN_TOKEN: usize = 32;

/// The backend's configuration, or the one-line reason it cannot run.
fn config(args: &ServeArgs) -> Result<(Config, Option<String>)> {
    let given = args.admin_token.clone().filter(|t| !t.is_empty());
    if args.dev {
        // Printed, never logged: standard output is the operator's, the log is shared.
        let generated = given.is_none().then(eid_core::client::new_request_id);
        let config = Config {
            population: args.population,
            admin_token: given.or_else(|| generated.clone()),
            authority_tokens: args.authority_tokens.clone(),
            public_url: args
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", args.addr)),
            ..Config::development(args.db.clone())
        };
        return Ok((config, generated));
    }
    let kek = SealKey::from_env(false)?.ok_or_else(|| {
        anyhow!(
            "{} is not set: production needs a key-encryption key (64 hex digits, e.g. \
                 `openssl rand -hex 32`); use --dev for development",
            eid_backend::signing::seal::KEK_ENV
        )
    })?;
    if given
        .as_ref()
        .is_some_and(|t| t.chars().count() < MIN_ADMIN_TOKEN)
    {
        bail!("the admin token is shorter than {MIN_ADMIN_TOKEN} characters (EID_ADMIN_TOKEN)");
    }
    if let Some(t) = args
        .authority_tokens
        .iter()
        .find(|t| t.token.chars().count() < MIN_ADMIN_TOKEN)
    {
        bail!(
            "the {} authority token is shorter than {MIN_ADMIN_TOKEN} characters",
            t.authority
        );
    }
    if !args.limits.has_sms_gateway() {
        bail!(
            "EID_SMS_GATEWAY is not set: production sends activation codes through an SMS \
             gateway (--sms-gateway URL); use --dev for development"
        );
    }
    let base = Config::production(args.db.clone(), kek, given);
    let config = Config {
        population: args.population,
        authority_tokens: args.authority_tokens.clone(),
        issuer_keys: args.issuer_keys.clone(),
        public_url: args.public_url.clone().unwrap_or(base.public_url.clone()),
        ..base
    };
    Ok((config, None))
}

/// Ctrl-C, or SIGTERM (what service managers and orchestrators send): then the backend turns
/// not-ready, drains and stops (`App::serve`).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// `eid serve`: runs until Ctrl-C or SIGTERM, on a runtime of its own (the server's, not the core's).
pub fn run(args: ServeArgs) -> Result<ExitCode> {
    // Checked before anything starts, so a missing setting is one line and nothing else.
    let (config, generated) = config(&args)?;
    let declared_kinds = match &args.kinds {
        Some(path) => eid_backend::kinds::parse_config(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )?,
        None => Vec::new(),
    };
    let config = Config {
        replica_url: args.replica_url.clone().filter(|u| !u.is_empty()),
        declared_kinds,
        ..args.limits.clone().apply(config)
    };
    // Logs go to standard error; standard output only says where the server listens.
    tracing_subscriber::util::SubscriberInitExt::init(eid_backend::logs::subscriber(
        args.log_format,
        args.log,
        std::io::stderr,
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let addr = listener.local_addr().context("no local address")?;
        // In development without --public-url the URLs the backend signs into credentials
        // (status lists, issuer) name the port it got, also when `--addr` asked for port 0.
        let mut config = config;
        if args.dev && args.public_url.is_none() {
            config.public_url = format!("http://{addr}");
        }
        let app = App::open_with_signer(config, &args.signer)
            .await
            .context("cannot open the backend")?;
        // SQLite is served by one process: refused before anything is announced.
        app.claim_sqlite().context("cannot serve this database")?;
        let metrics = match &args.metrics_addr {
            Some(a) => {
                let l = tokio::net::TcpListener::bind(a)
                    .await
                    .with_context(|| format!("cannot listen on {a} (metrics)"))?;
                Some(l)
            }
            None => None,
        };
        // The admin token first: scripts wait for the "listening on" line and may close the
        // pipe after it, so nothing is printed after that line (a write to a closed pipe fails).
        let mut out = std::io::stdout().lock();
        if let Some(token) = &generated {
            let _ = writeln!(out, "admin token: {token}");
        }
        if let Some(l) = &metrics {
            let m = l.local_addr().context("no local address")?;
            let _ = writeln!(out, "metrics on http://{m}/metrics");
        }
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
        drop(out);
        if let Some(l) = metrics {
            // Ends with the process (after the API's listener has drained).
            let app = app.clone();
            tokio::spawn(async move { app.serve_metrics(l, std::future::pending()).await });
        }
        app.serve(listener, stop_signal())
            .await
            .context("server failed")?;
        Ok(ExitCode::SUCCESS)
    })
}
