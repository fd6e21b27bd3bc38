//! Reading a whole document: access control, the files, chip or active authentication, parsing
//! and passive authentication, with a verdict and a reason for each check.

use super::aa::{self, AaOutcome};
use super::ca;
use super::dg2::{self, FaceImage};
use super::dg13::{self, Dg13};
use super::lds::LdsFile;
use super::mrz::{self, Mrz};
use super::pa::{self, PaStatus, PassiveAuthentication};
use super::reader::{AccessControl, AccessKey, CaOutcome, ProgressListener, ReadRequest, Reader};
use super::security_info::{ActiveAuthenticationInfo, SecurityInfos};
use super::sod;
use super::{ApduTransport, ChipError, NotGenuine, Stats};
use eid_crypto::Rng;
use eid_crypto::trust::TrustStore;
use serde::Serialize;
use std::collections::BTreeMap;

/// Whether the chip proved it is genuine (not a copy of the data on another chip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthStatus {
    Valid,
    Invalid,
    /// The chip offers neither chip nor active authentication.
    NotSupported,
}

/// Chip authentication (CA, DG14) or active authentication (AA, DG15) result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChipAuthentication {
    pub status: AuthStatus,
    /// "CA" or "AA" when one was run.
    pub method: Option<&'static str>,
    pub reason: String,
}

/// A document read from the chip and checked.
#[derive(Clone)]
pub struct ChipDocument {
    pub access_control: AccessControl,
    pub mrz: Mrz,
    pub dg13: Option<Dg13>,
    pub face: Option<FaceImage>,
    /// Every file read, raw (the evidence the backend re-checks at activation).
    pub files: BTreeMap<LdsFile, Vec<u8>>,
    /// Files asked for that the chip does not have (6A82): optional files a card may be issued
    /// without (DG2, DG13, DG14, DG15, EF.COM).
    pub absent_files: Vec<LdsFile>,
    pub passive_authentication: PassiveAuthentication,
    pub chip_authentication: ChipAuthentication,
    /// The chip's signature over [`ReadRequest::aa_challenge`], when one was given.
    pub aa_signature: Option<Vec<u8>>,
    pub stats: Stats,
}

impl std::fmt::Debug for ChipDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipDocument")
            .field("access_control", &self.access_control)
            .field(
                "passive_authentication",
                &self.passive_authentication.status,
            )
            .field("chip_authentication", &self.chip_authentication.status)
            .finish_non_exhaustive()
    }
}

