//! Closing: the buyer's manual `close`, and the schedule's sweep that
//! closes published RFQs whose closing time passed and expires closed ones
//! whose award deadline passed. At closing the proposals unseal; the
//! buyer's ranked list checks each against compliance again (certificates
//! that lapse before the delivery window ends disqualify, with the reason).
//!
//! The schedule's queue is the sparse GSI1: published RFQs under
//! `RFQS#OPEN` by closing time, closed ones under `RFQS#CLOSED` by award
//! deadline, so a sweep reads only what is due.

use axum::extract::{Path, State};
use serde::Serialize;
use shared::audit::{Actor, AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission};
use shared::contracts::product::ProductForSourcing;
use shared::domain::now_rfc3339;
use shared::http::{ApiError, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::outbox::PlatformEmail;
use shared::store::{
    Index, PartitionQuery, QueryRefinement, Store, StoreError, Transaction, Update, n, s,
};
use utoipa::ToSchema;

use crate::SourcingState;
use crate::access;
use crate::candidates::products_in_category;
use crate::matching::{allergen_gap, certificate_gap, parse_date};
use crate::model::{
    InvitationStatus, OPEN_RFQS_PARTITION, PROPOSAL_SK_PREFIX, ProposalRecord, ProposalStatus,
    RfqRecord, RfqStatus, all_under, proposal_key, rfq_pk,
};
use crate::proposals::ProposalView;
use crate::publish::supplier_recipients;
use crate::rfqs::{RfqView, load, with_etag};

/// GSI1 partition of closed RFQs by award deadline: the expiry queue.
pub const CLOSED_RFQS_PARTITION: &str = "RFQS#CLOSED";
const MAX_PER_SWEEP: usize = 500;

pub(crate) fn queue_sk(epoch: i64, id: &str) -> String {
    format!("{epoch:012}#{id}")
}

/// The RFQ moved from published to closed, in one versioned transaction
/// with its audit entry. `Ok(None)` when it was not published any more.
async fn close(store: &Store, rfq: RfqRecord, actor: &Actor) -> ApiResult<Option<RfqRecord>> {
    if rfq.status != RfqStatus::Published {
        return Ok(None);
    }
    let mut next = rfq.clone();
    next.status = RfqStatus::Closed;
    next.closed_at = Some(now_rfc3339());
    next.updated_at = now_rfc3339();
    next.version = rfq.version + 1;
    next.gsi1pk = Some(CLOSED_RFQS_PARTITION.to_owned());
    next.gsi1sk = Some(queue_sk(next.award_by_epoch, &next.id));
    let event = AuditEvent::new(
        &AuditScope::Org(rfq.buyer_org_id.clone()),
        actor,
        AuditAction::RfqClosed,
    )
    .target(format!("rfq:{}", rfq.id))
    .details(serde_json::json!({ "proposals": rfq.proposal_count }));
    let mut tx = Transaction::new();
    tx.push(store.transact_put_if_version(&next, rfq.version)?)
        .named("rfq");
    tx.push(event.transact_item(store)?);
    match store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("rfq") => return Ok(None),
        Err(err) => {
            return Err(ApiError::from(err).context("closing the request for quotation"));
        }
    }
    if let Err(err) = unseal(store, &next).await {
        // Shown as unsealed all the same (`ProposalRecord::shown_status`);
        // the ranking checks compliance again on every read.
        tracing::error!(error = ?err, rfq_id = %next.id, "could not unseal the proposals");
    }
    Ok(Some(next))
}

/// At closing each standing proposal is stored `unsealed`, or
/// `disqualified` with the reasons of its compliance check; only a
/// `submitted` one moves, so a second run changes nothing.
async fn unseal(store: &Store, rfq: &RfqRecord) -> ApiResult<()> {
    for ranked in ranked(store, rfq).await? {
        let proposal = &ranked.proposal;
        let (status, reasons) = match proposal.status {
            ProposalStatus::Disqualified => {
                (ProposalStatus::Disqualified, ranked.compliance.reasons)
            }
            ProposalStatus::Unsealed => (ProposalStatus::Unsealed, Vec::new()),
            _ => continue,
        };
        let (pk, sk) = proposal_key(&rfq.id, &proposal.supplier_org_id);
        let update = Update::new(
            &pk,
            &sk,
            "SET #status = :status, #reasons = :reasons, #updatedAt = :now, #version = #version + :one",
        )
        .condition("#status = :submitted")
        .name("#status", "status")
        .name("#reasons", "disqualifiedReasons")
        .name("#updatedAt", "updatedAt")
        .name("#version", "version")
        .value(":status", s(status.as_str()))
        .value(
            ":reasons",
            shared::store::to_value(&reasons).map_err(ApiError::from)?,
        )
        .value(":now", s(now_rfc3339()))
        .value(":one", n(1))
        .value(":submitted", s(ProposalStatus::Submitted.as_str()));
        match store.apply_update(update).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(err) => return Err(ApiError::from(err).context("unsealing a proposal")),
        }
    }
    Ok(())
}

