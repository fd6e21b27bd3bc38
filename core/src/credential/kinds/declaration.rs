//! What a document kind is, as data: its fields in display order with their types, labels and
//! rules, the authority authorised to issue it, how a list summarises it and which presentation
//! profiles may disclose which fields. Serialisable, so an app can render a kind it was not
//! built with, and a new kind can be declared without code (see docs/adr/0038).

use serde::{Deserialize, Serialize};

/// One document kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindDeclaration {
    /// Machine name on the wire (credential `kind`, trust list), e.g. `driving_licence`.
    pub name: String,
    pub label_vi: String,
    pub label_en: String,
    /// The authority whose issuer certificate the trust list authorises for this kind.
    pub issuer: Authority,
    /// The document's fields, in display order (validation runs in this order too).
    pub fields: Vec<FieldDeclaration>,
    pub summary: SummaryDeclaration,
    /// Which presentation profiles take fields from this kind, and which.
    #[serde(default)]
    pub disclosures: Vec<Disclosure>,
}

/// An issuing authority (cơ quan cấp).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authority {
    /// Stable id, e.g. `police`, `transport`, `social_insurance`, `health`, `justice`. One
    /// authority may hold several issuer certificates, each authorised for one kind (ADR 0043).
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
}

/// One field of a document (or of an object or list item inside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDeclaration {
    /// Key in the credential's `doc` map.
    pub name: String,
    pub label_vi: String,
    pub label_en: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// Absent fields are accepted only when this is false.
    #[serde(default = "yes")]
    pub required: bool,
    /// Checked in order once the value has the field's type; the first broken rule is reported.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

fn yes() -> bool {
    true
}

/// A field's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldType {
    Text,
    /// RFC 8943 full-date (CBOR tag 1004), shown as `YYYY-MM-DD`.
    Date,
    /// An integer.
    Number,
    Bool,
    /// A byte string (e.g. a portrait); rendered as its size.
    Bytes,
    /// A text or integer value out of a closed set, each with its labels.
    Enum {
        values: Vec<EnumValue>,
    },
    /// A map with its own fields.
    Object {
        fields: Vec<FieldDeclaration>,
    },
    /// A list of maps, each with these fields.
    List {
        items: Vec<FieldDeclaration>,
    },
}

impl FieldType {
    /// The type's name in renderings (`text`, `date`, `number`, `bool`, `bytes`, `enum`,
    /// `object`, `list`).
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Date => "date",
            FieldType::Number => "number",
            FieldType::Bool => "bool",
            FieldType::Bytes => "bytes",
            FieldType::Enum { .. } => "enum",
            FieldType::Object { .. } => "object",
            FieldType::List { .. } => "list",
        }
    }
}

/// One value of an enum field: its wire form (a text, or an integer written in decimal) and
/// labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumValue {
    pub value: String,
    pub label_vi: String,
    pub label_en: String,
}

/// A validation rule of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// Text: something other than blanks.
    NotBlank,
    /// Text: length in characters; list: number of items.
    Length {
        #[serde(default)]
        min: Option<usize>,
        #[serde(default)]
        max: Option<usize>,
    },
    /// Text: matches the regular expression (anchor it with `^...$`); `description` is the
    /// error reason (it never contains the value).
    Pattern { regex: String, description: String },
    /// Number: inclusive bounds.
    Range {
        #[serde(default)]
        min: Option<i64>,
        #[serde(default)]
        max: Option<i64>,
    },
    /// Date: not before (`strict`: after) the date in `field`, looked up among this field's
    /// siblings first, then at the document's top level. Skipped when that date is absent.
    After {
        field: String,
        #[serde(default)]
        strict: bool,
    },
    /// Date (a birth date): at least `years` full years before the date in `field` (looked up
    /// as for `after`; a birthday counts from its day, 29 February from 1 March in common
    /// years). Skipped when that date is absent. E.g. the legal age at a registration.
    AgeAt { field: String, years: u16 },
    /// Date (the end of a term): at most `years` years after the date in `field` (looked up as
    /// for `after`; the same day `years` later is the last allowed, 29 February counting as 28
    /// February). Skipped when that date is absent. E.g. a temporary residence's legal maximum.
    WithinYears { field: String, years: u16 },
    /// Equal to the value at `path`, a dotted path from the document's top level (e.g. the tax
    /// identifier and the personal ID number). Skipped when that value is absent.
    SameAs { path: String },
    /// Not equal to the value at `path` (as for `same_as`), e.g. two spouses' ID numbers.
    DiffersFrom { path: String },
    /// A rule that takes code (a check digit, a structured code, a FHIR bundle).
    Check { function: CheckFunction },
}

