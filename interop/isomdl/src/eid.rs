//! Our side, driven only through the `eid` binary: `eid serve --dev` (it issues real MSOs at a
//! wallet's sync under its IACA), a wallet activated with the simulated chip and synced, a reader
//! certificate from the backend's reader CA (`eid mdoc reader-cert`), the IACA and reader CA as
//! a verifier takes them (the backend's published trust list), holders started with
//! `eid wallet mdoc present --tcp`, and our own reader's view of the same wallet.

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const PASSCODE: &str = "112233";
const ADMIN_TOKEN: &str = "isomdl-interop-admin-token-0123456789";
const TIMEOUT: Duration = Duration::from_secs(60);

/// The `eid` binary: `EID_BIN`, else the main workspace's debug build.
fn binary() -> PathBuf {
    std::env::var_os("EID_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/eid"),
        PathBuf::from,
    )
}

/// DER as PEM.
pub fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// A backend, one activated and synced wallet, and the trust anchors of the published list.
pub struct Eid {
    bin: PathBuf,
    dir: PathBuf,
    backend: Child,
    pub url: String,
    /// The first IACA of the trust list (PEM), as a verifier takes it.
    pub iaca_pem: String,
    /// The reader CA of the trust list (PEM).
    pub reader_ca_pem: String,
    /// A reader authentication certificate the backend's reader CA made (PEM).
    pub reader_cert_pem: String,
}

impl Drop for Eid {
    fn drop(&mut self) {
        let _ = self.backend.kill();
        let _ = self.backend.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A waiting `eid wallet mdoc present --tcp`: its engagement URI and address.
pub struct Holder {
    child: Child,
    pub uri: String,
    pub address: String,
    stderr: Arc<Mutex<String>>,
}

impl Holder {
    /// The holder's exit status once it ended by itself.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("the holder did not end: {}", self.stderr());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the holder printed on standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends each line of `r` to `tx` (and keeps it in `sink`) until the stream ends.
fn pump(r: impl Read + Send + 'static, sink: Option<Arc<Mutex<String>>>, tx: mpsc::Sender<String>) {
    thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if let Some(mut s) = sink.as_ref().and_then(|s| s.lock().ok()) {
                s.push_str(&line);
                s.push('\n');
            }
            let _ = tx.send(line);
        }
    });
}

/// The first line of `rx` that starts with `prefix`, without the prefix.
fn line_after(rx: &mpsc::Receiver<String>, prefix: &str) -> Option<String> {
    let deadline = Instant::now() + TIMEOUT;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return Some(rest.trim().to_owned());
                }
            }
            Err(_) => return None,
        }
    }
    None
}

