//! The supplier's side: its invitations (`invited` → `viewed` →
//! `declined` with a reason | `responded`), and an RFQ as an invited
//! supplier sees it: what the buyer asks, its own invitation and proposal,
//! never the other suppliers, the matching or the buyer's weights. A
//! supplier that was not invited gets 404, as if the RFQ did not exist.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission};
use shared::domain::now_rfc3339;
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems,
};
use shared::store::{Index, PartitionQuery, Store, StoreError, Transaction, Update, n, s};
use utoipa::{IntoParams, ToSchema};

use crate::SourcingState;
use crate::access;
use crate::amendments::RfqAmendment;
use crate::model::{
    Delivery, INVITATION_SK_PREFIX, InvitationRecord, InvitationStatus, PaymentTerms,
    ProposalRecord, Requirements, RfqLine, RfqRecord, RfqStatus, invitation_key, org_pk,
    proposal_key, rfq_key,
};
use crate::proposals::ProposalView;

/// An invitation as its supplier sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RfqInvitationView {
    pub rfq_id: String,
    pub buyer_org_id: String,
    pub title: String,
    pub closes_at: String,
    pub status: InvitationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<String>,
    /// The supplier's match score (0–100) at publishing.
    pub score: u32,
    pub invited_at: String,
    pub updated_at: String,
}

impl From<InvitationRecord> for RfqInvitationView {
    fn from(r: InvitationRecord) -> Self {
        Self {
            rfq_id: r.rfq_id,
            buyer_org_id: r.buyer_org_id,
            title: r.title,
            closes_at: r.closes_at,
            status: r.status,
            decline_reason: r.decline_reason,
            score: r.score,
            invited_at: r.invited_at,
            updated_at: r.updated_at,
        }
    }
}

/// An RFQ as an invited supplier sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitedRfqView {
    pub id: String,
    pub buyer_org_id: String,
    pub title: String,
    pub currency: String,
    pub lines: Vec<RfqLine>,
    pub delivery: Delivery,
    pub payment_terms: PaymentTerms,
    pub requirements: Requirements,
    pub closes_at: String,
    pub award_by: String,
    pub status: RfqStatus,
    pub invitation: RfqInvitationView,
    /// This supplier's own proposal, if it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposal: Option<ProposalView>,
    /// Every amendment since publishing, oldest first; the fields above
    /// are already amended.
    pub amendments: Vec<RfqAmendment>,
}

/// The invitation of `supplier_org_id` to `rfq_id` and the RFQ, or 404
/// (not invited, or the RFQ is not published).
pub(crate) async fn invitation_and_rfq(
    store: &Store,
    supplier_org_id: &str,
    rfq_id: &str,
) -> ApiResult<(InvitationRecord, RfqRecord)> {
    let not_found = || ApiError::not_found("no such request for quotation");
    let (pk, sk) = invitation_key(supplier_org_id, rfq_id);
    let invitation = store
        .get::<InvitationRecord>(&pk, &sk)
        .await?
        .ok_or_else(not_found)?;
    let (pk, sk) = rfq_key(&invitation.buyer_org_id, rfq_id);
    let rfq = store
        .get::<RfqRecord>(&pk, &sk)
        .await?
        .ok_or_else(not_found)?;
    if rfq.status == RfqStatus::Draft {
        return Err(not_found());
    }
    Ok((invitation, rfq))
}

/// Moves an invitation to `to` if it is in one of `from` (else the
/// condition fails); `reason` sets the decline reason too.
pub(crate) fn move_invitation(
    supplier_org_id: &str,
    rfq_id: &str,
    from: &[InvitationStatus],
    to: InvitationStatus,
    reason: Option<&str>,
) -> Update {
    let (pk, sk) = invitation_key(supplier_org_id, rfq_id);
    let allowed: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
    let mut expression =
        "SET #status = :to, #updatedAt = :now, #version = #version + :one".to_owned();
    if reason.is_some() {
        expression.push_str(", #reason = :reason");
    }
    let mut update = Update::new(&pk, &sk, expression)
        .condition(format!("#status IN ({})", allowed.join(", ")))
        .name("#status", "status")
        .name("#updatedAt", "updatedAt")
        .name("#version", "version")
        .value(":to", s(to.as_str()))
        .value(":now", s(now_rfc3339()))
        .value(":one", n(1));
    for (i, status) in from.iter().enumerate() {
        update = update.value(&format!(":from{i}"), s(status.as_str()));
    }
    if let Some(reason) = reason {
        update = update
            .name("#reason", "declineReason")
            .value(":reason", s(reason));
    }
    update
}

