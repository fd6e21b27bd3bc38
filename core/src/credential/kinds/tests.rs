//! The declarations of the four kinds, the rules they carry (a valid and an invalid value for
//! each), summaries and renderings from them, and a kind declared only as data.

use super::*;
use crate::credential::tests::document;
use crate::credential::{Document, DocumentKind};
use ciborium::Value;
use serde_json::json;

fn tag_date(s: &str) -> Value {
    Value::Tag(1004, Box::new(Value::Text(s.into())))
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// `doc` with the value at `path` (`a.b`, `list[i].c`) replaced, or removed when `None`.
fn edited(doc: &Value, path: &str, new: Option<Value>) -> Value {
    fn go(v: &mut Value, parts: &[&str], new: Option<Value>) {
        let (head, rest) = parts.split_first().unwrap();
        let (key, index) = match head.split_once('[') {
            Some((k, i)) => (k, Some(i.trim_end_matches(']').parse::<usize>().unwrap())),
            None => (*head, None),
        };
        let Value::Map(entries) = v else {
            panic!("{key}: not a map")
        };
        let at = entries.iter().position(|(k, _)| *k == text(key));
        if rest.is_empty() && index.is_none() {
            match (at, new) {
                (Some(i), Some(n)) => entries[i].1 = n,
                (None, Some(n)) => entries.push((text(key), n)),
                (Some(i), None) => {
                    entries.remove(i);
                }
                (None, None) => {}
            }
            return;
        }
        let mut child = &mut entries[at.unwrap()].1;
        if let Some(i) = index {
            let Value::Array(items) = child else {
                panic!("{key}: not a list")
            };
            child = &mut items[i];
        }
        if rest.is_empty() {
            *child = new.unwrap();
        } else {
            go(child, rest, new);
        }
    }
    let mut out = doc.clone();
    let parts: Vec<&str> = path.split('.').collect();
    go(&mut out, &parts, new);
    out
}

/// Checks `doc` against the declaration and through the typed reader: both agree.
fn outcome(kind: DocumentKind, doc: &Value) -> Result<(), String> {
    let by_declaration = validate(kind.declaration(), doc).map_err(|e| e.field);
    let by_reader = Document::from_cbor(kind, doc)
        .map(|_| ())
        .map_err(|e| e.field);
    assert_eq!(by_declaration, by_reader, "{kind}");
    by_declaration
}

#[test]
fn declarations_are_well_formed_and_keyed_by_the_enum() {
    let all: Vec<&KindDeclaration> = declarations().iter().collect();
    for kind in DocumentKind::ALL {
        let d = declaration(kind);
        check_well_formed(d, &all).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(DocumentKind::parse(&d.name), Some(kind));
        // The enum's serde name (JSON, the store) is the declaration's machine name.
        assert_eq!(serde_json::to_value(kind).unwrap(), json!(d.name));
        assert_eq!(by_name(&d.name), Some(d));
        assert_eq!(kind.title(), d.label_vi);
        // A declaration is plain data: through JSON and back unchanged.
        let back: KindDeclaration = serde_json::from_value(d.to_json()).unwrap();
        assert_eq!(&back, d);
    }
    // Wire names are stored in databases and credentials: they never change.
    let names: Vec<&str> = declarations().iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "identity",
            "driving_licence",
            "health_insurance",
            "health_record",
            "vehicle_registration",
            "vaccination",
            "judicial_record",
            "birth_certificate",
            "marriage_certificate",
            "social_insurance_book",
            "residence",
            "tax_info",
            "e_health_book"
        ]
    );
    let issuers: std::collections::BTreeSet<_> = declarations()
        .iter()
        .map(|d| d.issuer.id.as_str())
        .collect();
    // Police, health, justice and social insurance each issue several kinds (each kind by its
    // own certificate, ADRs 0043, 0047, 0051).
    assert_eq!(
        issuers.into_iter().collect::<Vec<_>>(),
        [
            "health",
            "justice",
            "police",
            "social_insurance",
            "tax",
            "transport"
        ]
    );
    assert_eq!(
        declaration(DocumentKind::Identity).issuer.name_vi,
        "Bộ Công an"
    );
}

