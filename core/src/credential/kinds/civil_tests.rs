//! The civil kinds (birth and marriage certificates, social insurance book, residence and tax
//! information; ADR 0047): a valid sample of each, and a valid and an invalid value for each of
//! their rules.

use crate::credential::{DeclaredDocument, Document, DocumentKind};
use serde_json::{Value, json};

/// The civil kinds, in [`DocumentKind::ALL`] order.
pub(crate) const CIVIL: [DocumentKind; 5] = [
    DocumentKind::BirthCertificate,
    DocumentKind::MarriageCertificate,
    DocumentKind::SocialInsuranceBook,
    DocumentKind::Residence,
    DocumentKind::TaxInfo,
];

const BIRTH: DocumentKind = DocumentKind::BirthCertificate;
const MARRIAGE: DocumentKind = DocumentKind::MarriageCertificate;
const BOOK: DocumentKind = DocumentKind::SocialInsuranceBook;
const RESIDENCE: DocumentKind = DocumentKind::Residence;
const TAX: DocumentKind = DocumentKind::TaxInfo;

const NAME: &str = "Phạm Thu Hà";
const ID: &str = "048185012345";

/// A valid document of a civil kind, as JSON.
pub(crate) fn sample(kind: DocumentKind) -> Value {
    match kind {
        DocumentKind::BirthCertificate => json!({
            "number": "127/1985",
            "registration_place": "Ủy ban nhân dân Phường Hải Châu, Đà Nẵng",
            "registration_date": "1985-05-02",
            "full_name": NAME,
            "sex": "F",
            "date_of_birth": "1985-04-12",
            "place_of_birth": "Bệnh viện Đa khoa Đà Nẵng",
            "nationality": "Việt Nam",
            "ethnicity": "Kinh",
            "id_number": ID,
            "father_name": "Phạm Văn Minh",
            "mother_name": "Lê Thị Hoa",
            "issue_date": "2025-05-20",
        }),
        DocumentKind::MarriageCertificate => json!({
            "number": "45/2010",
            "registration_place": "Ủy ban nhân dân Phường Hải Châu, Đà Nẵng",
            "registration_date": "2010-09-18",
            "husband": {
                "full_name": "Trần Quốc Bảo",
                "date_of_birth": "1983-11-02",
                "nationality": "Việt Nam",
                "id_number": "048083054321",
            },
            "wife": {
                "full_name": NAME,
                "date_of_birth": "1985-04-12",
                "nationality": "Việt Nam",
                "id_number": ID,
            },
            "holder_name": NAME,
            "issue_date": "2025-05-20",
        }),
        DocumentKind::SocialInsuranceBook => json!({
            "book_number": "4801234567",
            "holder_name": NAME,
            "date_of_birth": "1985-04-12",
            "id_number": ID,
            "periods": [
                {"from_month": "2008-07", "to_month": "2012-12", "employer": "Công ty TNHH Thương mại Sông Hàn", "salary_base": 3_500_000},
                {"from_month": "2013-03", "to_month": "2024-12", "employer": "Ngân hàng TMCP Đà Nẵng", "salary_base": 12_000_000},
            ],
            // 54 + 142 months.
            "total_months": 196,
            "issuing_authority": "Bảo hiểm xã hội cơ sở Hải Châu, Đà Nẵng",
            "as_of": "2025-05-20",
        }),
        DocumentKind::Residence => json!({
            "holder_name": NAME,
            "date_of_birth": "1985-04-12",
            "id_number": ID,
            "permanent": {
                "address": {"street": "Số 12 Quang Trung", "commune": "Phường Hải Châu", "province": "Đà Nẵng"},
                "registration_date": "2011-03-01",
            },
            "temporary": {
                "address": {"street": "Số 5 Ngõ 12 Láng Hạ", "commune": "Phường Láng", "province": "Hà Nội"},
                "start_date": "2025-01-06",
                "valid_until": "2027-01-05",
            },
            "head_of_household": "Trần Quốc Bảo",
            "relationship": "Vợ",
            "as_of": "2025-05-20",
        }),
        DocumentKind::TaxInfo => json!({
            "holder_name": NAME,
            "id_number": ID,
            "tax_id": ID,
            "tax_authority": "Thuế cơ sở 1 thành phố Đà Nẵng",
            "status": "active",
            "registration_date": "2008-08-15",
        }),
        _ => Value::Null,
    }
}

/// The sample of `kind` with `edit` applied, checked: `Ok`, or the failing field's path and
/// reason.
fn check(kind: DocumentKind, edit: impl FnOnce(&mut Value)) -> Result<(), (String, String)> {
    let mut doc = sample(kind);
    edit(&mut doc);
    DeclaredDocument::from_json(kind, &doc)
        .map(|_| ())
        .map_err(|e| (e.field, e.reason))
}

