//! Money: an amount in integer minor units (cents) and an ISO 4217 currency.
//!
//! Never floating point: 0.1 + 0.2 is not 0.3 in binary, and a price that
//! rounds differently on two services is a support ticket. Amounts are
//! non-negative here; refunds and discounts are separate records.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The largest amount a price may have, in minor units (10^13 - 1): room for
/// any real price, and it fits the fixed-width sortable key with space to spare.
pub const MAX_AMOUNT: i64 = 9_999_999_999_999;

/// Active ISO 4217 codes (2024), three upper-case letters each.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB \
BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD \
FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR \
KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR \
MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK \
SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES \
VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// An ISO 4217 currency code such as `EUR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("An active ISO 4217 currency code"))
            .enum_values(Some(ISO_4217.split_ascii_whitespace()))
            .examples(["EUR"])
            .into()
    }
}

impl ToSchema for Currency {}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct InvalidMoney(&'static str);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, InvalidMoney> {
        let code = raw.trim();
        if code.len() != 3
            || !code.bytes().all(|b| b.is_ascii_uppercase())
            || !ISO_4217.split(' ').any(|known| known == code)
        {
            return Err(InvalidMoney(
                "must be an ISO 4217 currency code such as EUR",
            ));
        }
        let bytes = code.as_bytes();
        Ok(Self([bytes[0], bytes[1], bytes[2]]))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a currency code is ASCII")
    }

    /// Digits after the decimal point (ISO 4217's minor unit): 2 for EUR,
    /// 0 for JPY, 3 for KWD.
    pub fn minor_digits(&self) -> u32 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidMoney;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of a currency, in minor units: `{"amount": 1299, "currency": "EUR"}` is €12.99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Money {
    /// Minor units (cents), 0 to 9999999999999.
    #[schema(example = 1299, minimum = 0, maximum = 9_999_999_999_999_i64)]
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Result<Self, InvalidMoney> {
        if !(0..=MAX_AMOUNT).contains(&amount) {
            return Err(InvalidMoney(
                "must be a whole number of minor units from 0 to 9999999999999",
            ));
        }
        Ok(Self { amount, currency })
    }

    /// Parses an amount and a currency code as a client sends them.
    pub fn parse(amount: i64, currency: &str) -> Result<Self, InvalidMoney> {
        Self::new(amount, Currency::parse(currency)?)
    }

    /// The amount as fixed-width digits, so that text order is numeric
    /// order (for sort keys of an index).
    pub fn sortable_amount(&self) -> String {
        format!("{:013}", self.amount)
    }

    /// `amount * quantity`, or `None` if that overflows the allowed range.
    pub fn times(&self, quantity: u64) -> Option<Money> {
        let total = self.amount.checked_mul(i64::try_from(quantity).ok()?)?;
        Money::new(total, self.currency).ok()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        if digits == 0 {
            return write!(f, "{} {}", self.amount, self.currency);
        }
        let scale = 10_i64.pow(digits);
        write!(
            f,
            "{}.{:0width$} {}",
            self.amount / scale,
            self.amount % scale,
            self.currency,
            width = digits as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_currency_codes_only() {
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        assert_eq!(Currency::parse(" USD ").unwrap().as_str(), "USD");
        for raw in ["", "eur", "EU", "EURO", "XXX", "ABC", "€", "E1R"] {
            assert!(Currency::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }

    #[test]
    fn amounts_are_whole_non_negative_minor_units_in_range() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(Money::new(0, eur).unwrap().amount, 0);
        assert_eq!(Money::new(MAX_AMOUNT, eur).unwrap().amount, MAX_AMOUNT);
        assert!(Money::new(-1, eur).is_err());
        assert!(Money::new(MAX_AMOUNT + 1, eur).is_err());
        assert!(Money::parse(100, "nope").is_err());
    }

    #[test]
    fn sortable_amounts_sort_like_numbers() {
        let eur = Currency::parse("EUR").unwrap();
        let mut keys: Vec<String> = [1000, 9, 250, 0, MAX_AMOUNT]
            .iter()
            .map(|a| Money::new(*a, eur).unwrap().sortable_amount())
            .collect();
        keys.sort();
        assert_eq!(keys[0], "0000000000000");
        assert_eq!(keys[1], "0000000000009");
        assert_eq!(keys[4], "9999999999999");
        assert!(keys.iter().all(|k| k.len() == 13));
    }

    #[test]
    fn displays_with_the_currency_minor_unit() {
        assert_eq!(Money::parse(1299, "EUR").unwrap().to_string(), "12.99 EUR");
        assert_eq!(Money::parse(5, "EUR").unwrap().to_string(), "0.05 EUR");
        assert_eq!(Money::parse(1299, "JPY").unwrap().to_string(), "1299 JPY");
        assert_eq!(Money::parse(1299, "KWD").unwrap().to_string(), "1.299 KWD");
    }

    #[test]
    fn multiplies_without_overflow() {
        let price = Money::parse(1299, "EUR").unwrap();
        assert_eq!(price.times(3).unwrap().amount, 3897);
        assert!(price.times(u64::MAX).is_none());
    }

    #[test]
    fn serializes_as_amount_and_code_and_refuses_bad_codes() {
        let price = Money::parse(1299, "EUR").unwrap();
        let json = serde_json::to_value(price).unwrap();
        assert_eq!(json, serde_json::json!({"amount": 1299, "currency": "EUR"}));
        assert!(
            serde_json::from_value::<Money>(serde_json::json!({"amount": 1, "currency": "eur"}))
                .is_err()
        );
    }
}
