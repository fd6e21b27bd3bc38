//! `eid wallet --data-dir D fhir export ID --out FILE`: the HL7 FHIR R4 Bundle a document carries
//! (the e-health book; the health record's patient summary), checked again with the document's
//! signature, written as JSON for FHIR tools (docs/adr/0051). The file is the citizen's health
//! data: only its owner may read it, and an existing file is never overwritten.

use crate::output::{print_json, write_private};
use anyhow::{Context as _, Result};
use clap::Subcommand;
use eid_core::credential::kinds::data_elements;
use eid_core::wallet::Wallet;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum FhirCommand {
    /// Write a document's FHIR R4 Bundle (JSON) to a new file.
    Export {
        /// The document's id (`eid wallet list`): an e-health book or a health record.
        id: String,
        #[arg(long)]
        out: PathBuf,
        /// Print what was written as JSON (kind, resources by type, data elements).
        #[arg(long)]
        json: bool,
    },
}

pub fn run(w: &Wallet, command: FhirCommand) -> Result<ExitCode> {
    match command {
        FhirCommand::Export { id, out, json } => export(w, &id, &out, json),
    }
}

fn export(w: &Wallet, id: &str, out: &Path, json: bool) -> Result<ExitCode> {
    let (info, verified) = w.document(id)?;
    let bundle = verified.document.fhir_bundle().with_context(|| {
        format!(
            "document {id} is a {} ({}): it carries no FHIR bundle",
            info.title, info.kind
        )
    })?;
    write_private(out, format!("{}\n", serde_json::to_string_pretty(&bundle)?))?;
    let mut resources = std::collections::BTreeMap::<String, usize>::new();
    for e in bundle["entry"].as_array().into_iter().flatten() {
        let ty = e["resource"]["resourceType"].as_str().unwrap_or("?");
        *resources.entry(ty.to_owned()).or_default() += 1;
    }
    let elements = data_elements(&bundle);
    if json {
        print_json(&json!({
            "id": id,
            "kind": info.kind,
            "out": out.display().to_string(),
            "resources": resources,
            "data_elements": elements,
        }))?;
    } else {
        let total: usize = resources.values().sum();
        println!(
            "{}: FHIR R4 Bundle of {total} resources, {elements} data elements, written to {}",
            info.title,
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