fn field_of(r: Result<(), (String, String)>) -> String {
    r.expect_err("must be refused").0
}

#[test]
fn the_samples_are_valid_and_declared_only() {
    for kind in CIVIL {
        assert_eq!(check(kind, |_| {}), Ok(()), "{kind}");
        assert!(kind.is_declared_only(), "{kind}");
        // Every declared field is there, so every rule runs on the samples.
        let shown = Document::Declared(DeclaredDocument::from_json(kind, &sample(kind)).unwrap())
            .labelled_fields();
        assert_eq!(shown.len(), kind.declaration().fields.len(), "{kind}");
    }
}

#[test]
fn civil_registration_numbers() {
    for kind in [BIRTH, MARRIAGE] {
        let year = sample(kind)["registration_date"].as_str().unwrap()[..4].to_owned();
        for good in [format!("1/{year}"), format!("999999/{year}")] {
            assert_eq!(check(kind, |d| d["number"] = json!(good)), Ok(()), "{good}");
        }
        for bad in [
            format!("0127/{year}"),
            format!("1234567/{year}"),
            format!("12-{year}"),
            format!("/{year}"),
            format!("12/{}", &year[2..]),
            "12/2024".to_owned(),
            format!("12/{year}/HT"),
        ] {
            assert_eq!(
                field_of(check(kind, |d| d["number"] = json!(bad))),
                "number",
                "{kind} {bad}"
            );
        }
    }
    // The year follows the registration date.
    assert_eq!(
        check(BIRTH, |d| {
            d["registration_date"] = json!("1986-01-03");
            d["number"] = json!("3/1986");
        }),
        Ok(())
    );
}

#[test]
fn birth_registration_between_birth_and_issue() {
    // On the day of birth, and on the day of issue: accepted.
    assert_eq!(
        check(BIRTH, |d| d["registration_date"] = json!("1985-04-12")),
        Ok(())
    );
    assert_eq!(
        check(BIRTH, |d| {
            d["registration_date"] = json!("2025-05-20");
            d["number"] = json!("12/2025");
        }),
        Ok(())
    );
    // Before the birth.
    assert_eq!(
        check(BIRTH, |d| d["registration_date"] = json!("1985-04-11")),
        Err(("registration_date".into(), "before date of birth".into()))
    );
    // In the future of the certificate (after the day it was issued).
    assert_eq!(
        field_of(check(BIRTH, |d| {
            d["registration_date"] = json!("2025-05-21");
            d["number"] = json!("12/2025");
        })),
        "issue_date"
    );
    // Places and names non-blank; the parents optional.
    for f in [
        "registration_place",
        "place_of_birth",
        "full_name",
        "nationality",
    ] {
        assert_eq!(field_of(check(BIRTH, |d| d[f] = json!("  "))), f);
        let missing = check(BIRTH, |d| {
            d.as_object_mut().unwrap().remove(f);
        });
        assert_eq!(missing, Err((f.into(), "missing".into())));
    }
    for f in ["father_name", "mother_name"] {
        assert_eq!(
            check(BIRTH, |d| {
                d.as_object_mut().unwrap().remove(f);
            }),
            Ok(())
        );
        assert_eq!(field_of(check(BIRTH, |d| d[f] = json!(""))), f);
    }
    assert_eq!(field_of(check(BIRTH, |d| d["sex"] = json!("X"))), "sex");
    assert_eq!(
        field_of(check(BIRTH, |d| d["id_number"] = json!("999185012345"))),
        "id_number"
    );
}

