//! DG13 (CCCD civil data) parsing over arbitrary bytes: never panics, and every accessor of the
//! result is safe too.

use eid_icao::dg13::{self, field_name};

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Ok(d) = dg13::parse(data) else {
        return;
    };
    let accessors = [
        d.id_number(),
        d.full_name(),
        d.date_of_birth(),
        d.sex(),
        d.nationality(),
        d.ethnicity(),
        d.religion(),
        d.place_of_origin(),
        d.place_of_residence(),
        d.identifying_marks(),
        d.issue_date(),
        d.expiry_date(),
        d.father_name(),
        d.mother_name(),
        d.spouse_name(),
        d.old_id_number(),
    ];
    assert!(accessors.iter().flatten().all(|v| !v.is_empty()));
    for (number, values) in &d.fields {
        assert_eq!(d.values(*number), values.as_slice());
        let _ = d.get(*number);
        let _ = field_name(*number);
    }
    let _ = d.values(u32::MAX);
    let _ = d.get(0);
    let named = d.named();
    assert!(named.len() <= d.fields.len());
    let _ = format!("{d:?}");
}
