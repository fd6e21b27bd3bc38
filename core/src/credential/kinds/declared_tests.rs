//! The declared-only kinds (vehicle registration, vaccination record, judicial record extract,
//! ADR 0043): a valid and an invalid value for each of their rules, their renderings and
//! summaries.

use crate::credential::tests::declared_sample;
use crate::credential::{Date, DeclaredDocument, Document, DocumentKind};
use serde_json::{Value, json};

/// The sample of `kind` with `edit` applied, checked: `Ok`, or the failing field's path and
/// reason.
fn check(kind: DocumentKind, edit: impl FnOnce(&mut Value)) -> Result<(), (String, String)> {
    let mut doc = declared_sample(kind);
    edit(&mut doc);
    DeclaredDocument::from_json(kind, &doc)
        .map(|_| ())
        .map_err(|e| (e.field, e.reason))
}

fn field_of(r: Result<(), (String, String)>) -> String {
    r.expect_err("must be refused").0
}

const VEHICLE: DocumentKind = DocumentKind::VehicleRegistration;
const VACCINATION: DocumentKind = DocumentKind::Vaccination;
const JUDICIAL: DocumentKind = DocumentKind::JudicialRecord;

#[test]
fn the_samples_are_valid() {
    for kind in [VEHICLE, VACCINATION, JUDICIAL] {
        assert_eq!(check(kind, |_| {}), Ok(()), "{kind}");
        assert!(kind.is_declared_only());
    }
    for kind in [
        DocumentKind::Identity,
        DocumentKind::DrivingLicence,
        DocumentKind::HealthInsurance,
        DocumentKind::HealthRecord,
    ] {
        assert!(!kind.is_declared_only());
        // A typed kind is never held as a declared document.
        let e = DeclaredDocument::from_json(kind, &declared_sample(VEHICLE)).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("kind", "has a typed model")
        );
    }
}

#[test]
fn plate_numbers() {
    for good in [
        "30A-123.45",
        "51F-678.90",
        "29B1-234.56",
        "30E-1234",
        "43AB-123.45",
    ] {
        assert_eq!(
            check(VEHICLE, |d| d["plate"] = json!(good)),
            Ok(()),
            "{good}"
        );
    }
    for bad in [
        "30A12345",     // no hyphen
        "10A-123.45",   // no province 10
        "30a-123.45",   // lower case series
        "30A-12.345",   // dot in the wrong place
        "30A-123456",   // six digits
        "3A-123.45",    // one-digit province
        "30ABC-123.45", // three series letters
        "30A-123",      // three digits
        " 30A-123.45",  // blank before
    ] {
        let r = check(VEHICLE, |d| d["plate"] = json!(bad));
        assert_eq!(
            r,
            Err((
                "plate".into(),
                "must be a plate number such as 30A-123.45".into()
            )),
            "{bad}"
        );
    }
}

#[test]
fn vin_check_digit_and_letters() {
    assert_eq!(super::vin_check_digit("1M8GDM9AXKP042788"), Some('X'));
    assert_eq!(
        check(VEHICLE, |d| d["vin"] = json!("11111111111111111")),
        Ok(())
    );
    let reason = |vin: &str| check(VEHICLE, |d| d["vin"] = json!(vin)).unwrap_err();
    // The check digit wrong (X expected).
    assert_eq!(
        reason("1M8GDM9A1KP042788"),
        (
            "vin".into(),
            "check digit (position 9) does not match".into()
        )
    );
    // A letter O where the VIN alphabet has none (and I, Q).
    for bad in [
        "1M8GDM9AXKO042788",
        "1M8GDM9AXKI042788",
        "1M8GDM9AXKQ042788",
    ] {
        assert_eq!(reason(bad).1, "must not contain I, O or Q", "{bad}");
    }
    assert_eq!(reason("1M8GDM9AXKP04278").1, "must be 17 characters");
    assert_eq!(
        reason("1M8GDM9AXKP04278a").1,
        "must be digits and capital letters"
    );
}

