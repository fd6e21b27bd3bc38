//! `eid mdoc sizes`: what each request preset costs on the wire, from the fixture mdocs: the
//! engagement QR (with a BLE peripheral server method), the DeviceRequest (signed with the
//! fixture reader certificate) and DeviceResponse bytes, the session messages, the modelled BLE
//! time (GATT at 20 KB/s, MTU 185: both messages, chunk headers included) and the NFC APDUs of a
//! whole reading (handover, SELECT, ENVELOPE, GET RESPONSE, termination) with extended and with
//! short APDUs.

use crate::context::now_s;
use crate::output::print_json;
use anyhow::{Context as _, Result, anyhow};
use eid_core::mdoc::transport::ble::{modelled_seconds, retrieval_method};
use eid_core::mdoc::transport::nfc::{NfcHolder, read_mdoc};
use eid_core::mdoc::{
    Decision, DeviceEngagement, HolderPolicy, HolderSession, HolderStep, IssuerSigned,
    ItemsRequest, MdocSource as _, ReaderOutcome, ReaderSession, ReaderSigner, ephemeral_key,
};
use eid_core::present::QrImage;
use eid_fixtures::mdoc::{MdocFixtures, request_presets};
use eid_fixtures::mdoc_card::HolderTransport;
use serde_json::json;
use std::process::ExitCode;

const MTU: usize = 185;
const GATT_BYTES_PER_SECOND: f64 = 20_000.0;
/// AES-256-GCM tag in SessionData.
const TAG: usize = 16;

/// The preset `--breakdown` and `--floor` take without `--preset`.
const DEFAULT_PRESET: &str = "airport";

/// The request preset called `name`.
fn preset(name: &str) -> Result<(&'static str, ItemsRequest)> {
    request_presets()
        .into_iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| {
            let names: Vec<&str> = request_presets().iter().map(|(n, _)| *n).collect();
            anyhow!("no request preset {name}; presets: {}", names.join(", "))
        })
}

/// The fixture mdoc of `doc_type`.
fn fixture_mdoc(f: &MdocFixtures, doc_type: &str) -> Result<IssuerSigned> {
    f.wallet
        .issuer_signed(doc_type)
        .ok_or_else(|| anyhow!("no fixture mdoc of {doc_type}"))
}

