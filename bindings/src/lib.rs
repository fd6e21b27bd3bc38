//! eid-ffi: thin UniFFI wrappers over eid-core, no logic of its own.
//! Every exported function converts types and maps errors in `error.rs`, nothing more.
//! Surface decisions: docs/adr/0012-ffi-surface.md. The core's plain enums and records cross as
//! they are: each `#[uniffi::remote(Enum)]` or `#[uniffi::remote(Record)]` block restates one
//! for UniFFI, and the compiler checks it against the core's definition (no hand-written copies
//! or conversions). The few records still mapped by hand say why beside their definition.
#![allow(unsafe_code)] // the UniFFI scaffolding is generated unsafe FFI glue

mod authorize;
mod card_qr;
mod chip;
mod error;
mod http;
mod keys;
mod log;
mod mdoc;
mod mdoc_link;
mod mdoc_read;
mod mdoc_status;
mod mdoc_tap;
mod passcode;
mod present;
mod run;
mod signing;
mod verify;
mod wallet;

pub use authorize::{
    AuthorizationOutcome, AuthorizationRequest, AuthorizationRequestView, DisclosureEntry,
    DisclosureSource, RelyingPartyBehind, RequestedClaimView,
};
pub use card_qr::{CardQr, parse_card_qr};
pub use chip::{
    AccessControl, ApduTransport, ChipAccessKey, ChipAuthStatus, ChipProgress, ChipRead,
    ChipReadCancel, ChipReadListener, ChipReadOptions, ChipStage, ChipSummary, PassiveAuthStatus,
    read_chip,
};
pub use error::EidError;
pub use http::{HttpRequest, HttpResponse, HttpTransport, HttpTransportError};
pub use keys::KeyStore;
pub use log::{LogForwarder, LogLevel, set_log_forwarder};
pub use mdoc::{
    MdocBleOptions, MdocBlePresentation, MdocNfcDeactivation, MdocNfcPresentation,
    MdocPresentationState,
};
pub use mdoc_link::{
    MdocBleMode, MdocCharacteristic, MdocConsent, MdocDecision, MdocGattLink, MdocNearestAge,
    MdocPresentationRequest, MdocReaderAuthError, MdocReaderIdentity, MdocRequestedDocument,
    MdocRequestedElement, mdoc_characteristic_uuid,
};
pub use mdoc_read::{
    MdocBleReader, MdocElement, MdocElementName, MdocReadRequest, MdocReaderAuth, MdocVerdict,
    mdoc_read_nfc,
};
pub use mdoc_status::MdocStatusLists;
pub use mdoc_tap::{MdocTap, mdoc_tap};
pub use passcode::Passcode;
pub use present::{Consent, DisclosedField, Presentation, PresentationStock, Profile};
pub use signing::{SignedDocument, SigningConsent, SigningCredential, SigningRequest};
pub use verify::{
    CheckInReceipt, Verdict, VerdictReason, Verifier, VerifierDesk, verdict_reason_message,
};
pub use wallet::{
    AccountStatus, Activation, DocumentDetail, DocumentInfo, DocumentStatus, LabelledField,
    PendingActivation, SyncListener, SyncReport, SyncStatus, SyncStep, TransactionEntry,
    TransactionKind, TransactionOutcome, WalletConfig, WalletHandle, kind_declaration_json,
    kind_declarations_json,
};

uniffi::setup_scaffolding!();
