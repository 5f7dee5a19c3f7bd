//! The assets context: files uploaded straight to S3 with presigned URLs,
//! then checked by content in the S3 trigger ([`ingest`]) before anything
//! may use them.
//!
//! `routes(state)` is what the assets Lambda and the devserver serve;
//! `openapi()` describes the same routes.

mod access;
pub mod asset;
pub mod ingest;
pub mod inspect;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use shared::auth::TokenKeys;
use shared::http::RouteSink;
use shared::ratelimit::RateLimiter;
use shared::routes;
use shared::store::Store;
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone)]
pub struct AssetsState {
    pub store: Store,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    /// `PUBLIC_MEDIA_URL`: where published files are served.
    pub public_media_url: Option<String>,
    pub tokens: Arc<TokenKeys>,
    pub rate_limiter: RateLimiter,
}

impl AssetsState {
    pub fn new(services: &shared::Services) -> Self {
        Self {
            store: services.store.clone(),
            s3: services.s3(),
            bucket: services.config.bucket_name.clone(),
            public_media_url: services.config.public_media_url.clone(),
            tokens: services.tokens.clone(),
            rate_limiter: services.rate_limiter.clone(),
        }
    }
}

impl FromRef<AssetsState> for Arc<TokenKeys> {
    fn from_ref(state: &AssetsState) -> Self {
        state.tokens.clone()
    }
}

impl FromRef<AssetsState> for Store {
    fn from_ref(state: &AssetsState) -> Self {
        state.store.clone()
    }
}

impl FromRef<AssetsState> for RateLimiter {
    fn from_ref(state: &AssetsState) -> Self {
        state.rate_limiter.clone()
    }
}

fn api<R: RouteSink<AssetsState>>(sink: R) -> R {
    sink
        // POST /v1/uploads
        .routes(routes!(upload::create_upload))
        // GET, DELETE /v1/assets/{assetId}
        .routes(routes!(access::get_asset, access::delete_asset))
}

/// The context's routes, without the shared layers (see `shared::http::service`).
pub fn routes(state: AssetsState) -> Router {
    api(Router::new()).with_state(state)
}

/// The OpenAPI description of `routes`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(OpenApiRouter::new()).split_for_parts().1
}
