//! Presentation profiles: which fields a verifier gets, taken from which documents.
//!
//! Each field has a small integer key on the wire (so a QR stays small) and a name for JSON and
//! the consent screen. Dates travel as days since 1970-01-01 (the integer form of RFC 8943).

use super::error::PresentError;
use crate::credential::{Date, Document, DocumentKind, Sex};
use ciborium::Value;
use std::fmt;

/// What a verifier asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Profile {
    /// Airport check-in: name, date of birth, sex, ID number, nationality, card expiry.
    Airport,
    /// Clinic reception: name, date of birth, sex, BHYT code, benefit level, registered
    /// facility, validity.
    Clinic,
    /// Traffic check: licence number, classes, validity, points.
    Driving,
    /// Age check: yes or no, nothing else.
    AgeOver18,
    /// Every identity field but the photo.
    Full,
    /// Accommodation notice (thông báo lưu trú) at a hotel or hospital: name, ID number, date of
    /// birth, permanent address (docs/adr/0048).
    Accommodation,
}

impl Profile {
    pub const ALL: [Profile; 6] = [
        Profile::Airport,
        Profile::Clinic,
        Profile::Driving,
        Profile::AgeOver18,
        Profile::Full,
        Profile::Accommodation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Airport => "airport",
            Profile::Clinic => "clinic",
            Profile::Driving => "driving",
            Profile::AgeOver18 => "age_over_18",
            Profile::Full => "full",
            Profile::Accommodation => "accommodation",
        }
    }

    pub fn parse(s: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Number on the wire.
    pub fn code(self) -> u8 {
        match self {
            Profile::Airport => 1,
            Profile::Clinic => 2,
            Profile::Driving => 3,
            Profile::AgeOver18 => 4,
            Profile::Full => 5,
            Profile::Accommodation => 6,
        }
    }

    pub fn from_code(code: u64) -> Option<Profile> {
        Profile::ALL
            .into_iter()
            .find(|p| u64::from(p.code()) == code)
    }

    /// The document the profile is taken from; its issuer signs the profile's credentials.
    pub fn source(self) -> DocumentKind {
        match self {
            Profile::Airport | Profile::AgeOver18 | Profile::Full | Profile::Accommodation => {
                DocumentKind::Identity
            }
            Profile::Clinic => DocumentKind::HealthInsurance,
            Profile::Driving => DocumentKind::DrivingLicence,
        }
    }

    /// The fields a presentation of this profile may carry, in wire order.
    pub fn allowed(self) -> &'static [Field] {
        use Field::*;
        match self {
            Profile::Airport => &[
                FullName,
                DateOfBirth,
                Sex,
                IdNumber,
                Nationality,
                CardExpiry,
            ],
            Profile::Clinic => &[
                FullName,
                DateOfBirth,
                Sex,
                BhytCode,
                BenefitLevel,
                FacilityCode,
                FacilityName,
                ValidFrom,
                ValidTo,
            ],
            Profile::Driving => &[LicenceNumber, LicenceClasses, LicenceValidUntil, Points],
            Profile::AgeOver18 => &[AgeOver18],
            Profile::Full => &[
                FullName,
                DateOfBirth,
                Sex,
                IdNumber,
                Nationality,
                PlaceOfOrigin,
                PlaceOfResidence,
                IssueDate,
                CardExpiry,
            ],
            Profile::Accommodation => &[FullName, DateOfBirth, IdNumber, PlaceOfResidence],
        }
    }

    /// Fields that must be present (the others may be absent, e.g. no card expiry after 60).
    pub fn required(self) -> &'static [Field] {
        use Field::*;
        match self {
            Profile::Airport => &[FullName, DateOfBirth, Sex, IdNumber, Nationality],
            Profile::Clinic => &[FullName, DateOfBirth, BhytCode, ValidFrom, ValidTo],
            Profile::Driving => &[LicenceNumber, LicenceClasses, Points],
            Profile::AgeOver18 => &[AgeOver18],
            Profile::Full => &[FullName, DateOfBirth, Sex, IdNumber, Nationality, IssueDate],
            Profile::Accommodation => &[FullName, DateOfBirth, IdNumber, PlaceOfResidence],
        }
    }

    /// The profile's fields from the holder's documents at `now` (Unix seconds). The source
    /// document must be there; others only add fields (the clinic takes sex from the ID card).
    pub fn extract(self, documents: &[Document], now: u64) -> Result<Disclosed, PresentError> {
        self.extract_as_declared(documents, now, self.source().declaration())
    }

    /// [`Profile::extract`] with the fields `declaration` (the source kind's) lets the profile
    /// disclose.
    fn extract_as_declared(
        self,
        documents: &[Document],
        now: u64,
        declaration: &crate::credential::kinds::KindDeclaration,
    ) -> Result<Disclosed, PresentError> {
        let source = documents
            .iter()
            .find(|d| d.kind() == self.source())
            .ok_or(PresentError::MissingDocument(self.source()))?;
        let identity = documents.iter().find_map(|d| match d {
            Document::Identity(c) => Some(c),
            _ => None,
        });
        let mut out = Vec::new();
        let mut put = |f: Field, v: Option<FieldValue>| {
            // The wire table (`allowed`) and the kind's declaration must both allow it.
            if let Some(v) = v
                && self.allowed().contains(&f)
                && declaration.discloses(self.as_str(), f.name())
            {
                out.push((f, v));
            }
        };
        match source {
            Document::Identity(c) => {
                let today = Date::from_unix(now);
                put(Field::FullName, Some(FieldValue::Text(c.full_name.clone())));
                put(Field::DateOfBirth, Some(FieldValue::Date(c.date_of_birth)));
                put(Field::Sex, Some(FieldValue::Sex(c.sex)));
                put(Field::IdNumber, Some(FieldValue::Text(c.id_number.clone())));
                put(
                    Field::Nationality,
                    Some(FieldValue::Text(c.nationality.clone())),
                );
                put(
                    Field::PlaceOfOrigin,
                    Some(FieldValue::Text(c.place_of_origin.clone())),
                );
                put(
                    Field::PlaceOfResidence,
                    Some(FieldValue::Text(c.place_of_residence.clone())),
                );
                put(Field::IssueDate, Some(FieldValue::Date(c.issue_date)));
                put(Field::CardExpiry, c.expiry_date.map(FieldValue::Date));
                put(
                    Field::AgeOver18,
                    Some(FieldValue::Bool(c.date_of_birth.plus_years(18) <= today)),
                );
            }
            Document::HealthInsurance(h) => {
                put(
                    Field::FullName,
                    Some(FieldValue::Text(h.holder_name.clone())),
                );
                put(Field::DateOfBirth, Some(FieldValue::Date(h.date_of_birth)));
                put(Field::Sex, identity.map(|c| FieldValue::Sex(c.sex)));
                put(
                    Field::BhytCode,
                    Some(FieldValue::Text(h.code.as_str().to_owned())),
                );
                put(
                    Field::BenefitLevel,
                    Some(FieldValue::Uint(u64::from(h.benefit_level()))),
                );
                put(
                    Field::FacilityCode,
                    Some(FieldValue::Text(h.facility.code.clone())),
                );
                put(
                    Field::FacilityName,
                    Some(FieldValue::Text(h.facility.name.clone())),
                );
                put(Field::ValidFrom, Some(FieldValue::Date(h.valid_from)));
                put(Field::ValidTo, Some(FieldValue::Date(h.valid_to)));
            }
            Document::DrivingLicence(l) => {
                put(
                    Field::LicenceNumber,
                    Some(FieldValue::Text(l.number.clone())),
                );
                put(
                    Field::LicenceClasses,
                    Some(FieldValue::Classes(
                        l.classes
                            .iter()
                            .map(|c| (c.class.code().to_owned(), c.expiry_date))
                            .collect(),
                    )),
                );
                put(
                    Field::LicenceValidUntil,
                    l.valid_until().map(FieldValue::Date),
                );
                put(Field::Points, Some(FieldValue::Uint(u64::from(l.points))));
            }
            Document::HealthRecord(_) | Document::Declared(_) => {
                return Err(PresentError::MissingDocument(self.source()));
            }
        }
        out.sort_by_key(|(f, _)| f.key());
        Ok(Disclosed(out))
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A disclosable field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    FullName,
    DateOfBirth,
    Sex,
    IdNumber,
    Nationality,
    CardExpiry,
    PlaceOfOrigin,
    PlaceOfResidence,
    IssueDate,
    AgeOver18,
    BhytCode,
    BenefitLevel,
    FacilityCode,
    FacilityName,
    ValidFrom,
    ValidTo,
    LicenceNumber,
    LicenceClasses,
    LicenceValidUntil,
    Points,
}

