//! One integration binary, a module per area; run with `make test`.

mod account;
mod catalog;
mod events;
mod health;
mod http_contract;
mod identity;
mod openapi;
mod resilience;
mod sessions;
mod store;
mod template;
