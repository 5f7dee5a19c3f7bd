//! A supplier's sealed proposal: each submit (POST or PUT) is a new
//! revision whose SHA-256 hash is recorded, the last before closing counts;
//! withdrawing works only before closing. Only invited, verified suppliers
//! propose (`proposal:submit`); others get 404 (not invited) or 403.
//!
//! One transaction per submit: the proposal (its latest revision, guarded
//! by its version), the revision (never overwritten), the RFQ's proposal
//! count (an ADD, conditional on the RFQ being published and its closing
//! time not reached: the same write refuses a proposal after closing), the
//! invitation moved to `responded`, and the audit entry.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::asset_refs::{AssetRef, asset_key, require_attachable_file};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission};
use shared::domain::{new_id, now_epoch, now_rfc3339};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems};
use shared::store::{Store, Transaction, Update, n, s};
use utoipa::ToSchema;

use crate::SourcingState;
use crate::access;
use crate::matching::parse_date;
use crate::model::{
    InvitationStatus, PROPOSAL_TYPE, ProposalContent, ProposalLine, ProposalRecord, ProposalStatus,
    REVISION_TYPE, RevisionRecord, RfqRecord, RfqStatus, proposal_key, revision_key, rfq_key,
};
use crate::supplier::{invitation_and_rfq, move_invitation};

const MAX_TERMS_CHARS: usize = 2000;
const MAX_UNIT_PRICE: i64 = 9_999_999_999;
const MAX_LEAD_TIME_DAYS: u32 = 365;

/// A proposal as its supplier (or, after closing, the buyer) sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProposalView {
    pub id: String,
    pub rfq_id: String,
    pub supplier_org_id: String,
    pub supplier_name: String,
    #[serde(flatten)]
    pub content: ProposalContent,
    /// `submitted` until closing; then `unsealed`, `shortlisted` or
    /// `disqualified`; finally `awarded`, `partially_awarded`,
    /// `not_awarded` or `expired` (or `withdrawn` before closing).
    pub status: ProposalStatus,
    /// 1 for the first submit, then one more per revision.
    pub revision: u32,
    /// SHA-256 (hex) of this revision as submitted: tamper evidence.
    pub hash: String,
    /// Why it was disqualified (certificates lapsing, allergens, expiry).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disqualified_reasons: Vec<String>,
    /// Units awarded over all its lines.
    pub awarded_quantity: i64,
    pub submitted_at: String,
}

impl ProposalView {
    /// The proposal as shown while its RFQ is in `rfq` (see
    /// `ProposalRecord::shown_status`).
    pub fn seen(record: ProposalRecord, rfq: RfqStatus) -> Self {
        let status = record.shown_status(rfq, shared::clock::now().date());
        let mut view = Self::from(record);
        view.status = status;
        view
    }
}