/// Reads and checks a document. Verdicts that fail are data in the result; only a read that
/// cannot complete (wrong key, lost link, not an eMRTD) is an error.
pub fn read_document<T: ApduTransport>(
    transport: T,
    key: AccessKey,
    request: &ReadRequest,
    trust: Option<&TrustStore>,
    rng: &mut dyn Rng,
    listener: Option<&dyn ProgressListener>,
) -> Result<ChipDocument, ChipError> {
    let mut reader = Reader::new(transport, key, rng).with_max_resumes(request.max_resumes);
    if let Some(l) = listener {
        reader = reader.with_listener(l);
    }
    reader.open()?;

    // DG14 first: chip authentication binds every later read to the genuine chip.
    let mut verdict = None;
    if request.files.contains(&LdsFile::DG14) {
        reader.read_files(&[LdsFile::DG14])?;
        verdict = chip_authentication(&mut reader)?;
    }
    let rest: Vec<LdsFile> = request
        .files
        .iter()
        .copied()
        .filter(|f| *f != LdsFile::DG14)
        .collect();
    reader.read_files(&rest)?;

    if verdict.is_none()
        && let Some(dg15) = reader.file(LdsFile::DG15)
    {
        verdict = Some(match aa::parse_dg15(dg15) {
            Ok(key) => {
                let info = aa_info(&reader);
                let outcome = reader.active_authenticate(&key, info.as_ref())?;
                auth_verdict("AA", aa_outcome(outcome, AA_PROVEN))
            }
            Err(_) => auth_verdict("AA", Err("DG15 does not parse".into())),
        });
    }
    // A verifier's own challenge: the chip signs it for that verifier; we check it too.
    let mut aa_signature = None;
    if let (Some(challenge), Some(dg15)) = (
        &request.aa_challenge,
        reader.file(LdsFile::DG15).map(<[u8]>::to_vec),
    ) {
        let signature = reader.sign_challenge(challenge)?;
        if verdict.is_none() {
            let key = aa::parse_dg15(&dg15).map_err(|_| ChipError::Malformed { what: "DG15" })?;
            let outcome = aa::verify(&key, aa_info(&reader).as_ref(), challenge, &signature)?;
            verdict = Some(auth_verdict("AA", aa_outcome(outcome, AA_VERIFIER_PROVEN)));
        }
        aa_signature = Some(signature);
    }
    let raw = reader.finish()?;
    let chip_authentication = verdict.unwrap_or_else(|| ChipAuthentication {
        status: AuthStatus::NotSupported,
        method: None,
        reason: not_supported_reason(request, &raw.absent),
    });
    let sod = raw
        .files
        .get(&LdsFile::Sod)
        .and_then(|b| sod::parse(b).ok());
    // The SOD lists every data group the chip was issued with: one the chip now says it does
    // not have is being hidden. DG14/DG15 hidden is how a clone avoids proving it holds their
    // keys, so that refuses the chip; any other hidden data group refuses the data.
    let hidden: Vec<u8> = raw
        .absent
        .iter()
        .filter_map(|f| match f {
            LdsFile::Dg(n) if sod.as_ref().is_some_and(|s| s.hash_of(*n).is_some()) => Some(*n),
            _ => None,
        })
        .collect();
    let hidden_names = |keep: &dyn Fn(u8) -> bool| {
        hidden
            .iter()
            .filter(|n| keep(**n))
            .map(|n| format!("DG{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let hidden_keys = hidden_names(&|n| n == 14 || n == 15);
    let chip_authentication = if hidden_keys.is_empty() {
        chip_authentication
    } else {
        ChipAuthentication {
            status: AuthStatus::Invalid,
            method: chip_authentication.method,
            reason: format!(
                "the SOD lists {hidden_keys} but the chip answered that it has no such file: a chip hiding its authentication key (a clone)"
            ),
        }
    };
    let dg1 = raw.files.get(&LdsFile::DG1).ok_or(ChipError::Malformed {
        what: "document: no DG1",
    })?;
    let mrz = mrz::parse(dg1).map_err(|_| ChipError::Malformed { what: "DG1" })?;
    let dg13 = raw
        .files
        .get(&LdsFile::DG13)
        .map(|b| dg13::parse(b))
        .transpose()
        .map_err(|_| ChipError::Malformed { what: "DG13" })?;
    let face = raw
        .files
        .get(&LdsFile::DG2)
        .map(|b| dg2::parse(b))
        .transpose()
        .map_err(|_| ChipError::Malformed { what: "DG2" })?
        .and_then(|d| d.faces.into_iter().next());
    let mut passive_authentication = passive_authentication(&raw.files, trust);
    let hidden_data = hidden_names(&|n| n != 14 && n != 15);
    if !hidden_data.is_empty() && passive_authentication.status != PaStatus::Invalid {
        passive_authentication.status = PaStatus::Invalid;
        passive_authentication.reason =
            format!("the SOD lists {hidden_data} but the chip answered that it has no such file");
    }
    if raw.absent.contains(&LdsFile::Sod) {
        // Every ICAO chip has EF.SOD: one that says it has none withholds the issuer's proof.
        passive_authentication = PassiveAuthentication::invalid(
            "the chip answered that it has no EF.SOD: nothing shows the data is the issuer's",
        );
    }
    Ok(ChipDocument {
        access_control: raw.access_control,
        mrz,
        dg13,
        face,
        files: raw.files,
        absent_files: raw.absent,
        passive_authentication,
        chip_authentication,
        aa_signature,
        stats: raw.stats,
    })
}

/// Why neither chip nor active authentication ran, naming the files the chip does not have.
fn not_supported_reason(request: &ReadRequest, absent: &[LdsFile]) -> String {
    let missing: Vec<String> = [LdsFile::DG14, LdsFile::DG15]
        .into_iter()
        .filter(|f| absent.contains(f))
        .map(LdsFile::name)
        .collect();
    let asked = [LdsFile::DG14, LdsFile::DG15]
        .iter()
        .all(|f| request.files.contains(f));
    if asked && missing.len() == 2 {
        "the chip has neither DG14 nor DG15 (absent): it was issued without chip or active authentication, like BAC-only passports; the data is still checked by passive authentication".into()
    } else {
        "the chip offers neither chip authentication (DG14) nor active authentication (DG15)".into()
    }
}

const CA_PROVEN: &str = "the chip proved it holds the private key of its DG14 public key";
const AA_PROVEN: &str = "the chip signed our challenge with the private key of its DG15 public key";
const AA_VERIFIER_PROVEN: &str = "the chip signed the verifier's challenge with its DG15 key";

/// The verdict of one method (`CA` or `AA`): valid with what it proved, or invalid with why.
fn auth_verdict(method: &'static str, outcome: Result<&str, String>) -> ChipAuthentication {
    let (status, reason) = match outcome {
        Ok(proven) => (AuthStatus::Valid, proven.to_owned()),
        Err(failure) => (AuthStatus::Invalid, failure),
    };
    ChipAuthentication {
        status,
        method: Some(method),
        reason,
    }
}

fn aa_outcome(outcome: AaOutcome, proven: &'static str) -> Result<&'static str, String> {
    match outcome {
        AaOutcome::Valid => Ok(proven),
        AaOutcome::Invalid { reason } => Err(reason.into()),
    }
}

/// The active authentication parameters DG14 gives (the hash for ECDSA keys), if read.
fn aa_info<T: ApduTransport>(reader: &Reader<'_, T>) -> Option<ActiveAuthenticationInfo> {
    reader
        .file(LdsFile::DG14)
        .and_then(|b| SecurityInfos::parse_dg14(b).ok())
        .and_then(|i| i.active_authentication().cloned())
}

/// Chip authentication with the key DG14 offers (DG14 already read): `None` when it offers
/// none.
fn chip_authentication<T: ApduTransport>(
    reader: &mut Reader<'_, T>,
) -> Result<Option<ChipAuthentication>, ChipError> {
    let infos = match reader.file(LdsFile::DG14).map(SecurityInfos::parse_dg14) {
        None => return Ok(None),
        Some(Err(_)) => return Ok(Some(auth_verdict("CA", Err("DG14 does not parse".into())))),
        Some(Ok(infos)) => infos,
    };
    let Some((info, key)) = ca::choose(&infos) else {
        return Ok(None);
    };
    let outcome = match reader.chip_authenticate(&info, &key)? {
        CaOutcome::Valid => Ok(CA_PROVEN),
        CaOutcome::Invalid { reason } => Err(reason),
    };
    Ok(Some(auth_verdict("CA", outcome)))
}

/// Passive authentication over the data groups read.
pub fn passive_authentication(
    files: &BTreeMap<LdsFile, Vec<u8>>,
    trust: Option<&TrustStore>,
) -> PassiveAuthentication {
    let Some(sod_bytes) = files.get(&LdsFile::Sod) else {
        return pa::PassiveAuthentication::not_checked("EF.SOD was not read");
    };
    match sod::parse(sod_bytes) {
        Ok(sod) => {
            let dgs: BTreeMap<u8, Vec<u8>> = files
                .iter()
                .filter_map(|(f, b)| match f {
                    LdsFile::Dg(n) => Some((*n, b.clone())),
                    _ => None,
                })
                .collect();
            pa::verify(&sod, &dgs, trust)
        }
        Err(_) => pa::PassiveAuthentication::invalid("EF.SOD does not parse"),
    }
}

/// Today's date (UTC) as (year, month, day).
pub fn today() -> (u16, u8, u8) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    der::DateTime::from_unix_duration(now).map_or((1970, 1, 1), |d| (d.year(), d.month(), d.day()))
}

impl ChipDocument {
    /// Whether the MRZ expiry date is before `today` (year, month, day). Expiry years are read as
    /// 20YY: no CCCD or passport in use expires before 2000.
    pub fn is_expired_on(&self, today: (u16, u8, u8)) -> bool {
        let e = &self.mrz.date_of_expiry;
        let num = |r: std::ops::Range<usize>| e.get(r).and_then(|v| v.parse::<u16>().ok());
        match (num(0..2), num(2..4), num(4..6)) {
            (Some(y), Some(m), Some(d)) => (2000 + y, m as u8, d as u8) < today,
            _ => false,
        }
    }

    /// The genuine-card rule: refused when passive authentication failed (the data is not the
    /// issuer's) or chip/active authentication failed (a copy of the data on another chip).
    /// Checks that could not run (no CSCA on a phone, a chip without CA/AA) do not refuse: the
    /// backend re-checks the evidence at activation against its own trust and challenge.
    pub fn require_genuine(&self) -> Result<(), NotGenuine> {
        if self.passive_authentication.status == PaStatus::Invalid {
            return Err(NotGenuine::Data(self.passive_authentication.reason.clone()));
        }
        if self.chip_authentication.status == AuthStatus::Invalid {
            return Err(NotGenuine::Chip(self.chip_authentication.reason.clone()));
        }
        Ok(())
    }
}