#[test]
fn marriage_age_at_registration() {
    // Law on Marriage and Family 2014, art. 8(1)(a): the husband of full 20 years on the
    // registration date (2010-09-18), the wife of full 18.
    assert_eq!(
        check(MARRIAGE, |d| d["husband"]["date_of_birth"] =
            json!("1990-09-18")),
        Ok(())
    );
    assert_eq!(
        check(MARRIAGE, |d| d["husband"]["date_of_birth"] =
            json!("1990-09-19")),
        Err((
            "husband.date_of_birth".into(),
            "under 20 years of age on the registration date".into()
        ))
    );
    assert_eq!(
        check(MARRIAGE, |d| d["wife"]["date_of_birth"] =
            json!("1992-09-18")),
        Ok(())
    );
    assert_eq!(
        field_of(check(MARRIAGE, |d| d["wife"]["date_of_birth"] =
            json!("1992-09-19"))),
        "wife.date_of_birth"
    );
    // The 19-year-old wife is of age, a 19-year-old husband is not.
    assert_eq!(
        check(MARRIAGE, |d| d["wife"]["date_of_birth"] =
            json!("1991-01-01")),
        Ok(())
    );
    assert_eq!(
        field_of(check(MARRIAGE, |d| d["husband"]["date_of_birth"] =
            json!("1991-01-01"))),
        "husband.date_of_birth"
    );
    // Born on 29 February: of age from 1 March in a common year.
    let on = |reg: &str, born: &str| {
        check(MARRIAGE, |d| {
            d["registration_date"] = json!(reg);
            d["number"] = json!(format!("7/{}", &reg[..4]));
            d["wife"]["date_of_birth"] = json!(born);
        })
    };
    assert_eq!(on("2022-03-01", "2004-02-29"), Ok(()));
    assert_eq!(
        field_of(on("2022-02-28", "2004-02-29")),
        "wife.date_of_birth"
    );
    // Born after the registration.
    assert_eq!(
        field_of(check(MARRIAGE, |d| d["wife"]["date_of_birth"] =
            json!("2011-01-01"))),
        "wife.date_of_birth"
    );
}

#[test]
fn marriage_spouses_and_holder() {
    // Two persons: the same ID number twice is refused.
    assert_eq!(
        check(MARRIAGE, |d| d["wife"]["id_number"] = json!("048083054321")),
        Err((
            "wife.id_number".into(),
            "must differ from husband.id number".into()
        ))
    );
    assert_eq!(
        field_of(check(MARRIAGE, |d| d["husband"]["id_number"] =
            json!("04808305432"))),
        "husband.id_number"
    );
    // The holder is either spouse, nobody else.
    assert_eq!(
        check(MARRIAGE, |d| d["holder_name"] = json!("Trần Quốc Bảo")),
        Ok(())
    );
    assert_eq!(
        check(MARRIAGE, |d| d["holder_name"] = json!("Nguyễn Văn An")),
        Err((
            "holder_name".into(),
            "must be the name of one of the spouses".into()
        ))
    );
    assert_eq!(
        field_of(check(MARRIAGE, |d| d["issue_date"] = json!("2010-09-17"))),
        "issue_date"
    );
    assert_eq!(
        field_of(check(MARRIAGE, |d| {
            d["wife"].as_object_mut().unwrap().remove("full_name");
        })),
        "wife.full_name"
    );
}

#[test]
fn social_insurance_contribution_periods() {
    let periods = |d: &mut Value, p: Value, total: u32| {
        d["periods"] = p;
        d["total_months"] = json!(total);
    };
    let p = |from: &str, to: &str| json!({"from_month": from, "to_month": to, "employer": "Công ty A", "salary_base": 5_000_000});
    // Adjacent periods, a one-month period, and none at all.
    assert_eq!(
        check(BOOK, |d| periods(
            d,
            json!([p("2020-01", "2020-12"), p("2021-01", "2021-01")]),
            13
        )),
        Ok(())
    );
    assert_eq!(check(BOOK, |d| periods(d, json!([]), 0)), Ok(()));
    // The stated total must be the sum.
    assert_eq!(
        check(BOOK, |d| d["total_months"] = json!(195)),
        Err((
            "total_months".into(),
            "is not the sum of the contribution periods".into()
        ))
    );
    // From after to.
    assert_eq!(
        field_of(check(BOOK, |d| periods(
            d,
            json!([p("2021-02", "2021-01")]),
            0
        ))),
        "periods[0].to_month"
    );
    // Overlapping, and out of order.
    assert_eq!(
        field_of(check(BOOK, |d| periods(
            d,
            json!([p("2020-01", "2020-12"), p("2020-12", "2021-03")]),
            16
        ))),
        "periods[1].from_month"
    );
    assert_eq!(
        field_of(check(BOOK, |d| periods(
            d,
            json!([p("2022-01", "2022-12"), p("2020-01", "2020-12")]),
            24
        ))),
        "periods[1].from_month"
    );
    // Months and the book number.
    for bad in ["2020-13", "2020-00", "2020-1", "202001"] {
        assert_eq!(
            field_of(check(BOOK, |d| periods(d, json!([p(bad, "2021-01")]), 1))),
            "periods[0].from_month",
            "{bad}"
        );
    }
    assert_eq!(
        field_of(check(BOOK, |d| d["book_number"] = json!("480123456"))),
        "book_number"
    );
    assert_eq!(
        field_of(check(BOOK, |d| d["periods"][0]["salary_base"] = json!(0))),
        "periods[0].salary_base"
    );
    assert_eq!(
        field_of(check(BOOK, |d| d["periods"][1]["employer"] = json!(" "))),
        "periods[1].employer"
    );
}

