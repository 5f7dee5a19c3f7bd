//! One integration binary, a module per area; run with `make test`.

mod api_keys;
mod events;
mod health;
mod http_contract;
mod identity;
mod openapi;
mod orgs;
mod resilience;
mod store;
mod template;
