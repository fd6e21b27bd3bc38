//! The layering of eid-core, checked from its sources (ARCHITECTURE.md, docs/adr/0021):
//!
//! - of the chip reader (the `eid-icao` crate, below the core: the compiler keeps it from reaching
//!   up), only the chip-reading entry points are used: crypto, PKI and encodings come from
//!   `eid-crypto`, never from the reader's internals;
//! - no two top-level modules of the crate reach each other, directly or round a longer loop;
//! - no arrow named in `UPWARD_ARROWS` runs up a layer (`verify → client`).
//!
//! Every `crate::…` (and `eid_core::…`) path in code is read, comments left out, including
//! grouped `use crate::{a, b::c}` forms; `eid_icao::…` paths are read as `chip::…`.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The parts of the chip reader (`eid_icao`) the core may use: reading a chip, what a read gives,
/// and the calendar and text rules the card and the credentials share.
const CHIP_ENTRY_POINTS: &[&str] = &[
    "calendar",
    "text",
    "ApduTransport",
    "ChipError",
    "NotGenuine",
    "cccd",
    "TransportError",
    "TransportLimits",
    "transport",
    "reader",
    "document",
    "bac",
    "pace",
    "lds",
    "pa",
    "mrz",
    "dg13",
    "dg2",
    "card_qr",
    "error",
    // ISO/IEC 7816-4 command/response APDU framing: shared by the chip reader and the mdoc NFC
    // transport (`mdoc/transport/nfc.rs`, the holder as the card), written once.
    "apdu",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`src/chip/pa.rs` → `chip`, `src/api.rs` →
/// `api`); `None` for the crate root.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (name != "lib").then_some(name)
}

/// The code of a file without comments (line comments, doc comments, block comments).
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_block = 0usize;
    for line in text.lines() {
        let mut rest = line;
        let mut kept = String::new();
        loop {
            if in_block > 0 {
                match rest.find("*/") {
                    Some(i) => {
                        in_block -= 1;
                        rest = &rest[i + 2..];
                    }
                    None => break,
                }
            } else {
                let line_comment = rest.find("//");
                let block = rest.find("/*");
                match (line_comment, block) {
                    (Some(l), b) if b.is_none_or(|b| l < b) => {
                        kept.push_str(&rest[..l]);
                        break;
                    }
                    (_, Some(b)) => {
                        kept.push_str(&rest[..b]);
                        in_block += 1;
                        rest = &rest[b + 2..];
                    }
                    _ => {
                        kept.push_str(rest);
                        break;
                    }
                }
            }
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every path below the crate root named in `code`: `crate::a::b::{c, d}` gives `a::b::c` and
/// `a::b::d`; `crate::{a, b::c}` gives `a` and `b::c`. Nested groups are flattened one level,
/// which is all the crate uses.
fn crate_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (prefix, module) in [
        ("crate::", ""),
        ("eid_core::", ""),
        ("eid_icao::", "chip::"),
    ] {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // e.g. `my_crate::`
            }
            let mut head = module.to_owned();
            let mut s = rest;
            loop {
                if let Some(group) = s.strip_prefix('{') {
                    let end = group.find('}').unwrap_or(group.len());
                    for item in group[..end].split(',') {
                        let item = item.trim().trim_start_matches('{');
                        if !item.is_empty() {
                            paths
                                .push(format!("{head}{}", item.split_whitespace().next().unwrap()));
                        }
                    }
                    break;
                }
                let id = ident_at(s);
                if id.is_empty() {
                    if !head.is_empty() {
                        paths.push(head.trim_end_matches("::").to_owned());
                    }
                    break;
                }
                head.push_str(id);
                s = &s[id.len()..];
                match s.strip_prefix("::") {
                    Some(after) => {
                        head.push_str("::");
                        s = after;
                    }
                    None => {
                        paths.push(head.clone());
                        break;
                    }
                }
            }
        }
    }
    paths
}

struct Crate {
    /// (file, top-level module, path used)
    uses: Vec<(PathBuf, Option<String>, String)>,
    modules: BTreeSet<String>,
}

fn read_crate() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut uses = Vec::new();
    let mut modules = BTreeSet::new();
    for file in files {
        let top = top_module(&src, &file);
        if let Some(m) = &top {
            modules.insert(m.clone());
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let shown = file
            .strip_prefix(src.parent().unwrap())
            .unwrap()
            .to_path_buf();
        for path in crate_paths(&code(&text)) {
            uses.push((shown.clone(), top.clone(), path));
        }
    }
    Crate { uses, modules }
}

/// Paths into `chip` from outside it that are not chip-reading entry points.
fn chip_intrusions(c: &Crate) -> Vec<String> {
    c.uses
        .iter()
        .filter(|(_, top, _)| top.as_deref() != Some("chip"))
        .filter_map(|(file, _, path)| {
            let inner = path.strip_prefix("chip::")?;
            let first = ident_at(inner);
            (!CHIP_ENTRY_POINTS.contains(&first))
                .then(|| format!("{} uses crate::{path}", file.display()))
        })
        .collect()
}

/// The arrows between top-level modules (`a → b` when a file of `a` names `crate::b`).
fn arrows(c: &Crate) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, top, path) in &c.uses {
        let Some(from) = top else { continue };
        let to = ident_at(path).to_owned();
        if &to != from && c.modules.contains(&to) {
            graph.entry(from.clone()).or_default().insert(to);
        }
    }
    graph
}

