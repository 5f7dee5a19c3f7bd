//! Projections: items derived from other items and kept by the stream
//! function, each owned by the context that reads it:
//! - [`search_index`]: the search terms of listed products (read by catalog's
//!   search and suggestions);
//! - [`order_stats`]: per-day order counters (read by orders' admin
//!   statistics).
//!
//! They live in the shared library, beside the read models they are built
//! from (`crate::contracts`), because the stream function that keeps them
//! may link no context's crate. Each keeper is idempotent: a redelivered
//! stream record has the effect of one.

pub mod order_stats;
pub mod search_index;