/// Closes a published RFQ now, before its closing time: proposals unseal.
/// Needs `rfq:create`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/close",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    responses(
        (status = 200, description = "The closed RFQ", body = Envelope<RfqView>),
        (status = 403, description = "Without rfq:create", body = ErrorEnvelope),
        (status = 404, description = "No such RFQ of this org", body = ErrorEnvelope),
        (status = 409, description = "Not published (a draft, or closed already)", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn close_rfq(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<RfqView>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqCreate).await?;
    let rfq = load(&state.store, &org_id, &rfq_id).await?;
    let status = rfq.status;
    match close(&state.store, rfq, &caller.actor()).await? {
        Some(closed) => Ok(with_etag(closed)),
        None => Err(ApiError::conflict(format!(
            "only a published request for quotation can be closed; this one is {status}"
        ))),
    }
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    pub closed: usize,
    pub expired: usize,
    /// RFQs whose invitees without a proposal were reminded of the close.
    pub reminded: usize,
    pub failed: usize,
}

async fn due(store: &Store, partition: &str, now: i64) -> anyhow::Result<Vec<RfqRecord>> {
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: partition.to_owned(),
        sort_prefix: None,
        ascending: true,
    };
    let refinement = QueryRefinement {
        sort_between: Some(("0".into(), queue_sk(now, "~"))),
        ..QueryRefinement::default()
    };
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .query_page_where::<RfqRecord>(&query, &refinement, 100, cursor.as_deref())
            .await?;
        found.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() || found.len() >= MAX_PER_SWEEP {
            return Ok(found);
        }
    }
}

/// Closes every published RFQ whose closing time is before `now` (epoch
/// seconds), expires every closed one whose award deadline is (its
/// proposers hear they were not selected), and reminds the invitees
/// without a proposal of RFQs closing within 48 hours. Each move is a
/// versioned write, so sweeps racing each other or a buyer's close move an
/// RFQ once; each reminder is claimed by a marker item first, so it goes
/// out once.
pub async fn sweep(state: &SourcingState, now: i64) -> anyhow::Result<SweepReport> {
    let store = &state.store;
    let mut report = SweepReport::default();
    let system = Actor::Anonymous;
    for rfq in due(store, OPEN_RFQS_PARTITION, now).await? {
        match close(store, rfq, &system).await {
            Ok(Some(_)) => report.closed += 1,
            Ok(None) => {}
            Err(err) => {
                tracing::error!(error = ?err, "could not close a due request for quotation");
                report.failed += 1;
            }
        }
    }
    for rfq in due(store, CLOSED_RFQS_PARTITION, now).await? {
        if rfq.status != RfqStatus::Closed {
            continue;
        }
        let mut next = rfq.clone();
        next.status = RfqStatus::Expired;
        next.updated_at = now_rfc3339();
        next.version = rfq.version + 1;
        next.gsi1pk = None;
        next.gsi1sk = None;
        let event = AuditEvent::new(
            &AuditScope::Org(rfq.buyer_org_id.clone()),
            &system,
            AuditAction::RfqExpired,
        )
        .target(format!("rfq:{}", rfq.id));
        let mut tx = Transaction::new();
        tx.push(store.transact_put_if_version(&next, rfq.version)?)
            .named("rfq");
        tx.push(event.transact_item(store)?);
        match store.transact(tx).await {
            Ok(()) => {
                report.expired += 1;
                not_selected(state, &next, &[]).await;
            }
            Err(err) if err.condition_failed("rfq") => {}
            Err(err) => {
                tracing::error!(error = ?err, "could not expire a request for quotation");
                report.failed += 1;
            }
        }
    }
    match remind_closing_soon(state, now).await {
        Ok(reminded) => report.reminded = reminded,
        Err(err) => {
            tracing::error!(error = ?err, "could not send the closing-soon reminders");
            report.failed += 1;
        }
    }
    Ok(report)
}

/// How long before closing the invitees without a proposal are reminded.
pub const CLOSING_SOON_HOURS: i64 = 48;
const CLOSING_SOON_MARKER: &str = "REMINDER#closing_soon";

