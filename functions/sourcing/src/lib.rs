//! The sourcing context: requests for quotation (RFQs) from buyer
//! organizations, explained supplier matching at publishing, invitations,
//! sealed proposals that unseal at closing, awards that create orders
//! through `shared::contracts::sourced_order`, and the schedule that closes
//! and expires RFQs.
//!
//! `routes(state)` is what the sourcing Lambda and the devserver serve;
//! `openapi()` describes the same routes, so the two cannot drift apart.

mod access;
pub mod amendments;
pub mod attachments;
pub mod award;
pub mod candidates;
pub mod closing;
pub mod matching;
pub mod messages;
pub mod model;
pub mod proposals;
pub mod publish;
pub mod rfqs;
pub mod shortlist;
pub mod supplier;
pub mod worker;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use shared::auth::TokenKeys;
use shared::http::RouteSink;
use shared::outbox::Outbox;
use shared::ratelimit::RateLimiter;
use shared::routes;
use shared::store::Store;
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone)]
pub struct SourcingState {
    pub store: Store,
    pub tokens: Arc<TokenKeys>,
    pub rate_limiter: RateLimiter,
    /// Where its emails go: the mail context's outbox worker sends them.
    pub outbox: Outbox,
    /// Presigns downloads of proposal attachments (the assets bucket).
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    /// Where large matchings go (`SOURCING_MATCHING_QUEUE_URL`).
    pub matching_queue: Option<MatchingQueue>,
    /// Above this many candidate suppliers matching runs in the background.
    pub background_matching_above: usize,
}

/// Queues `email` to each of `recipients`, the people of `org_id`, ten to
/// an SQS call. An email that could not be queued is logged with `what`
/// (never the address), not undone: what it tells has already happened.
pub(crate) async fn email_all(
    state: &SourcingState,
    org_id: &str,
    recipients: Vec<String>,
    email: &shared::outbox::PlatformEmail,
    what: &str,
) {
    let emails = recipients
        .into_iter()
        .map(|to| (to, email.clone()))
        .collect();
    for (_, err) in state.outbox.send_all(emails).await {
        tracing::error!(error = ?err, org_id, template = email.id(), "{what}");
    }
}

/// The queue of RFQs whose matching the worker finishes.
#[derive(Clone)]
pub struct MatchingQueue {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

impl SourcingState {
    pub fn new(services: &shared::Services) -> Self {
        // One SQS client for both queues: publishing a large RFQ queues its
        // matching and its invitations over the same connection.
        let outbox = services.outbox();
        Self {
            store: services.store.clone(),
            tokens: services.tokens.clone(),
            rate_limiter: services.rate_limiter.clone(),
            s3: services.s3(),
            bucket: services.config.bucket_name.clone(),
            matching_queue: services
                .config
                .sourcing_matching_queue_url
                .clone()
                .map(|url| MatchingQueue {
                    sqs: outbox.sqs().clone(),
                    url,
                }),
            outbox,
            background_matching_above: services.config.sourcing_background_matching_above,
        }
    }
}

impl FromRef<SourcingState> for Arc<TokenKeys> {
    fn from_ref(state: &SourcingState) -> Self {
        state.tokens.clone()
    }
}

impl FromRef<SourcingState> for Store {
    fn from_ref(state: &SourcingState) -> Self {
        state.store.clone()
    }
}

impl FromRef<SourcingState> for RateLimiter {
    fn from_ref(state: &SourcingState) -> Self {
        state.rate_limiter.clone()
    }
}

fn api<R: RouteSink<SourcingState>>(sink: R) -> R {
    sink
        // GET, POST /v1/orgs/{orgId}/rfqs
        .routes(routes!(rfqs::list_rfqs, rfqs::create_rfq))
        // GET, PATCH /v1/orgs/{orgId}/rfqs/{rfqId}
        .routes(routes!(rfqs::get_rfq, rfqs::update_rfq))
        // POST /v1/orgs/{orgId}/rfqs/{rfqId}/publish
        .routes(routes!(publish::publish_rfq))
        // GET /v1/orgs/{orgId}/rfqs/{rfqId}/matches
        .routes(routes!(publish::list_matches))
        // GET /v1/orgs/{orgId}/rfq-invitations
        .routes(routes!(supplier::list_invitations))
        // POST /v1/orgs/{orgId}/rfq-invitations/{rfqId}/decline
        .routes(routes!(supplier::decline_invitation))
        // POST, PUT, DELETE /v1/orgs/{orgId}/rfqs/{rfqId}/proposal
        .routes(routes!(
            proposals::submit_proposal,
            proposals::revise_proposal,
            proposals::withdraw_proposal
        ))
        // POST /v1/orgs/{orgId}/rfqs/{rfqId}/close
        .routes(routes!(closing::close_rfq))
        // GET /v1/orgs/{orgId}/rfqs/{rfqId}/proposals
        .routes(routes!(closing::list_proposals))
        // GET /v1/orgs/{orgId}/rfqs/{rfqId}/proposals/{proposalId}/attachments/{assetId}
        .routes(routes!(attachments::get_proposal_attachment))
        // POST /v1/orgs/{orgId}/rfqs/{rfqId}/shortlist
        .routes(routes!(shortlist::shortlist_proposals))
        // POST /v1/orgs/{orgId}/rfqs/{rfqId}/award
        .routes(routes!(award::award_rfq))
        // GET, POST /v1/orgs/{orgId}/rfqs/{rfqId}/amendments
        .routes(routes!(
            amendments::list_amendments,
            amendments::create_amendment
        ))
        // GET, POST /v1/orgs/{orgId}/rfqs/{rfqId}/messages
        .routes(routes!(
            messages::list_rfq_messages,
            messages::post_rfq_message
        ))
}

/// The context's routes, without the shared layers (see `shared::http::service`).
pub fn routes(state: SourcingState) -> Router {
    api(Router::new()).with_state(state)
}

/// The OpenAPI description of `routes`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(OpenApiRouter::new()).split_for_parts().1
}
