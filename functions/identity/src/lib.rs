//! The identity context: accounts, sign-in and access tokens; organizations,
//! their members, invitations, API keys and audit trail.
//!
//! `routes(state)` is what the identity Lambda and the devserver serve;
//! `openapi()` describes the same routes, so the two cannot drift apart.

pub mod addresses;
mod api_keys;
mod audit_trail;
mod emails;
pub mod invitations;
mod jwks;
pub mod limits;
mod login;
pub mod members;
pub mod mfa;
mod moderators;
mod one_time;
pub mod org;
pub mod password;
mod password_reset;
mod profile;
pub mod public_profile;
mod register;
pub mod session;
pub mod user;
mod verification;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::FromRef;
use shared::auth::{SigningKeys, TokenKeys};
use shared::config::SecretSource;
use shared::http::RouteSink;
use shared::outbox::Outbox;
use shared::ratelimit::RateLimiter;
use shared::routes;
use shared::store::Store;
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone)]
pub struct IdentityState {
    pub store: Store,
    pub tokens: Arc<TokenKeys>,
    /// The private key set: identity issues the access tokens.
    pub signing: Arc<SigningKeys>,
    /// Where its emails go: the mail context's outbox worker sends them.
    pub outbox: Outbox,
    pub rate_limiter: RateLimiter,
    pub limits: limits::Limits,
    pub session_ttl: Duration,
    pub public_app_url: Option<String>,
    /// The keys that seal TOTP secrets; none: two-factor sign-in answers 503.
    pub mfa_keys: Option<Arc<mfa::cipher::MfaKeys>>,
}

impl IdentityState {
    /// The state with the MFA key set given as configuration holds it
    /// inline (`MFA_ENCRYPTION_KEYS`: the devserver, tests); a key set kept
    /// in Secrets Manager needs [`IdentityState::init`].
    /// `signing`: [`shared::Services::signing_keys`], read at start.
    pub fn new(services: &shared::Services, signing: Arc<SigningKeys>) -> Self {
        let mfa_keys = match &services.config.mfa_keys {
            Some(SecretSource::Inline(json)) => Some(json.as_str()),
            Some(SecretSource::Secret(_)) => {
                tracing::warn!(
                    "the MFA key set is in Secrets Manager: IdentityState::init reads it"
                );
                None
            }
            None => None,
        }
        .map(|json| {
            mfa::cipher::MfaKeys::from_json(json)
                .map(Arc::new)
                .expect("MFA_ENCRYPTION_KEYS is a valid key set")
        });
        Self::with_mfa_keys(services, signing, mfa_keys)
    }

    /// For the Lambda: the signing key set and, when it is configured, the
    /// MFA key set, read in one call (`Services::read_secrets`); a key set
    /// that does not load stops the start.
    pub async fn init(services: &shared::Services) -> anyhow::Result<Self> {
        let signing_source = services.config.signing_keys.as_ref().context(
            "identity issues tokens: set JWT_SIGNING_KEYS_SECRET_ID (or JWT_SIGNING_KEYS)",
        )?;
        let [signing, mfa] = services
            .read_secrets([
                (Some(signing_source), "the signing key set"),
                (services.config.mfa_keys.as_ref(), "the MFA key set"),
            ])
            .await?;
        let signing = services.signing_keys_from(
            signing
                .as_deref()
                .context("the signing key set has no value")?,
        )?;
        let mfa_keys = match mfa {
            Some(json) => Some(Arc::new(
                mfa::cipher::MfaKeys::from_json(&json).context("loading the MFA key set")?,
            )),
            None => None,
        };
        Ok(Self::with_mfa_keys(services, signing, mfa_keys))
    }