impl Field {
    const ALL: [Field; 20] = [
        Field::FullName,
        Field::DateOfBirth,
        Field::Sex,
        Field::IdNumber,
        Field::Nationality,
        Field::CardExpiry,
        Field::PlaceOfOrigin,
        Field::PlaceOfResidence,
        Field::IssueDate,
        Field::AgeOver18,
        Field::BhytCode,
        Field::BenefitLevel,
        Field::FacilityCode,
        Field::FacilityName,
        Field::ValidFrom,
        Field::ValidTo,
        Field::LicenceNumber,
        Field::LicenceClasses,
        Field::LicenceValidUntil,
        Field::Points,
    ];

    /// Key on the wire.
    pub fn key(self) -> u8 {
        // Position in ALL, from 1: stable as long as fields are only appended.
        Field::ALL
            .iter()
            .position(|f| *f == self)
            .and_then(|i| u8::try_from(i + 1).ok())
            .unwrap_or(0)
    }

    pub fn from_key(key: u64) -> Option<Field> {
        let i = usize::try_from(key).ok()?.checked_sub(1)?;
        Field::ALL.get(i).copied()
    }

    /// Name in JSON and on the consent screen.
    pub fn name(self) -> &'static str {
        match self {
            Field::FullName => "full_name",
            Field::DateOfBirth => "date_of_birth",
            Field::Sex => "sex",
            Field::IdNumber => "id_number",
            Field::Nationality => "nationality",
            Field::CardExpiry => "card_expiry",
            Field::PlaceOfOrigin => "place_of_origin",
            Field::PlaceOfResidence => "place_of_residence",
            Field::IssueDate => "issue_date",
            Field::AgeOver18 => "age_over_18",
            Field::BhytCode => "bhyt_code",
            Field::BenefitLevel => "benefit_level",
            Field::FacilityCode => "registered_facility_code",
            Field::FacilityName => "registered_facility",
            Field::ValidFrom => "valid_from",
            Field::ValidTo => "valid_to",
            Field::LicenceNumber => "licence_number",
            Field::LicenceClasses => "licence_classes",
            Field::LicenceValidUntil => "licence_valid_until",
            Field::Points => "points",
        }
    }

    /// The Vietnamese label the consent screen shows.
    pub fn label(self) -> &'static str {
        match self {
            Field::FullName => "Họ và tên",
            Field::DateOfBirth => "Ngày sinh",
            Field::Sex => "Giới tính",
            Field::IdNumber => "Số định danh cá nhân",
            Field::Nationality => "Quốc tịch",
            Field::CardExpiry => "Có giá trị đến",
            Field::PlaceOfOrigin => "Quê quán",
            Field::PlaceOfResidence => "Nơi thường trú",
            Field::IssueDate => "Ngày cấp",
            Field::AgeOver18 => "Đủ 18 tuổi",
            Field::BhytCode => "Mã thẻ BHYT",
            Field::BenefitLevel => "Mức hưởng",
            Field::FacilityCode => "Mã nơi đăng ký KCB ban đầu",
            Field::FacilityName => "Nơi đăng ký KCB ban đầu",
            Field::ValidFrom => "Giá trị sử dụng từ",
            Field::ValidTo => "Giá trị sử dụng đến",
            Field::LicenceNumber => "Số GPLX",
            Field::LicenceClasses => "Hạng",
            Field::LicenceValidUntil => "Có giá trị đến",
            Field::Points => "Điểm",
        }
    }
}

