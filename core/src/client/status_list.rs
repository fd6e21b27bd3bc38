//! A verifier's fetch of the Token Status List an MSO names (`status.status_list.uri`, CWT
//! form, draft-ietf-oauth-status-list §8): one GET with the list's media type, the body as it
//! came. Nothing is trusted here: [`crate::mdoc::StatusListCache`] verifies what this returns.

use crate::mdoc::STATUS_LIST_CWT_MEDIA_TYPE;
use crate::platform::http::{HttpRequest, HttpTransport, Method};
use std::time::Duration;

/// A desk waits this long for a status list before it says the status is unknown.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a status list was not fetched (the verdict says "status list unavailable").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Not sent or no answer (offline, refused, timed out).
    Unreachable,
    /// An answer other than 200.
    Status(u16),
}

/// GETs the status list at `uri` (an `http(s)` URL the issuer signed into the MSO).
pub fn fetch_status_list_cwt(http: &dyn HttpTransport, uri: &str) -> Result<Vec<u8>, FetchError> {
    let answer = http
        .exchange(HttpRequest {
            method: Method::Get,
            url: uri.to_owned(),
            headers: vec![("accept".to_owned(), STATUS_LIST_CWT_MEDIA_TYPE.to_owned())],
            body: None,
            timeout: TIMEOUT,
        })
        .map_err(|_| FetchError::Unreachable)?;
    if answer.status != 200 {
        return Err(FetchError::Status(answer.status));
    }
    Ok(answer.body)
}
