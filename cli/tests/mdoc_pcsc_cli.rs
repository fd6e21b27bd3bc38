//! `eid mdoc read --pcsc` against `eid dev mdoc-holder --nfc-vpcd`: a desk reader reading the
//! holder (the phone in HCE mode) through libpcsclite → pcscd → vpcd → TCP → the holder process.
//!
//! Needs pcscd with the vpcd driver (`scripts/pcsc-env.sh`, started by `scripts/test.sh`).
//! `EID_PCSC_TEST=1` makes a missing reader a failure; without it the test reports and passes.
#![cfg(feature = "pcsc")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The second virtual reader (35964); the transport tests use the first.
const READER: &str = "Virtual PCD 00 01";
const VPCD_ADDR: &str = "127.0.0.1:35964";

struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_desk_reads_the_holder_over_pcsc() {
    if !eid_icao::pcsc::list_readers()
        .unwrap_or_default()
        .iter()
        .any(|r| r == READER)
    {
        if std::env::var("EID_PCSC_TEST").as_deref() == Ok("1") {
            panic!("EID_PCSC_TEST=1 but no {READER}: start pcscd with scripts/pcsc-env.sh");
        }
        eprintln!("skipped: no vpcd reader (set EID_PCSC_TEST=1 to make this an error)");
        return;
    }
    no_phone_within_a_second();
    let v = read_a_phone(Duration::from_secs(15), false);
    assert_eq!(v["valid"], true);
    assert_eq!(v["doctype"], "org.iso.18013.5.1.mDL");
    assert_eq!(v["reader_authenticated"], true);
    // The classes of the citizen's licence as the backend issues them (`mdl_elements`), each
    // with its printed code and issue date.
    let citizen = eid_fixtures::citizens::citizens()
        .into_iter()
        .next()
        .unwrap();
    let licence = eid_fixtures::issuers::driving_licence(&citizen).unwrap();
    let codes: Vec<&str> = licence.classes.iter().map(|c| c.class.code()).collect();
    let privileges = v["elements"]["driving_privileges"].as_array().unwrap();
    let got: Vec<&str> = privileges
        .iter()
        .map(|p| p["vehicle_category_code"].as_str().unwrap())
        .collect();
    assert_eq!(got, codes);
    assert!(privileges.iter().all(|p| p["issue_date"].is_string()));
    // The portrait (a JPEG, several KB) arrives whole: base64 of FF D8 ...
    assert!(
        v["elements"]["portrait"]
            .as_str()
            .unwrap()
            .starts_with("/9j/")
    );
    // The next phone held to the same desk is read too, at once: the first one stayed in the
    // reader until pcscd had reset it at our reader's disconnect. Pulled during that reset, it
    // left the reader looking occupied and the next phone unseen for minutes.
    // (Before the fix, 4 runs in 6 did not see it within the 10 s.)
    let again = read_a_phone(Duration::from_secs(10), false);
    assert_eq!(again["valid"], true);
    // A desk that waits for the phone (`--wait`).
    let waited = read_a_phone(Duration::from_secs(10), true);
    assert_eq!(waited["valid"], true);
    assert_eq!(waited["retrieval"], "nfc");
    assert_eq!(
        waited["handover"],
        serde_json::json!({"negotiated": false, "nfc": true, "ble": null})
    );
    handed_over_to_ble();
    a_desk_reads_phone_after_phone();
}