/// A field's value.
#[derive(Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Date(Date),
    Sex(Sex),
    Uint(u64),
    Bool(bool),
    /// Licence classes: code and expiry (none for classes that never expire).
    Classes(Vec<(String, Option<Date>)>),
}

impl fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are personal data.
        f.write_str("FieldValue(..)")
    }
}

fn days(d: Date) -> Value {
    Value::from(d.unix_days())
}

fn date_from(v: &Value) -> Option<Date> {
    Date::from_unix_days(i64::try_from(v.as_integer()?).ok()?)
}

impl FieldValue {
    pub(crate) fn to_cbor(&self) -> Value {
        match self {
            FieldValue::Text(s) => Value::Text(s.clone()),
            FieldValue::Date(d) => days(*d),
            FieldValue::Sex(s) => Value::Text(s.code().to_owned()),
            FieldValue::Uint(n) => Value::from(*n),
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Classes(cs) => Value::Array(
                cs.iter()
                    .map(|(c, e)| {
                        Value::Array(vec![Value::Text(c.clone()), e.map_or(Value::Null, days)])
                    })
                    .collect(),
            ),
        }
    }

    /// The value of `field` from CBOR; `None` when it does not have the field's type.
    pub(crate) fn from_cbor(field: Field, v: &Value) -> Option<FieldValue> {
        use Field::*;
        const MAX_TEXT: usize = 200;
        let text = || {
            v.as_text()
                .filter(|t| !t.is_empty() && t.len() <= MAX_TEXT)
                .map(str::to_owned)
        };
        Some(match field {
            FullName | IdNumber | Nationality | PlaceOfOrigin | PlaceOfResidence | BhytCode
            | FacilityCode | FacilityName | LicenceNumber => FieldValue::Text(text()?),
            DateOfBirth | CardExpiry | IssueDate | ValidFrom | ValidTo | LicenceValidUntil => {
                FieldValue::Date(date_from(v)?)
            }
            Sex => FieldValue::Sex(crate::credential::Sex::parse(v.as_text()?)?),
            BenefitLevel | Points => {
                FieldValue::Uint(u64::try_from(v.as_integer()?).ok().filter(|n| *n <= 100)?)
            }
            AgeOver18 => FieldValue::Bool(v.as_bool()?),
            LicenceClasses => {
                let items = v.as_array().filter(|a| !a.is_empty() && a.len() <= 20)?;
                FieldValue::Classes(
                    items
                        .iter()
                        .map(|c| {
                            let [code, expiry] = c.as_array()?.as_slice() else {
                                return None;
                            };
                            let code = code.as_text().filter(|t| (1..=4).contains(&t.len()))?;
                            let expiry = if expiry.is_null() {
                                None
                            } else {
                                Some(date_from(expiry)?)
                            };
                            Some((code.to_owned(), expiry))
                        })
                        .collect::<Option<Vec<_>>>()?,
                )
            }
        })
    }

