//! The vehicle identification number (VIN, ISO 3779): 17 characters of digits and capital
//! letters other than I, O and Q, with the check digit at position 9 computed as ISO 3779 leaves
//! to national rules and the North American scheme (49 CFR 565.15) fixes it: each character
//! transliterated to a number, weighted 8,7,6,5,4,3,2,10,0,9,8,7,6,5,4,3,2, the sum taken mod 11,
//! a remainder of 10 written `X`. Why the wallet requires it: docs/adr/0043.

/// The weights of positions 1 to 17 (position 9, the check digit itself, weighs 0).
const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// A VIN character's value: digits as themselves, letters by the transliteration table
/// (A–H 1–8, J–N 1–5, P 7, R 9, S–Z 2–9); `None` for I, O, Q and anything else.
fn value(c: u8) -> Option<u32> {
    Some(match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A'..=b'H' => u32::from(c - b'A') + 1,
        b'J'..=b'N' => u32::from(c - b'J') + 1,
        b'P' => 7,
        b'R' => 9,
        b'S'..=b'Z' => u32::from(c - b'S') + 2,
        _ => return None,
    })
}

/// The check digit the VIN should carry at position 9, or `None` when it is not 17 VIN
/// characters.
pub fn check_digit(vin: &str) -> Option<char> {
    let bytes = vin.as_bytes();
    if bytes.len() != WEIGHTS.len() {
        return None;
    }
    let mut sum = 0;
    for (c, w) in bytes.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    Some(match sum % 11 {
        10 => 'X',
        r => char::from_digit(r, 10)?,
    })
}

/// Why `vin` is not a valid VIN, or `Ok`.
pub(crate) fn check(vin: &str) -> Result<(), &'static str> {
    if vin.len() != 17 {
        return Err("must be 17 characters");
    }
    if vin.bytes().any(|c| matches!(c, b'I' | b'O' | b'Q')) {
        return Err("must not contain I, O or Q");
    }
    let Some(expected) = check_digit(vin) else {
        return Err("must be digits and capital letters");
    };
    if vin.as_bytes().get(8).copied() != u8::try_from(expected).ok() {
        return Err("check digit (position 9) does not match");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples() {
        // The worked example of the check digit in Wikipedia's "Vehicle identification number"
        // (North American check digit): 1M8GDM9A_KP042788 gives X.
        assert_eq!(check_digit("1M8GDM9AXKP042788"), Some('X'));
        assert_eq!(check("1M8GDM9AXKP042788"), Ok(()));
        // All ones: 89 = 8 × 11 + 1.
        assert_eq!(check("11111111111111111"), Ok(()));
    }

    #[test]
    fn invalid_vins_are_refused() {
        assert_eq!(
            check("1M8GDM9A1KP042788"),
            Err("check digit (position 9) does not match")
        );
        assert_eq!(check("1M8GDM9AXKP04278"), Err("must be 17 characters"));
        assert_eq!(
            check("1M8GDM9AXKO042788"),
            Err("must not contain I, O or Q")
        );
        assert_eq!(
            check("1M8GDM9AXKI042788"),
            Err("must not contain I, O or Q")
        );
        assert_eq!(
            check("1m8gdm9axkp042788"),
            Err("must be digits and capital letters")
        );
        assert_eq!(check("1M8GDM9AXKP04278é"), Err("must be 17 characters"));
        assert_eq!(check_digit("1M8GDM9A-KP042788"), None);
    }
}