    fn with_mfa_keys(
        services: &shared::Services,
        signing: Arc<SigningKeys>,
        mfa_keys: Option<Arc<mfa::cipher::MfaKeys>>,
    ) -> Self {
        Self {
            store: services.store.clone(),
            tokens: services.tokens.clone(),
            signing,
            outbox: services.outbox(),
            rate_limiter: services.rate_limiter.clone(),
            limits: limits::Limits::from(services.config.auth_limits),
            session_ttl: services.config.session_ttl,
            public_app_url: services.config.public_app_url.clone(),
            mfa_keys,
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

fn api<R: RouteSink<IdentityState>>(sink: R) -> R {
    sink
        // POST /v1/auth/register
        .routes(routes!(register::register))
        // POST /v1/auth/login
        .routes(routes!(login::login))
        // POST /v1/auth/login/mfa
        .routes(routes!(mfa::sign_in::complete_sign_in))
        // POST /v1/auth/refresh
        .routes(routes!(session::routes::refresh))
        // POST /v1/auth/logout
        .routes(routes!(session::routes::logout))
        // POST /v1/auth/logout-all
        .routes(routes!(session::routes::logout_all))
        // POST /v1/auth/verify-email
        .routes(routes!(verification::verify_email))
        // POST /v1/auth/verify-email/resend
        .routes(routes!(verification::resend))
        // POST /v1/auth/password-reset/request
        .routes(routes!(password_reset::request_reset))
        // POST /v1/auth/password-reset
        .routes(routes!(password_reset::reset_password))
        // GET, PATCH, DELETE /v1/me
        .routes(routes!(profile::me, profile::update_me, profile::delete_me))
        // GET, POST /v1/me/addresses
        .routes(routes!(
            addresses::list_my_addresses,
            addresses::add_my_address
        ))
        // PATCH, DELETE /v1/me/addresses/{addressId}
        .routes(routes!(
            addresses::update_my_address,
            addresses::remove_my_address
        ))
        // GET, PATCH /v1/me/profile
        .routes(routes!(
            public_profile::my_profile,
            public_profile::update_my_profile
        ))
        // GET /v1/profiles/{handle}
        .routes(routes!(public_profile::get_profile))
        // GET /v1/me/sessions
        .routes(routes!(session::routes::list_sessions))
        // DELETE /v1/me/sessions/{sessionId}
        .routes(routes!(session::routes::revoke_session))
        // GET /v1/me/audit
        .routes(routes!(audit_trail::list_my_audit))
        // GET, DELETE /v1/me/mfa
        .routes(routes!(mfa::routes::mfa_status, mfa::routes::remove_mfa))
        // POST /v1/me/mfa/totp
        .routes(routes!(mfa::routes::start_totp_enrolment))
        // POST /v1/me/mfa/totp/confirm
        .routes(routes!(mfa::routes::confirm_totp_enrolment))
        // POST /v1/me/mfa/recovery-codes
        .routes(routes!(mfa::routes::regenerate_recovery_codes))
        // GET /.well-known/jwks.json
        .routes(routes!(jwks::jwks))
        // POST, GET /v1/orgs
        .routes(routes!(org::create_org, org::list_my_orgs))
        // GET, PATCH /v1/orgs/{orgId}
        .routes(routes!(org::get_org, org::update_org))
        // PUT /v1/orgs/{orgId}/verification
        .routes(routes!(org::set_verification))
        // POST /v1/orgs/{orgId}/invitations
        .routes(routes!(invitations::create_invitation))
        // POST /v1/invitations/accept
        .routes(routes!(invitations::accept_invitation))
        // GET /v1/orgs/{orgId}/members
        .routes(routes!(members::list_members))
        // PATCH, DELETE /v1/orgs/{orgId}/members/{userId}
        .routes(routes!(members::update_member, members::remove_member))
        // POST, GET /v1/orgs/{orgId}/api-keys
        .routes(routes!(api_keys::create_api_key, api_keys::list_api_keys))
        // DELETE /v1/orgs/{orgId}/api-keys/{prefix}
        .routes(routes!(api_keys::revoke_api_key))
        // GET, POST /v1/orgs/{orgId}/addresses
        .routes(routes!(
            addresses::list_org_addresses,
            addresses::add_org_address
        ))
        // PATCH, DELETE /v1/orgs/{orgId}/addresses/{addressId}
        .routes(routes!(
            addresses::update_org_address,
            addresses::remove_org_address
        ))
        // GET /v1/orgs/{orgId}/audit
        .routes(routes!(audit_trail::list_org_audit))
        // PUT, DELETE /v1/moderators/{userId}
        .routes(routes!(
            moderators::grant_moderator,
            moderators::revoke_moderator
        ))
}

/// The context's routes, without the shared layers (see `shared::http::service`).
pub fn routes(state: IdentityState) -> Router {
    api(Router::new()).with_state(state)
}

/// The OpenAPI description of `routes`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(OpenApiRouter::new()).split_for_parts().1
}
