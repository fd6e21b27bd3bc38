//! DG2: the encoded face (ICAO 9303-10 §4.7.2) as ISO/IEC 19794-5:2005 facial records inside
//! the biometric information template of ISO/IEC 7816-11.
//!
//! `75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E|7F2E record }* } }`. Every face of every
//! template is returned.

use eid_crypto::tlv::{self, Tlv};
use serde::Serialize;
use thiserror::Error;

/// Why DG2 could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Dg2Error {
    #[error("DG2 is not a valid TLV structure")]
    Structure,
    #[error("DG2 holds no biometric data block")]
    NoBiometricData,
    #[error("facial record header is invalid")]
    BadRecordHeader,
    #[error("facial record truncated at byte {0}")]
    Truncated(usize),
}

/// Image encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ImageFormat {
    Jpeg,
    Jpeg2000,
    Unknown,
}

impl ImageFormat {
    /// From the image's first bytes, falling back to the 19794-5 image data type (0 JPEG,
    /// 1 JPEG 2000; ISO/IEC 19794-5 §5.7.2).
    pub fn detect(image: &[u8], data_type: u8) -> Self {
        const JP2_BOX: [u8; 12] = [
            0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A,
        ];
        if image.starts_with(&[0xFF, 0xD8, 0xFF]) {
            ImageFormat::Jpeg
        } else if image.starts_with(&JP2_BOX) || image.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
            ImageFormat::Jpeg2000
        } else {
            match data_type {
                0 => ImageFormat::Jpeg,
                1 => ImageFormat::Jpeg2000,
                _ => ImageFormat::Unknown,
            }
        }
    }

    /// MIME type for display.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Jpeg2000 => "image/jp2",
            ImageFormat::Unknown => "application/octet-stream",
        }
    }
}

/// The biometric header template (ISO/IEC 7816-11 Table 9), as far as present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BiometricHeader {
    /// 80: patron header version.
    pub version: Option<Vec<u8>>,
    /// 81: biometric type (2 = facial features).
    pub biometric_type: Option<Vec<u8>>,
    /// 87: format owner (0x0101 = ISO/IEC JTC 1/SC 37).
    pub format_owner: Option<u16>,
    /// 88: format type (0x0008 = face image).
    pub format_type: Option<u16>,
}

/// One face image and its 19794-5 metadata (codes as in ISO/IEC 19794-5:2005 §5.5 and §5.7).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct FaceImage {
    pub format: ImageFormat,
    pub width: u16,
    pub height: u16,
    /// The encoded image.
    #[serde(skip)]
    pub image: Vec<u8>,
    /// 0 unspecified, 1 male, 2 female, 0xFF unknown.
    pub gender: u8,
    /// 0 unspecified, 1 black, 2 blue, 3 brown, 4 gray, 5 green, 6 multi-coloured, 7 pink,
    /// 0xFF other or unknown.
    pub eye_colour: u8,
    /// 0 unspecified, 1 bald, 2 black, 3 blonde, 4 brown, 5 gray, 6 white, 7 red, 0xFF unknown.
    pub hair_colour: u8,
    /// 24-bit property mask.
    pub feature_mask: u32,
    pub expression: u16,
    /// Yaw, pitch, roll codes.
    pub pose_angle: [u8; 3],
    pub feature_points: u16,
    /// 0 basic, 1 full frontal, 2 token frontal.
    pub face_image_type: u8,
    /// 0 JPEG, 1 JPEG 2000.
    pub image_data_type: u8,
    pub colour_space: u8,
    pub source_type: u8,
    pub quality: u16,
    pub header: BiometricHeader,
}

impl std::fmt::Debug for FaceImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceImage")
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("image_len", &self.image.len())
            .finish_non_exhaustive()
    }
}

impl FaceImage {
    /// `"male"`, `"female"` or `None`.
    pub fn gender_name(&self) -> Option<&'static str> {
        match self.gender {
            1 => Some("male"),
            2 => Some("female"),
            _ => None,
        }
    }
}

/// Parsed DG2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dg2 {
    pub faces: Vec<FaceImage>,
}

/// Reads DG2 (with its `75` tag).
pub fn parse(dg2: &[u8]) -> Result<Dg2, Dg2Error> {
    let outer = tlv::read_exact(dg2, 0x75).map_err(|_| Dg2Error::Structure)?;
    let mut faces = Vec::new();
    let mut blocks = 0usize;
    for group in outer.children() {
        let group = group.map_err(|_| Dg2Error::Structure)?;
        if group.tag != 0x7F61 {
            continue;
        }
        for item in group.children() {
            let item = item.map_err(|_| Dg2Error::Structure)?;
            if item.tag != 0x7F60 {
                continue;
            }
            let (header, block) = template(&item)?;
            if let Some(block) = block {
                blocks += 1;
                faces.extend(facial_record(block, &header)?);
            }
        }
    }
    if blocks == 0 {
        return Err(Dg2Error::NoBiometricData);
    }
    Ok(Dg2 { faces })
}

