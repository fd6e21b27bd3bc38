//! The transaction log: every presentation and every signature, so the citizen can see who saw
//! what and when. Records are sealed in the store like documents; here is their model.

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    /// A QR shown to a verifier (offline or online).
    Presentation,
    /// A remote signature authorised on this device.
    Signing,
    /// Activation, device change, lock, unlock and other account events.
    Account,
    /// A stay a host (hotel, hospital) reported to the police after scanning the citizen's
    /// `accommodation` QR (docs/adr/0048), synced from the backend.
    Accommodation,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Refused,
    Failed,
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// Wall-clock time, Unix milliseconds.
    pub at_ms: i64,
    pub kind: TransactionKind,
    /// Who received the data or asked for the signature (verifier or relying party name).
    pub counterparty: String,
    /// Presentation profile (`airport`, `clinic`, ...) or signing purpose.
    pub profile: String,
    /// Names of the fields disclosed, or the file signed; never the values.
    pub fields: Vec<String>,
    pub outcome: Outcome,
    /// Extra detail for the citizen (e.g. why it failed); never personal data of others.
    pub detail: Option<String>,
}

impl Transaction {
    /// Encoding used inside the sealed store record.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The log as the citizen exports it: a JSON document with every entry, oldest first.
pub fn export_json(entries: &[Transaction]) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&serde_json::json!({
        "format": "eid-wallet-transactions/1",
        "entries": entries,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_exports() {
        let t = Transaction {
            at_ms: 1_760_000_000_000,
            kind: TransactionKind::Presentation,
            counterparty: "Noi Bai airport check-in".into(),
            profile: "airport".into(),
            fields: vec!["full_name".into(), "date_of_birth".into()],
            outcome: Outcome::Success,
            detail: None,
        };
        assert_eq!(Transaction::from_bytes(&t.to_bytes().unwrap()).unwrap(), t);
        let out: serde_json::Value =
            serde_json::from_str(&export_json(std::slice::from_ref(&t)).unwrap()).unwrap();
        assert_eq!(out["entries"][0]["kind"], "presentation");
        assert_eq!(out["entries"][0]["fields"][1], "date_of_birth");
        assert!(Transaction::from_bytes(b"{").is_err());
    }
}