#[test]
fn other_vehicle_rules() {
    assert_eq!(
        field_of(check(VEHICLE, |d| d["owner_id_number"] = json!("999185012345"))),
        "owner_id_number"
    );
    assert_eq!(
        field_of(check(VEHICLE, |d| d["engine_number"] = json!("2nr 12"))),
        "engine_number"
    );
    assert_eq!(
        field_of(check(VEHICLE, |d| d["vehicle_type"] = json!("tank"))),
        "vehicle_type"
    );
    assert_eq!(
        field_of(check(VEHICLE, |d| d["number"] = json!("12345"))),
        "number"
    );
    assert_eq!(
        field_of(check(VEHICLE, |d| d["registration_date"] = json!("2019-02-30"))),
        "registration_date"
    );
    assert_eq!(
        field_of(check(VEHICLE, |d| {
            d.as_object_mut().unwrap().remove("vin");
        })),
        "vin"
    );
    // Nothing undeclared rides along.
    assert_eq!(
        field_of(check(VEHICLE, |d| d["nickname"] = json!("x"))),
        "nickname"
    );
}

#[test]
fn vaccination_dates_in_order_and_not_in_the_future() {
    // Out of order: the third dose before the second.
    assert_eq!(
        check(VACCINATION, |d| d["doses"][2]["date"] = json!("2021-08-01")),
        Err((
            "doses[2].date".into(),
            "earlier than the dose before it (doses are in date order)".into()
        ))
    );
    // The same day twice is in order.
    assert_eq!(
        check(VACCINATION, |d| d["doses"][2]["date"] = json!("2021-08-10")),
        Ok(())
    );
    // After the record's date: in its future.
    assert_eq!(
        check(VACCINATION, |d| d["doses"][2]["date"] = json!("2025-06-02")),
        Err((
            "doses[2].date".into(),
            "in the future of the record (after as_of)".into()
        ))
    );
    assert_eq!(
        check(VACCINATION, |d| d["doses"][2]["date"] = json!("2025-06-01")),
        Ok(())
    );
    // Before the holder was born.
    assert_eq!(
        field_of(check(VACCINATION, |d| d["doses"][0]["date"] = json!("1980-01-01"))),
        "doses[0].date"
    );
}

#[test]
fn vaccination_codes_and_dose_numbers() {
    // Not in the declared code list.
    assert_eq!(
        field_of(check(VACCINATION, |d| d["doses"][0]["vaccine"] = json!("999"))),
        "doses[0].vaccine"
    );
    // COVID-19 dose 2 then dose 1 again.
    assert_eq!(
        check(VACCINATION, |d| d["doses"][2]["dose_number"] = json!(1)),
        Err((
            "doses[2].dose_number".into(),
            "not above the previous dose of this vaccine".into()
        ))
    );
    assert_eq!(
        field_of(check(VACCINATION, |d| d["doses"][0]["dose_number"] = json!(0))),
        "doses[0].dose_number"
    );
    assert_eq!(
        field_of(check(VACCINATION, |d| d["doses"] = json!([]))),
        "doses"
    );
    assert_eq!(
        field_of(check(VACCINATION, |d| d["doses"][1]["facility"] = json!(" "))),
        "doses[1].facility"
    );
}