    /// The value of `field` from its [`FieldValue::to_json`] form (the backend's redeem
    /// answer); `None` when it does not have the field's type.
    pub(crate) fn from_json(field: Field, v: &serde_json::Value) -> Option<FieldValue> {
        use Field::*;
        let date = |v: &serde_json::Value| Date::parse_iso(v.as_str()?);
        Some(match field {
            FullName | IdNumber | Nationality | PlaceOfOrigin | PlaceOfResidence | BhytCode
            | FacilityCode | FacilityName | LicenceNumber => {
                FieldValue::Text(v.as_str()?.to_owned())
            }
            DateOfBirth | CardExpiry | IssueDate | ValidFrom | ValidTo | LicenceValidUntil => {
                FieldValue::Date(date(v)?)
            }
            Sex => FieldValue::Sex(crate::credential::Sex::parse(v.as_str()?)?),
            BenefitLevel | Points => FieldValue::Uint(v.as_u64()?),
            AgeOver18 => FieldValue::Bool(v.as_bool()?),
            LicenceClasses => FieldValue::Classes(
                v.as_array()?
                    .iter()
                    .map(|c| {
                        let code = c.get("class")?.as_str()?.to_owned();
                        let expiry = match c.get("expiry")? {
                            serde_json::Value::Null => None,
                            e => Some(date(e)?),
                        };
                        Some((code, expiry))
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            FieldValue::Text(s) => json!(s),
            FieldValue::Date(d) => json!(d.to_string()),
            FieldValue::Sex(s) => json!(s.code()),
            FieldValue::Uint(n) => json!(n),
            FieldValue::Bool(b) => json!(b),
            FieldValue::Classes(cs) => json!(
                cs.iter()
                    .map(|(c, e)| json!({"class": c, "expiry": e.map(|d| d.to_string())}))
                    .collect::<Vec<_>>()
            ),
        }
    }
}

/// The fields of one presentation, in wire order. `Debug` shows field names only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Disclosed(pub Vec<(Field, FieldValue)>);

impl fmt::Debug for Disclosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k.name()))
            .finish()
    }
}