impl From<ProposalRecord> for ProposalView {
    fn from(r: ProposalRecord) -> Self {
        Self {
            id: r.id,
            rfq_id: r.rfq_id,
            supplier_org_id: r.supplier_org_id,
            supplier_name: r.supplier_name,
            content: r.content,
            status: r.status,
            revision: r.revision,
            hash: r.hash,
            disqualified_reasons: r.disqualified_reasons,
            awarded_quantity: r.awarded_quantity,
            submitted_at: r.submitted_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposalLineInput {
    #[schema(example = "L1")]
    rfq_line_id: String,
    #[schema(example = 240, minimum = 1, maximum = 9_999_999_999_i64)]
    unit_price: i64,
    #[schema(example = 500, minimum = 1)]
    quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposalRequest {
    lines: Vec<ProposalLineInput>,
    #[schema(example = 7, minimum = 0, maximum = 365)]
    lead_time_days: i64,
    #[schema(example = "2027-01-31", format = Date)]
    valid_until: String,
    #[schema(example = "Prices include delivery to the door.")]
    terms: Option<String>,
    /// Up to 10 ids of this organization's checked uploads (purpose
    /// `product_image` or `compliance_document`).
    #[serde(default)]
    attachments: Vec<String>,
}

const MAX_ATTACHMENTS: usize = 10;

/// The assets the request names (at most `MAX_ATTACHMENTS` are read).
async fn named_assets(store: &Store, request: &ProposalRequest) -> ApiResult<Vec<AssetRef>> {
    // BatchGetItem refuses a key twice.
    let mut keys: Vec<(String, String)> = request
        .attachments
        .iter()
        .take(MAX_ATTACHMENTS)
        .map(|id| {
            let (pk, sk) = asset_key(id.trim());
            (pk, sk.to_owned())
        })
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    Ok(store.batch_get::<AssetRef>(&keys).await?)
}

/// Checks a proposal against the RFQ's lines and the supplier's uploads:
/// every field at once.
fn check(
    request: ProposalRequest,
    rfq: &RfqRecord,
    supplier_org_id: &str,
    assets: &[AssetRef],
) -> ApiResult<ProposalContent> {
    let mut problems = Problems::default();
    if request.lines.is_empty() {
        problems.add("lines", "offer at least one line");
    }
    let mut lines: Vec<ProposalLine> = Vec::new();
    for (i, line) in request.lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let Some(asked) = rfq.content.lines.iter().find(|l| l.id == line.rfq_line_id) else {
            problems.add(
                field("rfqLineId"),
                "no such line in the request for quotation",
            );
            continue;
        };
        if lines.iter().any(|l| l.rfq_line_id == line.rfq_line_id) {
            problems.add(field("rfqLineId"), "offered twice");
        }
        if !(1..=MAX_UNIT_PRICE).contains(&line.unit_price) {
            problems.add(
                field("unitPrice"),
                format!("1 to {MAX_UNIT_PRICE} minor units"),
            );
        } else if asked
            .max_unit_price
            .is_some_and(|max| line.unit_price > max)
        {
            problems.add(field("unitPrice"), "above the line's maximum unit price");
        }
        let least = asked.min_order_quantity.unwrap_or(asked.quantity);
        if line.quantity < least || line.quantity > asked.quantity {
            problems.add(
                field("quantity"),
                format!("{least} to {} (the quantity asked)", asked.quantity),
            );
        }
        lines.push(ProposalLine {
            rfq_line_id: line.rfq_line_id.clone(),
            unit_price: line.unit_price,
            quantity: line.quantity,
        });
    }
    if !(0..=i64::from(MAX_LEAD_TIME_DAYS)).contains(&request.lead_time_days) {
        problems.add("leadTimeDays", format!("0 to {MAX_LEAD_TIME_DAYS}"));
    }
    match parse_date(request.valid_until.trim()) {
        None => problems.add("validUntil", "must be a date such as 2027-01-31"),
        Some(until) if until < shared::clock::now().date() => {
            problems.add("validUntil", "must not be in the past")
        }
        Some(_) => {}
    }
    let terms = problems.plain_text("terms", request.terms.as_deref(), MAX_TERMS_CHARS, false);
    if request.attachments.len() > MAX_ATTACHMENTS {
        problems.add("attachments", format!("at most {MAX_ATTACHMENTS} files"));
    }
    let mut attachments: Vec<String> = Vec::new();
    for (i, raw) in request.attachments.iter().take(MAX_ATTACHMENTS).enumerate() {
        let id = raw.trim();
        let field = format!("attachments[{i}]");
        if attachments.iter().any(|a| a == id) {
            problems.add(field, "attached twice");
        } else if assets
            .iter()
            .any(|a| a.id == id && a.is_attachable_file_of(supplier_org_id))
        {
            attachments.push(id.to_owned());
        } else {
            problems.add(
                field,
                "not a checked product image or compliance document of this organization",
            );
        }
    }
    problems.finish("the proposal has invalid fields", || ProposalContent {
        lines,
        lead_time_days: request.lead_time_days as u32,
        valid_until: request.valid_until.trim().to_owned(),
        terms,
        attachments,
    })
}

/// SHA-256 of the revision's canonical JSON (fields in a fixed order).
pub fn revision_hash(
    rfq_id: &str,
    supplier_org_id: &str,
    revision: u32,
    content: &ProposalContent,
) -> String {
    let canonical = serde_json::json!({
        "rfqId": rfq_id,
        "supplierOrgId": supplier_org_id,
        "revision": revision,
        "proposal": content,
    });
    shared::crypto::hash_secret(&canonical.to_string())
}

/// Submits a proposal, or a new revision of it. Needs `proposal:submit`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/proposal",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The invited supplier organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    request_body = ProposalRequest,
    responses(
        (status = 201, description = "The revision, with its number and hash", body = Envelope<ProposalView>),
        (status = 403, description = "Without proposal:submit, or the organization is not verified", body = ErrorEnvelope),
        (status = 404, description = "Not invited to this RFQ", body = ErrorEnvelope),
        (status = 409, description = "The RFQ is closed, or the proposal changed meanwhile", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid against the RFQ's lines", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn submit_proposal(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<ProposalRequest>,
) -> ApiResult<ApiResponse<ProposalView>> {
    let view = save(&state, &caller, &org_id, &rfq_id, request).await?;
    Ok(ApiResponse::ok(view).with_status(StatusCode::CREATED))
}

/// Revises the proposal: the same as POST, a new revision each time.
#[utoipa::path(
    put,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/proposal",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The invited supplier organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    request_body = ProposalRequest,
    responses(
        (status = 200, description = "The revision, with its number and hash", body = Envelope<ProposalView>),
        (status = 403, description = "Without proposal:submit, or the organization is not verified", body = ErrorEnvelope),
        (status = 404, description = "Not invited to this RFQ", body = ErrorEnvelope),
        (status = 409, description = "The RFQ is closed, or the proposal changed meanwhile", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid against the RFQ's lines", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn revise_proposal(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<ProposalRequest>,
) -> ApiResult<ApiResponse<ProposalView>> {
    let view = save(&state, &caller, &org_id, &rfq_id, request).await?;
    Ok(ApiResponse::ok(view))
}

/// The RFQ's proposal count moved by `delta`, only while proposals are
/// accepted (published and before its closing time).
fn count_if_open(rfq: &RfqRecord, delta: i64) -> Update {
    let (pk, sk) = rfq_key(&rfq.buyer_org_id, &rfq.id);
    Update::new(&pk, &sk, "ADD #count :delta")
        .condition("#status = :published AND #closes > :now")
        .name("#count", "proposalCount")
        .name("#status", "status")
        .name("#closes", "closesAtEpoch")
        .value(":delta", n(delta))
        .value(":published", s(RfqStatus::Published.as_str()))
        .value(":now", n(now_epoch()))
}

fn closed() -> ApiError {
    ApiError::conflict("the request for quotation is closed: proposals are no longer accepted")
}

fn accepting(rfq: &RfqRecord) -> bool {
    rfq.status == RfqStatus::Published && rfq.closes_at_epoch > now_epoch()
}

async fn save(
    state: &SourcingState,
    caller: &Caller,
    org_id: &str,
    rfq_id: &str,
    request: ProposalRequest,
) -> ApiResult<ProposalView> {
    access::require(&state.store, caller, org_id, Permission::ProposalSubmit).await?;
    let (_, rfq) = invitation_and_rfq(&state.store, org_id, rfq_id).await?;
    let supplier = access::require_verified(&state.store, org_id, "submit proposals").await?;
    if !accepting(&rfq) {
        return Err(closed());
    }
    let assets = named_assets(&state.store, &request).await?;
    let content = check(request, &rfq, org_id, &assets)?;
    let (pk, sk) = proposal_key(rfq_id, org_id);
    let current = state.store.get::<ProposalRecord>(&pk, &sk).await?;
    let revision = current.as_ref().map_or(1, |c| c.revision + 1);
    let hash = revision_hash(rfq_id, org_id, revision, &content);
    let now = now_rfc3339();
    let actor = caller.actor();
    let standing = current
        .as_ref()
        .is_some_and(|c| c.status == ProposalStatus::Submitted);
    let record = ProposalRecord {
        pk,
        sk,
        item_type: PROPOSAL_TYPE.to_owned(),
        id: current.as_ref().map_or_else(new_id, |c| c.id.clone()),
        rfq_id: rfq_id.to_owned(),
        buyer_org_id: rfq.buyer_org_id.clone(),
        supplier_org_id: org_id.to_owned(),
        supplier_name: supplier.name,
        content: content.clone(),
        status: ProposalStatus::Submitted,
        revision,
        hash: hash.clone(),
        disqualified_reasons: Vec::new(),
        awarded_quantity: 0,
        submitted_at: now.clone(),
        updated_at: now.clone(),
        version: current.as_ref().map_or(1, |c| c.version + 1),
    };
    let (rev_pk, rev_sk) = revision_key(rfq_id, org_id, revision);
    let revision_record = RevisionRecord {
        pk: rev_pk,
        sk: rev_sk,
        item_type: REVISION_TYPE.to_owned(),
        rfq_id: rfq_id.to_owned(),
        supplier_org_id: org_id.to_owned(),
        revision,
        content,
        hash: hash.clone(),
        submitted_by: actor.to_string(),
        submitted_at: now,
    };
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.to_owned()),
        &actor,
        AuditAction::ProposalSubmitted,
    )
    .target(format!("rfq:{rfq_id}"))
    .details(serde_json::json!({ "revision": revision, "sha256": hash }));
    let mut tx = Transaction::new();
    let proposal_write = match &current {
        None => state
            .store
            .transact_put(&record, Some("attribute_not_exists(PK)"))?,
        Some(current) => state
            .store
            .transact_put_if_version(&record, current.version)?,
    };
    tx.push(proposal_write).named("proposal");
    tx.push(
        state
            .store
            .transact_put(&revision_record, Some("attribute_not_exists(PK)"))?,
    )
    .named("proposal");
    tx.push(
        state
            .store
            .transact_update(count_if_open(&rfq, if standing { 0 } else { 1 }))?,
    )
    .named("rfq");
    tx.push(state.store.transact_update(move_invitation(
        org_id,
        rfq_id,
        &[
            InvitationStatus::Invited,
            InvitationStatus::Viewed,
            InvitationStatus::Responded,
        ],
        InvitationStatus::Responded,
        None,
    ))?)
    .named("invitation");
    for asset_id in &record.content.attachments {
        tx.push(require_attachable_file(&state.store, asset_id, org_id)?)
            .named("attachments");
    }
    tx.push(event.transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("rfq") => return Err(closed()),
        Err(err) if err.condition_failed("attachments") => {
            return Err(ApiError::conflict(
                "an attached file changed meanwhile (deleted or refused); send the proposal again",
            ));
        }
        Err(err) if err.condition_failed("proposal") => {
            return Err(ApiError::conflict(
                "the proposal changed meanwhile; send it again",
            ));
        }
        Err(err) if err.condition_failed("invitation") => {
            return Err(ApiError::conflict(
                "the invitation was declined: this supplier no longer proposes",
            ));
        }
        Err(err) => return Err(ApiError::from(err).context("saving the proposal revision")),
    }
    tracing::info!(revision, "proposal submitted");
    Ok(record.into())
}

/// Withdraws the proposal before closing; a later submit stands again.
/// Needs `proposal:submit`.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/proposal",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The invited supplier organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    responses(
        (status = 200, description = "The withdrawn proposal", body = Envelope<ProposalView>),
        (status = 403, description = "Without proposal:submit", body = ErrorEnvelope),
        (status = 404, description = "Not invited, or no proposal", body = ErrorEnvelope),
        (status = 409, description = "The RFQ is closed, or the proposal is already withdrawn", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn withdraw_proposal(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<ProposalView>> {
    access::require(&state.store, &caller, &org_id, Permission::ProposalSubmit).await?;
    let (_, rfq) = invitation_and_rfq(&state.store, &org_id, &rfq_id).await?;
    let (pk, sk) = proposal_key(&rfq_id, &org_id);
    let current = state
        .store
        .get::<ProposalRecord>(&pk, &sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no proposal to withdraw"))?;
    if !accepting(&rfq) {
        return Err(closed());
    }
    if current.status != ProposalStatus::Submitted {
        return Err(ApiError::conflict("the proposal is already withdrawn"));
    }
    let mut next = current.clone();
    next.status = ProposalStatus::Withdrawn;
    next.updated_at = now_rfc3339();
    next.version = current.version + 1;
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &caller.actor(),
        AuditAction::ProposalWithdrawn,
    )
    .target(format!("rfq:{rfq_id}"))
    .details(serde_json::json!({ "revision": current.revision }));
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put_if_version(&next, current.version)?,
    )
    .named("proposal");
    tx.push(state.store.transact_update(count_if_open(&rfq, -1))?)
        .named("rfq");
    tx.push(state.store.transact_update(move_invitation(
        &org_id,
        &rfq_id,
        &[InvitationStatus::Responded],
        InvitationStatus::Viewed,
        None,
    ))?);
    tx.push(event.transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("rfq") => return Err(closed()),
        Err(err) if err.condition_failed("proposal") => {
            return Err(ApiError::conflict(
                "the proposal changed meanwhile; try again",
            ));
        }
        Err(err) => return Err(ApiError::from(err).context("withdrawing the proposal")),
    }
    Ok(ApiResponse::ok(next.into()))
}