/// Reminds, once per RFQ, the invitees that have neither proposed nor
/// declined of every published RFQ closing within 48 hours of `now`. The
/// marker `RFQ#<id> / REMINDER#closing_soon` (Put `attribute_not_exists`)
/// claims the reminder before any email goes out: a crash may lose a
/// reminder, never send it twice.
async fn remind_closing_soon(state: &SourcingState, now: i64) -> anyhow::Result<usize> {
    let store = &state.store;
    let due: Vec<RfqRecord> = due(store, OPEN_RFQS_PARTITION, now + CLOSING_SOON_HOURS * 3600)
        .await?
        .into_iter()
        .filter(|r| r.status == RfqStatus::Published && r.closes_at_epoch > now)
        .collect();
    let mut sent = Vec::new();
    for chunk in due.chunks(100) {
        let keys: Vec<(String, String)> = chunk
            .iter()
            .map(|r| (rfq_pk(&r.id), CLOSING_SOON_MARKER.to_owned()))
            .collect();
        let found: Vec<serde_json::Value> = store.batch_get(&keys).await?;
        sent.extend(
            found
                .into_iter()
                .filter_map(|m| m["PK"].as_str().map(str::to_owned)),
        );
    }
    let mut reminded = 0;
    for rfq in due.iter().filter(|r| !sent.contains(&rfq_pk(&r.id))) {
        let marker = serde_json::json!({
            "PK": rfq_pk(&rfq.id),
            "SK": CLOSING_SOON_MARKER,
            "type": "RFQ_REMINDER",
            "closesAt": rfq.content.closes_at,
            "sentAt": now_rfc3339(),
        });
        match store.put(&marker, Some("attribute_not_exists(PK)")).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => continue,
            Err(err) => return Err(err.into()),
        }
        reminded += 1;
        let invitations = match crate::amendments::invitations(store, &rfq.id).await {
            Ok(found) => found,
            Err(err) => {
                tracing::error!(error = ?err, rfq_id = %rfq.id, "could not read the invitations to remind");
                continue;
            }
        };
        for invitation in invitations {
            if !matches!(
                invitation.status,
                InvitationStatus::Invited | InvitationStatus::Viewed
            ) {
                continue;
            }
            let supplier = &invitation.supplier_org_id;
            let message = PlatformEmail::RfqClosingSoon {
                rfq_title: rfq.content.title.clone(),
                closes_at: rfq.content.closes_at.clone(),
                rfq_path: format!("/v1/orgs/{supplier}/rfqs/{}", rfq.id),
            };
            crate::email_all(
                state,
                supplier,
                supplier_recipients(state, supplier).await,
                &message,
                "could not email a closing-soon reminder",
            )
            .await;
        }
    }
    Ok(reminded)
}

/// Tells every standing proposer of `rfq` except `awarded` (supplier org
/// ids) that it was not selected. Failures are logged.
pub(crate) async fn not_selected(state: &SourcingState, rfq: &RfqRecord, awarded: &[String]) {
    let proposals = match all_under::<ProposalRecord>(
        &state.store,
        rfq_pk(&rfq.id),
        PROPOSAL_SK_PREFIX,
    )
    .await
    {
        Ok(found) => found,
        Err(err) => {
            tracing::error!(error = ?err, "could not read the proposals to tell their outcome");
            return;
        }
    };
    let message = PlatformEmail::RfqOutcome {
        rfq_title: rfq.content.title.clone(),
        order_id: None,
    };
    for proposal in proposals {
        let supplier = &proposal.supplier_org_id;
        if proposal.status == ProposalStatus::Withdrawn
            || proposal.awarded_quantity > 0
            || awarded.contains(supplier)
        {
            continue;
        }
        crate::email_all(
            state,
            supplier,
            supplier_recipients(state, supplier).await,
            &message,
            "could not email a non-award notice",
        )
        .await;
    }
}

/// A proposal with its compliance result and rank.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RankedProposal {
    /// 1 for the best compliant proposal; disqualified ones have none.
    pub rank: Option<u32>,
    #[serde(flatten)]
    pub proposal: ProposalView,
    /// Σ unit price × quantity, minor units of the RFQ's currency.
    pub total: i64,
    /// Share of the asked quantities (all lines) this proposal offers, 0–100.
    pub coverage_percent: u32,
    pub compliance: ProposalCompliance,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProposalCompliance {
    pub passed: bool,
    /// Why not: a certificate lapsing before the delivery window ends, an
    /// allergen, or the offer expiring.
    pub reasons: Vec<String>,
}

