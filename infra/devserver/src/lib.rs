//! The local stand-in for API Gateway and Lambda's event-source mappings.
//!
//! - [`app`]: every context's routes behind the shared layers, at the same
//!   paths template.yaml gives them, with the HTTP API's CORS ([`cors`]).
//! - [`resources`]: the table, bucket and sender identity, from the one
//!   definition template.yaml is checked against.
//! - [`client`]: requests to [`app`] in-process, as a client sends them.
//! - [`seed`]: the demo store, written through the API itself.
//! - [`pumps`]: where DynamoDB stream and S3 notification pumps plug in;
//!   [`dead_letters`]: where they put what keeps failing, as Lambda does.
//! - [`redrive`] and [`replay`]: the tools that put dead letters back to work.
//! - [`cost`]: what a measured request costs in AWS (the bench's table).

pub mod client;
pub mod cors;
pub mod cost;
pub mod dead_letters;
pub mod openapi;
pub mod pumps;
pub mod redrive;
pub mod replay;
pub mod resources;
pub mod seed;
pub mod write_units;

use axum::Router;

/// All contexts merged, then wrapped once in the shared layers, as each
/// Lambda wraps its own routes; CORS outside them, as API Gateway answers
/// preflight requests before a function is called.
pub fn app(services: &shared::FullServices) -> Router {
    let cors = cors::CorsSettings::from_template()
        .expect("template.yaml's CorsConfiguration is readable (a unit test checks it)");
    let routes = identity::routes(identity::IdentityState::new(
        services,
        services.signing.clone(),
    ))
    .merge(catalog::routes(catalog::CatalogState::new(services)))
    .merge(assets::routes(assets::AssetsState::new(services)))
    .merge(orders::routes(orders::OrdersState::new(
        services,
        services.payments.clone(),
    )))
    .merge(mail::routes(mail::MailState::new(
        services,
        services.signing.clone(),
    )))
    .merge(studio::routes(studio::StudioState::from_env(
        services,
        services.signing.clone(),
    )))
    .merge(sourcing::routes(sourcing::SourcingState::new(services)))
    .merge(platform::routes(platform::PlatformState::new(services)));
    shared::http::service(routes).layer(cors.layer_from_env())
}