#[test]
fn well_formedness_catches_mistakes() {
    let base = declaration(DocumentKind::HealthInsurance).clone();
    let all: Vec<&KindDeclaration> = declarations().iter().collect();
    let broken = |edit: &dyn Fn(&mut KindDeclaration)| {
        let mut d = base.clone();
        edit(&mut d);
        check_well_formed(&d, &all).unwrap_err()
    };
    assert!(check_well_formed(&base, &all).is_ok());
    assert!(broken(&|d| d.fields.push(d.fields[1].clone())).contains("twice"));
    assert!(broken(&|d| d.fields[1].label_en = " ".into()).contains("empty label"));
    // "Họ" with the combining dot below (U+0323) instead of the precomposed ọ: not NFC.
    assert!(broken(&|d| d.fields[1].label_vi = "Ho\u{323} và tên".into()).contains("NFC"));
    assert!(broken(&|d| d.label_vi = "The\u{309} BHYT".into()).contains("NFC"));
    assert!(
        broken(&|d| d.disclosures[0].fields[0].from = "nickname".into()).contains("not declared")
    );
    assert!(
        broken(&|d| d.disclosures[0].fields[2].from = "identity:nickname".into())
            .contains("not declared")
    );
    assert!(
        broken(&|d| d.fields[0].rules.push(Rule::Range {
            min: None,
            max: Some(1)
        }))
        .contains("does not fit")
    );
    assert!(
        broken(&|d| d.fields[1].rules.push(Rule::Pattern {
            regex: "([".into(),
            description: "x".into()
        }))
        .contains("does not fit")
    );
    assert!(
        broken(&|d| d.fields[4].rules.push(Rule::After {
            field: "holder_name".into(),
            strict: false
        }))
        .contains("does not fit")
    );
    assert!(
        broken(&|d| d.summary.holder = ValueSource::Field {
            path: "valid_to".into()
        })
        .contains("holder")
    );
    assert!(broken(&|d| d.name = "Thẻ".into()).contains("snake_case"));
}

/// (path, value or `None` to remove, `Ok` or the field named by the error).
type Case<'a> = (&'a str, Option<Value>, Result<(), &'a str>);

