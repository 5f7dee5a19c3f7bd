//! Stock keeping units: the seller's code for a product, unique on the platform.

use std::fmt;

use serde::{Deserialize, Serialize};

const MAX_LEN: usize = 64;

/// An upper-cased SKU of letters, digits, `-`, `_` and `.`, 1 to 64 long.
/// Case is folded so `ab-1` and `AB-1` cannot name two products.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct InvalidSku(&'static str);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, InvalidSku> {
        let candidate = raw.trim().to_ascii_uppercase();
        if candidate.is_empty() {
            return Err(InvalidSku("is required"));
        }
        if candidate.len() > MAX_LEN
            || !candidate
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            || !candidate.as_bytes()[0].is_ascii_alphanumeric()
        {
            return Err(InvalidSku(
                "must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit",
            ));
        }
        Ok(Self(candidate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = InvalidSku;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Sku> for String {
    fn from(sku: Sku) -> Self {
        sku.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_trims() {
        assert_eq!(Sku::parse("  tom-1.kg_b ").unwrap().as_str(), "TOM-1.KG_B");
    }

    #[test]
    fn refuses_what_cannot_be_a_key() {
        for raw in ["", "  ", "-lead", "a b", "a#b", "tómate", "a/b"] {
            assert!(Sku::parse(raw).is_err(), "{raw:?} should be refused");
        }
        assert!(Sku::parse(&"A".repeat(64)).is_ok());
        assert!(Sku::parse(&"A".repeat(65)).is_err());
    }
}
