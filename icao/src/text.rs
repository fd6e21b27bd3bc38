//! Text that people read: names and addresses in one Unicode form, and no invisible characters
//! that change how a name looks (issue 12, finding 6).
//!
//! Vietnamese letters have several encodings (ế as one code point, or e + ̂ + ́): normalising to
//! NFC on input makes equal names equal bytes. Cards and keyboards also write the tone mark
//! before the vowel's own mark (e + ́ + ̂): Unicode treats that as another letter (both marks
//! sit above, so NFC keeps their order) and desk readers show it as a "font error". No
//! Vietnamese letter carries its tone first, so [`nfc`] puts the vowel mark (circumflex, breve,
//! horn) before the tone mark (grave, acute, hook above, tilde, dot below) first (issue 14).
//! Bidirectional controls (a label that reads
//! "Bệnh viện" but is stored reversed) and zero-width characters (two names that look the same
//! and differ) let one party pass for another, so names shown to users refuse them.

use unicode_normalization::UnicodeNormalization;

/// Vowel marks of Vietnamese: circumflex (â ê ô), breve (ă), horn (ơ ư).
fn is_vowel_mark(c: char) -> bool {
    matches!(c, '\u{0302}' | '\u{0306}' | '\u{031B}')
}

/// Tone marks of Vietnamese: huyền (grave), sắc (acute), hỏi (hook above), ngã (tilde),
/// nặng (dot below).
fn is_tone_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}' | '\u{0301}' | '\u{0309}' | '\u{0303}' | '\u{0323}'
    )
}

/// `s` in Unicode Normalization Form C, with Vietnamese marks in their one written order: in
/// a run of combining marks made only of Vietnamese vowel and tone marks, the vowel marks come
/// first. Other text is plain NFC.
pub fn nfc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        if run.iter().all(|c| is_vowel_mark(*c) || is_tone_mark(*c)) {
            // Stable: vowel marks keep their order, tone marks theirs.
            run.sort_by_key(|c| is_tone_mark(*c));
        }
        out.extend(run.drain(..));
    };
    for c in s.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out.nfc().collect()
}

/// The ASCII form a name takes in the MRZ (ICAO 9303-3 §6: diacritics dropped, Đ as D, upper
/// case, words separated by single spaces), for comparing DG13 or QR names with DG1.
pub fn mrz_ascii(s: &str) -> String {
    let letters: String = s
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'D',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    letters.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Bidirectional formatting characters: embeddings and overrides (U+202A–U+202E), isolates
/// (U+2066–U+2069), the implicit marks (U+200E, U+200F) and the Arabic letter mark (U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Zero-width characters: space, non-joiner, joiner (U+200B–U+200D), word joiner (U+2060) and
/// the byte order mark / zero-width no-break space (U+FEFF).
pub fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Why a display text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text is empty")]
    Empty,
    #[error("the text is too long")]
    TooLong,
    #[error("the text holds a control, bidirectional or zero-width character")]
    Invisible,
}