#[test]
fn judicial_validity_form_and_result() {
    // Valid until must be after the issue date: the same day or before is refused.
    for bad in ["2025-05-20", "2025-05-01"] {
        assert_eq!(
            field_of(check(JUDICIAL, |d| d["valid_until"] = json!(bad))),
            "valid_until",
            "{bad}"
        );
    }
    assert_eq!(
        check(JUDICIAL, |d| d["valid_until"] = json!("2025-05-21")),
        Ok(())
    );
    assert_eq!(
        field_of(check(JUDICIAL, |d| d["form"] = json!("3"))),
        "form"
    );
    assert_eq!(check(JUDICIAL, |d| d["form"] = json!("2")), Ok(()));
    assert_eq!(
        field_of(check(JUDICIAL, |d| d["number"] = json!("1234/25"))),
        "number"
    );
    let conviction = json!([{
        "judgment": "12/2015/HS-ST",
        "court": "Tòa án nhân dân Đà Nẵng",
        "date": "2015-03-02",
        "offence": "Vi phạm quy định về tham gia giao thông đường bộ",
        "sentence": "Phạt tiền 30.000.000 đồng",
    }]);
    assert_eq!(
        check(JUDICIAL, |d| {
            d["result"] = json!("convicted");
            d["convictions"] = conviction.clone();
        }),
        Ok(())
    );
    assert_eq!(
        check(JUDICIAL, |d| d["result"] = json!("convicted")),
        Err((
            "convictions".into(),
            "required when the result is a criminal record".into()
        ))
    );
    assert_eq!(
        field_of(check(JUDICIAL, |d| d["convictions"] = conviction.clone())),
        "convictions"
    );
    assert_eq!(
        field_of(check(JUDICIAL, |d| d["result"] = json!("unknown"))),
        "result"
    );
}

#[test]
fn rendered_in_declaration_order_with_vietnamese_labels() {
    let doc = |kind| {
        Document::Declared(DeclaredDocument::from_json(kind, &declared_sample(kind)).unwrap())
    };
    let vehicle = doc(VEHICLE).labelled_fields();
    let names: Vec<&str> = vehicle.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "number",
            "plate",
            "vehicle_type",
            "owner_name",
            "owner_id_number",
            "brand",
            "model",
            "colour",
            "vin",
            "engine_number",
            "registration_date",
            "issuing_authority"
        ]
    );
    assert_eq!(vehicle[1].label_vi, "Biển số");
    assert_eq!(vehicle[1].value, json!("43A-123.45"));
    assert_eq!(vehicle[2].value_label_vi.as_deref(), Some("Ô tô"));
    assert_eq!(vehicle[8].label_vi, "Số khung (VIN)");
    assert_eq!(vehicle[10].value, json!("2019-05-20"));
    assert_eq!(vehicle[10].ty, "date");

    let vaccination = doc(VACCINATION).labelled_fields();
    assert_eq!(vaccination[3].label_vi, "Các mũi tiêm");
    let first = &vaccination[3].value[0];
    assert_eq!(first[0]["label_vi"], "Vắc xin");
    assert_eq!(first[0]["value"], "45");
    assert_eq!(first[0]["value_label_vi"], "Vắc xin viêm gan B");
    assert_eq!(first[2]["label_vi"], "Ngày tiêm");

    let judicial = doc(JUDICIAL).labelled_fields();
    assert_eq!(judicial[0].label_vi, "Số phiếu");
    assert_eq!(
        judicial[1].value_label_vi.as_deref(),
        Some("Phiếu lý lịch tư pháp số 1")
    );
    assert_eq!(
        judicial[5].value_label_vi.as_deref(),
        Some("Không có án tích")
    );
    assert_eq!(judicial.last().unwrap().label_vi, "Có giá trị đến");

    // Summaries: the holder, and the judicial extract's validity (the list shows it expired
    // after that day).
    assert_eq!(doc(JUDICIAL).summary().valid_until, Date::new(2025, 11, 16));
    assert_eq!(doc(VEHICLE).summary().holder, "Phạm Thu Hà");
    assert_eq!(doc(VEHICLE).summary().valid_until, None);
    assert_eq!(doc(VACCINATION).summary().holder, "Phạm Thu Hà");
    assert_eq!(doc(VEHICLE).summary().title, "Giấy chứng nhận đăng ký xe");
    // Debug shows the kind, never a value.
    let debug = format!("{:?}", doc(VEHICLE));
    assert!(debug.contains("VehicleRegistration"));
    assert!(!debug.contains("43A") && !debug.contains("Phạm"));
}
