//! The backend client: every call the wallet and a verifier desk make to the backend (activation,
//! documents, trust and status lists, presentation credentials, tokens, consent, remote signing,
//! verifier registration, a desk's online redeem as a [`crate::verify::Verdict`]), over the
//! platform's [`HttpTransport`](crate::platform::HttpTransport), with its one error
//! ([`ClientError`]). What a sync means for the wallet (its state, steps and report) is the
//! wallet's (`crate::wallet`).

mod backend;
mod error;
mod host;
mod redeem;
mod signer;
mod status_list;
#[cfg(feature = "http-ureq")]
pub(crate) mod ureq_transport;

pub use backend::{BackendClient, Fetched, RetryPolicy, new_request_id};
pub use error::ClientError;
pub use host::{CheckIn, CheckInError, Stay, check_in};
pub use redeem::{RedeemError, redeem};
pub use signer::{DeviceSigner, KeyStoreVerifier, VerifierKey, VerifierSigner};
pub use status_list::{FetchError, fetch_status_list_cwt};
#[cfg(feature = "http-ureq")]
pub use ureq_transport::UreqTransport;
