//! One integration binary, a module per area; run with `make test`.

mod account;
mod addresses;
mod api_keys;
mod assets;
mod catalog;
mod events;
mod front_door;
mod health;
mod http_contract;
mod identity;
mod mail;
mod mail_delivery;
mod mail_images;
mod openapi;
mod orders;
mod orgs;
mod payments_provider;
mod print_partner;
mod resilience;
mod route_map;
mod seed;
mod sessions;
mod store;
mod stream;
mod template;
