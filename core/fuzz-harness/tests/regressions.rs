//! Replays the saved fuzz inputs (`core/fuzz/regressions/TARGET.hex`) through the targets'
//! bodies, so a change that makes a parser panic, or breaks a check a target states, on an input
//! the fuzzer once found interesting fails in CI and not only in a manual fuzzing session.
//!
//! Each file is the target's corpus reduced to the smallest set that still covers every edge the
//! whole corpus covered (`scripts/fuzz.sh save TARGET`): one input per line, in hex.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The saved inputs of `target`, with their line numbers.
fn inputs(target: &str) -> Vec<(usize, Vec<u8>)> {
    let path = fuzz_dir().join("regressions").join(format!("{target}.hex"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/fuzz.sh save {target})", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let bytes = hex::decode(line.trim())
                .unwrap_or_else(|e| panic!("{}:{}: not hex: {e}", path.display(), i + 1));
            (i + 1, bytes)
        })
        .collect()
}

/// Runs every saved input of `target`.
fn replay(target: &str, run: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(
        !inputs.is_empty(),
        "core/fuzz/regressions/{target}.hex holds no input"
    );
    replay_inputs(target, &inputs, run);
}

/// Runs `inputs` through `run`; on the first panic, fails naming the file line.
fn replay_inputs(target: &str, inputs: &[(usize, Vec<u8>)], run: fn(&[u8])) {
    for (line, data) in inputs {
        if let Err(cause) = catch_unwind(AssertUnwindSafe(|| run(data))) {
            let why = cause
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| cause.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!(
                "fuzz target {target}: core/fuzz/regressions/{target}.hex line {line} \
                 ({} bytes) panicked: {why}",
                data.len()
            );
        }
    }
}

#[test]
fn every_fuzz_target_has_saved_inputs_replayed_here() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    // The name line of every `[[bin]]` table.
    let mut bins = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(name) = line.strip_prefix("name = ").filter(|_| in_bin) {
            bins.push(name.trim_matches('"'));
        }
    }
    bins.sort_unstable();
    let mut listed = TARGETS.to_vec();
    listed.sort_unstable();
    assert_eq!(
        bins, listed,
        "core/fuzz/Cargo.toml [[bin]]s vs TARGETS here"
    );
    for name in listed {
        assert!(!inputs(name).is_empty(), "{name}: no saved input");
    }
}

#[test]
fn a_failing_input_is_reported_with_its_line() {
    fn panics_on_ff(data: &[u8]) {
        assert!(!data.contains(&0xff), "planted");
    }
    let inputs = [
        (1, vec![0x30, 0x00]),
        (2, vec![0x5f, 0xff]),
        (3, vec![0xff]),
    ];
    let err = catch_unwind(|| replay_inputs("tlv", &inputs, panics_on_ff)).expect_err("0xff");
    let msg = err.downcast_ref::<String>().unwrap();
    assert_eq!(
        msg,
        "fuzz target tlv: core/fuzz/regressions/tlv.hex line 2 (2 bytes) panicked: planted"
    );
}

/// One test per target, and `TARGETS`, the names the test above checks against core/fuzz.
macro_rules! replays {
    ($($name:ident),* $(,)?) => {
        const TARGETS: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                replay(stringify!($name), eid_fuzz_harness::$name::run);
            }
        )*
    };
}

replays!(
    apdu,
    card_qr,
    credential,
    dg1,
    dg13,
    dg2,
    mdoc,
    mdoc_session,
    oid4vp_request,
    presentation,
    sd_jwt,
    security_infos,
    sm_response,
    sod,
    status_list,
    tlv,
);
