//! Exact decimal amounts as JSON number tokens, shared by the connectors whose APIs take money
//! as JSON numbers (Xero, QuickBooks Online, Salesforce).

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A decimal that is written and read as a JSON number token without passing through `f64`.
///
/// serde_json (without `arbitrary_precision`) parses numbers into `f64`, which cannot hold
/// 0.1 or 17 significant digits. Going through `RawValue` keeps the token's exact text, both
/// ways: `Decimal`'s own digits go out verbatim, and the digits the API sent are parsed by
/// `Decimal` itself. This only works with serde_json's own (de)serializer, which is the only
/// one the connectors use; `serde_json::Value` would lose the precision again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Num(pub Decimal);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Num::parse(raw.get()).map_err(serde::de::Error::custom)
    }
}

impl Num {
    /// Reads one JSON number token. A quoted number is tolerated too: some compatible servers
    /// (and sandboxes) send strings.
    pub(crate) fn parse(token: &str) -> Result<Num, String> {
        let text = token.trim().trim_matches('"');
        Decimal::from_str(text)
            .or_else(|_| Decimal::from_scientific(text))
            .map(Num)
            .map_err(|e| format!("`{text}` is not a decimal: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Line {
        #[serde(rename = "Amount")]
        amount: Num,
    }

    #[test]
    fn a_token_survives_a_round_trip_digit_for_digit() {
        let text = r#"{"Amount":12345678901234567.890}"#;
        let line: Line = serde_json::from_str(text).expect("parse");
        assert_eq!(line.amount.0.to_string(), "12345678901234567.890");
        assert_eq!(serde_json::to_string(&line).expect("serialize"), text);
    }

    #[test]
    fn quoted_and_scientific_numbers_are_read_and_others_refused() {
        assert_eq!(Num::parse(r#""3.005""#), Ok(Num(Decimal::new(3005, 3))));
        assert_eq!(Num::parse("1.5e2"), Ok(Num(Decimal::from(150))));
        assert!(Num::parse("true").is_err());
        assert!(serde_json::from_str::<Num>("null").is_err());
    }
}