pub fn run(
    json_out: bool,
    breakdown: bool,
    issuer_signed: Option<&std::path::Path>,
    preset_name: Option<&str>,
) -> Result<ExitCode> {
    let mut f = MdocFixtures::new()?;
    if breakdown {
        let (issued, name, items) = match issuer_signed {
            Some(path) => {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                let issued = IssuerSigned::parse(&bytes)
                    .with_context(|| format!("{} is not an IssuerSigned", path.display()))?;
                let doc_type = super::breakdown::doc_type(&issued)?;
                let (name, items) = match preset_name {
                    Some(n) => preset(n)?,
                    None => request_presets()
                        .into_iter()
                        .find(|(_, r)| r.doc_type == doc_type)
                        .ok_or_else(|| anyhow!("no request preset for {doc_type}"))?,
                };
                if items.doc_type != doc_type {
                    return Err(anyhow!(
                        "preset {name} asks for {}, the file holds {doc_type}",
                        items.doc_type
                    ));
                }
                (issued, name, items)
            }
            None => {
                let (name, items) = preset(preset_name.unwrap_or(DEFAULT_PRESET))?;
                (fixture_mdoc(&f, &items.doc_type)?, name, items)
            }
        };
        return print_breakdown(name, &super::breakdown::rows(&issued, &items)?, json_out);
    }
    let iacas = f.iacas()?;
    let cas = f.reader.cas()?;
    let now = now_s();
    let mut rows = Vec::new();
    for (name, items) in request_presets() {
        let (holder_key, _) = ephemeral_key(&mut eid_crypto::OsRng)?;
        let mut holder =
            HolderSession::qr(holder_key, vec![retrieval_method(Some([0x5A; 16]), None)])?;
        let uri = holder.qr_uri();
        let qr = QrImage::encode(&uri)?;
        let engagement = DeviceEngagement::from_uri(&uri)?;
        let mut reader =
            ReaderSession::generate(&mut eid_crypto::OsRng, engagement, ciborium::Value::Null)?;
        let mut sign = |tbs: &[u8]| f.reader.sign(tbs);
        let request = reader
            .device_request(
                std::slice::from_ref(&items),
                Some(ReaderSigner {
                    certificate: &f.reader.certificate,
                    sign: &mut sign,
                }),
            )
            .map_err(|e| anyhow!("{e}"))?;
        let unsigned = reader
            .device_request(std::slice::from_ref(&items), None)
            .map_err(|e| anyhow!("{e}"))?;
        let mut sign = |tbs: &[u8]| f.reader.sign(tbs);
        let establishment = reader
            .establish(
                std::slice::from_ref(&items),
                Some(ReaderSigner {
                    certificate: &f.reader.certificate,
                    sign: &mut sign,
                }),
            )
            .map_err(|e| anyhow!("{e}"))?;
        let policy = HolderPolicy {
            reader_cas: Some(std::borrow::Cow::Borrowed(&cas)),
            reader_crl: None,
            require_reader_auth: true,
            now,
            device_mac: false,
        };
        let HolderStep::Request(_) = holder.receive(&establishment, &policy, &f.wallet)? else {
            return Err(anyhow!("{name}: the holder refused the fixture reader"));
        };
        let reply = holder.decide(Decision::Accept, &mut f.wallet)?;
        let ReaderOutcome::Response(Ok(_)) = reader
            .receive(&reply, &iacas, now)
            .map_err(|e| anyhow!("{e}"))?
        else {
            return Err(anyhow!("{name}: the response did not verify"));
        };
        let session_data = eid_core::mdoc::SessionData::parse(&reply)?;
        let response_bytes = session_data.data.map_or(0, |d| d.len().saturating_sub(TAG));
        let ble_s = modelled_seconds(establishment.len(), MTU, GATT_BYTES_PER_SECOND)
            + modelled_seconds(reply.len(), MTU, GATT_BYTES_PER_SECOND);
        let mut apdus = Vec::new();
        for extended in [true, false] {
            let consent = |_: &eid_core::mdoc::PresentationRequest| Decision::Accept;
            let mut nfc = NfcHolder::new(
                ephemeral_key(&mut eid_crypto::OsRng)?.0,
                policy.clone(),
                &mut f.wallet,
                consent,
            )?;
            let mut t = HolderTransport {
                holder: &mut nfc,
                extended,
            };
            let mut sign = |tbs: &[u8]| f.reader.sign(tbs);
            let read = read_mdoc(
                &mut t,
                &mut eid_crypto::OsRng,
                std::slice::from_ref(&items),
                Some(ReaderSigner {
                    certificate: &f.reader.certificate,
                    sign: &mut sign,
                }),
                &iacas,
                now,
            )?;
            apdus.push(read.apdus.0);
        }
        rows.push(json!({
            "request": name,
            "doctype": items.doc_type,
            "elements": items.elements.iter().map(|e| e.identifier.clone()).collect::<Vec<_>>(),
            "engagement_uri_chars": uri.len(),
            "engagement_qr_version": qr.version,
            "device_request_bytes": request.len(),
            "device_request_unsigned_bytes": unsigned.len(),
            "device_response_bytes": response_bytes,
            "session_establishment_bytes": establishment.len(),
            "session_data_bytes": reply.len(),
            "ble_modelled_seconds": (ble_s * 1000.0).round() / 1000.0,
            "nfc_apdus_extended": apdus[0],
            "nfc_apdus_short": apdus[1],
        }));
    }
    if json_out {
        print_json(&rows)?;
    } else {
        println!(
            "| request | QR version | DeviceRequest bytes (signed / unsigned) | DeviceResponse bytes | BLE time (20 KB/s, MTU 185) | NFC APDUs (extended / short) |"
        );
        println!("|---|---|---|---|---|---|");
        for r in &rows {
            println!(
                "| {} | {} | {} / {} | {} | {:.3} s | {} / {} |",
                r["request"].as_str().unwrap_or("?"),
                r["engagement_qr_version"],
                r["device_request_bytes"],
                r["device_request_unsigned_bytes"],
                r["device_response_bytes"],
                r["ble_modelled_seconds"].as_f64().unwrap_or(f64::NAN),
                r["nfc_apdus_extended"],
                r["nfc_apdus_short"],
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_breakdown(preset: &str, parts: &[(String, usize)], json_out: bool) -> Result<ExitCode> {
    if json_out {
        let parts: Vec<_> = parts
            .iter()
            .map(|(part, bytes)| {
                let depth = (part.len() - part.trim_start().len()) / 2;
                json!({"part": part.trim(), "depth": depth, "bytes": bytes})
            })
            .collect();
        print_json(&parts)?;
    } else {
        println!("| {preset} DeviceResponse part | bytes |");
        println!("|---|---|");
        for (part, bytes) in parts {
            println!("| {part} | {bytes} |");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--floor`: a preset's answer (the airport's by default) built six ways ([`super::floor`]).
pub fn floor(json_out: bool, preset_name: Option<&str>) -> Result<ExitCode> {
    let f = MdocFixtures::new()?;
    let (name, items) = preset(preset_name.unwrap_or(DEFAULT_PRESET))?;
    let rows = super::floor::rows(&f, &items)?;
    if json_out {
        let rows: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({"built_as": r.built_as, "bytes": r.bytes, "allowed": r.allowed,
                       "verified": r.verified})
            })
            .collect();
        print_json(&rows)?;
    } else {
        println!("| {name} DeviceResponse built as | bytes | allowed | verified by our reader |");
        println!("|---|---|---|---|");
        for r in &rows {
            let verified = if r.verified { "yes" } else { "no" };
            println!(
                "| {} | {} | {} | {verified} |",
                r.built_as, r.bytes, r.allowed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
