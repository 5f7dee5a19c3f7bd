//! The identity context: accounts, sign-in and access tokens.
//!
//! `routes(state)` is what the identity Lambda and the devserver serve;
//! `openapi()` describes the same routes, so the two cannot drift apart.

mod jwks;
mod login;
pub mod password;
mod profile;
mod register;
pub mod user;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use shared::auth::TokenKeys;
use shared::store::Store;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Clone)]
pub struct IdentityState {
    pub store: Store,
    pub tokens: Arc<TokenKeys>,
}

impl IdentityState {
    pub fn new(services: &shared::Services) -> Self {
        Self {
            store: services.store.clone(),
            tokens: services.tokens.clone(),
        }
    }
}

impl FromRef<IdentityState> for Arc<TokenKeys> {
    fn from_ref(state: &IdentityState) -> Self {
        state.tokens.clone()
    }
}

fn api() -> OpenApiRouter<IdentityState> {
    OpenApiRouter::new()
        .routes(routes!(register::register))
        .routes(routes!(login::login))
        .routes(routes!(profile::me))
        .routes(routes!(jwks::jwks))
}

/// The context's routes, without the shared layers (see `shared::http::service`).
pub fn routes(state: IdentityState) -> Router {
    api().split_for_parts().0.with_state(state)
}

/// The OpenAPI description of `routes`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}
