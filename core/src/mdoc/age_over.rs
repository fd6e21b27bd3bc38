//! Age attestation, "nearest true attestation above request" (ISO/IEC 18013-5 §7.2.5; the
//! PhotoID's `age_over_NN` of ISO/IEC 23220-2 alike): identifiers `age_over_NN`, NN two digits.
//! A request for an `age_over_NN` the mdoc does not hold is answered by the held `age_over_MM`
//! with the smallest MM ≥ NN whose value is true, else by the one with the largest MM ≤ NN whose
//! value is false. Either answers the question asked (older than MM ≥ NN is older than NN;
//! not older than MM ≤ NN is not older than NN), and no other element is sent for it.

use ciborium::Value;

/// NN of an `age_over_NN` identifier (two digits, 00–99).
pub fn threshold(identifier: &str) -> Option<u8> {
    let nn = identifier.strip_prefix("age_over_")?;
    if nn.len() != 2 || !nn.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    nn.parse().ok()
}

/// Whether the element `id` with `value` answers a request for `requested`: the same element,
/// or an `age_over_MM` that answers an `age_over_NN` (true with MM ≥ NN, false with MM ≤ NN).
pub fn answers(requested: &str, id: &str, value: &Value) -> bool {
    if requested == id {
        return true;
    }
    match (threshold(requested), threshold(id), value.as_bool()) {
        (Some(nn), Some(mm), Some(true)) => mm >= nn,
        (Some(nn), Some(mm), Some(false)) => mm <= nn,
        _ => false,
    }
}

/// The identifier among `held` (one namespace's identifiers and values) that answers a request
/// for `requested`: `requested` itself when held; for an `age_over_NN` not held, the nearest
/// attestation that answers it; otherwise none.
pub fn answer_for<'a>(
    requested: &str,
    held: impl Iterator<Item = (&'a str, &'a Value)>,
) -> Option<&'a str> {
    let mut nearest_true: Option<(u8, &'a str)> = None;
    let mut nearest_false: Option<(u8, &'a str)> = None;
    for (id, value) in held {
        if id == requested {
            return Some(id);
        }
        let (Some(mm), Some(v)) = (threshold(id), value.as_bool()) else {
            continue;
        };
        if !answers(requested, id, value) {
            continue;
        }
        let slot = if v {
            &mut nearest_true
        } else {
            &mut nearest_false
        };
        // Nearest: the smallest true threshold above, the largest false one below.
        let closer = slot.is_none_or(|(best, _)| if v { mm < best } else { mm > best });
        if closer {
            *slot = Some((mm, id));
        }
    }
    nearest_true.or(nearest_false).map(|(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(pairs: &[(&'static str, bool)]) -> Vec<(&'static str, Value)> {
        pairs.iter().map(|(id, v)| (*id, Value::Bool(*v))).collect()
    }

    fn answer(requested: &str, h: &[(&'static str, Value)]) -> Option<String> {
        answer_for(requested, h.iter().map(|(id, v)| (*id, v))).map(str::to_owned)
    }

    #[test]
    fn thresholds_are_two_digits() {
        assert_eq!(threshold("age_over_18"), Some(18));
        assert_eq!(threshold("age_over_00"), Some(0));
        assert_eq!(threshold("age_over_99"), Some(99));
        for not in [
            "age_over_8",
            "age_over_180",
            "age_over_1a",
            "age_over_",
            "age_in_years",
        ] {
            assert_eq!(threshold(not), None, "{not}");
        }
    }

    #[test]
    fn the_nearest_attestation_that_answers_the_question() {
        // A 19-year-old's thresholds as we issue them: 16, 18, 21, 65.
        let nineteen = held(&[
            ("age_over_16", true),
            ("age_over_18", true),
            ("age_over_21", false),
            ("age_over_65", false),
        ]);
        // Held: itself, whatever its value.
        assert_eq!(
            answer("age_over_21", &nineteen).as_deref(),
            Some("age_over_21")
        );
        // 20: no true at or above 20; the largest false at or below 20: none (21 is above).
        assert_eq!(answer("age_over_20", &nineteen), None);
        // 17: the smallest true at or above 17 is 18.
        assert_eq!(
            answer("age_over_17", &nineteen).as_deref(),
            Some("age_over_18")
        );
        // 30: no true above; the largest false at or below 30 is 21.
        assert_eq!(
            answer("age_over_30", &nineteen).as_deref(),
            Some("age_over_21")
        );
        // 10: true at 16 (the nearest above), never 18.
        assert_eq!(
            answer("age_over_10", &nineteen).as_deref(),
            Some("age_over_16")
        );

        // A 70-year-old: 20 is answered by 21 (true), 66 by nothing (65 true is below).
        let seventy = held(&[
            ("age_over_16", true),
            ("age_over_18", true),
            ("age_over_21", true),
            ("age_over_65", true),
        ]);
        assert_eq!(
            answer("age_over_20", &seventy).as_deref(),
            Some("age_over_21")
        );
        assert_eq!(answer("age_over_66", &seventy), None);
        // Not an age attestation, not held: none; non-boolean values answer nothing.
        assert_eq!(answer("eye_colour", &seventy), None);
        let odd = vec![("age_over_21", Value::Text("yes".into()))];
        assert_eq!(answer("age_over_20", &odd), None);
    }
}