/// A name or address to show to people: trimmed, NFC, 1 to `max_chars` characters, with no
/// control, bidirectional-control or zero-width character.
pub fn display_text(s: &str, max_chars: usize) -> Result<String, TextError> {
    let t = nfc(s.trim());
    if t.is_empty() {
        return Err(TextError::Empty);
    }
    if t.chars().count() > max_chars {
        return Err(TextError::TooLong);
    }
    if t.chars()
        .any(|c| c.is_control() || is_bidi_control(c) || is_zero_width(c))
    {
        return Err(TextError::Invisible);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decomposed_vietnamese_becomes_composed() {
        // "Nguyễn Thị Ánh" written with combining marks.
        let nfd = "Nguye\u{302}\u{303}n Thi\u{323} A\u{301}nh";
        let composed = "Nguy\u{1EC5}n Th\u{1ECB} \u{C1}nh";
        assert_ne!(nfd, composed);
        assert_eq!(nfc(nfd), composed);
        assert_eq!(display_text(nfd, 100).unwrap(), composed);
        assert_eq!(
            display_text(&format!("  {composed} "), 100).unwrap(),
            composed
        );
    }

    #[test]
    fn invisible_characters_are_refused() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}',
            '\u{200D}', '\u{FEFF}', '\u{2060}', '\u{0007}', '\n',
        ] {
            let name = format!("Bệnh viện{c} Bạch Mai");
            assert_eq!(
                display_text(&name, 100),
                Err(TextError::Invisible),
                "{:?}",
                c
            );
        }
        assert_eq!(display_text(" \t ", 100), Err(TextError::Empty));
        assert_eq!(display_text(&"á".repeat(101), 100), Err(TextError::TooLong));
        // Length counts characters after composition: 100 decomposed á are 100 characters.
        assert!(display_text(&"a\u{301}".repeat(100), 100).is_ok());
    }

    /// The twelve Vietnamese vowels as base letter + vowel mark, and the five tone marks.
    const VOWELS: [(char, Option<char>); 12] = [
        ('a', None),
        ('a', Some('\u{0306}')),
        ('a', Some('\u{0302}')),
        ('e', None),
        ('e', Some('\u{0302}')),
        ('i', None),
        ('o', None),
        ('o', Some('\u{0302}')),
        ('o', Some('\u{031B}')),
        ('u', None),
        ('u', Some('\u{031B}')),
        ('y', None),
    ];
    /// sắc, huyền, hỏi, ngã, nặng.
    const TONES: [char; 5] = ['\u{0301}', '\u{0300}', '\u{0309}', '\u{0303}', '\u{0323}'];
    /// The precomposed letters, vowel by vowel in the order above, tones in the order above.
    const COMPOSED: [&str; 12] = [
        "áàảãạ",
        "ắằẳẵặ",
        "ấầẩẫậ",
        "éèẻẽẹ",
        "ếềểễệ",
        "íìỉĩị",
        "óòỏõọ",
        "ốồổỗộ",
        "ớờởỡợ",
        "úùủũụ",
        "ứừửữự",
        "ýỳỷỹỵ",
    ];

    /// Every way a card writes each toned vowel, lower and upper case, and what it must read.
    fn every_toned_vowel() -> Vec<(String, String)> {
        let mut cases = Vec::new();
        for ((base, mark), composed) in VOWELS.iter().zip(COMPOSED) {
            for (tone, expected) in TONES.iter().zip(composed.chars()) {
                for upper in [false, true] {
                    let b = if upper {
                        base.to_ascii_uppercase()
                    } else {
                        *base
                    };
                    let expected: String = if upper {
                        expected.to_uppercase().collect()
                    } else {
                        expected.to_string()
                    };
                    let m: String = mark.iter().collect();
                    let with_mark: String = format!("{b}{m}").nfc().collect();
                    let with_tone: String = format!("{b}{tone}").nfc().collect();
                    for written in [
                        expected.clone(),             // NFC
                        expected.nfd().collect(),     // NFD
                        format!("{b}{m}{tone}"),      // decomposed, usual order
                        format!("{b}{tone}{m}"),      // tone before the vowel mark
                        format!("{with_mark}{tone}"), // ê + tone
                        format!("{with_tone}{m}"),    // é + circumflex
                    ] {
                        cases.push((written, expected.clone()));
                    }
                }
            }
        }
        cases
    }

    #[test]
    fn every_tone_on_every_vowel_in_every_form_becomes_one_nfc() {
        let cases = every_toned_vowel();
        assert_eq!(cases.len(), 12 * 5 * 2 * 6);
        for (written, expected) in &cases {
            assert_eq!(expected.chars().count(), 1, "{expected}");
            assert_eq!(
                &nfc(written),
                expected,
                "{:?}",
                written.escape_unicode().to_string()
            );
        }
        // Đ and đ have no decomposition and stay as they are.
        assert_eq!(nfc("Đặng Đức đạt"), "Đặng Đức đạt");
        // Whole names: "Nguyễn Thị Ngọc Ánh Dương Đức Hưởng" written with tones first.
        let written = "Nguye\u{303}\u{302}n Thi\u{323} Ngo\u{323}c A\u{301}nh Du\u{31B}o\u{31B}ng \
                       \u{110}u\u{301}\u{31B}c Hu\u{31B}o\u{309}\u{31B}ng";
        assert_eq!(nfc(written), "Nguyễn Thị Ngọc Ánh Dương Đức Hưởng");
        // Marks that are not Vietnamese keep their order (plain NFC).
        assert_eq!(nfc("e\u{301}\u{308}"), "\u{e9}\u{308}");
    }

    #[test]
    fn mrz_ascii_drops_marks_and_spells_d() {
        assert_eq!(
            mrz_ascii("Nguyễn  Thị Ánh Đào"),
            "NGUYEN THI ANH DAO".to_string()
        );
        for (written, expected) in every_toned_vowel() {
            assert_eq!(mrz_ascii(&written), mrz_ascii(&expected));
            assert!(mrz_ascii(&written).is_ascii());
        }
        assert_eq!(mrz_ascii("đ"), "D");
    }
}