fn run_cases(kind: DocumentKind, cases: &[Case<'_>]) {
    let doc = document(kind).to_cbor();
    assert_eq!(outcome(kind, &doc), Ok(()), "{kind}: the base document");
    for (path, value, expected) in cases {
        let got = outcome(kind, &edited(&doc, path, value.clone()));
        assert_eq!(
            got,
            expected.map_err(str::to_owned),
            "{kind}: {path} = {value:?}"
        );
    }
}

#[test]
fn identity_rules() {
    let long = "a".repeat(1025);
    run_cases(
        DocumentKind::Identity,
        &[
            ("id_number", Some(text("001095012345")), Ok(())),
            ("id_number", Some(text("04818501234")), Err("id_number")),
            ("id_number", Some(text("04818501234X")), Err("id_number")),
            ("id_number", Some(text("099185012345")), Err("id_number")),
            ("id_number", None, Err("id_number")),
            ("full_name", Some(text("Nguyễn Văn An")), Ok(())),
            ("full_name", Some(text("  ")), Err("full_name")),
            ("full_name", Some(text(&"ễ".repeat(1024))), Ok(())),
            ("full_name", Some(text(&long)), Err("full_name")),
            ("full_name", Some(Value::from(7)), Err("full_name")),
            ("birth_date", Some(tag_date("1985-04-13")), Ok(())),
            ("birth_date", Some(text("1985-04-12")), Err("birth_date")),
            (
                "birth_date",
                Some(tag_date("1985-02-30")),
                Err("birth_date"),
            ),
            ("sex", Some(text("M")), Ok(())),
            ("sex", Some(text("X")), Err("sex")),
            ("nationality", Some(text("")), Err("nationality")),
            ("place_of_origin", Some(text(" ")), Err("place_of_origin")),
            ("place_of_residence", None, Err("place_of_residence")),
            // Not before the date of birth: the same day is fine.
            ("issue_date", Some(tag_date("1985-04-12")), Ok(())),
            (
                "issue_date",
                Some(tag_date("1985-04-11")),
                Err("issue_date"),
            ),
            // Strictly after the issue date, or none at all.
            ("expiry_date", None, Ok(())),
            ("expiry_date", Some(tag_date("2022-03-02")), Ok(())),
            (
                "expiry_date",
                Some(tag_date("2022-03-01")),
                Err("expiry_date"),
            ),
            ("portrait", None, Ok(())),
            (
                "portrait",
                Some(Value::Bytes(vec![0x89, 0x50])),
                Err("portrait"),
            ),
            ("portrait", Some(text("jpeg")), Err("portrait")),
            ("account", None, Ok(())),
            ("account.id", Some(text(" ")), Err("account.id")),
            ("account.level", Some(Value::from(1)), Ok(())),
            ("account.level", Some(Value::from(3)), Err("account.level")),
            ("account", Some(text("acc")), Err("account")),
        ],
    );
}

#[test]
fn driving_licence_rules() {
    run_cases(
        DocumentKind::DrivingLicence,
        &[
            ("number", Some(text("790123456789")), Ok(())),
            ("number", Some(text("48012345678")), Err("number")),
            ("number", Some(text("48012345678A")), Err("number")),
            ("holder_name", Some(text("")), Err("holder_name")),
            ("birth_date", None, Err("birth_date")),
            ("classes", Some(Value::Array(vec![])), Err("classes")),
            ("classes", Some(text("B2")), Err("classes")),
            // Old B2 issued in 2015: a class of the old set; BE exists only since 2025.
            ("classes[0].class", Some(text("B2")), Ok(())),
            (
                "classes[0].class",
                Some(text("BE")),
                Err("classes[0].class"),
            ),
            ("classes[0].class", Some(text("Z")), Err("classes[0].class")),
            // Old A1 never expires; old B2 must.
            (
                "classes[0].expiry_date",
                None,
                Err("classes[0].expiry_date"),
            ),
            (
                "classes[0].issue_date",
                Some(tag_date("1985-04-12")),
                Ok(()),
            ),
            (
                "classes[0].issue_date",
                Some(tag_date("1985-04-11")),
                Err("classes[0].issue_date"),
            ),
            (
                "classes[0].expiry_date",
                Some(tag_date("2015-06-02")),
                Ok(()),
            ),
            (
                "classes[0].expiry_date",
                Some(tag_date("2015-06-01")),
                Err("classes[0].expiry_date"),
            ),
            (
                "issuing_authority",
                Some(text(" ")),
                Err("issuing_authority"),
            ),
            ("points", Some(Value::from(0)), Ok(())),
            ("points", Some(Value::from(12)), Ok(())),
            ("points", Some(Value::from(13)), Err("points")),
            ("points", Some(Value::from(-1)), Err("points")),
            ("points", Some(text("12")), Err("points")),
        ],
    );
    // A class that never expires needs no expiry date.
    let doc = edited(
        &document(DocumentKind::DrivingLicence).to_cbor(),
        "classes[0].class",
        Some(text("A1")),
    );
    assert_eq!(
        outcome(
            DocumentKind::DrivingLicence,
            &edited(&doc, "classes[0].expiry_date", None)
        ),
        Ok(())
    );
}

#[test]
fn health_insurance_rules() {
    run_cases(
        DocumentKind::HealthInsurance,
        &[
            ("code", Some(text("DN4790123456789")), Ok(())),
            ("code", Some(text("HT348012345678")), Err("code")),
            ("code", Some(text("Ht3480123456789")), Err("code.group")),
            (
                "code",
                Some(text("HT6480123456789")),
                Err("code.benefit_level"),
            ),
            ("code", Some(text("HT34A0123456789")), Err("code.province")),
            (
                "code",
                Some(text("HT348012345678X")),
                Err("code.social_insurance_number"),
            ),
            ("holder_name", Some(text(" ")), Err("holder_name")),
            ("facility.code", Some(text("79001")), Ok(())),
            ("facility.code", Some(text("4800")), Err("facility.code")),
            ("facility.name", Some(text("")), Err("facility.name")),
            ("facility", None, Err("facility")),
            ("valid_from", Some(tag_date("1985-04-12")), Ok(())),
            (
                "valid_from",
                Some(tag_date("1985-04-11")),
                Err("valid_from"),
            ),
            ("valid_to", Some(tag_date("2025-01-01")), Ok(())),
            ("valid_to", Some(tag_date("2024-12-31")), Err("valid_to")),
            ("five_years_continuous", None, Ok(())),
            (
                "five_years_continuous",
                Some(text("2020")),
                Err("five_years_continuous"),
            ),
        ],
    );
}

#[test]
fn health_record_rules() {
    let mut no_immunization = crate::credential::health_record::tests::ips();
    no_immunization["entry"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["resource"]["resourceType"] != "Immunization");
    run_cases(
        DocumentKind::HealthRecord,
        &[
            ("fhir_version", Some(text("4.0.1")), Ok(())),
            ("fhir_version", Some(text("5.0.0")), Err("fhir_version")),
            ("bundle", Some(text("{")), Err("bundle")),
            (
                "bundle",
                Some(text(&no_immunization.to_string())),
                Err("Immunization"),
            ),
        ],
    );
}

#[test]
fn summaries_come_from_the_declaration() {
    let summary = |kind| document(kind).summary();
    let id = summary(DocumentKind::Identity);
    assert_eq!(
        (id.holder.as_str(), id.valid_until.map(|d| d.to_string())),
        ("Phạm Thu Hà", Some("2045-04-12".into()))
    );
    let dl = summary(DocumentKind::DrivingLicence);
    assert_eq!(
        dl.valid_until.map(|d| d.to_string()),
        Some("2026-06-01".into())
    );
    assert_eq!(summary(DocumentKind::HealthRecord).valid_until, None);
    assert_eq!(summary(DocumentKind::HealthRecord).holder, "Phạm Thu Hà");
    // The same document summarised by a changed declaration: the summary follows the data.
    let mut d = declaration(DocumentKind::Identity).clone();
    d.summary.holder = ValueSource::Field {
        path: "nationality".into(),
    };
    d.summary.valid_until = Some(ValueSource::Field {
        path: "issue_date".into(),
    });
    let s = summarise(&d, &document(DocumentKind::Identity).to_cbor());
    assert_eq!(s.holder, "Việt Nam");
    assert_eq!(
        s.valid_until.map(|d| d.to_string()),
        Some("2022-03-01".into())
    );
    assert!(!format!("{s:?}").contains("Việt"));
}

#[test]
fn labelled_fields_follow_declaration_order() {
    let fields = document(DocumentKind::Identity).labelled_fields();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "id_number",
            "full_name",
            "birth_date",
            "sex",
            "nationality",
            "place_of_origin",
            "place_of_residence",
            "issue_date",
            "expiry_date",
            "portrait",
            "account"
        ]
    );
    let sex = &fields[3];
    assert_eq!(
        (
            sex.label_vi.as_str(),
            sex.label_en.as_str(),
            sex.ty.as_str()
        ),
        ("Giới tính", "Sex", "enum")
    );
    assert_eq!(sex.value, json!("F"));
    assert_eq!(sex.value_label_vi.as_deref(), Some("Nữ"));
    assert_eq!(fields[2].value, json!("1985-04-12"));
    assert_eq!(fields[2].ty, "date");
    assert_eq!(fields[9].value, json!({"bytes": 8}));
    let account = serde_json::to_value(&fields[10]).unwrap();
    assert_eq!(account["type"], "object");
    assert_eq!(account["value"][1]["name"], "level");
    assert_eq!(account["value"][1]["value_label_en"], "Level 2");
    assert!(!format!("{:?}", fields[1]).contains("Phạm"));

    let licence =
        serde_json::to_value(document(DocumentKind::DrivingLicence).labelled_fields()).unwrap();
    assert_eq!(licence[3]["name"], "classes");
    assert_eq!(licence[3]["type"], "list");
    assert_eq!(licence[3]["value"][0][0]["label_vi"], "Hạng");
    assert_eq!(licence[3]["value"][0][0]["value"], "B2");
    assert_eq!(licence[5]["label_en"], "Points");
    assert_eq!(licence[5]["value"], 12);
}

