//! The `mso_mdoc` format of credential batches (docs/adr/0031): the elements of a docType from
//! the citizen's registry records (`eid_core::mdoc` doctypes: PhotoID with the chip's SOD and
//! data groups, mDL, BHYT), and one MSO per device key, signed by the document signer.

use crate::error::{ApiFailure, Error};
use crate::state::AppState;
use eid_core::api::ErrorCode;
use eid_core::credential::{Date, Document};
use eid_core::mdoc::{
    self, ChipFiles, CoseKey, MsoSpec, MsoStatus, NamespaceElements, ValidityInfo,
};
use sqlx::Row;

/// The issuing authority named in the PhotoID (the card's issuer).
pub(crate) const IDENTITY_AUTHORITY: &str = mdoc::IDENTITY_CARD_AUTHORITY;

/// The docType of `credential_type`, if this backend issues it.
pub fn doc_type(credential_type: &str) -> Option<&'static str> {
    mdoc::DOCTYPES.into_iter().find(|d| *d == credential_type)
}

fn missing(what: &'static str) -> ApiFailure {
    ApiFailure::new(ErrorCode::NotFound, what)
}

/// The elements of `doc_type` for the account's citizen on the day of `now`.
pub struct Source {
    pub elements: Vec<NamespaceElements>,
    /// The end of the document's last valid day (Unix seconds); `None`: it never expires. No
    /// MSO outlives its document.
    pub document_end: Option<u64>,
}

pub(crate) fn end_of(date: Option<Date>) -> Option<u64> {
    date.map(|d| d.unix_seconds() + 86_400)
}

/// The citizen's documents from the registry records of the account (every batch format's
/// source), read on the batch's write transaction `conn` (`supersede::records_query`).
pub(crate) async fn registry_documents(
    state: &AppState,
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
) -> Result<Vec<Document>, ApiFailure> {
    let mut documents = Vec::new();
    for row in sqlx::query(crate::supersede::records_query(state, false))
        .bind(account_id)
        .fetch_all(conn)
        .await?
    {
        let record: Vec<u8> = row.try_get(0)?;
        documents.push(crate::presentation::open_registry_record(state, &record)?);
    }
    Ok(documents)
}

pub async fn elements(
    state: &AppState,
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    doc_type: &str,
    now: u64,
) -> Result<Source, ApiFailure> {
    let documents = registry_documents(state, conn, account_id).await?;
    let identity = documents.iter().find_map(|d| match d {
        Document::Identity(c) => Some(c),
        _ => None,
    });
    let today = Date::from_unix(now);
    match doc_type {
        mdoc::PHOTO_ID_DOCTYPE => {
            let card = identity.ok_or(missing(
                "the citizen's identity card is not in the registry",
            ))?;
            let chip = chip_files(state, account_id).await?;
            Ok(Source {
                elements: mdoc::photo_id_elements(card, chip.as_ref(), IDENTITY_AUTHORITY, today),
                document_end: end_of(card.expiry_date),
            })
        }
        mdoc::MDL_DOCTYPE => {
            let licence = documents
                .iter()
                .find_map(|d| match d {
                    Document::DrivingLicence(l) => Some(l),
                    _ => None,
                })
                .ok_or(missing("the citizen holds no driving licence"))?;
            let portrait = identity.and_then(|c| c.photo.as_deref());
            Ok(Source {
                elements: mdoc::mdl_elements(licence, portrait, today),
                document_end: end_of(licence.valid_until()),
            })
        }
        mdoc::BHYT_DOCTYPE => {
            let card = documents
                .iter()
                .find_map(|d| match d {
                    Document::HealthInsurance(c) => Some(c),
                    _ => None,
                })
                .ok_or(missing("the citizen holds no health insurance card"))?;
            Ok(Source {
                elements: mdoc::bhyt_elements(card),
                document_end: end_of(Some(card.valid_to)),
            })
        }
        _ => Err(ApiFailure::invalid("unknown credential type")),
    }
}

/// The registry's copy of the citizen's chip: SOD, DG1, DG13 and DG15 (what passive
/// authentication of the DTC namespace needs).
async fn chip_files(state: &AppState, account_id: &str) -> Result<Option<ChipFiles>, Error> {
    let Some(row) = sqlx::query(
        "SELECT c.sod, c.dg1, c.dg13, c.dg15 FROM citizens c \
         JOIN accounts a ON a.id_number = c.id_number WHERE a.id = $1",
    )
    .bind(account_id)
    .fetch_optional(state.store.pool())
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(ChipFiles {
        sod: row.try_get(0)?,
        data_groups: vec![
            (1, row.try_get(1)?),
            (13, row.try_get(2)?),
            (15, row.try_get(3)?),
        ],
    }))
}

/// One MSO for `device_key` (SEC1), valid `(from, until)`, with status entry `status_index`;
/// fresh salts and digest IDs (so two MSOs share nothing but the data); the encoded
/// IssuerSigned.
pub fn sign(
    state: &AppState,
    doc_type: &str,
    elements: &[NamespaceElements],
    device_key: &[u8],
    (from, until): (u64, u64),
    status_index: u32,
) -> Result<Vec<u8>, Error> {
    let key = CoseKey::p256(device_key).map_err(|_| Error::Registry("device key".into()))?;
    let signer = &state.mdoc.signer;
    let issued = mdoc::issue_mdoc_with_status(
        &MsoSpec {
            doc_type,
            device_key: &key,
            validity: ValidityInfo {
                signed: from,
                valid_from: from,
                valid_until: until,
                expected_update: None,
            },
        },
        Some(MsoStatus {
            idx: u64::from(status_index),
            uri: crate::lists::status_list_cwt_uri(state),
        }),
        elements,
        signer.certificate(),
        &mut eid_crypto::OsRng,
        |tbs| signer.sign_raw(tbs),
    )
    .map_err(|_| Error::Registry("MSO signature".into()))?;
    issued
        .encode()
        .map_err(|_| Error::Registry("MSO encoding".into()))
}
