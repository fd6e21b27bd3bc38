//! DG2 (face image) parsing over arbitrary bytes: never panics, and the faces it returns are
//! consistent.

use eid_icao::dg2::{self, ImageFormat};

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Ok(d) = dg2::parse(data) else {
        return;
    };
    let total: usize = d.faces.iter().map(|f| f.image.len()).sum();
    assert!(total <= data.len());
    for face in &d.faces {
        let _ = face.gender_name();
        let _ = face.format.mime();
        assert_eq!(
            face.format,
            ImageFormat::detect(&face.image, face.image_data_type)
        );
        let _ = format!("{face:?}");
    }
}
