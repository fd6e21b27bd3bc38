//! Presentation credentials drawn from a registry record that changed (issue 18,
//! docs/adr/0062): the single-use QR credentials, mdoc MSOs and SD-JWT VCs carry the record's
//! values as they were when the batch was issued. When a content change re-issues the record
//! (`lifecycle::reissue_held`), every still-valid one of the citizen's that reads the changed
//! kind is marked superseded in the same transaction, and the status list revokes it: a copy
//! showing the old values stops verifying, and the wallet drops it at its next sync and refills
//! from the new record.

use crate::db::Backend;
use crate::error::Error;
use crate::state::AppState;
use eid_core::api::credential_format;
use eid_core::credential::DocumentKind;
use eid_core::present::Profile;
use eid_core::{mdoc, sdjwt};
use sqlx::Row;

/// Credentials issued longer ago than this have expired (QR credentials and batch credentials
/// live 30 days from the start of their day): they need no status entry change.
const LONGEST_LIFETIME: i64 = 31 * 86_400;

/// The registry kinds a stored presentation-credential profile is drawn from: a QR profile
/// reads its source and the identity card (`presentation::record_kinds`); an mdoc or SD-JWT VC
/// type the records its issuer reads (`mdoc_issue::elements`, `sdjwt_issue::pid`).
pub(crate) fn drawn_from(profile: &str) -> &'static [DocumentKind] {
    use DocumentKind::{DrivingLicence, HealthInsurance, Identity};
    if let Some(p) = Profile::parse(profile) {
        return match p.source() {
            DrivingLicence => &[DrivingLicence, Identity],
            HealthInsurance => &[HealthInsurance, Identity],
            _ => &[Identity],
        };
    }
    let Some((format, ty)) = profile.split_once(':') else {
        return &[];
    };
    match (format, ty) {
        (credential_format::MSO_MDOC, mdoc::PHOTO_ID_DOCTYPE) => &[Identity],
        // The mDL's portrait is the identity card's.
        (credential_format::MSO_MDOC, mdoc::MDL_DOCTYPE) => &[DrivingLicence, Identity],
        (credential_format::MSO_MDOC, mdoc::BHYT_DOCTYPE) => &[HealthInsurance],
        (credential_format::SD_JWT_VC, sdjwt::PID_VCT) => &[Identity],
        _ => &[],
    }
}

/// The registry records of the account `$1`, read by an issuance inside its write transaction
/// so that it and a change of those records (`supersede`) are ordered: on PostgreSQL the rows
/// are locked for share (a change's `UPDATE` waits for the batch to commit, then supersedes
/// it; a batch waits for a change in flight and reads its new record); on SQLite the writer is
/// one at a time already. `$2`/`$3`, when `kinds` is true, restrict the kinds.
pub(crate) fn records_query(state: &AppState, kinds: bool) -> &'static str {
    let postgres = state.store.backend() == Backend::Postgres;
    match (kinds, postgres) {
        (false, false) => {
            "SELECT r.record FROM registry_records r \
             JOIN accounts a ON a.id_number = r.id_number WHERE a.id = $1"
        }
        (false, true) => {
            "SELECT r.record FROM registry_records r \
             JOIN accounts a ON a.id_number = r.id_number WHERE a.id = $1 FOR SHARE OF r"
        }
        (true, false) => {
            "SELECT r.record FROM registry_records r \
             JOIN accounts a ON a.id_number = r.id_number \
             WHERE a.id = $1 AND (r.kind = $2 OR r.kind = $3)"
        }
        (true, true) => {
            "SELECT r.record FROM registry_records r \
             JOIN accounts a ON a.id_number = r.id_number \
             WHERE a.id = $1 AND (r.kind = $2 OR r.kind = $3) FOR SHARE OF r"
        }
    }
}

/// Marks superseded (at `now`) the unexpired presentation credentials of the citizen
/// `id_number`, on any of their devices, that are drawn from `kind`. Returns how many.
pub(crate) async fn supersede(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id_number: &str,
    kind: DocumentKind,
    now: i64,
) -> Result<u64, Error> {
    let rows = sqlx::query(
        "SELECT p.serial, p.profile FROM presentation_credentials p \
         JOIN devices v ON v.id = p.device_id JOIN accounts a ON a.id = v.account_id \
         WHERE a.id_number = $1 AND p.superseded_at IS NULL AND p.created_at > $2",
    )
    .bind(id_number)
    .bind(now.saturating_sub(LONGEST_LIFETIME))
    .fetch_all(&mut **tx)
    .await?;
    let mut n = 0;
    for row in rows {
        let profile: String = row.try_get(1)?;
        if !drawn_from(&profile).contains(&kind) {
            continue;
        }
        let serial: String = row.try_get(0)?;
        sqlx::query("UPDATE presentation_credentials SET superseded_at = $1 WHERE serial = $2")
            .bind(now)
            .bind(&serial)
            .execute(&mut **tx)
            .await?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_and_type_names_its_records() {
        use DocumentKind::{DrivingLicence, HealthInsurance, Identity};
        for p in Profile::ALL {
            let kinds = drawn_from(p.as_str());
            assert!(kinds.contains(&p.source()), "{p}");
            assert!(kinds.contains(&Identity), "{p}");
        }
        assert_eq!(drawn_from("driving"), &[DrivingLicence, Identity]);
        let mdl = format!("{}:{}", credential_format::MSO_MDOC, mdoc::MDL_DOCTYPE);
        assert_eq!(drawn_from(&mdl), &[DrivingLicence, Identity]);
        let bhyt = format!("{}:{}", credential_format::MSO_MDOC, mdoc::BHYT_DOCTYPE);
        assert_eq!(drawn_from(&bhyt), &[HealthInsurance]);
        let pid = format!("{}:{}", credential_format::SD_JWT_VC, sdjwt::PID_VCT);
        assert_eq!(drawn_from(&pid), &[Identity]);
        for ty in mdoc::DOCTYPES {
            let stored = format!("{}:{ty}", credential_format::MSO_MDOC);
            assert!(!drawn_from(&stored).is_empty(), "{ty}");
        }
        assert!(drawn_from("mso_mdoc:org.example.unknown").is_empty());
        assert!(drawn_from("nonsense").is_empty());
    }
}
