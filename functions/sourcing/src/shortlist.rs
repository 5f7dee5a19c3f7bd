//! The buyer's shortlist: after closing, unsealed proposals the buyer
//! means to consider are marked `shortlisted` (disqualified, expired or
//! awarded ones are refused). Shortlisting decides nothing: any compliant
//! proposal may still be awarded, but the shortlist is what the supplier
//! sees of the buyer's interest.
//!
//! One transaction: an Update per proposal (`status IN (submitted,
//! unsealed, shortlisted)`, named `proposal:<id>`) and the audit entry.

use axum::extract::{Path, State};
use serde::Deserialize;
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission};
use shared::domain::now_rfc3339;
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems};
use shared::store::{Transaction, Update, n, s};
use utoipa::ToSchema;

use crate::SourcingState;
use crate::access;
use crate::closing::{RankedProposal, ranked};
use crate::model::{ProposalStatus, RfqStatus, proposal_key};
use crate::rfqs::load;

const MAX_SHORTLISTED: usize = 20;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShortlistRequest {
    /// 1 to 20 ids of unsealed proposals of this RFQ.
    proposal_ids: Vec<String>,
}

/// Shortlists unsealed proposals of a closed RFQ; returns the ranked list.
/// Needs `rfq:create`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/shortlist",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    request_body = ShortlistRequest,
    responses(
        (status = 200, description = "The ranked proposals, the shortlisted ones marked", body = Envelope<Vec<RankedProposal>>),
        (status = 403, description = "Without rfq:create", body = ErrorEnvelope),
        (status = 404, description = "No such RFQ of this org", body = ErrorEnvelope),
        (status = 409, description = "Sealed (not closed yet), awarded out or expired, or a proposal changed meanwhile", body = ErrorEnvelope),
        (status = 422, description = "No ids or more than 20; a proposal that is not standing, is disqualified, expired or awarded", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn shortlist_proposals(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<ShortlistRequest>,
) -> ApiResult<ApiResponse<Vec<RankedProposal>>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqCreate).await?;
    let rfq = load(&state.store, &org_id, &rfq_id).await?;
    if !matches!(rfq.status, RfqStatus::Closed | RfqStatus::PartiallyAwarded) {
        return Err(ApiError::conflict(format!(
            "only the proposals of a closed request for quotation are shortlisted; this one is {}",
            rfq.status
        )));
    }
    let proposals = ranked(&state.store, &rfq).await?;
    let mut problems = Problems::default();
    if request.proposal_ids.is_empty() || request.proposal_ids.len() > MAX_SHORTLISTED {
        problems.add("proposalIds", format!("1 to {MAX_SHORTLISTED} proposals"));
    }
    let mut chosen = Vec::new();
    for (i, id) in request.proposal_ids.iter().enumerate() {
        let field = format!("proposalIds[{i}]");
        let Some(found) = proposals.iter().find(|p| &p.proposal.id == id) else {
            problems.add(field, "no standing proposal of this RFQ");
            continue;
        };
        match found.proposal.status {
            ProposalStatus::Unsealed | ProposalStatus::Shortlisted => {}
            ProposalStatus::Disqualified => problems.add(
                field.clone(),
                format!("disqualified: {}", found.compliance.reasons.join("; ")),
            ),
            other => problems.add(field.clone(), format!("the proposal is {other}")),
        }
        if request.proposal_ids[..i].contains(id) {
            problems.add(field, "listed twice");
        }
        chosen.push(found);
    }
    problems.finish("the shortlist has invalid fields", || ())?;

    let now = now_rfc3339();
    let mut tx = Transaction::new();
    for proposal in &chosen {
        let (pk, sk) = proposal_key(&rfq_id, &proposal.proposal.supplier_org_id);
        let update = Update::new(
            &pk,
            &sk,
            "SET #status = :shortlisted, #updatedAt = :now, #version = #version + :one",
        )
        .condition("#status IN (:submitted, :unsealed, :shortlisted)")
        .name("#status", "status")
        .name("#updatedAt", "updatedAt")
        .name("#version", "version")
        .value(":shortlisted", s(ProposalStatus::Shortlisted.as_str()))
        .value(":submitted", s(ProposalStatus::Submitted.as_str()))
        .value(":unsealed", s(ProposalStatus::Unsealed.as_str()))
        .value(":now", s(now.clone()))
        .value(":one", n(1));
        tx.push(state.store.transact_update(update)?)
            .named(format!("proposal:{}", proposal.proposal.id));
    }
    let ids: Vec<&str> = chosen.iter().map(|p| p.proposal.id.as_str()).collect();
    tx.push(
        AuditEvent::new(
            &AuditScope::Org(org_id.clone()),
            &caller.actor(),
            AuditAction::ProposalShortlisted,
        )
        .target(format!("rfq:{rfq_id}"))
        .details(serde_json::json!({ "proposals": ids }))
        .transact_item(&state.store)?,
    );
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.failed_conditions().next().is_some() => {
            return Err(ApiError::conflict(
                "a proposal changed meanwhile (awarded or disqualified); fetch the list again",
            ));
        }
        Err(err) => return Err(ApiError::from(err).context("shortlisting the proposals")),
    }
    Ok(ApiResponse::ok(ranked(&state.store, &rfq).await?))
}