/// Whether a supplier's products still meet the RFQ for each proposed line.
fn compliance_of(
    rfq: &RfqRecord,
    proposal: &ProposalRecord,
    products: &[ProductForSourcing],
) -> ProposalCompliance {
    let mut reasons = Vec::new();
    let content = &rfq.content;
    let window_to = parse_date(&content.delivery.window_to).unwrap_or(shared::clock::now().date());
    for offered in &proposal.content.lines {
        let Some(line) = content.lines.iter().find(|l| l.id == offered.rfq_line_id) else {
            continue;
        };
        let candidates: Vec<&ProductForSourcing> = products
            .iter()
            .filter(|p| {
                p.category_id == line.category_id && p.seller_org_id == proposal.supplier_org_id
            })
            .collect();
        if candidates.is_empty() {
            reasons.push(format!("{}: no listed product in its category", line.id));
            continue;
        }
        let gaps: Vec<String> = candidates
            .iter()
            .filter_map(|p| {
                certificate_gap(p, &content.requirements.certificates, window_to)
                    .or_else(|| allergen_gap(p, &line.free_from))
            })
            .collect();
        if gaps.len() == candidates.len() {
            reasons.push(format!("{}: {}", line.id, gaps[0]));
        }
    }
    if parse_date(&proposal.content.valid_until).is_some_and(|d| d < shared::clock::now().date()) {
        reasons.push(format!(
            "the offer expired on {}",
            proposal.content.valid_until
        ));
    }
    ProposalCompliance {
        passed: reasons.is_empty(),
        reasons,
    }
}

/// After closing: the standing proposals, compliant ones ranked by the
/// share of the asked quantities they cover, then by total price, each with its compliance result. Before
/// closing proposals are sealed: the RFQ shows only their count (409
/// here). Needs `rfq:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/proposals",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    responses(
        (status = 200, description = "Ranked proposals, best first", body = Envelope<Vec<RankedProposal>>),
        (status = 403, description = "Without rfq:read", body = ErrorEnvelope),
        (status = 404, description = "No such RFQ of this org", body = ErrorEnvelope),
        (status = 409, description = "Sealed: the RFQ has not closed yet", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn list_proposals(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<Vec<RankedProposal>>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqRead).await?;
    let rfq = load(&state.store, &org_id, &rfq_id).await?;
    if matches!(
        rfq.status,
        RfqStatus::Draft | RfqStatus::Matching | RfqStatus::Published
    ) {
        return Err(ApiError::conflict(format!(
            "proposals are sealed until the request for quotation closes ({} received)",
            rfq.proposal_count
        )));
    }
    Ok(ApiResponse::ok(ranked(&state.store, &rfq).await?))
}

/// The RFQ's standing proposals, compliant ones ranked best first (rank 1),
/// each with its compliance result.
pub(crate) async fn ranked(store: &Store, rfq: &RfqRecord) -> ApiResult<Vec<RankedProposal>> {
    let proposals: Vec<ProposalRecord> =
        all_under::<ProposalRecord>(store, rfq_pk(&rfq.id), PROPOSAL_SK_PREFIX)
            .await?
            .into_iter()
            .filter(|p| p.status != ProposalStatus::Withdrawn)
            .collect();
    let mut categories: Vec<&str> = rfq
        .content
        .lines
        .iter()
        .map(|l| l.category_id.as_str())
        .collect();
    categories.sort_unstable();
    categories.dedup();
    let mut products = Vec::new();
    if !proposals.is_empty() {
        for category in categories {
            products.extend(products_in_category(store, category).await?);
        }
    }
    let mut ranked: Vec<RankedProposal> = proposals
        .into_iter()
        .map(|p| {
            let mut compliance = compliance_of(rfq, &p, &products);
            if p.status == ProposalStatus::Disqualified && compliance.passed {
                // Disqualified when it unsealed: that stands.
                compliance = ProposalCompliance {
                    passed: false,
                    reasons: p.disqualified_reasons.clone(),
                };
            }
            let total = p
                .content
                .lines
                .iter()
                .map(|l| l.unit_price.saturating_mul(l.quantity))
                .sum();
            let asked: i64 = rfq.content.lines.iter().map(|l| l.quantity).sum();
            let offered: i64 = p.content.lines.iter().map(|l| l.quantity).sum();
            let mut proposal = ProposalView::seen(p, rfq.status);
            if !compliance.passed
                && matches!(
                    proposal.status,
                    ProposalStatus::Unsealed | ProposalStatus::Shortlisted
                )
            {
                proposal.status = ProposalStatus::Disqualified;
                proposal.disqualified_reasons = compliance.reasons.clone();
            }
            RankedProposal {
                rank: None,
                proposal,
                total,
                coverage_percent: (offered * 100 / asked.max(1)).clamp(0, 100) as u32,
                compliance,
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.compliance
            .passed
            .cmp(&a.compliance.passed)
            .then(b.coverage_percent.cmp(&a.coverage_percent))
            .then(a.total.cmp(&b.total))
            .then(a.proposal.supplier_org_id.cmp(&b.proposal.supplier_org_id))
    });
    let mut next_rank = 1;
    for proposal in &mut ranked {
        if proposal.compliance.passed {
            proposal.rank = Some(next_rank);
            next_rank += 1;
        }
    }
    Ok(ranked)
}