/// One biometric information template: its header and the data block.
fn template<'a>(t: &Tlv<'a>) -> Result<(BiometricHeader, Option<&'a [u8]>), Dg2Error> {
    let mut header = BiometricHeader::default();
    let mut block = None;
    for item in t.children() {
        let item = item.map_err(|_| Dg2Error::Structure)?;
        match item.tag {
            0xA1 => {
                for h in item.children() {
                    let h = h.map_err(|_| Dg2Error::Structure)?;
                    let u16_of = |v: &[u8]| match v {
                        [a, b] => Some(u16::from_be_bytes([*a, *b])),
                        [a] => Some(u16::from(*a)),
                        _ => None,
                    };
                    match h.tag {
                        0x80 => header.version = Some(h.value.to_vec()),
                        0x81 => header.biometric_type = Some(h.value.to_vec()),
                        0x87 => header.format_owner = u16_of(h.value),
                        0x88 => header.format_type = u16_of(h.value),
                        _ => {}
                    }
                }
            }
            0x5F2E | 0x7F2E => block = Some(item.value),
            _ => {}
        }
    }
    Ok((header, block))
}

/// Big-endian reader over a facial record.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Dg2Error> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(Dg2Error::Truncated(self.pos))?;
        let s = self
            .data
            .get(self.pos..end)
            .ok_or(Dg2Error::Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, Dg2Error> {
        Ok(self.take(1)?.first().copied().unwrap_or_default())
    }
    fn u16(&mut self) -> Result<u16, Dg2Error> {
        let s = self.take(2)?;
        Ok(s.iter().fold(0u16, |a, b| (a << 8) | u16::from(*b)))
    }
    fn u24(&mut self) -> Result<u32, Dg2Error> {
        let s = self.take(3)?;
        Ok(s.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
    }
    fn u32(&mut self) -> Result<u32, Dg2Error> {
        let s = self.take(4)?;
        Ok(s.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
    }
}

/// ISO/IEC 19794-5:2005 §5.4–§5.8: record header, then per image the facial information,
/// feature points, image information and image data.
fn facial_record(block: &[u8], header: &BiometricHeader) -> Result<Vec<FaceImage>, Dg2Error> {
    let mut r = Reader {
        data: block,
        pos: 0,
    };
    // Format identifier "FAC\0" and version "010\0" (§5.4).
    if r.take(4)? != b"FAC\0" {
        return Err(Dg2Error::BadRecordHeader);
    }
    let _version = r.take(4)?;
    let _record_length = r.u32()?;
    let count = r.u16()?;
    let mut faces = Vec::new();
    for _ in 0..count {
        let start = r.pos;
        let block_len = usize::try_from(r.u32()?).map_err(|_| Dg2Error::Truncated(start))?;
        let feature_points = r.u16()?;
        let gender = r.u8()?;
        let eye_colour = r.u8()?;
        let hair_colour = r.u8()?;
        let feature_mask = r.u24()?;
        let expression = r.u16()?;
        let pose = r.take(3)?;
        let _pose_uncertainty = r.take(3)?;
        r.take(usize::from(feature_points).saturating_mul(8))?;
        let face_image_type = r.u8()?;
        let image_data_type = r.u8()?;
        let width = r.u16()?;
        let height = r.u16()?;
        let colour_space = r.u8()?;
        let source_type = r.u8()?;
        let _device_type = r.u16()?;
        let quality = r.u16()?;
        // The image runs to the end of this facial record data block (§5.5.1).
        let used = r.pos - start;
        let image_len = block_len
            .checked_sub(used)
            .ok_or(Dg2Error::BadRecordHeader)?;
        let image = r.take(image_len)?.to_vec();
        faces.push(FaceImage {
            format: ImageFormat::detect(&image, image_data_type),
            width,
            height,
            image,
            gender,
            eye_colour,
            hair_colour,
            feature_mask,
            expression,
            pose_angle: [
                pose.first().copied().unwrap_or_default(),
                pose.get(1).copied().unwrap_or_default(),
                pose.get(2).copied().unwrap_or_default(),
            ],
            feature_points,
            face_image_type,
            image_data_type,
            colour_space,
            source_type,
            quality,
            header: header.clone(),
        });
    }
    Ok(faces)
}

/// Parameters of one face for [`encode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaceParams {
    pub width: u16,
    pub height: u16,
    pub gender: u8,
    pub eye_colour: u8,
    pub hair_colour: u8,
    /// 0 JPEG, 1 JPEG 2000.
    pub image_data_type: u8,
}

/// Builds DG2 around already encoded images (one biometric template per image). The inverse of
/// [`parse`]; used by the fixtures and the simulated card.
pub fn encode(faces: &[(FaceParams, &[u8])]) -> Vec<u8> {
    let mut templates = vec![tlv::encode(0x02, &[faces.len().min(255) as u8])];
    for (p, image) in faces {
        let mut face = Vec::new();
        let block_len = 20 + 12 + image.len();
        face.extend_from_slice(&(block_len as u32).to_be_bytes());
        face.extend_from_slice(&0u16.to_be_bytes()); // feature points
        face.extend_from_slice(&[p.gender, p.eye_colour, p.hair_colour]);
        face.extend_from_slice(&[0, 0, 0]); // property mask
        face.extend_from_slice(&0u16.to_be_bytes()); // expression unspecified
        face.extend_from_slice(&[0; 6]); // pose angle and uncertainty
        face.push(1); // full frontal
        face.push(p.image_data_type);
        face.extend_from_slice(&p.width.to_be_bytes());
        face.extend_from_slice(&p.height.to_be_bytes());
        face.extend_from_slice(&[1, 2]); // 24-bit RGB, digital still camera
        face.extend_from_slice(&0u16.to_be_bytes()); // device type
        face.extend_from_slice(&0u16.to_be_bytes()); // quality unspecified
        face.extend_from_slice(image);
        let mut record = b"FAC\x00010\x00".to_vec();
        record.extend_from_slice(&((14 + face.len()) as u32).to_be_bytes());
        record.extend_from_slice(&1u16.to_be_bytes());
        record.extend_from_slice(&face);
        let header = tlv::encode(
            0xA1,
            &[
                tlv::encode(0x80, &[1, 0]),
                tlv::encode(0x81, &[2]),
                tlv::encode(0x87, &[1, 1]),
                tlv::encode(0x88, &[0, 8]),
            ]
            .concat(),
        );
        templates.push(tlv::encode(
            0x7F60,
            &[header, tlv::encode(0x5F2E, &record)].concat(),
        ));
    }
    tlv::encode(0x75, &tlv::encode(0x7F61, &templates.concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9];
    const JP2: &[u8] = &[
        0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A, 9,
    ];

    fn params(w: u16, h: u16, t: u8) -> FaceParams {
        FaceParams {
            width: w,
            height: h,
            gender: 2,
            eye_colour: 3,
            hair_colour: 2,
            image_data_type: t,
        }
    }

    #[test]
    fn round_trip_with_several_faces() {
        let dg2 = encode(&[(params(240, 320, 0), JPEG), (params(480, 640, 1), JP2)]);
        let d = parse(&dg2).unwrap();
        assert_eq!(d.faces.len(), 2);
        let f = &d.faces[0];
        assert_eq!((f.format, f.width, f.height), (ImageFormat::Jpeg, 240, 320));
        assert_eq!(f.image, JPEG);
        assert_eq!(f.gender_name(), Some("female"));
        assert_eq!((f.eye_colour, f.hair_colour, f.face_image_type), (3, 2, 1));
        assert_eq!(f.header.format_owner, Some(0x0101));
        assert_eq!(f.header.format_type, Some(0x0008));
        let g = &d.faces[1];
        assert_eq!((g.format, g.width), (ImageFormat::Jpeg2000, 480));
        assert_eq!(g.image, JP2);
        assert!(!format!("{g:?}").contains("image: ["));
    }

    #[test]
    fn format_detection() {
        assert_eq!(ImageFormat::detect(JPEG, 1), ImageFormat::Jpeg);
        assert_eq!(
            ImageFormat::detect(&[0xFF, 0x4F, 0xFF, 0x51], 0),
            ImageFormat::Jpeg2000
        );
        assert_eq!(ImageFormat::detect(&[1, 2], 1), ImageFormat::Jpeg2000);
        assert_eq!(ImageFormat::detect(&[1, 2], 7), ImageFormat::Unknown);
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(parse(&[]), Err(Dg2Error::Structure));
        assert_eq!(parse(&[0x75, 0x00]), Err(Dg2Error::NoBiometricData));
        let bad = tlv::encode(
            0x75,
            &tlv::encode(0x7F61, &tlv::encode(0x7F60, &tlv::encode(0x5F2E, b"XYZ\0"))),
        );
        assert_eq!(parse(&bad), Err(Dg2Error::BadRecordHeader));
        let good = encode(&[(params(1, 1, 0), JPEG)]);
        for cut in 0..good.len() {
            let _ = parse(&good[..cut]);
        }
        for i in 0..good.len() {
            for x in [0x01, 0x80, 0xFF] {
                let mut m = good.clone();
                m[i] ^= x;
                let _ = parse(&m);
            }
        }
    }
}