/// A kind no code knows about, declared as JSON: it validates, summarises and renders.
#[test]
fn a_kind_declared_only_as_data() {
    let declaration: KindDeclaration = serde_json::from_value(json!({
        "name": "library_card",
        "label_vi": "Thẻ thư viện",
        "label_en": "Library card",
        "issuer": {"id": "library", "name_vi": "Thư viện Quốc gia Việt Nam",
                   "name_en": "National Library of Viet Nam"},
        "fields": [
            {"name": "card_number", "label_vi": "Số thẻ", "label_en": "Card number",
             "type": {"kind": "text"},
             "rules": [{"rule": "pattern", "regex": "^TV[0-9]{6}$",
                        "description": "must be TV and six digits"}]},
            {"name": "reader_name", "label_vi": "Họ và tên bạn đọc", "label_en": "Reader",
             "type": {"kind": "text"}, "rules": [{"rule": "not_blank"}]},
            {"name": "category", "label_vi": "Loại thẻ", "label_en": "Category",
             "type": {"kind": "enum", "values": [
                {"value": "sv", "label_vi": "Sinh viên", "label_en": "Student"},
                {"value": "nc", "label_vi": "Nghiên cứu", "label_en": "Research"}]}},
            {"name": "loans", "label_vi": "Số sách được mượn", "label_en": "Loan limit",
             "type": {"kind": "number"}, "rules": [{"rule": "range", "min": 1, "max": 10}]},
            {"name": "issued", "label_vi": "Ngày cấp", "label_en": "Issued",
             "type": {"kind": "date"}},
            {"name": "expires", "label_vi": "Ngày hết hạn", "label_en": "Expires",
             "type": {"kind": "date"}, "required": false,
             "rules": [{"rule": "after", "field": "issued", "strict": true}]}
        ],
        "summary": {"holder": {"from": "field", "path": "reader_name"},
                    "valid_until": {"from": "field", "path": "expires"}}
    }))
    .unwrap();
    check_well_formed(&declaration, &[]).unwrap();
    let map = |entries: Vec<(&str, Value)>| {
        Value::Map(entries.into_iter().map(|(k, v)| (text(k), v)).collect())
    };
    let card = map(vec![
        ("card_number", text("TV012345")),
        ("reader_name", text("Đỗ Thị Hương")),
        ("category", text("nc")),
        ("loans", Value::from(5)),
        ("issued", tag_date("2025-09-01")),
        ("expires", tag_date("2026-08-31")),
    ]);
    assert_eq!(validate(&declaration, &card), Ok(()));
    for (path, value, field) in [
        ("card_number", Some(text("TV01234")), "card_number"),
        ("reader_name", Some(text(" ")), "reader_name"),
        ("category", Some(text("xx")), "category"),
        ("loans", Some(Value::from(11)), "loans"),
        ("issued", None, "issued"),
        ("expires", Some(tag_date("2025-09-01")), "expires"),
    ] {
        let err = validate(&declaration, &edited(&card, path, value)).unwrap_err();
        assert_eq!(err.field, field);
    }
    let s = summarise(&declaration, &card);
    assert_eq!(
        (s.kind.as_str(), s.title_vi.as_str(), s.holder.as_str()),
        ("library_card", "Thẻ thư viện", "Đỗ Thị Hương")
    );
    assert_eq!(
        s.valid_until.map(|d| d.to_string()),
        Some("2026-08-31".into())
    );
    let shown = serde_json::to_value(render(&declaration, &card)).unwrap();
    let names: Vec<&str> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "card_number",
            "reader_name",
            "category",
            "loans",
            "issued",
            "expires"
        ]
    );
    assert_eq!(shown[2]["value_label_vi"], "Nghiên cứu");
    assert_eq!(shown[3]["type"], "number");
    assert_eq!(shown[4]["value"], "2025-09-01");
}