/// The RFQ as `supplier_org_id` sees it; the first look marks it viewed.
pub(crate) async fn invited_view(
    state: &SourcingState,
    supplier_org_id: &str,
    rfq_id: &str,
) -> ApiResult<InvitedRfqView> {
    let (mut invitation, rfq) = invitation_and_rfq(&state.store, supplier_org_id, rfq_id).await?;
    if invitation.status == InvitationStatus::Invited {
        let update = move_invitation(
            supplier_org_id,
            rfq_id,
            &[InvitationStatus::Invited],
            InvitationStatus::Viewed,
            None,
        );
        match state.store.update::<InvitationRecord>(update).await {
            Ok(updated) => invitation = updated,
            Err(StoreError::ConditionFailed) => {}
            Err(err) => return Err(ApiError::from(err).context("marking the invitation viewed")),
        }
    }
    let (pk, sk) = proposal_key(rfq_id, supplier_org_id);
    let proposal = state
        .store
        .get::<ProposalRecord>(&pk, &sk)
        .await?
        .map(|p| ProposalView::seen(p, rfq.status));
    let amendments = crate::amendments::list(&state.store, rfq_id).await?;
    let content = rfq.content;
    Ok(InvitedRfqView {
        id: rfq.id,
        buyer_org_id: rfq.buyer_org_id,
        title: content.title,
        currency: content.currency,
        lines: content.lines,
        delivery: content.delivery,
        payment_terms: content.payment_terms,
        requirements: content.requirements,
        closes_at: content.closes_at,
        award_by: content.award_by,
        status: rfq.status,
        invitation: invitation.into(),
        proposal,
        amendments,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationFilter {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "shared::http::page_limit")]
    limit: Option<u32>,
    /// `pagination.nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The supplier org's invitations to quote, newest first. Needs `rfq:read`.
/// One Query of the org's partition (`RFQINV#` prefix).
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/rfq-invitations",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The supplier organization's id"), InvitationFilter),
    responses(
        (status = 200, body = Envelope<Vec<RfqInvitationView>>),
        (status = 400, description = "A cursor that is not one of this list's", body = ErrorEnvelope),
        (status = 403, description = "Without rfq:read", body = ErrorEnvelope),
        (status = 404, description = "Not a member of the organization", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn list_invitations(
    State(state): State<SourcingState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(filter): ApiQuery<InvitationFilter>,
) -> ApiResult<ApiResponse<Vec<RfqInvitationView>>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqRead).await?;
    let page_params = shared::http::PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    let limit = page_params.limit();
    // Invitation keys end in the RFQ's id, a ULID: newest RFQ first.
    let query = PartitionQuery {
        index: Index::Table,
        partition: org_pk(&org_id),
        sort_prefix: Some(INVITATION_SK_PREFIX.to_owned()),
        ascending: false,
    };
    let page = state
        .store
        .query_page::<InvitationRecord>(&query, limit, page_params.cursor())
        .await?;
    let views = page
        .items
        .into_iter()
        .map(RfqInvitationView::from)
        .collect();
    Ok(ApiResponse::ok(views).paginated(page.next_cursor, limit))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclineRequest {
    /// Why not (1 to 500 characters), for the buyer.
    #[schema(example = "No capacity in December")]
    reason: String,
}

/// Declines an invitation with a reason, while the RFQ is open and no
/// proposal stands (withdraw it first). Needs `proposal:submit`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/rfq-invitations/{rfqId}/decline",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The supplier organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    request_body = DeclineRequest,
    responses(
        (status = 200, description = "The declined invitation", body = Envelope<RfqInvitationView>),
        (status = 403, description = "Without proposal:submit", body = ErrorEnvelope),
        (status = 404, description = "Not invited to this RFQ", body = ErrorEnvelope),
        (status = 409, description = "Already declined, a proposal stands, or the RFQ is closed", body = ErrorEnvelope),
        (status = 422, description = "No reason", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn decline_invitation(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<DeclineRequest>,
) -> ApiResult<ApiResponse<RfqInvitationView>> {
    access::require(&state.store, &caller, &org_id, Permission::ProposalSubmit).await?;
    let mut problems = Problems::default();
    let reason = problems.plain_text("reason", Some(&request.reason), 500, true);
    problems.finish("the decline has invalid fields", || ())?;
    let (_, rfq) = invitation_and_rfq(&state.store, &org_id, &rfq_id).await?;
    if rfq.status != RfqStatus::Published {
        return Err(ApiError::conflict("the request for quotation is closed"));
    }
    let update = move_invitation(
        &org_id,
        &rfq_id,
        &[InvitationStatus::Invited, InvitationStatus::Viewed],
        InvitationStatus::Declined,
        reason.as_deref(),
    );
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &caller.actor(),
        AuditAction::RfqInvitationDeclined,
    )
    .target(format!("rfq:{rfq_id}"))
    .details(serde_json::json!({ "reason": reason }));
    let mut tx = Transaction::new();
    tx.push(state.store.transact_update(update)?)
        .named("invitation");
    tx.push(event.transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("invitation") => {
            return Err(ApiError::conflict(
                "the invitation was declined already, or a proposal stands: withdraw it first",
            ));
        }
        Err(err) => return Err(ApiError::from(err).context("declining the invitation")),
    }
    let (pk, sk) = invitation_key(&org_id, &rfq_id);
    let invitation = state
        .store
        .get::<InvitationRecord>(&pk, &sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no such request for quotation"))?;
    Ok(ApiResponse::ok(invitation.into()))
}
