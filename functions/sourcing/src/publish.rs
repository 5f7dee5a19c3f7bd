//! Publishing an RFQ: matching every candidate supplier (pure rules in
//! `matching`, candidates from the category index in `candidates`),
//! storing each candidate's explained result, inviting those that qualify
//! (an invitation item each, and an email to their owners and sellers),
//! then flipping the RFQ to `published`. And the buyer's view of the
//! matches.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::audit::Actor;
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::membership::{MEMBER_SK_PREFIX, MembershipRecord};
use shared::auth::{Caller, CapabilityRole, OrgRole, Permission};
use shared::http::precondition::if_match;
use shared::http::{ApiError, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::outbox::PlatformEmail;
use shared::store::{TransactWriteItem, Transaction};
use utoipa::ToSchema;

use crate::SourcingState;
use crate::access;
use crate::candidates::{self, Candidates};
use crate::matching::{self, Criteria, MatchResult};
use crate::model::{
    INVITATION_TYPE, InvitationRecord, InvitationStatus, MATCH_SK_PREFIX, MATCH_TYPE, MatchRecord,
    MatchingSummary, OPEN_RFQS_PARTITION, RfqRecord, RfqStatus, all_under, invitation_key,
    match_key, org_pk, rfq_pk,
};
use crate::rfqs::{RfqView, check_if_match, load, with_etag};

/// Writes per transaction when storing matches and invitations.
const WRITES_PER_BATCH: usize = 25;

/// Runs matching, invites the qualifying suppliers and publishes the RFQ;
/// above `SOURCING_BACKGROUND_MATCHING_ABOVE` candidate suppliers the RFQ
/// shows `matching` (202) and the matching worker finishes. Only a
/// verified buyer organization may publish. Needs `rfq:create`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/publish",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag of the draft being published", pattern = r#"^(\*|"[0-9]{1,19}")$"#),
    ),
    responses(
        (status = 200, description = "Published; `matching` says how many candidates qualified and which rules relaxed", body = Envelope<RfqView>),
        (status = 202, description = "Many candidates: the RFQ is `matching` and a worker finishes matching, invitations and publishing", body = Envelope<RfqView>),
        (status = 403, description = "Without rfq:create, or the organization is not verified", body = ErrorEnvelope),
        (status = 404, description = "No such RFQ of this org", body = ErrorEnvelope),
        (status = 409, description = "Not a draft (already published), or changed meanwhile", body = ErrorEnvelope),
        (status = 412, description = "The draft changed since that ETag", body = ErrorEnvelope),
        (status = 422, description = "The closing time has passed: edit the draft first", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn publish_rfq(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<ApiResponse<RfqView>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqCreate).await?;
    let expected = if_match(&headers)?;
    let current = load(&state.store, &org_id, &rfq_id).await?;
    check_if_match(expected, current.version)?;
    if current.status != RfqStatus::Draft {
        return Err(ApiError::conflict(format!(
            "the request for quotation is {}, not a draft",
            current.status
        )));
    }
    if current.closes_at_epoch <= shared::domain::now_epoch() {
        return Err(ApiError::invalid_field(
            "closesAt",
            "has passed: set a later closing time before publishing",
        ));
    }
    let buyer =
        access::require_verified(&state.store, &org_id, "publish requests for quotation").await?;
    // With a worker to hand over to, reading stops as soon as the matching
    // is known to be large.
    let stop_above = state
        .matching_queue
        .as_ref()
        .map(|_| state.background_matching_above);
    let candidates = match load_candidates(&state, &current, stop_above).await? {
        Candidates::Loaded(candidates) => candidates,
        Candidates::MoreThan(limit) => {
            let queue = state
                .matching_queue
                .as_ref()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no matching queue")))?;
            let matching = queue_matching(&state, queue, &current, &caller.actor(), limit).await?;
            return Ok(with_etag(matching).with_status(StatusCode::ACCEPTED));
        }
    };
    let next =
        finish_publishing(&state, &current, &candidates, &caller.actor(), &buyer.name).await?;
    Ok(with_etag(next))
}

/// The candidate suppliers of the RFQ's categories (not the buyer itself);
/// with `stop_above`, only whether there are more than that many.
pub(crate) async fn load_candidates(
    state: &SourcingState,
    rfq: &RfqRecord,
    stop_above: Option<usize>,
) -> ApiResult<Candidates> {
    let mut categories: Vec<String> = rfq
        .content
        .lines
        .iter()
        .map(|l| l.category_id.clone())
        .collect();
    categories.sort();
    categories.dedup();
    candidates::load(&state.store, &categories, &rfq.buyer_org_id, stop_above).await
}

/// What the matching worker is asked to finish.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchingMessage {
    pub buyer_org_id: String,
    pub rfq_id: String,
    /// Who published (`user:<id>` or `apikey:<prefix>`), for the audit entry.
    pub published_by: String,
}

