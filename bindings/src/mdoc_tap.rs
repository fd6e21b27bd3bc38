//! A phone held to the verifier's phone or desk: the NFC engagement (static or negotiated
//! handover) offering BLE besides NFC, then the data over BLE when the holder's handover names a
//! mode the app takes (`MdocTap::OverBle`: an `MdocBleReader` whose transcript carries the NFC
//! handover), else over NFC at once (`MdocTap::Read`). ISO/IEC 18013-5 §8.2.2.1; the handover
//! and the sessions are eid-core's (`read_engagement`, `read_engaged`, `BleReader`).

use crate::chip::{ApduTransport, ForeignLink};
use crate::error::EidError;
use crate::mdoc::MdocBleOptions;
use crate::mdoc_read::{
    MdocBleReader, MdocReadRequest, MdocReaderAuth, MdocVerdict, ReaderChecks, checked_verdict,
    items, now_s, with_signer,
};
use crate::mdoc_status::MdocStatusLists;
use crate::run::on_runtime_blocking;
use eid_core::mdoc::ReaderSession;
use eid_core::mdoc::transport::ble::random_service_uuid;
use eid_core::mdoc::transport::carrier::BleCarrier;
use eid_core::mdoc::transport::nfc::{ApduCount, read_engaged, read_engagement};
use std::sync::Arc;

/// What a tap gave.
#[derive(uniffi::Enum)]
pub enum MdocTap {
    /// Read over NFC while the phone was held: the verdict.
    Read { verdict: MdocVerdict },
    /// The phone's handover named BLE: connect as `reader` says (`peripheral_server_uuid`:
    /// scan for the holder's server; `central_client_uuid`: run a server with that service),
    /// then push what arrives into it. The phone may be taken away.
    OverBle { reader: Arc<MdocBleReader> },
}

fn mdoc_error(e: impl std::fmt::Display) -> EidError {
    EidError::Mdoc {
        reason: e.to_string(),
    }
}

/// Engages the phone on `transport` by NFC, offering BLE in the `ble` modes (with a fresh
/// service UUID) before NFC should it negotiate; continues over BLE when its handover names a
/// mode in `ble`, over NFC otherwise. The answer is checked as `mdoc_read_nfc` checks it.
#[uniffi::export(default(status = None, cscas = None))]
pub async fn mdoc_tap(
    transport: Arc<dyn ApduTransport>,
    ble: MdocBleOptions,
    request: MdocReadRequest,
    iacas: Vec<Vec<u8>>,
    reader_auth: Option<Arc<MdocReaderAuth>>,
    status: Option<Arc<MdocStatusLists>>,
    cscas: Option<Vec<Vec<u8>>>,
) -> Result<MdocTap, EidError> {
    on_runtime_blocking("mdoc_tap", move || {
        let checks = ReaderChecks::new(&iacas, status, cscas.as_deref())?;
        let ours = BleCarrier {
            peripheral_server: ble.peripheral_server,
            central_client: ble.central_client,
            uuid: Some(random_service_uuid()),
        };
        let mut link = ForeignLink(transport);
        let handover = read_engagement(
            &mut link,
            &mut eid_crypto::OsRng,
            Some(ours),
            &mut ApduCount::default(),
        )
        .map_err(mdoc_error)?;
        let over_ble = handover
            .ble
            .and_then(|theirs| theirs.common(&ours))
            .and_then(|b| b.options());
        if let Some(offered) = over_ble {
            let session = ReaderSession::generate(
                &mut eid_crypto::OsRng,
                handover.engagement,
                handover.handover,
            )
            .map_err(|_| EidError::Crypto)?;
            let reader = MdocBleReader::engaged(session, offered, request, checks, reader_auth)?;
            return Ok(MdocTap::OverBle { reader });
        }
        let signed = reader_auth.is_some();
        let now = now_s();
        let asked = items(&request);
        let read = with_signer(reader_auth.as_deref(), |signer| {
            read_engaged(
                &mut link,
                &mut eid_crypto::OsRng,
                handover,
                std::slice::from_ref(&asked),
                signer,
                &checks.iacas,
                now,
            )
        })
        .map_err(mdoc_error)?;
        let verdict = checked_verdict(read.outcome, &checks, &asked, signed, now);
        Ok(MdocTap::Read { verdict })
    })
    .await
}
