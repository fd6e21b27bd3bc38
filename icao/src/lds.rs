//! The files of the eMRTD application (ICAO 9303-10 §4.6 and §4.7) and the CCCD's DG13.

use serde::Serialize;

/// AID of the eMRTD application (ICAO 9303-10 §4.6.1).
pub const EMRTD_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// A file the reader can fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum LdsFile {
    /// EF.CardAccess, under the master file: PACE parameters.
    CardAccess,
    /// EF.COM: LDS version and the list of present data groups.
    Com,
    /// EF.SOD: the document security object (hashes of the data groups, signed).
    Sod,
    /// A data group, 1 to 16.
    Dg(u8),
}

impl LdsFile {
    pub const DG1: LdsFile = LdsFile::Dg(1);
    pub const DG2: LdsFile = LdsFile::Dg(2);
    pub const DG13: LdsFile = LdsFile::Dg(13);
    pub const DG14: LdsFile = LdsFile::Dg(14);
    pub const DG15: LdsFile = LdsFile::Dg(15);

    /// File identifier.
    pub fn fid(self) -> u16 {
        match self {
            LdsFile::CardAccess => 0x011C,
            LdsFile::Com => 0x011E,
            LdsFile::Sod => 0x011D,
            LdsFile::Dg(n) => 0x0100 | u16::from(n),
        }
    }

    /// Short EF identifier, for READ BINARY with implicit selection.
    pub fn sfi(self) -> u8 {
        match self {
            LdsFile::CardAccess => 0x1C,
            LdsFile::Com => 0x1E,
            LdsFile::Sod => 0x1D,
            LdsFile::Dg(n) => n,
        }
    }

    /// The outer tag the file's content starts with.
    pub fn tag(self) -> u32 {
        match self {
            LdsFile::CardAccess => 0x31,
            LdsFile::Com => 0x60,
            LdsFile::Sod => 0x77,
            LdsFile::Dg(n) => match n {
                1 => 0x61,
                2 => 0x75,
                3 => 0x63,
                4 => 0x76,
                5 => 0x65,
                6 => 0x66,
                7 => 0x67,
                8 => 0x68,
                9 => 0x69,
                10 => 0x6A,
                11 => 0x6B,
                12 => 0x6C,
                13 => 0x6D,
                14 => 0x6E,
                15 => 0x6F,
                _ => 0x70,
            },
        }
    }

    /// Short name for reports ("DG13", "EF.SOD").
    pub fn name(self) -> String {
        match self {
            LdsFile::CardAccess => "EF.CardAccess".into(),
            LdsFile::Com => "EF.COM".into(),
            LdsFile::Sod => "EF.SOD".into(),
            LdsFile::Dg(n) => format!("DG{n}"),
        }
    }

    /// The data group with this EF.COM tag.
    pub fn from_tag(tag: u32) -> Option<LdsFile> {
        (1..=16u8).map(LdsFile::Dg).find(|f| f.tag() == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_icao_9303_10() {
        assert_eq!(
            (LdsFile::DG1.fid(), LdsFile::DG1.sfi(), LdsFile::DG1.tag()),
            (0x0101, 1, 0x61)
        );
        assert_eq!((LdsFile::DG13.fid(), LdsFile::DG13.tag()), (0x010D, 0x6D));
        assert_eq!((LdsFile::Sod.fid(), LdsFile::Sod.sfi()), (0x011D, 0x1D));
        assert_eq!(LdsFile::from_tag(0x6F), Some(LdsFile::DG15));
        assert_eq!(LdsFile::from_tag(0x77), None);
    }
}