/// One cycle of the graph, if any, as `a → b → … → a`.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn only_chip_reading_entry_points_are_used_outside_the_chip_reader() {
    let c = read_crate();
    // The scan sees the chip reader's real users (so an empty result means something).
    assert!(
        c.uses
            .iter()
            .any(|(_, top, p)| top.as_deref() == Some("wallet") && p.starts_with("chip::")),
        "the scan found no use of chip:: in wallet/"
    );
    let bad = chip_intrusions(&c);
    assert!(
        bad.is_empty(),
        "crypto, PKI and encodings come from eid-crypto, not from chip/:\n{}",
        bad.join("\n")
    );
}

#[test]
fn top_level_modules_form_no_cycle() {
    let c = read_crate();
    let graph = arrows(&c);
    assert!(graph.get("wallet").is_some_and(|t| t.contains("store")));
    if let Some(cycle) = find_cycle(&graph) {
        panic!("modules reach each other: {}", cycle.join(" → "));
    }
}

/// Arrows that would run up a layer (ARCHITECTURE.md): the verifier's checks and verdict sit
/// below the backend client, so the client may use them and not the other way round (the desk's
/// online redeem lives in `client/`). `mdoc` (ISO/IEC 18013-5) is a protocol module: formats
/// (`credential`) and eid-crypto below it, nothing of state, client or facade.
/// SD-JWT (`sdjwt/`) is a protocol module too: of the crate it may use `credential` only.
/// OpenID4VP (`oid4vp/`) sits on `sdjwt` (and may use `mdoc` for mdoc answers), below state,
/// client and facade; `sdjwt` never reaches up to it.
const UPWARD_ARROWS: &[(&str, &str)] = &[
    ("verify", "client"),
    ("mdoc", "client"),
    ("mdoc", "wallet"),
    ("mdoc", "store"),
    ("mdoc", "keys"),
    ("mdoc", "account"),
    ("mdoc", "platform"),
    ("mdoc", "transactions"),
    ("sdjwt", "account"),
    ("sdjwt", "api"),
    ("sdjwt", "client"),
    ("sdjwt", "consent"),
    ("sdjwt", "keys"),
    ("sdjwt", "platform"),
    ("sdjwt", "present"),
    ("sdjwt", "runtime"),
    ("sdjwt", "signing"),
    ("sdjwt", "store"),
    ("sdjwt", "transactions"),
    ("sdjwt", "verify"),
    ("sdjwt", "wallet"),
    ("sdjwt", "oid4vp"),
    ("oid4vp", "account"),
    ("oid4vp", "api"),
    ("oid4vp", "client"),
    ("oid4vp", "consent"),
    ("oid4vp", "keys"),
    ("oid4vp", "platform"),
    ("oid4vp", "present"),
    ("oid4vp", "runtime"),
    ("oid4vp", "signing"),
    ("oid4vp", "store"),
    ("oid4vp", "transactions"),
    ("oid4vp", "verify"),
    ("oid4vp", "wallet"),
];

#[test]
fn no_arrow_runs_up_a_layer() {
    let graph = arrows(&read_crate());
    // The scan sees the verifier's real arrows (so a missing arrow means something).
    assert!(graph.get("verify").is_some_and(|t| t.contains("present")));
    assert!(graph.get("mdoc").is_some_and(|t| t.contains("credential")));
    assert!(graph.get("oid4vp").is_some_and(|t| t.contains("sdjwt")));
    let bad: Vec<String> = UPWARD_ARROWS
        .iter()
        .filter(|(from, to)| graph.get(*from).is_some_and(|t| t.contains(*to)))
        .map(|(from, to)| format!("{from} → {to}"))
        .collect();
    assert!(bad.is_empty(), "arrows running up: {}", bad.join(", "));
}

#[test]
fn the_scanner_sees_grouped_and_inline_paths_and_skips_comments() {
    let text = "use crate::{api::B64, chip::sm::SecureMessaging};\n\
                // use crate::chip::ec::Curve;\n\
                /* crate::chip::aa */ let x = crate::chip::symmetric::pad(a, 8);\n\
                use crate::chip::{document, symmetric::Cipher};\n\
                use my_crate::chip::ec;\n\
                use eid_icao::{ec::Curve, cccd};\n";
    let paths = crate_paths(&code(text));
    assert_eq!(
        paths,
        [
            "api::B64",
            "chip::sm::SecureMessaging",
            "chip::symmetric::pad",
            "chip::document",
            "chip::symmetric::Cipher",
            "chip::ec::Curve",
            "chip::cccd",
        ]
    );
    let c = Crate {
        uses: paths
            .into_iter()
            .map(|p| (PathBuf::from("src/wallet/x.rs"), Some("wallet".into()), p))
            .chain([(
                PathBuf::from("src/api.rs"),
                Some("api".into()),
                "wallet::Wallet".into(),
            )])
            .collect(),
        modules: ["api", "chip", "wallet"].map(String::from).into(),
    };
    assert_eq!(chip_intrusions(&c).len(), 4);
    assert_eq!(
        find_cycle(&arrows(&c)),
        Some(vec!["api".into(), "wallet".into(), "api".into()])
    );
}
