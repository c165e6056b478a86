//! Field value comparison used by the planner: decides whether a desired value is already
//! stored in Halo, so that an unchanged record costs no write.
//!
//! The rules are deliberately forgiving in the direction of "equal", because a comparison
//! that is stricter than Halo's storage would make every run rewrite the same values:
//!
//! * leading and trailing whitespace never makes strings differ;
//! * case-insensitive fields also ignore case;
//! * numbers compare numerically (`12 == 12.0`), also against a string holding a number
//!   (`12 == "12"`), since Halo returns some numeric fields as strings;
//! * arrays and objects compare element by element with the same rules (case-sensitively);
//! * anything else compares exactly.

use serde_json::{Number, Value};

/// True when the value means "no value": `null`, or a string that is empty after trimming.
/// A blank desired value never clears a Halo value.
pub(super) fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// True when the desired value is already what Halo holds. A missing current value is
/// the same as `null` (and as `""`).
pub(super) fn same(desired: &Value, current: Option<&Value>, case_insensitive: bool) -> bool {
    let current = current.unwrap_or(&Value::Null);
    if is_blank(desired) || is_blank(current) {
        return is_blank(desired) && is_blank(current);
    }
    values_equal(desired, current, case_insensitive)
}

fn values_equal(a: &Value, b: &Value, case_insensitive: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        (Value::String(x), Value::String(y)) => {
            let (x, y) = (x.trim(), y.trim());
            if case_insensitive {
                // The same answer as comparing `to_lowercase()`s, without allocating for
                // the usual ASCII values.
                if x.is_ascii() && y.is_ascii() {
                    x.eq_ignore_ascii_case(y)
                } else {
                    x.to_lowercase() == y.to_lowercase()
                }
            } else {
                x == y
            }
        }
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => s
            .trim()
            .parse::<f64>()
            .is_ok_and(|parsed| n.as_f64() == Some(parsed)),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| values_equal(x, y, false))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| values_equal(x, y, false)))
        }
        _ => a == b,
    }
}

fn numbers_equal(x: &Number, y: &Number) -> bool {
    if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
        return x == y;
    }
    x.as_f64() == y.as_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blank_values() {
        for (value, blank) in [
            (json!(null), true),
            (json!(""), true),
            (json!("   "), true),
            (json!("x"), false),
            (json!(0), false),
            (json!(false), false),
            (json!([]), false),
        ] {
            assert_eq!(is_blank(&value), blank, "{value}");
        }
    }

    #[test]
    fn comparison_table() {
        let rows: &[(&str, Value, Option<Value>, bool, bool)] = &[
            // (name, desired, current, case_insensitive, expected same)
            ("equal strings", json!("a"), Some(json!("a")), false, true),
            (
                "different strings",
                json!("a"),
                Some(json!("b")),
                false,
                false,
            ),
            (
                "case differs, sensitive",
                json!("Ann"),
                Some(json!("ann")),
                false,
                false,
            ),
            (
                "case differs, insensitive",
                json!("Ann@X.com"),
                Some(json!("ann@x.com")),
                true,
                true,
            ),
            (
                "surrounding whitespace",
                json!(" a "),
                Some(json!("a")),
                false,
                true,
            ),
            (
                "insensitive + whitespace",
                json!(" A@x "),
                Some(json!("a@X")),
                true,
                true,
            ),
            ("int vs float", json!(12), Some(json!(12.0)), false, true),
            ("float vs int", json!(12.0), Some(json!(12)), false, true),
            (
                "different numbers",
                json!(12),
                Some(json!(12.5)),
                false,
                false,
            ),
            (
                "number vs numeric string",
                json!(12),
                Some(json!(" 12 ")),
                false,
                true,
            ),
            (
                "numeric string vs float",
                json!("12"),
                Some(json!(12.0)),
                false,
                true,
            ),
            (
                "number vs other string",
                json!(12),
                Some(json!("twelve")),
                false,
                false,
            ),
            ("value vs missing", json!("a"), None, false, false),
            ("value vs null", json!("a"), Some(json!(null)), false, false),
            ("value vs empty", json!("a"), Some(json!("")), false, false),
            ("zero vs missing", json!(0), None, false, false),
            ("blank vs missing", json!(""), None, false, true),
            ("bools equal", json!(true), Some(json!(true)), false, true),
            (
                "bools differ",
                json!(true),
                Some(json!(false)),
                false,
                false,
            ),
            (
                "bool vs string",
                json!(true),
                Some(json!("true")),
                false,
                false,
            ),
            (
                "arrays equal numerically",
                json!([1, "a"]),
                Some(json!([1.0, "a"])),
                false,
                true,
            ),
            (
                "arrays differ in length",
                json!([1]),
                Some(json!([1, 2])),
                false,
                false,
            ),
            (
                "objects equal",
                json!({"id": 3, "v": "x"}),
                Some(json!({"v": "x", "id": 3.0})),
                false,
                true,
            ),
            (
                "objects differ",
                json!({"id": 3}),
                Some(json!({"id": 4})),
                false,
                false,
            ),
            (
                "objects differ in keys",
                json!({"id": 3}),
                Some(json!({"id": 3, "v": 1})),
                false,
                false,
            ),
        ];
        for (name, desired, current, ci, expected) in rows {
            assert_eq!(same(desired, current.as_ref(), *ci), *expected, "{name}");
        }
    }
}