/// Every `not_blank` and `length` rule of the declarations, read from the declarations
/// themselves: a valid and an invalid value each, on top-level and object fields.
#[test]
fn every_text_rule_of_every_kind() {
    let mut checked = 0;
    for kind in DocumentKind::ALL {
        let doc = document(kind).to_cbor();
        let mut fields: Vec<(String, &FieldDeclaration)> = Vec::new();
        for f in &kind.declaration().fields {
            fields.push((f.name.clone(), f));
            if let FieldType::Object { fields: inner } = &f.ty {
                fields.extend(inner.iter().map(|g| (format!("{}.{}", f.name, g.name), g)));
            }
        }
        for (path, f) in fields {
            if doc_has(&doc, &path).is_none() {
                continue;
            }
            // The marriage sample's holder is the wife: renaming her, the holder becomes the
            // husband (check `spouse_holder` names the holder among the spouses).
            let doc = if kind == DocumentKind::MarriageCertificate && path == "wife.full_name" {
                edited(
                    &doc,
                    "holder_name",
                    doc_has(&doc, "husband.full_name").cloned(),
                )
            } else {
                doc.clone()
            };
            for rule in &f.rules {
                let (good, bad) = match rule {
                    Rule::NotBlank => ("Nguyễn Văn An".to_owned(), " \t".to_owned()),
                    Rule::Length { max: Some(m), .. } if f.ty == FieldType::Text => {
                        ("ễ".repeat(*m), "a".repeat(m + 1))
                    }
                    _ => continue,
                };
                assert_eq!(
                    outcome(kind, &edited(&doc, &path, Some(text(&good)))),
                    Ok(()),
                    "{path}"
                );
                assert_eq!(
                    outcome(kind, &edited(&doc, &path, Some(text(&bad)))),
                    Err(path.clone()),
                    "{kind} {path} {rule:?}"
                );
                checked += 1;
            }
        }
    }
    // identity: 5 fields × 2 rules; licence: 2 × 2; BHYT: 2 × 2; vehicle registration:
    // 5 × 2; vaccination: 1 × 2; judicial record: 2 × 2; birth certificate: 7 × 2; marriage
    // certificate: 5 × 2; social insurance book: 2 × 2; residence: 3 × 2; tax: 2 × 2; e-health
    // book: 1 × 2.
    assert_eq!(checked, 74);
}

fn doc_has<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, key| {
        v.as_map()?
            .iter()
            .find(|(k, _)| *k == text(key))
            .map(|(_, v)| v)
    })
}
