//! Domain values that cross contexts. Holding one means it is valid.

pub mod email;
pub mod money;
pub mod sku;

pub use email::{Email, InvalidEmail};
pub use money::{Currency, InvalidMoney, Money};
pub use sku::{InvalidSku, Sku};

/// A new time-ordered id (ULID): sorts by creation time, so "newest first"
/// is a reverse key order.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

/// Now, as RFC 3339 text, the form timestamps take in items and responses.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time always formats")
}