/// One desk (`--count 3`) reads three phones held to it one after another: a verdict line
/// each, the second phone declining; it waits for each phone to be taken away before the next,
/// so no phone is engaged twice, and ends after the third (exit 1: not every answer valid).
fn a_desk_reads_phone_after_phone() {
    let reader = desk(&["--count", "3", "--wait", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = reader;
    for (i, declines) in [false, true, false].into_iter().enumerate() {
        // A person takes a second to hand the next phone over; pcscd polls vpcd's slot every
        // 400 ms, and a swap faster than that it may never see.
        std::thread::sleep(Duration::from_millis(1000));
        let mut phone = holder_command();
        if declines {
            phone.arg("--decline");
        }
        let mut phone = Holder(phone.stderr(Stdio::piped()).spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        while phone.0.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = reader.kill();
                let _ = phone.0.kill();
                let desk = reader.wait_with_output().unwrap();
                let mut held = String::new();
                use std::io::Read as _;
                let _ = phone.0.stderr.take().unwrap().read_to_string(&mut held);
                let verdicts = String::from_utf8_lossy(&desk.stdout);
                let valid: Vec<&str> = verdicts.matches("\"valid\":").collect();
                panic!(
                    "phone {i} not read within 20 s; {} verdicts before\ndesk: {}\nphone: {held}",
                    valid.len(),
                    String::from_utf8_lossy(&desk.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let out = reader.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let verdicts: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let valid: Vec<&Value> = verdicts.iter().map(|v| &v["valid"]).collect();
    assert_eq!(valid, [true, false, true], "{verdicts:?}");
    assert!(
        verdicts[1]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("declined"),
        "{}",
        verdicts[1]
    );
    assert!(verdicts[2]["elements"]["portrait"].is_string());
    assert_eq!(stderr.matches("take the phone away").count(), 2, "{stderr}");
}

/// A phone whose NFC handover names BLE (the TCP stand-in) before NFC, by static and by
/// negotiated handover: a desk that takes BLE reads over it with the NFC transcript (the answer
/// decrypts and verifies only so); a desk that does not reads over NFC.
fn handed_over_to_ble() {
    for negotiated in [false, true] {
        for desk_takes_ble in [true, false] {
            let mut args = vec!["--tcp", "127.0.0.1:0"];
            if negotiated {
                args.push("--negotiated");
            }
            let (holder, addr) = holder_with(&args);
            let mut extra = vec![];
            if desk_takes_ble {
                extra.extend(["--tcp", addr.as_str()]);
            }
            let out = read_until_success(&extra, Duration::from_secs(15));
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["valid"], true, "{v}");
            assert!(
                v["elements"]["portrait"]
                    .as_str()
                    .unwrap()
                    .starts_with("/9j/")
            );
            let h = &v["handover"];
            assert_eq!(h["negotiated"], negotiated);
            let expected = if desk_takes_ble { "ble-tcp" } else { "nfc" };
            assert_eq!(v["retrieval"], expected, "{v}");
            if negotiated {
                // The holder's Handover Select names the one carrier it chose: its first that
                // the desk offered too.
                assert_eq!(h["nfc"], !desk_takes_ble, "{h}");
                assert_eq!(h["ble"].is_null(), !desk_takes_ble, "{h}");
            } else {
                assert_eq!(h["nfc"], true);
                assert_eq!(h["ble"]["peripheral_server"], true);
                assert_eq!(h["ble"]["central_client"], false);
                assert_eq!(h["ble"]["uuid"].as_str().unwrap().len(), 36);
            }
            holder.ended_within(Duration::from_secs(10));
        }
    }
}

/// The desk's command for the licence with the portrait, and `extra` arguments.
fn desk(extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eid"));
    c.args([
        "mdoc",
        "read",
        "--dev",
        "--pcsc",
        "--reader",
        READER,
        "--doctype",
        "org.iso.18013.5.1.mDL",
        "--elements",
        "family_name,driving_privileges,portrait",
        "--json",
    ])
    .args(extra);
    c
}

/// The phone: `eid dev mdoc-holder` as a card in the second vpcd reader, reader auth required.
fn holder_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eid"));
    c.args([
        "dev",
        "mdoc-holder",
        "--nfc-vpcd",
        "--vpcd",
        VPCD_ADDR,
        "--require-reader-auth",
    ])
    .stdout(Stdio::null());
    c
}

fn holder() -> Holder {
    Holder(holder_command().stderr(Stdio::null()).spawn().unwrap())
}

/// The phone comes first; the desk (with `extra` arguments) tries until it reads it, within
/// `within` (the reader may still show the phone before this one for a moment).
fn read_until_success(extra: &[&str], within: Duration) -> std::process::Output {
    let start = Instant::now();
    loop {
        let out = desk(extra).output().unwrap();
        if out.status.success() {
            return out;
        }
        assert!(
            start.elapsed() < within,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The holder with `extra` arguments, once it waits for a reader; the TCP stand-in's address
/// from its "(the TCP link at ADDR stands in for it)".
fn holder_with(extra: &[&str]) -> (Holder, String) {
    use std::io::BufRead as _;
    let mut child = holder_command()
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let holder = Holder(child);
    let mut lines = std::io::BufReader::new(stderr).lines();
    let line = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("waiting for a reader"))
        .expect("the holder waits for a reader");
    assert!(
        line.contains("BLE peripheral server mode first (service "),
        "{line}"
    );
    let addr = line
        .split("the TCP link at ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the stand-in's address")
        .to_owned();
    // Keep reading its standard error, so the holder never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (holder, addr)
}

impl Holder {
    #[track_caller]
    fn ended_within(mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.0.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "holder still running");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A phone held to the desk and read; the verdict. `waiting`: the desk starts first and waits
/// for the phone (`--wait`); otherwise the phone comes first and the desk tries `eid mdoc read`
/// until it succeeds, within `within`. The holder must end by itself once its session is over.
fn read_a_phone(within: Duration, waiting: bool) -> Value {
    let (out, holder) = if waiting {
        let reader = desk(&["--wait", &within.as_secs().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let holder = holder();
        let out = reader.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("hold the phone to the reader"), "{stderr}");
        (out, holder)
    } else {
        let holder = holder();
        (read_until_success(&[], within), holder)
    };
    holder.ended_within(Duration::from_secs(10));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// No phone comes: the desk says so once its wait is over.
fn no_phone_within_a_second() {
    let out = Command::new(env!("CARGO_BIN_EXE_eid"))
        .args([
            "mdoc",
            "read",
            "--dev",
            "--pcsc",
            "--reader",
            READER,
            "--wait",
            "1",
            "--elements",
            "family_name",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no phone held to the reader within 1 s"),
        "{stderr}"
    );
}
