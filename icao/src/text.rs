//! Text that people read: names and addresses in one Unicode form, and no invisible characters
//! that change how a name looks (issue 12, finding 6).
//!
//! Vietnamese letters have several encodings (ế as one code point, or e + ̂ + ́): normalising to
//! NFC on input makes equal names equal bytes. Bidirectional controls (a label that reads
//! "Bệnh viện" but is stored reversed) and zero-width characters (two names that look the same
//! and differ) let one party pass for another, so names shown to users refuse them.

use unicode_normalization::UnicodeNormalization;

/// `s` in Unicode Normalization Form C.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
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
}
