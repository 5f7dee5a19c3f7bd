//! The catalog context: categories, products, stock, B2B pricing and
//! compliance data, reviews and their moderation, search.
//!
//! `routes(state)` is what the catalog Lambda and the devserver serve;
//! `openapi()` describes the same routes, so the two cannot drift apart.

mod access;
pub mod category;
pub mod listing;
pub mod product;
pub mod review;
pub mod review_moderation;
pub mod search;
pub mod search_stats;
pub mod slug;

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
pub struct CatalogState {
    pub store: Store,
    pub tokens: Arc<TokenKeys>,
    pub rate_limiter: RateLimiter,
}

impl CatalogState {
    pub fn new(services: &shared::Services) -> Self {
        Self {
            store: services.store.clone(),
            tokens: services.tokens.clone(),
            rate_limiter: services.rate_limiter.clone(),
        }
    }
}

impl FromRef<CatalogState> for Arc<TokenKeys> {
    fn from_ref(state: &CatalogState) -> Self {
        state.tokens.clone()
    }
}

impl FromRef<CatalogState> for Store {
    fn from_ref(state: &CatalogState) -> Self {
        state.store.clone()
    }
}

impl FromRef<CatalogState> for RateLimiter {
    fn from_ref(state: &CatalogState) -> Self {
        state.rate_limiter.clone()
    }
}

fn api<R: RouteSink<CatalogState>>(sink: R) -> R {
    sink
        // GET, POST /v1/categories
        .routes(routes!(
            category::list_categories,
            category::create_category
        ))
        // GET, PATCH /v1/categories/{slug}
        .routes(routes!(category::get_category, category::update_category))
        // GET, POST /v1/products
        .routes(routes!(
            listing::list_products,
            product::create::create_product
        ))
        // POST, PATCH /v1/products/bulk
        .routes(routes!(
            product::bulk::bulk_create_products,
            product::bulk::bulk_update_products
        ))
        // GET, PATCH, DELETE /v1/products/{productId}
        .routes(routes!(
            product::get::get_product,
            product::update::update_product,
            product::archive::archive_product
        ))
        // POST /v1/products/{productId}/stock
        .routes(routes!(product::adjust_stock::adjust_stock))
        // GET, POST /v1/products/{productId}/reviews
        .routes(routes!(review::list_reviews, review::create_review))
        // PATCH, DELETE /v1/products/{productId}/reviews/mine
        .routes(routes!(review::update_review, review::delete_review))
        // POST /v1/products/{productId}/reviews/{authorId}/hide
        .routes(routes!(review_moderation::hide_review))
        // POST /v1/products/{productId}/reviews/{authorId}/restore
        .routes(routes!(review_moderation::restore_review))
        // POST /v1/products/{productId}/reviews/{authorId}/reports
        .routes(routes!(review_moderation::report_review))
        // GET /v1/moderation/reports
        .routes(routes!(review_moderation::list_reports))
        // GET /v1/search
        .routes(routes!(search::search))
        // GET /v1/search/suggest
        .routes(routes!(search::suggest))
        // GET /v1/search/queries
        .routes(routes!(search_stats::query_stats))
}

/// The context's routes, without the shared layers (see `shared::http::service`).
pub fn routes(state: CatalogState) -> Router {
    api(Router::new()).with_state(state)
}

/// The OpenAPI description of `routes`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(OpenApiRouter::new()).split_for_parts().1
}
