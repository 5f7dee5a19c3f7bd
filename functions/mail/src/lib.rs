//! The mail context: email templates with a typed variable schema,
//! immutable versions reviewed under the organization's approval policy,
//! previews, and sending the active version through SES.
//!
//! `routes(state)` is what the mail Lambda and the devserver serve;
//! `openapi()` describes the same routes, so the two cannot drift apart.
//! Rendering itself is `shared::mail::render`, the pipeline every email of
//! the platform goes through.

mod access;
pub mod bulk;
pub mod model;
pub mod outbox;
pub mod policy;
pub mod preview;
pub mod review;
pub mod send;
pub mod ses_events;
pub mod suppressions;
pub mod templates;
pub mod versions;
pub mod worker;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use shared::auth::{SigningKeys, TokenKeys};
use shared::http::RouteSink;
use shared::mail::Mailer;
use shared::ratelimit::RateLimiter;
use shared::routes;
use shared::store::Store;
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone)]
pub struct MailState {
    pub store: Store,
    pub tokens: Arc<TokenKeys>,
    /// The private key set: unsubscribe links are signed links.
    pub signing: Arc<SigningKeys>,
    pub rate_limiter: RateLimiter,
    pub mailer: Mailer,
    /// Where review requests go: the outbox worker sends them.
    pub outbox: shared::outbox::Outbox,
    /// `PUBLIC_API_URL`: the base of links into the API in emails.
    pub public_api_url: Option<String>,
    /// `PUBLIC_MEDIA_URL`: where template images are published.
    pub public_media_url: Option<String>,
    /// Where bulk sends go; none when `MAIL_SEND_QUEUE_URL` is unset.
    pub queue: Option<SendQueue>,
    pub pacing: worker::Pacing,
}

/// The bulk-send queue.
#[derive(Clone)]
pub struct SendQueue {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

impl MailState {
    /// `signing`: [`shared::Services::signing_keys`], read at start.
    pub fn new(services: &shared::Services, signing: Arc<SigningKeys>) -> Self {
        Self {
            store: services.store.clone(),
            tokens: services.tokens.clone(),
            signing,
            rate_limiter: services.rate_limiter.clone(),
            mailer: services.mailer(),
            outbox: services.outbox(),
            public_api_url: services.config.public_api_url.clone(),
            public_media_url: services.config.public_media_url.clone(),
            queue: services
                .config
                .mail_send_queue_url
                .clone()
                .map(|url| SendQueue {
                    sqs: aws_sdk_sqs::Client::new(&services.sdk),
                    url,
                }),
            pacing: worker::Pacing::new(services.config.mail_send_rate),
        }
    }
}

impl FromRef<MailState> for Arc<TokenKeys> {
    fn from_ref(state: &MailState) -> Self {
        state.tokens.clone()
    }
}

impl FromRef<MailState> for Store {
    fn from_ref(state: &MailState) -> Self {
        state.store.clone()
    }
}

impl FromRef<MailState> for RateLimiter {
    fn from_ref(state: &MailState) -> Self {
        state.rate_limiter.clone()
    }
}

fn api<R: RouteSink<MailState>>(sink: R) -> R {
    sink
        // GET, POST /v1/orgs/{orgId}/templates
        .routes(routes!(
            templates::list_templates,
            templates::create_template
        ))
        // GET, PATCH, DELETE /v1/orgs/{orgId}/templates/{templateId}
        .routes(routes!(
            templates::get_template,
            templates::update_template,
            templates::archive_template
        ))
        // POST /v1/orgs/{orgId}/templates/{templateId}/preview
        .routes(routes!(preview::preview_template))
        // POST /v1/orgs/{orgId}/templates/{templateId}/submit
        .routes(routes!(versions::submit_template))
        // GET /v1/orgs/{orgId}/templates/{templateId}/versions
        .routes(routes!(versions::list_versions))
        // GET /v1/orgs/{orgId}/templates/{templateId}/versions/{n}
        .routes(routes!(versions::get_version))
        // POST /v1/orgs/{orgId}/templates/{templateId}/versions/{n}/approve
        .routes(routes!(review::approve_version))
        // POST /v1/orgs/{orgId}/templates/{templateId}/versions/{n}/reject
        .routes(routes!(review::reject_version))
        // POST /v1/orgs/{orgId}/templates/{templateId}/versions/{n}/withdraw
        .routes(routes!(review::withdraw_version))
        // POST /v1/orgs/{orgId}/templates/{templateId}/versions/{n}/activate
        .routes(routes!(review::activate_version))
        // GET /v1/orgs/{orgId}/approvals
        .routes(routes!(review::approvals_inbox))
        // GET, PUT /v1/orgs/{orgId}/approval-policy
        .routes(routes!(policy::get_policy, policy::put_policy))
        // POST /v1/orgs/{orgId}/templates/{templateId}/send
        .routes(routes!(send::send_template))
        // POST /v1/orgs/{orgId}/templates/{templateId}/test-send
        .routes(routes!(send::test_send_template))
        // GET /v1/orgs/{orgId}/messages
        .routes(routes!(send::list_messages))
        // GET, DELETE /v1/orgs/{orgId}/suppressions
        .routes(routes!(
            suppressions::list_suppressions,
            suppressions::remove_suppression
        ))
        // POST /v1/unsubscribe/{token}
        .routes(routes!(suppressions::unsubscribe))
        // POST /v1/orgs/{orgId}/sends
        .routes(routes!(bulk::create_send))
        // GET /v1/orgs/{orgId}/sends/{sendId}
        .routes(routes!(bulk::get_send))
}

/// The context's routes, without the shared layers (see `shared::http::service`).
pub fn routes(state: MailState) -> Router {
    api(Router::new()).with_state(state)
}

/// The OpenAPI description of `routes`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(OpenApiRouter::new()).split_for_parts().1
}
