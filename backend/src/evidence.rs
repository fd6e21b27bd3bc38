//! Server-side check of the chip evidence sent with an activation: passive authentication
//! against the CSCA, the data matching the registry's citizen, and active authentication over
//! the activation's challenge (so recorded evidence cannot be replayed and a clone without the
//! chip's private key fails). Bank eKYC (`crate::ekyc`) runs the same checks over its own
//! challenge.

use crate::error::ApiFailure;
use eid_core::api::ChipEvidence;
use eid_crypto::trust::TrustStore;
use eid_icao::aa::{self, AaOutcome};
use eid_icao::pa::{self, PaStatus};
use eid_icao::security_info::SecurityInfos;
use eid_icao::sod;
use std::collections::BTreeMap;

/// The registry's copy of the citizen's chip files.
pub struct RegistryChip {
    pub dg1: Vec<u8>,
    pub dg13: Vec<u8>,
    pub dg15: Vec<u8>,
}

pub fn check(
    evidence: &ChipEvidence,
    registry: &RegistryChip,
    challenge: &[u8],
    trust: &TrustStore,
) -> Result<(), ApiFailure> {
    passive(evidence, trust)?;
    // Genuine data, but is it the citizen who started this activation?
    if evidence.dg1.0 != registry.dg1 || evidence.dg13.0 != registry.dg13 {
        return Err(ApiFailure::evidence(
            "the chip data does not match the registry",
        ));
    }
    if evidence.dg15.is_none() || evidence.aa_signature.is_none() {
        return Err(ApiFailure::evidence("active authentication is required"));
    }
    if !same_key(evidence, registry) {
        return Err(ApiFailure::evidence(
            "the chip key does not match the registry",
        ));
    }
    active(evidence, challenge)
}

/// Whether the evidence is the registry's current card: DG1, DG13 and the DG15 key.
pub fn matches(evidence: &ChipEvidence, registry: &RegistryChip) -> bool {
    evidence.dg1.0 == registry.dg1
        && evidence.dg13.0 == registry.dg13
        && same_key(evidence, registry)
}

fn same_key(evidence: &ChipEvidence, registry: &RegistryChip) -> bool {
    evidence.dg15.as_ref().is_some_and(|d| d.0 == registry.dg15)
}

/// ICAO 9303-11 §5.1: every file hashed in the SOD, the SOD signed by a DSC of our CSCA.
pub fn passive(evidence: &ChipEvidence, trust: &TrustStore) -> Result<(), ApiFailure> {
    let sod =
        sod::parse(&evidence.sod.0).map_err(|_| ApiFailure::evidence("the SOD does not parse"))?;
    let mut dgs = BTreeMap::new();
    dgs.insert(1u8, evidence.dg1.0.clone());
    dgs.insert(13, evidence.dg13.0.clone());
    if let Some(dg14) = &evidence.dg14 {
        dgs.insert(14, dg14.0.clone());
    }
    if let Some(dg15) = &evidence.dg15 {
        dgs.insert(15, dg15.0.clone());
    }
    if pa::verify(&sod, &dgs, Some(trust)).status != PaStatus::Valid {
        return Err(ApiFailure::evidence("passive authentication failed"));
    }
    Ok(())
}

/// ICAO 9303-11 §6.1: the chip signed `challenge` with the key DG15 announces (DG15 is
/// covered by passive authentication, which the caller ran first).
pub fn active(evidence: &ChipEvidence, challenge: &[u8]) -> Result<(), ApiFailure> {
    let (Some(dg15), Some(signature)) = (&evidence.dg15, &evidence.aa_signature) else {
        return Err(ApiFailure::evidence("active authentication is required"));
    };
    let key = aa::parse_dg15(&dg15.0).map_err(|_| ApiFailure::evidence("DG15 does not parse"))?;
    let info = match &evidence.dg14 {
        Some(dg14) => SecurityInfos::parse_dg14(&dg14.0)
            .map_err(|_| ApiFailure::evidence("DG14 does not parse"))?
            .active_authentication()
            .cloned(),
        None => None,
    };
    match aa::verify(&key, info.as_ref(), challenge, &signature.0) {
        Ok(AaOutcome::Valid) => Ok(()),
        _ => Err(ApiFailure::evidence("active authentication failed")),
    }
}
