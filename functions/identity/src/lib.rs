//! The identity context: accounts, sign-in and access tokens; organizations,
//! their members, invitations, API keys and audit trail.
//!
//! `routes(state)` is what the identity Lambda and the devserver serve;
//! `openapi()` describes the same routes, so the two cannot drift apart.

mod api_keys;
mod audit_trail;
mod emails;
pub mod invitations;
mod jwks;
mod limits;
mod login;
pub mod members;
mod one_time;
pub mod org;
pub mod password;
mod password_reset;
mod profile;
mod register;
pub mod session;
pub mod user;
mod verification;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use shared::auth::TokenKeys;
use shared::mail::Mailer;
use shared::ratelimit::RateLimiter;
use shared::store::Store;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Clone)]
pub struct IdentityState {
    pub store: Store,
    pub tokens: Arc<TokenKeys>,
    pub mailer: Mailer,
    pub rate_limiter: RateLimiter,
    pub session_ttl: Duration,
    pub public_app_url: Option<String>,
}

impl IdentityState {
    pub fn new(services: &shared::Services) -> Self {
        Self {
            store: services.store.clone(),
            tokens: services.tokens.clone(),
            mailer: services.mailer.clone(),
            rate_limiter: services.rate_limiter.clone(),
            session_ttl: services.config.session_ttl,
            public_app_url: services.config.public_app_url.clone(),
        }
    }
}

impl FromRef<IdentityState> for Arc<TokenKeys> {
    fn from_ref(state: &IdentityState) -> Self {
        state.tokens.clone()
    }
}

impl FromRef<IdentityState> for RateLimiter {
    fn from_ref(state: &IdentityState) -> Self {
        state.rate_limiter.clone()
    }
}

impl FromRef<IdentityState> for Store {
    fn from_ref(state: &IdentityState) -> Self {
        state.store.clone()
    }
}

fn api() -> OpenApiRouter<IdentityState> {
    OpenApiRouter::new()
        .routes(routes!(register::register))
        .routes(routes!(login::login))
        .routes(routes!(session::routes::refresh))
        .routes(routes!(session::routes::logout))
        .routes(routes!(session::routes::logout_all))
        .routes(routes!(verification::verify_email))
        .routes(routes!(verification::resend))
        .routes(routes!(password_reset::request_reset))
        .routes(routes!(password_reset::reset_password))
        .routes(routes!(profile::me, profile::update_me, profile::delete_me))
        .routes(routes!(session::routes::list_sessions))
        .routes(routes!(session::routes::revoke_session))
        .routes(routes!(audit_trail::list_my_audit))
        .routes(routes!(jwks::jwks))
        .routes(routes!(org::create_org, org::list_my_orgs))
        .routes(routes!(org::get_org, org::update_org))
        .routes(routes!(org::set_verification))
        .routes(routes!(invitations::create_invitation))
        .routes(routes!(invitations::accept_invitation))
        .routes(routes!(members::list_members))
        .routes(routes!(members::update_member, members::remove_member))
        .routes(routes!(api_keys::create_api_key, api_keys::list_api_keys))
        .routes(routes!(api_keys::revoke_api_key))
        .routes(routes!(audit_trail::list_org_audit))
}

/// The context's routes, without the shared layers (see `shared::http::service`).
pub fn routes(state: IdentityState) -> Router {
    api().split_for_parts().0.with_state(state)
}

/// The OpenAPI description of `routes`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}
