//! A document kind by machine name, as a wallet list keeps it: a built-in [`DocumentKind`] or
//! a kind known only from the backend's signed kind list (docs/adr/0060). On the wire and in
//! stored summaries it is the name itself, as `DocumentKind` was, so summaries stored before
//! stay readable.

use super::DocumentKind;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A kind's machine name (`identity`, `driving_licence`, `fishing_licence`, ...).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KindName(String);

impl KindName {
    /// `name` if it is a kind's machine name (non-empty snake_case, at most 64 bytes).
    pub fn new(name: &str) -> Option<KindName> {
        super::trust::is_kind_name(name).then(|| KindName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The built-in kind of this name; `None` for a kind declared only as data.
    pub fn known(&self) -> Option<DocumentKind> {
        DocumentKind::parse(&self.0)
    }
}

impl From<DocumentKind> for KindName {
    fn from(kind: DocumentKind) -> Self {
        KindName(kind.as_str().to_owned())
    }
}

impl PartialEq<DocumentKind> for KindName {
    fn eq(&self, other: &DocumentKind) -> bool {
        self.0 == other.as_str()
    }
}

impl PartialEq<KindName> for DocumentKind {
    fn eq(&self, other: &KindName) -> bool {
        self.as_str() == other.0
    }
}

impl fmt::Display for KindName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KindName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Serialize for KindName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for KindName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        KindName::new(&name).ok_or_else(|| serde::de::Error::custom("not a kind name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_name_is_its_wire_name_and_compares_with_the_enum() {
        let k = KindName::from(DocumentKind::DrivingLicence);
        assert_eq!(k, DocumentKind::DrivingLicence);
        assert_eq!(k.known(), Some(DocumentKind::DrivingLicence));
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"driving_licence\"");
        let other: KindName = serde_json::from_str("\"fishing_licence\"").unwrap();
        assert_eq!(other.known(), None);
        assert_ne!(other, DocumentKind::Identity);
        for bad in ["\"\"", "\"Fishing\"", "\"a-b\"", "1"] {
            assert!(serde_json::from_str::<KindName>(bad).is_err(), "{bad}");
        }
    }
}
