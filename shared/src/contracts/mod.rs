//! What one context publishes for the others to read: narrow read models of
//! its items, owned by the publishing context and kept honest by a round-trip
//! test against its full item (in the owner's crate), so no function crate
//! needs to link another to read what it sells, ships or counts.
//!
//! A read model names only the fields its readers use; it deserializes from
//! the full stored item (unknown attributes are ignored) and is never
//! written back.

pub mod address;
pub mod category;
pub mod order;
pub mod org;
pub mod product;
pub mod sourced_order;
pub mod user;
