//! `eid serve`: the reference backend on a local address.

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
    /// Production mode: no development SMS outbox, SMS codes never logged.
    #[arg(long)]
    production: bool,
    /// Synthetic citizens to seed an empty registry with (load measurements use more; the
    /// first ones are always the default population). Ignored when the registry is seeded.
    #[arg(long, default_value_t = eid_fixtures::citizens::POPULATION_SIZE)]
    population: usize,
    /// Bearer token of the admin endpoints (verifier registration). In development mode a
    /// random one is made when none is given and printed once on standard output.
    #[arg(long, env = "EID_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Log level: error, warn, info, debug, trace.
    #[arg(long, default_value = "info", env = "EID_LOG")]
    log: tracing_subscriber::filter::LevelFilter,
    /// Where citizens' remote signing keys live: `software` (sealed in the database) or
    /// `pkcs11:MODULE_PATH` (token label and PIN from EID_PKCS11_TOKEN_LABEL, EID_PKCS11_PIN).
    #[arg(long, default_value = "software", env = "EID_SIGNER")]
    signer: eid_backend::signing::SignerChoice,
    #[command(flatten)]
    limits: crate::serve_limits::LimitArgs,
}

pub fn run(args: ServeArgs) -> Result<ExitCode, String> {
    // Logs go to standard error; standard output only says where the server listens.
    tracing_subscriber::fmt()
        .with_max_level(args.log)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let given = args.admin_token.filter(|t| !t.is_empty());
        // Printed, never logged: standard output is the operator's, the log is shared.
        let generated =
            (given.is_none() && !args.production).then(eid_core::sync::client::new_request_id);
        let config = args.limits.apply(Config {
            dev_mode: !args.production,
            population: args.population,
            admin_token: given.or_else(|| generated.clone()),
            ..Config::development(args.db)
        });
        let app = App::open_with_signer(config, &args.signer)
            .await
            .map_err(|e| format!("cannot open the backend: {e}"))?;
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("no local address: {e}"))?;
        // The admin token first: scripts wait for the "listening on" line and may close the
        // pipe after it, so nothing is printed after that line (a write to a closed pipe fails).
        let mut out = std::io::stdout().lock();
        if let Some(token) = &generated {
            let _ = writeln!(out, "admin token: {token}");
        }
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
        drop(out);
        app.serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("server failed: {e}"))?;
        Ok(ExitCode::SUCCESS)
    })
}
