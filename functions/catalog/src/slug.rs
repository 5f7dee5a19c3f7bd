//! URL slugs of categories: `fresh-vegetables`.

use std::fmt;

use serde::{Deserialize, Serialize};

const MAX_LEN: usize = 64;

/// Lower-case ASCII letters and digits in words joined by single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "must be 1 to 64 lower-case letters or digits in words joined by single hyphens, e.g. fresh-vegetables"
)]
pub struct InvalidSlug;

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, InvalidSlug> {
        let slug = raw.trim();
        let ok = (1..=MAX_LEN).contains(&slug.len())
            && slug.split('-').all(|word| {
                !word.is_empty()
                    && word
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if ok {
            Ok(Self(slug.to_owned()))
        } else {
            Err(InvalidSlug)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = InvalidSlug;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hyphenated_lower_case_words() {
        assert_eq!(
            Slug::parse(" fresh-vegetables ").unwrap().as_str(),
            "fresh-vegetables"
        );
        assert!(Slug::parse("iso-22000").is_ok());
    }

    #[test]
    fn refuses_anything_else() {
        for raw in [
            "",
            "Fresh",
            "a--b",
            "-a",
            "a-",
            "a b",
            "tómate",
            "a_b",
            &"a".repeat(65),
        ] {
            assert!(Slug::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }
}