/// The named check functions a declaration may use (implemented in `kinds/checks.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckFunction {
    /// Personal ID number (số định danh cá nhân): 12 digits, the first three a province code
    /// (Circular 59/2021/TT-BCA).
    CccdIdNumber,
    /// BHYT card code, part by part (Decision 1666/QĐ-BHXH); errors name the part.
    BhytCode,
    /// Bytes starting with the JPEG SOI marker.
    Jpeg,
    /// An HL7 FHIR R4 IPS document bundle (JSON text); errors name the FHIR element.
    FhirIpsBundle,
    /// A licence class code of the class set of its item's `issue_date`, with an
    /// `expiry_date` unless the class never expires.
    LicenceClass,
    /// A vehicle identification number (ISO 3779): 17 characters without I, O, Q, and the
    /// check digit at position 9 (transliteration, weights 8..2,10,0,9..2, mod 11, 10 as `X`).
    Vin,
    /// A list of doses (`vaccine`, `dose_number`, `date`): dates in chronological order, none
    /// after the document's `as_of` date, and a vaccine's dose numbers rising.
    DosesInOrder,
    /// A judicial record's `result`: `none` with no `convictions`, `convicted` with at least one.
    JudicialResult,
    /// A civil-status registration number (số đăng ký hộ tịch) `N/YYYY`: a serial of 1 to 6
    /// digits without leading zero, a slash, and the year of the sibling `registration_date`
    /// (ADR 0047).
    CivilRegistrationNumber,
    /// A marriage certificate's `holder_name`: one of the spouses (`husband.full_name` or
    /// `wife.full_name`), as each spouse holds an original.
    SpouseHolder,
    /// A social insurance book's contribution periods (`from_month`, `to_month` as `YYYY-MM`):
    /// each from ≤ to, in order and not overlapping, and their months adding up to the
    /// document's `total_months`.
    ContributionPeriods,
    /// The e-health book's FHIR R4 Bundle (JSON text): a collection or document of the book's
    /// resource types, urn:uuid fullUrls that references resolve to, the holder's Patient
    /// (`id_number`, `birth_date`), dates within the person's life, LOINC/UCUM/ICD-10/CVX codes,
    /// and the summary fields (`blood_type`, `allergy_count`, `last_encounter`) as the bundle
    /// says (`kinds/fhir_book.rs`, ADR 0051).
    EHealthBookBundle,
}

/// How a wallet list shows a document: the holder's name and the date it is valid until.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryDeclaration {
    pub holder: ValueSource,
    /// `None`: the list shows no expiry.
    #[serde(default)]
    pub valid_until: Option<ValueSource>,
}

/// Where a summary value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ValueSource {
    /// A field by its path (`a.b` for an object's field).
    Field { path: String },
    /// The latest date of `field` over the items of the list `list`; none if an item has none
    /// (e.g. a licence class that never expires).
    LatestInList { list: String, field: String },
    /// The patient's name of the FHIR bundle in `field`.
    FhirPatientName { field: String },
}

/// The fields a presentation profile may take from this kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    /// Profile name (`airport`, `clinic`, ...).
    pub profile: String,
    /// In the profile's wire order.
    pub fields: Vec<DisclosedField>,
}

/// A field a profile discloses: its name in the presentation, and the declared field it is
/// taken or derived from (`path`, or `kind:path` for another kind's field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosedField {
    pub name: String,
    pub from: String,
}