/// Moves the draft to `matching` (versioned, audited) and queues its
/// matching. If the message cannot be sent the draft is restored and the
/// caller gets 503.
async fn queue_matching(
    state: &SourcingState,
    queue: &crate::MatchingQueue,
    current: &RfqRecord,
    actor: &Actor,
    more_than: usize,
) -> ApiResult<RfqRecord> {
    let mut next = current.clone();
    next.status = RfqStatus::Matching;
    next.updated_at = shared::domain::now_rfc3339();
    next.version = current.version + 1;
    let event = AuditEvent::new(
        &AuditScope::Org(current.buyer_org_id.clone()),
        actor,
        AuditAction::RfqMatchingQueued,
    )
    .target(format!("rfq:{}", current.id))
    .details(serde_json::json!({ "candidatesMoreThan": more_than }));
    move_rfq(
        state,
        &next,
        current.version,
        event,
        "queueing the matching",
    )
    .await?;
    let message = MatchingMessage {
        buyer_org_id: current.buyer_org_id.clone(),
        rfq_id: current.id.clone(),
        published_by: actor.to_string(),
    };
    let body = serde_json::to_string(&message).map_err(ApiError::internal)?;
    if let Err(err) = queue
        .sqs
        .send_message()
        .queue_url(&queue.url)
        .message_body(body)
        .send()
        .await
    {
        tracing::error!(error = ?err, "could not queue a matching; the draft is restored");
        let mut restored = current.clone();
        restored.version = next.version + 1;
        restored.updated_at = shared::domain::now_rfc3339();
        if let Err(err) = state
            .store
            .put(&restored, Some(&format!("version = {}", next.version)))
            .await
        {
            tracing::error!(error = ?err, "could not restore the draft");
        }
        return Err(ApiError::unavailable(anyhow::anyhow!(
            "the matching queue refused the message"
        )));
    }
    tracing::info!(candidates_more_than = more_than, "matching queued");
    Ok(next)
}

/// Matches every candidate, stores the explained results, invites those
/// that qualify and publishes the RFQ (from `draft`, or from `matching` in
/// the worker); then emails the invited. Matches and invitations are puts,
/// so a retry rewrites the same items; the RFQ's move is versioned.
pub(crate) async fn finish_publishing(
    state: &SourcingState,
    current: &RfqRecord,
    candidates: &[crate::matching::Candidate],
    actor: &Actor,
    buyer_name: &str,
) -> ApiResult<RfqRecord> {
    let org_id = current.buyer_org_id.clone();
    let rfq_id = current.id.clone();
    let content = &current.content;
    let criteria = Criteria {
        currency: &content.currency,
        lines: &content.lines,
        delivery: &content.delivery,
        certificates: &content.requirements.certificates,
        weights: content.weights,
        min_suppliers: content.min_suppliers,
        today: shared::clock::now().date(),
    };
    let started = std::time::Instant::now();
    let outcome = matching::match_candidates(&criteria, candidates);
    tracing::info!(
        candidates = candidates.len(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "suppliers matched"
    );
    let now = shared::domain::now_rfc3339();

    let mut writes: Vec<TransactWriteItem> = Vec::new();
    let mut invited: Vec<&MatchResult> = Vec::new();
    for result in &outcome.results {
        let (pk, sk) = match_key(&rfq_id, &result.supplier_org_id);
        writes.push(state.store.transact_put(
            &MatchRecord {
                pk,
                sk,
                item_type: MATCH_TYPE.to_owned(),
                rfq_id: rfq_id.clone(),
                result: result.clone(),
            },
            None,
        )?);
        if result.qualified {
            invited.push(result);
            let (pk, sk) = invitation_key(&result.supplier_org_id, &rfq_id);
            writes.push(state.store.transact_put(
                &InvitationRecord {
                    pk,
                    sk,
                    item_type: INVITATION_TYPE.to_owned(),
                    rfq_id: rfq_id.clone(),
                    buyer_org_id: org_id.clone(),
                    supplier_org_id: result.supplier_org_id.clone(),
                    title: content.title.clone(),
                    closes_at: content.closes_at.clone(),
                    status: InvitationStatus::Invited,
                    decline_reason: None,
                    score: result.score.as_ref().map_or(0, |s| s.total),
                    invited_at: now.clone(),
                    updated_at: now.clone(),
                    version: 1,
                },
                None,
            )?);
        }
    }
    // Matches and invitations first (puts: a retry rewrites the same
    // items); an invitation shows nothing until the RFQ is published.
    let mut pending = writes.into_iter().peekable();
    while pending.peek().is_some() {
        let mut tx = Transaction::new();
        tx.extend(pending.by_ref().take(WRITES_PER_BATCH));
        state
            .store
            .transact(tx)
            .await
            .map_err(|e| ApiError::from(e).context("storing matches and invitations"))?;
    }

    let mut next = current.clone();
    next.status = RfqStatus::Published;
    next.matching = Some(MatchingSummary {
        candidates: outcome.results.len() as u32,
        qualified: invited.len() as u32,
        relaxed_rules: outcome.relaxed_rules.clone(),
        ran_at: now.clone(),
    });
    next.published_at = Some(now.clone());
    next.gsi1pk = Some(OPEN_RFQS_PARTITION.to_owned());
    next.gsi1sk = Some(format!("{:012}#{}", next.closes_at_epoch, next.id));
    next.updated_at = now;
    next.version = current.version + 1;
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        actor,
        AuditAction::RfqPublished,
    )
    .target(format!("rfq:{rfq_id}"))
    .details(serde_json::json!({
        "candidates": outcome.results.len(),
        "invited": invited.len(),
        "relaxedRules": outcome.relaxed_rules,
    }));
    move_rfq(
        state,
        &next,
        current.version,
        event,
        "publishing the request for quotation",
    )
    .await?;
    for result in &invited {
        notify_invited(state, buyer_name, &next, &result.supplier_org_id).await;
    }
    Ok(next)
}

