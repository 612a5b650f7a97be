//! Money as an exact decimal amount in an ISO 4217 currency, with the currency's minor-unit exponent.

use std::{fmt, str::FromStr};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code, always uppercase and always one the table below knows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("`{0}` is not an ISO 4217 currency code")]
    UnknownCurrency(String),
    #[error(
        "{amount} {currency} has more decimals than the currency's {exponent} minor-unit digits"
    )]
    TooPrecise {
        amount: Decimal,
        currency: Currency,
        exponent: u32,
    },
    #[error("{0} is out of range for a minor-unit amount")]
    OutOfRange(Decimal),
    #[error("amounts in {0} and {1} cannot be combined")]
    CurrencyMismatch(Currency, Currency),
}

/// Active ISO 4217 codes whose minor unit is not two digits. Every other known code has two.
/// Source: the ISO 4217 list one (current currencies), minor unit column.
const EXPONENT_0: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const EXPONENT_3: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const EXPONENT_4: &[&str] = &["CLF", "UYW"];
const EXPONENT_2: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD",
    "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR",
    "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU",
    "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
];

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");
    pub const JPY: Currency = Currency(*b"JPY");

    /// Parses a code in any case (`usd`, `USD`) into the uppercase ISO code.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        let known = [EXPONENT_0, EXPONENT_2, EXPONENT_3, EXPONENT_4]
            .iter()
            .any(|table| table.contains(&upper.as_str()));
        match upper.as_bytes() {
            [a, b, c] if known => Ok(Currency([*a, *b, *c])),
            _ => Err(MoneyError::UnknownCurrency(code.to_owned())),
        }
    }

    pub fn code(&self) -> &str {
        // The bytes came from a table of ASCII codes, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of digits after the decimal point in the currency's minor unit (ISO 4217).
    pub fn exponent(&self) -> u32 {
        let code = self.code();
        if EXPONENT_0.contains(&code) {
            0
        } else if EXPONENT_3.contains(&code) {
            3
        } else if EXPONENT_4.contains(&code) {
            4
        } else {
            2
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// An exact amount of money. The amount serializes as a decimal string (`"1234.50"`), never a float.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    /// Builds money from a decimal amount, refusing more decimals than the currency has.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let exponent = currency.exponent();
        let normalized = amount.normalize();
        if normalized.scale() > exponent {
            return Err(MoneyError::TooPrecise {
                amount,
                currency,
                exponent,
            });
        }
        let mut amount = normalized;
        amount.rescale(exponent);
        Ok(Money { amount, currency })
    }

    /// Builds money from an integer count of minor units (cents, yen, fils).
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Money {
            amount: Decimal::new(minor, currency.exponent()),
            currency,
        }
    }

    /// The amount as an integer count of minor units.
    pub fn to_minor(&self) -> Result<i64, MoneyError> {
        let exponent = self.currency.exponent();
        let scaled = self.amount * Decimal::from(10_i64.pow(exponent));
        if scaled.fract() != Decimal::ZERO {
            return Err(MoneyError::TooPrecise {
                amount: self.amount,
                currency: self.currency,
                exponent,
            });
        }
        i64::try_from(scaled).map_err(|_| MoneyError::OutOfRange(self.amount))
    }

    pub fn zero(currency: Currency) -> Self {
        Money::from_minor(0, currency)
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        Ok(Money {
            amount: self.amount + other.amount,
            currency: self.currency,
        })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(code: &str, minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse(code).expect("known currency"))
    }

    #[test]
    fn minor_units_follow_the_currency_exponent() {
        assert_eq!(money("usd", 123_450).amount.to_string(), "1234.50");
        assert_eq!(money("JPY", 5000).amount.to_string(), "5000");
        assert_eq!(money("KWD", 12_345).amount.to_string(), "12.345");
        assert_eq!(money("BHD", 1).amount.to_string(), "0.001");
        assert_eq!(money("CLF", 10_000).amount.to_string(), "1.0000");
    }

    #[test]
    fn serializes_amount_as_a_string_with_uppercase_currency() {
        let json = serde_json::to_string(&money("eur", 999)).expect("serialize");
        assert_eq!(json, r#"{"amount":"9.99","currency":"EUR"}"#);
        let back: Money = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, money("EUR", 999));
    }

    #[test]
    fn refuses_unknown_currencies_and_excess_precision() {
        assert!(matches!(
            Currency::parse("ABC"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(Currency::parse("US").is_err());
        let yen = Currency::JPY;
        assert!(Money::new(Decimal::new(15, 1), yen).is_err());
        assert_eq!(
            Money::new(Decimal::new(1500, 2), yen).map(|m| m.amount.to_string()),
            Ok("15".to_owned())
        );
        assert!(serde_json::from_str::<Money>(r#"{"amount":1.5,"currency":"USD"}"#).is_err());
    }

    #[test]
    fn addition_refuses_mixed_currencies() {
        assert!(money("USD", 1).checked_add(&money("EUR", 1)).is_err());
        assert_eq!(
            money("USD", 1).checked_add(&money("USD", 2)),
            Ok(money("USD", 3))
        );
    }

    proptest! {
        #[test]
        fn minor_units_round_trip(minor in -1_000_000_000_000i64..1_000_000_000_000, idx in 0usize..6) {
            let code = ["USD", "JPY", "KWD", "EUR", "CLF", "BHD"][idx];
            let m = money(code, minor);
            prop_assert_eq!(m.to_minor(), Ok(minor));
            let json = serde_json::to_string(&m).expect("serialize");
            let back: Money = serde_json::from_str(&json).expect("parse");
            prop_assert_eq!(back, m);
        }
    }
}
