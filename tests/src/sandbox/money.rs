//! Exact decimal numbers on the wire: Xero's JSON numbers read and written without ever
//! passing through a float, and HubSpot's string amounts.
//!
//! The workspace's serde_json is built without `arbitrary_precision`, so a JSON number parsed
//! into a `serde_json::Value` is an `f64`, and rust_decimal's `arbitrary_precision` serde
//! support needs that feature. What the workspace does enable is `raw_value`: a
//! `Box<RawValue>` keeps a value's exact text, so numbers are read from that text and written as
//! raw text at a fixed scale. Both only work when serializing straight to or from bytes, never
//! through a `serde_json::Value`, which every caller here respects.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{de::Error as _, ser::Error as _, Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A decimal read from a JSON number's own text (or from a numeric string, which Xero's SDKs
/// send for some fields), so `0.1` is exactly one tenth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonDecimal(pub Decimal);

impl<'de> Deserialize<'de> for JsonDecimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        parse_number(raw.get())
            .map(JsonDecimal)
            .ok_or_else(|| D::Error::custom(format!("`{}` is not a decimal number", raw.get())))
    }
}

/// Parses the text of a JSON number, or of a JSON string holding one.
pub(crate) fn parse_number(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let unquoted;
    let text = if text.starts_with('"') {
        unquoted = serde_json::from_str::<String>(text).ok()?;
        unquoted.trim()
    } else {
        text
    };
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str(text).ok()
    }
}

/// Rounds half away from zero, as accounting systems round cents.
pub(crate) fn round_dp(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// The text of `value` with exactly `dp` decimal places, e.g. `40.00`.
pub(crate) fn fixed(value: Decimal, dp: u32) -> String {
    let mut v = round_dp(value, dp);
    v.rescale(dp);
    v.to_string()
}

/// A number written as raw JSON text at a fixed scale: Xero shows amounts with 2 decimals,
/// quantities with 4 and currency rates with 6 (as in every example of its OpenAPI spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Num {
    value: Decimal,
    dp: u32,
}

impl Num {
    pub fn amount(value: Decimal) -> Num {
        Num { value, dp: 2 }
    }
    pub fn with_dp(value: Decimal, dp: u32) -> Num {
        Num { value, dp }
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(fixed(self.value, self.dp)).map_err(S::Error::custom)?;
        raw.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        a: JsonDecimal,
        b: Option<JsonDecimal>,
    }

    #[test]
    fn tenths_add_up_exactly() {
        let h: Holder = serde_json::from_str(r#"{"a": 0.1, "b": 0.2}"#).expect("json");
        let sum = h.a.0 + h.b.expect("b").0;
        assert_eq!(sum, Decimal::from_str("0.3").expect("dec"));
        let h: Holder = serde_json::from_str(r#"{"a": "12.345", "b": null}"#).expect("json");
        assert_eq!(h.a.0, Decimal::from_str("12.345").expect("dec"));
        assert!(h.b.is_none());
        let h: Holder = serde_json::from_str(r#"{"a": 1.5e2}"#).expect("json");
        assert_eq!(h.a.0, Decimal::from(150));
    }

    #[test]
    fn numbers_are_written_at_a_fixed_scale() {
        let v = vec![
            Num::amount(Decimal::from_str("0.3").expect("d")),
            Num::with_dp(Decimal::from(2), 4),
            Num::amount(Decimal::from_str("2.005").expect("d")),
            Num::amount(Decimal::from_str("-2.005").expect("d")),
        ];
        let text = serde_json::to_string(&v).expect("json");
        assert_eq!(text, "[0.30,2.0000,2.01,-2.01]");
    }
}