/// Writes the RFQ's next state (only from `from_version`) with its audit
/// entry; a concurrent change is a 409.
async fn move_rfq(
    state: &SourcingState,
    next: &RfqRecord,
    from_version: u64,
    event: AuditEvent,
    context: &'static str,
) -> ApiResult<()> {
    let mut tx = Transaction::new();
    tx.push(state.store.transact_put_if_version(next, from_version)?)
        .named("rfq");
    tx.push(event.transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => Ok(()),
        Err(err) if err.condition_failed("rfq") => Err(ApiError::conflict(
            "the request for quotation changed meanwhile; fetch it again",
        )),
        Err(err) => Err(ApiError::from(err).context(context)),
    }
}

/// People of a supplier org who hear of invitations: owners and sellers.
pub(crate) async fn supplier_recipients(state: &SourcingState, org_id: &str) -> Vec<String> {
    org_recipients(state, org_id, CapabilityRole::Seller).await
}

/// People of a buyer org who hear of its RFQs: owners and buyers.
pub(crate) async fn buyer_recipients(state: &SourcingState, org_id: &str) -> Vec<String> {
    org_recipients(state, org_id, CapabilityRole::Buyer).await
}

/// The owners of an org and its members holding `capability`.
async fn org_recipients(
    state: &SourcingState,
    org_id: &str,
    capability: CapabilityRole,
) -> Vec<String> {
    match all_under::<MembershipRecord>(&state.store, org_pk(org_id), MEMBER_SK_PREFIX).await {
        Ok(members) => members
            .into_iter()
            .filter(|m| m.org_role == OrgRole::Owner || m.capabilities.contains(&capability))
            .map(|m| m.email)
            .collect(),
        Err(err) => {
            tracing::error!(error = ?err, org_id, "could not read a supplier's members");
            Vec::new()
        }
    }
}

/// Emails the supplier's people; a failed email is logged, never undone.
async fn notify_invited(state: &SourcingState, buyer_name: &str, rfq: &RfqRecord, supplier: &str) {
    let message = PlatformEmail::RfqInvitation {
        buyer_name: buyer_name.to_owned(),
        rfq_title: rfq.content.title.clone(),
        city: rfq.content.delivery.city.clone(),
        window_from: rfq.content.delivery.window_from.to_string(),
        window_to: rfq.content.delivery.window_to.to_string(),
        closes_at: rfq.content.closes_at.to_string(),
        rfq_path: format!("/v1/orgs/{supplier}/rfqs/{}", rfq.id),
    };
    crate::email_all(
        state,
        supplier,
        supplier_recipients(state, supplier).await,
        &message,
        "could not email an RFQ invitation",
    )
    .await;
}

/// Every candidate with its rules and score.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchesView {
    pub rfq_id: String,
    pub min_suppliers: u32,
    pub qualified: u32,
    /// Practical rules relaxed because fewer than `minSuppliers` qualified
    /// under all of them; legal and compliance rules never relax.
    pub relaxed_rules: Vec<String>,
    /// Best first: qualified by score, then the others.
    pub candidates: Vec<MatchResult>,
}

/// Every candidate supplier of a published RFQ with pass/fail and the
/// reason for each hard rule, and for those that qualify a 0–100 score
/// with each factor's raw value, weight and contribution. Needs `rfq:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/matches",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    responses(
        (status = 200, body = Envelope<MatchesView>),
        (status = 403, description = "Without rfq:read", body = ErrorEnvelope),
        (status = 404, description = "No such RFQ of this org", body = ErrorEnvelope),
        (status = 409, description = "A draft: matching runs at publishing", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn list_matches(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<MatchesView>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqRead).await?;
    let rfq = load(&state.store, &org_id, &rfq_id).await?;
    let Some(summary) = rfq.matching else {
        return Err(ApiError::conflict(
            "a draft has no matches yet: matching runs when it is published",
        ));
    };
    let mut candidates: Vec<MatchResult> =
        all_under::<MatchRecord>(&state.store, rfq_pk(&rfq_id), MATCH_SK_PREFIX)
            .await?
            .into_iter()
            .map(|m| m.result)
            .collect();
    matching::rank(&mut candidates);
    Ok(ApiResponse::ok(MatchesView {
        rfq_id,
        min_suppliers: rfq.content.min_suppliers,
        qualified: summary.qualified,
        relaxed_rules: summary.relaxed_rules,
        candidates,
    }))
}
