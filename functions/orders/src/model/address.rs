//! A postal address, as orders and fulfilments keep it: the shared domain
//! value, validated by the same code wherever it comes from.

pub use shared::domain::address::Address;
