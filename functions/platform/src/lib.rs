//! Platform endpoints that belong to no single context: the health of the
//! dependencies, the OpenAPI document that describes every context (the
//! committed docs/openapi.json), and the interactive reference over it.

mod docs;
mod health;
mod openapi;

use axum::Router;
use shared::http::RouteSink;
use shared::routes;
use utoipa_axum::router::OpenApiRouter;

pub use docs::DOCS_CONTENT_SECURITY_POLICY;
pub use openapi::DOCUMENT;

/// What the health check calls: DynamoDB, S3 and SES.
#[derive(Clone)]
pub struct PlatformState {
    services: shared::Services,
    s3: aws_sdk_s3::Client,
    ses: aws_sdk_sesv2::Client,
    mailer: shared::mail::Mailer,
    last_checks: health::LastChecks,
}

impl PlatformState {
    pub fn new(services: &shared::Services) -> Self {
        Self {
            services: services.clone(),
            s3: services.s3(),
            ses: services.ses(),
            mailer: services.mailer(),
            last_checks: health::LastChecks::default(),
        }
    }
}

fn api<R: RouteSink<PlatformState>>(sink: R) -> R {
    sink
        // GET /v1/health
        .routes(routes!(health::health))
        // GET /v1/openapi.json
        .routes(routes!(openapi::openapi_json))
        // GET /docs
        .routes(routes!(docs::docs_page))
        // GET /docs/{file}
        .routes(routes!(docs::docs_file))
}

/// The context's routes, without the shared layers (see `shared::http::service`).
pub fn routes(state: PlatformState) -> Router {
    api(Router::new()).with_state(state)
}

/// The OpenAPI description of this crate's own routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(OpenApiRouter::new()).split_for_parts().1
}