impl Eid {
    fn command(bin: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(bin);
        c.args(args).stdin(Stdio::null());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("EID_") {
                c.env_remove(k);
            }
        }
        c.env("EID_PASSCODE", PASSCODE);
        c
    }

    fn output(bin: &Path, args: &[&str]) -> Result<Output> {
        Ok(Self::command(bin, args).output()?)
    }

    /// `eid ARGS` to its end: its standard output, or an error with its standard error.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let out = Self::output(&self.bin, args)?;
        ensure!(
            out.status.success(),
            "eid {}: {}\n{}",
            args.iter().take(3).copied().collect::<Vec<_>>().join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?)
    }

    fn wallet<'a>(&'a self, dir: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
        let mut v = vec!["wallet", "--data-dir", dir, "--backend", &self.url];
        v.extend_from_slice(rest);
        v
    }

    fn wallet_dir(&self) -> String {
        self.dir.join("wallet").display().to_string()
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// A backend on loopback, the third synthetic citizen's wallet activated (simulated chip)
    /// and synced, and the trust list's anchors.
    pub fn start() -> Result<Eid> {
        let bin = binary();
        ensure!(
            bin.exists(),
            "no eid binary at {} (cargo build --workspace --all-features)",
            bin.display()
        );
        let dir = std::env::temp_dir().join(format!(
            "eid-isomdl-{}-{:?}",
            std::process::id(),
            thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let db = format!("sqlite://{}", dir.join("backend.db").display());
        let mut backend = Self::command(
            &bin,
            &[
                "serve",
                "--dev",
                "--addr",
                "127.0.0.1:0",
                "--admin-token",
                ADMIN_TOKEN,
                "--db",
                &db,
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
        let (tx, rx) = mpsc::channel();
        pump(backend.stdout.take().context("serve stdout")?, None, tx);
        let Some(url) = line_after(&rx, "listening on ") else {
            let _ = backend.kill();
            bail!("eid serve did not start");
        };
        let mut eid = Eid {
            bin,
            dir,
            backend,
            url,
            iaca_pem: String::new(),
            reader_ca_pem: String::new(),
            reader_cert_pem: String::new(),
        };
        let citizens: Value = serde_json::from_str(&eid.run(&["fixtures", "citizens", "--json"])?)?;
        let c = &citizens[2];
        let (id, phone) = (
            c["id"].as_str().context("citizen id")?,
            c["phone"].as_str().context("citizen phone")?,
        );
        let w = eid.wallet_dir();
        eid.run(&eid.wallet(&w, &["activate", "--id", id, "--phone", phone, "--sim"]))?;
        eid.run(&eid.wallet(&w, &["sync"]))?;
        let list: Value = ureq::get(&format!("{}/v1/trust-list", eid.url))
            .call()?
            .body_mut()
            .read_json()?;
        let anchor = |role: &str| -> Result<String> {
            let b64 = list[role][0]
                .as_str()
                .with_context(|| format!("the trust list names no {role}"))?;
            Ok(pem(&URL_SAFE_NO_PAD.decode(b64)?))
        };
        eid.iaca_pem = anchor("iaca")?;
        eid.reader_ca_pem = anchor("reader_ca")?;
        std::fs::write(eid.dir.join("iaca.pem"), &eid.iaca_pem)?;
        let (key, cert) = (eid.file("reader-key.pem"), eid.file("reader-cert.pem"));
        eid.run(&[
            "mdoc",
            "reader-cert",
            "--backend",
            &eid.url,
            "--admin-token",
            ADMIN_TOKEN,
            "--name",
            "isomdl interop reader",
            "--key-out",
            &key,
            "--cert-out",
            &cert,
        ])?;
        eid.reader_cert_pem = std::fs::read_to_string(&cert)?;
        Ok(eid)
    }

    /// `eid wallet mdoc present --tcp 127.0.0.1:0 EXTRA`, once it printed its engagement.
    pub fn present(&self, extra: &[&str]) -> Result<Holder> {
        let w = self.wallet_dir();
        let mut args = self.wallet(&w, &["mdoc", "present", "--tcp", "127.0.0.1:0"]);
        args.extend_from_slice(extra);
        self.holder(&args)
    }

    /// `eid dev mdoc-holder --tcp 127.0.0.1:0 EXTRA` (the fixture mdocs under the fixture
    /// IACA, not this backend's), once it printed its engagement.
    pub fn dev_holder(&self, extra: &[&str]) -> Result<Holder> {
        let mut args = vec!["dev", "mdoc-holder", "--tcp", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        self.holder(&args)
    }

    /// `eid ARGS`, a holder over TCP, once it printed its engagement.
    fn holder(&self, args: &[&str]) -> Result<Holder> {
        let mut child = Self::command(&self.bin, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let (out_tx, out_rx) = mpsc::channel();
        let (err_tx, err_rx) = mpsc::channel();
        pump(child.stdout.take().context("stdout")?, None, out_tx);
        pump(
            child.stderr.take().context("stderr")?,
            Some(stderr.clone()),
            err_tx,
        );
        let uri = line_after(&out_rx, "mdoc:").map(|rest| format!("mdoc:{rest}"));
        let address = line_after(&err_rx, "listening on ");
        let holder = Holder {
            child,
            uri: uri.unwrap_or_default(),
            address: address.unwrap_or_default(),
            stderr,
        };
        ensure!(
            !holder.uri.is_empty() && !holder.address.is_empty(),
            "the holder did not engage: {}",
            holder.stderr()
        );
        Ok(holder)
    }

    /// What our own reader (`eid mdoc read`) finds in the same wallet's mdoc of `doctype`: the
    /// values isomdl must find too.
    pub fn our_reading(&self, doctype: &str, elements: &[&str]) -> Result<Value> {
        let mut holder = self.present(&[])?;
        let trust = self.file("iaca.pem");
        let out = self.run(&[
            "mdoc",
            "read",
            "--dev",
            "--engagement",
            &holder.uri,
            "--tcp",
            &holder.address,
            "--doctype",
            doctype,
            "--elements",
            &elements.join(","),
            "--trust",
            &trust,
            "--json",
        ])?;
        ensure!(holder.wait()?.success(), "our holder failed");
        let verdict: Value = serde_json::from_str(&out)?;
        ensure!(verdict["valid"] == true, "our reader: {out}");
        Ok(verdict["elements"].clone())
    }
}