#[test]
fn residence_temporary_term_and_address() {
    // Without a temporary residence.
    assert_eq!(
        check(RESIDENCE, |d| {
            d.as_object_mut().unwrap().remove("temporary");
        }),
        Ok(())
    );
    // The end strictly after the start.
    assert_eq!(
        check(RESIDENCE, |d| d["temporary"]["valid_until"] =
            json!("2025-01-07")),
        Ok(())
    );
    for bad in ["2025-01-06", "2024-12-31"] {
        assert_eq!(
            check(RESIDENCE, |d| d["temporary"]["valid_until"] = json!(bad)),
            Err((
                "temporary.valid_until".into(),
                "not after start date".into()
            ))
        );
    }
    // At most 2 years per registration (Law on Residence 2020, art. 27(3)): the same day two
    // years after the start is the last allowed.
    assert_eq!(
        check(RESIDENCE, |d| d["temporary"]["valid_until"] =
            json!("2027-01-06")),
        Ok(())
    );
    for bad in ["2027-01-07", "2028-01-06"] {
        assert_eq!(
            check(RESIDENCE, |d| d["temporary"]["valid_until"] = json!(bad)),
            Err((
                "temporary.valid_until".into(),
                "more than 2 years after the start date".into()
            ))
        );
    }
    // A temporary residence needs its end date.
    assert_eq!(
        check(RESIDENCE, |d| {
            d["temporary"]
                .as_object_mut()
                .unwrap()
                .remove("valid_until");
        }),
        Err(("temporary.valid_until".into(), "missing".into()))
    );
    // Every address part non-blank.
    for part in ["street", "commune", "province"] {
        for at in ["permanent", "temporary"] {
            assert_eq!(
                field_of(check(RESIDENCE, |d| d[at]["address"][part] = json!(" "))),
                format!("{at}.address.{part}")
            );
        }
    }
    assert_eq!(
        field_of(check(RESIDENCE, |d| d["permanent"]["registration_date"] =
            json!("1985-04-11"))),
        "permanent.registration_date"
    );
}

#[test]
fn tax_identifier_is_the_personal_id_number() {
    // Another valid ID number that is not the holder's.
    assert_eq!(
        check(TAX, |d| d["tax_id"] = json!("048083054321")),
        Err(("tax_id".into(), "must equal id number".into()))
    );
    // The old 10-digit tax code is no longer a tax identifier.
    assert_eq!(
        check(TAX, |d| d["tax_id"] = json!("8012345678")),
        Err(("tax_id".into(), "must be 12 digits".into()))
    );
    // Both changed together stay equal and valid.
    assert_eq!(
        check(TAX, |d| {
            d["tax_id"] = json!("079190000001");
            d["id_number"] = json!("079190000001");
        }),
        Ok(())
    );
    assert_eq!(
        field_of(check(TAX, |d| d["status"] = json!("open"))),
        "status"
    );
    assert_eq!(
        check(TAX, |d| {
            d.as_object_mut().unwrap().remove("registration_date");
        }),
        Ok(())
    );
}

/// The generic rules the civil kinds brought (`age_at`, `same_as`, `differs_from`) fit only
/// where they make sense, and survive JSON as plain data.
#[test]
fn new_rules_are_checked_for_fit_and_round_trip() {
    use super::{Rule, check_well_formed, declarations};
    let others: Vec<&_> = declarations().iter().collect();
    for kind in CIVIL {
        check_well_formed(kind.declaration(), &others).unwrap();
    }
    let mut d = MARRIAGE.declaration().clone();
    let json = serde_json::to_value(&d).unwrap();
    let husband = &json["fields"][3]["type"]["fields"];
    assert_eq!(
        husband[1]["rules"][0],
        json!({"rule": "age_at", "field": "registration_date", "years": 20})
    );
    assert_eq!(
        json["fields"][4]["type"]["fields"][3]["rules"][1],
        json!({"rule": "differs_from", "path": "husband.id_number"})
    );
    assert_eq!(husband[3]["rules"].as_array().unwrap().len(), 1);
    // A same_as pointing nowhere, and an age_at on a text field, are refused.
    d.fields[0].rules.push(Rule::SameAs {
        path: "husband.nobody".into(),
    });
    assert!(check_well_formed(&d, &others).is_err());
    let mut d = MARRIAGE.declaration().clone();
    d.fields[0].rules.push(Rule::AgeAt {
        field: "registration_date".into(),
        years: 18,
    });
    assert!(check_well_formed(&d, &others).is_err());
}