impl Disclosed {
    pub fn get(&self, field: Field) -> Option<&FieldValue> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
    }

    /// `{name: value}` for display and `--json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(f, v)| (f.name().to_owned(), v.to_json()))
                .collect(),
        )
    }

    /// Reads `{name: value}` ([`Disclosed::to_json`], the backend's redeem answer) for
    /// `profile`: each name one of the profile's fields and of its type, in the order of
    /// [`Profile::allowed`].
    pub(crate) fn from_json(
        profile: Profile,
        v: &serde_json::Value,
    ) -> Result<Disclosed, &'static str> {
        let map = v.as_object().ok_or("fields are not a map")?;
        if map
            .keys()
            .any(|k| !profile.allowed().iter().any(|f| f.name() == k.as_str()))
        {
            return Err("a field outside the profile");
        }
        let mut out = Vec::with_capacity(map.len());
        for field in profile.allowed() {
            if let Some(value) = map.get(field.name()) {
                out.push((
                    *field,
                    FieldValue::from_json(*field, value).ok_or("bad field value")?,
                ));
            }
        }
        Ok(Disclosed(out))
    }

    pub(crate) fn to_cbor(&self) -> Value {
        Value::Map(
            self.0
                .iter()
                .map(|(f, v)| (Value::from(f.key()), v.to_cbor()))
                .collect(),
        )
    }

    /// Reads a fields map for `profile`: keys ascending, each allowed by the profile and of its
    /// type, the required ones present.
    pub(crate) fn from_cbor(profile: Profile, v: &Value) -> Result<Disclosed, &'static str> {
        let entries = v.as_map().ok_or("fields are not a map")?;
        let mut out: Vec<(Field, FieldValue)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let field = k
                .as_integer()
                .and_then(|k| u64::try_from(k).ok())
                .and_then(Field::from_key)
                .ok_or("unknown field")?;
            if !profile.allowed().contains(&field) {
                return Err("a field outside the profile");
            }
            if out
                .last()
                .is_some_and(|(prev, _)| prev.key() >= field.key())
            {
                return Err("fields out of order or repeated");
            }
            out.push((
                field,
                FieldValue::from_cbor(field, v).ok_or("bad field value")?,
            ));
        }
        if profile
            .required()
            .iter()
            .any(|r| !out.iter().any(|(f, _)| f == r))
        {
            return Err("a required field is missing");
        }
        Ok(Disclosed(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field the declaration does not disclose for a profile is left out of it.
    #[test]
    fn the_declaration_gates_what_a_profile_discloses() {
        let card = crate::credential::tests::document(DocumentKind::Identity);
        let now = 1_748_736_000;
        let all = Profile::Airport
            .extract(std::slice::from_ref(&card), now)
            .unwrap();
        assert!(all.get(Field::Nationality).is_some());
        let mut declaration = DocumentKind::Identity.declaration().clone();
        for d in &mut declaration.disclosures {
            d.fields.retain(|f| f.name != "nationality");
        }
        let fewer = Profile::Airport
            .extract_as_declared(std::slice::from_ref(&card), now, &declaration)
            .unwrap();
        assert!(fewer.get(Field::Nationality).is_none());
        assert_eq!(fewer.0.len(), all.0.len() - 1);
    }

    /// The accommodation notice gets name, ID number, date of birth and permanent address from
    /// the identity card, and nothing else (not sex, nationality, origin, dates of the card).
    #[test]
    fn accommodation_discloses_exactly_the_four_fields_the_police_need() {
        let card = crate::credential::tests::document(DocumentKind::Identity);
        let Document::Identity(c) = &card else {
            unreachable!()
        };
        let d = Profile::Accommodation
            .extract(std::slice::from_ref(&card), 1_748_736_000)
            .unwrap();
        let names: Vec<&str> = d.0.iter().map(|(f, _)| f.name()).collect();
        assert_eq!(
            names,
            [
                "full_name",
                "date_of_birth",
                "id_number",
                "place_of_residence"
            ]
        );
        assert_eq!(
            d.get(Field::PlaceOfResidence),
            Some(&FieldValue::Text(c.place_of_residence.clone()))
        );
        assert_eq!(
            d.get(Field::IdNumber),
            Some(&FieldValue::Text(c.id_number.clone()))
        );
        assert_eq!(
            Profile::parse("accommodation"),
            Some(Profile::Accommodation)
        );
        assert_eq!(Profile::from_code(6), Some(Profile::Accommodation));
        // On the wire, a field outside the four is refused, and each of the four is required.
        let mut extra = d.clone();
        extra.0.insert(2, (Field::Sex, FieldValue::Sex(c.sex)));
        assert!(Disclosed::from_cbor(Profile::Accommodation, &extra.to_cbor()).is_err());
        for i in 0..d.0.len() {
            let mut fewer = d.clone();
            fewer.0.remove(i);
            assert!(Disclosed::from_cbor(Profile::Accommodation, &fewer.to_cbor()).is_err());
        }
        assert_eq!(
            Disclosed::from_cbor(Profile::Accommodation, &d.to_cbor()),
            Ok(d)
        );
    }

    /// The wire table and the source kind's declaration (`credential/kinds/`) name the same
    /// fields, in the same order.
    #[test]
    fn every_profile_discloses_what_its_declaration_says() {
        for profile in Profile::ALL {
            let d = profile.source().declaration();
            let disclosure = d
                .disclosures
                .iter()
                .find(|x| x.profile == profile.as_str())
                .unwrap_or_else(|| panic!("{profile} not declared by {}", d.name));
            let declared: Vec<&str> = disclosure.fields.iter().map(|f| f.name.as_str()).collect();
            let wire: Vec<&str> = profile.allowed().iter().map(|f| f.name()).collect();
            assert_eq!(declared, wire, "{profile}");
            for f in profile.allowed() {
                assert!(d.discloses(profile.as_str(), f.name()));
            }
            // No other kind claims the profile.
            for other in crate::credential::kinds::declarations()
                .iter()
                .filter(|o| o.name != d.name)
            {
                assert!(
                    other
                        .disclosures
                        .iter()
                        .all(|x| x.profile != profile.as_str())
                );
            }
        }
    }
}
