//! Identity's saved addresses as checkout reads them: `USER#<id>` or
//! `ORG#<id>` / `ADDRESS#<addressId>`, for the address an order copies.
//! Owned by identity, which builds its keys with these functions; a
//! round-trip test in identity (`addresses.rs`) reads its full item as
//! [`SavedAddress`].

use serde::Deserialize;

use crate::domain::address::Address;

pub const ADDRESS_TYPE: &str = "ADDRESS";
pub const ADDRESS_SK_PREFIX: &str = "ADDRESS#";

/// Whose address book: a person's or an organization's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressBook {
    User(String),
    Org(String),
}

impl AddressBook {
    /// The partition the book's entries live in.
    pub fn pk(&self) -> String {
        match self {
            AddressBook::User(id) => format!("USER#{id}"),
            AddressBook::Org(id) => format!("ORG#{id}"),
        }
    }

    /// The key of the entry `address_id`, or `None` when the id cannot be
    /// one of ours (so a forged id is a plain 404, never an oversized key).
    pub fn entry_key(&self, address_id: &str) -> Option<(String, String)> {
        is_address_id(address_id).then(|| (self.pk(), format!("{ADDRESS_SK_PREFIX}{address_id}")))
    }
}

/// Ids are ULIDs; anything else names no entry.
fn is_address_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A saved address: its id and the address an order copies.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SavedAddress {
    pub id: String,
    pub address: Address,
    /// The book's default shipping address.
    #[serde(rename = "defaultShipping", default)]
    pub default_shipping: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_ids_have_a_key() {
        let book = AddressBook::Org("o1".into());
        assert_eq!(
            book.entry_key("01JDC0ADDRESS"),
            Some(("ORG#o1".to_owned(), "ADDRESS#01JDC0ADDRESS".to_owned()))
        );
        assert_eq!(book.entry_key(""), None);
        assert_eq!(book.entry_key("a#b"), None);
        assert_eq!(book.entry_key(&"x".repeat(65)), None);
        assert_eq!(AddressBook::User("u1".into()).pk(), "USER#u1".to_owned());
    }
}
