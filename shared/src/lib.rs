//! Bodega's domain library: what every function shares.
//!
//! - [`config`]: configuration from the environment, with every problem named.
//! - [`services`]: what a function builds once per cold start: DynamoDB and
//!   the public token keys for all, the rest as the function asks (features).
//! - [`store`]: the single-table access layer.
//! - [`http`]: the API envelope, errors, request ids, the JSON extractor.
//! - [`auth`]: access tokens, API keys, the caller, and the permission policy.
//! - [`audit`]: the audit trail of security events.
//! - `mail` (feature `mail`): email through SES v2.
//! - [`metrics`]: business metrics as CloudWatch embedded-metric-format log lines.
//! - [`moderation`]: moderators, reports of public content and the moderation queue.
//! - [`contracts`]: what one context publishes for others to read (narrow read models).
//! - [`projections`]: items the stream keeps from other items (search index, order statistics).
//! - `payments` (feature `payments`): card payments through Stripe, invoices, and Stripe webhook signatures.
//! - `print_partner` (feature `print-partner`): a print-on-demand partner, its Printful client and webhooks.
//! - [`ratelimit`]: fixed-window request limits kept in the table.
//! - [`catalog`]: catalog's products and the one command that creates one, for every context.
//! - [`sqs`]: the SQS event queue workers receive and their partial batch failures.
//! - [`stock`]: conditional moves of a product's stock (adjust, reserve, release, commit).
//! - [`domain`]: values that cross contexts (email, money, SKU, ids, timestamps).

pub mod asset_refs;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod contracts;
pub mod crypto;
pub mod deadline;
pub mod domain;
pub mod http;
pub mod idempotency;
#[cfg(feature = "ses")]
pub mod mail;
pub mod metrics;
pub mod moderation;
pub mod outbox;
#[cfg(feature = "payments")]
pub mod payments;
#[cfg(feature = "print-partner")]
pub mod print_partner;
pub mod projections;
pub mod ratelimit;
pub mod services;
pub mod sqs;
pub mod stock;
pub mod store;
pub mod telemetry;

#[cfg(feature = "full")]
pub use services::FullServices;
pub use services::Services;
