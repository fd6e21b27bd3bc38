//! The platform's side of the core, in one place: every trait through which an app (Android,
//! iOS, desktop) or a test gives the core a card, keys, the network, clocks and a UI to report
//! to. The core has no I/O of its own; these are its only ways out. Apps on phones implement the
//! FFI's callback interfaces (`bindings/src/`), which adapt to these traits.
//!
//! - [`KeyStore`]: device keys (sign, wrap the data key, attest). Android Keystore / StrongBox,
//!   iOS Secure Enclave; desktop, CLI and tests: [`crate::keys::SoftwareKeyStore`] (sealed file).
//! - [`ApduTransport`]: APDUs to the card. Android IsoDep, iOS CoreNFC; desktop: PC/SC (`pcsc`
//!   feature); tests: the simulated card of `eid-fixtures`.
//! - [`HttpTransport`]: one blocking HTTP exchange with the backend (docs/adr/0016). Android
//!   OkHttp / HttpURLConnection, iOS URLSession; desktop, CLI and tests: ureq (`http-ureq`
//!   feature, `crate::client::UreqTransport`), scripted doubles; Python: urllib.
//! - [`Clock`]: wall time, uptime and boot id for the passcode lockout. [`SystemClock`] everywhere
//!   for now, the FFI included (Linux `/proc` on Android, a per-process boot id elsewhere); tests
//!   move a clock by hand.
//! - [`SyncListener`]: the steps of a sync ([`SyncStage`]). The app's UI; the CLI's progress on
//!   stderr; recorders in tests.
//! - [`ProgressListener`]: the progress of a chip read ([`Progress`]). The app's UI; the CLI's
//!   progress on stderr; recorders in tests.
//!
//! `Clock`, `SyncListener` and the HTTP exchange are defined here. `KeyStore` stays with the keys
//! (`crate::keys`, beside its software implementation), `ApduTransport` and `ProgressListener`
//! with the chip reader (`crate::chip`): they are re-exported here so that this is the one place
//! to look. The FFI adds one listener of its own, the log forwarder (`bindings/src/log.rs`).

mod clock;
pub(crate) mod http;
mod sync_listener;

pub use crate::keys::KeyStore;
pub use clock::{Clock, SystemClock};
pub use eid_icao::ApduTransport;
pub use eid_icao::reader::{Progress, ProgressListener};
pub use http::{HttpRequest, HttpResponse, HttpTransport, Method, TransportFailure};
pub use sync_listener::{SyncListener, SyncStage};