impl KindDeclaration {
    /// The declared field at `path` (`a.b` for object fields, list item fields by the list's
    /// name: `classes.expiry_date`).
    pub fn field(&self, path: &str) -> Option<&FieldDeclaration> {
        let mut fields = &self.fields;
        let mut found = None;
        for part in path.split('.') {
            let f = fields.iter().find(|f| f.name == part)?;
            fields = match &f.ty {
                FieldType::Object { fields } => fields,
                FieldType::List { items } => items,
                _ => &EMPTY,
            };
            found = Some(f);
        }
        found
    }

    /// Whether `profile` may disclose the presentation field `name`.
    pub fn discloses(&self, profile: &str, name: &str) -> bool {
        self.disclosures
            .iter()
            .any(|d| d.profile == profile && d.fields.iter().any(|f| f.name == name))
    }

    /// The declaration as JSON (what the FFI gives apps).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

static EMPTY: Vec<FieldDeclaration> = Vec::new();

/// Builders that keep the declarations short.
pub(crate) mod build {
    use super::*;

    pub(crate) fn field(name: &str, vi: &str, en: &str, ty: FieldType) -> FieldDeclaration {
        FieldDeclaration {
            name: name.into(),
            label_vi: vi.into(),
            label_en: en.into(),
            ty,
            required: true,
            rules: Vec::new(),
        }
    }

    /// The holder's 12-digit personal ID number (số định danh cá nhân), as every kind that
    /// names its holder carries it.
    pub(crate) fn id_number_field() -> FieldDeclaration {
        field(
            "id_number",
            "Số định danh cá nhân",
            "Personal ID number",
            FieldType::Text,
        )
        .check(CheckFunction::CccdIdNumber)
    }

    impl FieldDeclaration {
        pub(crate) fn optional(mut self) -> Self {
            self.required = false;
            self
        }
        pub(crate) fn rule(mut self, rule: Rule) -> Self {
            self.rules.push(rule);
            self
        }
        /// Non-blank text of at most 1024 characters.
        pub(crate) fn plain_text(self) -> Self {
            self.rule(Rule::NotBlank).rule(Rule::Length {
                min: None,
                max: Some(1024),
            })
        }
        pub(crate) fn digits(self, n: usize) -> Self {
            self.rule(Rule::Pattern {
                regex: format!("^[0-9]{{{n}}}$"),
                description: format!("must be {n} digits"),
            })
        }
        pub(crate) fn after(self, field: &str, strict: bool) -> Self {
            self.rule(Rule::After {
                field: field.into(),
                strict,
            })
        }
        pub(crate) fn age_at(self, field: &str, years: u16) -> Self {
            self.rule(Rule::AgeAt {
                field: field.into(),
                years,
            })
        }
        pub(crate) fn within_years(self, field: &str, years: u16) -> Self {
            self.rule(Rule::WithinYears {
                field: field.into(),
                years,
            })
        }
        pub(crate) fn check(self, function: CheckFunction) -> Self {
            self.rule(Rule::Check { function })
        }
    }

    pub(crate) fn value(value: &str, vi: &str, en: &str) -> EnumValue {
        EnumValue {
            value: value.into(),
            label_vi: vi.into(),
            label_en: en.into(),
        }
    }

    pub(crate) fn authority(id: &str, vi: &str, en: &str) -> Authority {
        Authority {
            id: id.into(),
            name_vi: vi.into(),
            name_en: en.into(),
        }
    }

    pub(crate) fn path(p: &str) -> ValueSource {
        ValueSource::Field { path: p.into() }
    }

    /// A profile's fields: (presentation name, source field).
    pub(crate) fn disclosure(profile: &str, fields: &[(&str, &str)]) -> Disclosure {
        Disclosure {
            profile: profile.into(),
            fields: fields
                .iter()
                .map(|(name, from)| DisclosedField {
                    name: (*name).into(),
                    from: (*from).into(),
                })
                .collect(),
        }
    }
}
