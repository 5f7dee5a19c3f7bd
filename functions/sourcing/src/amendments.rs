//! Amendments: the only way a published RFQ changes. Each is numbered, kept
//! as sent (`RFQ#<rfqId> / AMENDMENT#<n>`), shown to the invited suppliers
//! (their view of the RFQ and `GET .../amendments`), audited and emailed to
//! them.
//!
//! What an amendment may change is what leaves every invitation and every
//! proposal meaningful: the text (a notice or clarification for all), the
//! closing time (only later, and never to less than `MIN_NOTICE_HOURS`
//! from now), the award deadline (only later) and the delivery window
//! (checked as for a draft; proposals are checked against the amended
//! window when they unseal). Lines, quantities, prices, currency, required
//! certificates, payment terms and the delivery place change who qualifies
//! or what was priced: those need a new RFQ.
//!
//! A buyer's message to all invitees is a text-only amendment (the message
//! names it), so the two cannot diverge.
//!
//! One transaction per amendment: the amendment (new key), the RFQ with its
//! new content and count (guarded by its version, and only while it is
//! published), and the audit entry.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission};
use shared::domain::{now_epoch, now_rfc3339, rfc3339_to_epoch};
use shared::http::precondition::{etag, if_match};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems};
use shared::outbox::PlatformEmail;
use shared::store::{Store, TransactWriteItem, Transaction, Update, s};
use utoipa::ToSchema;

use crate::SourcingState;
use crate::access;
use crate::closing::queue_sk;
use crate::matching::parse_date;
use crate::messages::{Party, party};
use crate::model::{
    InvitationRecord, InvitationStatus, MATCH_SK_PREFIX, MatchRecord, RfqRecord, RfqStatus,
    all_under, invitation_key, rfq_pk,
};
use crate::publish::supplier_recipients;
use crate::rfqs::{check_if_match, load};

const AMENDMENT_TYPE: &str = "RFQ_AMENDMENT";
const AMENDMENT_SK_PREFIX: &str = "AMENDMENT#";
const MAX_TEXT_CHARS: usize = 4000;
const MAX_AMENDMENTS: u32 = 100;
/// A new closing time is at least this far from now: invitees need time
/// to react to an amendment.
pub const MIN_NOTICE_HOURS: i64 = 24;

fn amendment_sk(number: u32) -> String {
    format!("{AMENDMENT_SK_PREFIX}{number:05}")
}

/// One changed field: its path in the RFQ, before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AmendmentChange {
    /// `closesAt`, `awardBy`, `delivery.windowFrom` or `delivery.windowTo`.
    #[schema(example = "closesAt")]
    pub field: String,
    pub from: String,
    pub to: String,
}

/// An amendment as stored and shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RfqAmendment {
    /// 1 for the first amendment of the RFQ, then one more each.
    pub number: u32,
    pub rfq_id: String,
    #[schema(example = "The closing time moves a week later; 6 kg cases are fine.")]
    pub text: String,
    /// What changed; empty for a notice.
    pub changes: Vec<AmendmentChange>,
    /// The message to all invitees this amendment publishes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub amended_by: String,
    pub amended_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct AmendmentRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    #[serde(flatten)]
    amendment: RfqAmendment,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AmendmentWindowInput {
    #[schema(example = "2026-12-15", format = Date)]
    window_from: Option<String>,
    #[schema(example = "2026-12-20", format = Date)]
    window_to: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AmendmentRequest {
    /// What changes and why, for the invitees (1 to 4000 characters).
    #[schema(example = "The closing time moves a week later.")]
    text: String,
    /// A later closing time, at least 24 hours from now.
    #[schema(format = DateTime)]
    closes_at: Option<String>,
    /// A later award deadline, after the closing time.
    #[schema(format = DateTime)]
    award_by: Option<String>,
    /// A new delivery window (either end, or both).
    delivery: Option<AmendmentWindowInput>,
}

/// Applies the request to a copy of the RFQ: the amended record and the
/// changes, or every problem at once.
fn amend(
    rfq: &RfqRecord,
    request: &AmendmentRequest,
) -> ApiResult<(RfqRecord, Vec<AmendmentChange>, String)> {
    let mut problems = Problems::default();
    let text = problems.text("text", &request.text, 1, MAX_TEXT_CHARS);
    let mut next = rfq.clone();
    let mut changes = Vec::new();
    let now = now_epoch();
    if let Some(raw) = &request.closes_at {
        match rfc3339_to_epoch(raw.trim()) {
            None => problems.add("closesAt", "must be an RFC 3339 time"),
            Some(at) if at < rfq.closes_at_epoch => problems.add(
                "closesAt",
                "can only move later: close the request for quotation to end it earlier",
            ),
            Some(at) if at < now + MIN_NOTICE_HOURS * 3600 => problems.add(
                "closesAt",
                format!("must be at least {MIN_NOTICE_HOURS} hours from now"),
            ),
            Some(at) if at != rfq.closes_at_epoch => {
                changes.push(AmendmentChange {
                    field: "closesAt".into(),
                    from: rfq.content.closes_at.clone(),
                    to: raw.trim().to_owned(),
                });
                next.content.closes_at = raw.trim().to_owned();
                next.closes_at_epoch = at;
            }
            Some(_) => {}
        }
    }
    if let Some(raw) = &request.award_by {
        match rfc3339_to_epoch(raw.trim()) {
            None => problems.add("awardBy", "must be an RFC 3339 time"),
            Some(at) if at < rfq.award_by_epoch => problems.add("awardBy", "can only move later"),
            Some(at) if at != rfq.award_by_epoch => {
                changes.push(AmendmentChange {
                    field: "awardBy".into(),
                    from: rfq.content.award_by.clone(),
                    to: raw.trim().to_owned(),
                });
                next.content.award_by = raw.trim().to_owned();
                next.award_by_epoch = at;
            }
            Some(_) => {}
        }
    }
    if next.award_by_epoch <= next.closes_at_epoch && !problems.fields().contains_key("awardBy") {
        problems.add("awardBy", "must be after closesAt: move it later too");
    }
    if let Some(window) = &request.delivery {
        let delivery = &mut next.content.delivery;
        for (field, raw, current) in [
            (
                "delivery.windowFrom",
                &window.window_from,
                &mut delivery.window_from,
            ),
            (
                "delivery.windowTo",
                &window.window_to,
                &mut delivery.window_to,
            ),
        ] {
            let Some(raw) = raw else { continue };
            match parse_date(raw.trim()) {
                None => problems.add(field, "must be a date such as 2026-12-18"),
                Some(date) if date.to_string() != *current => {
                    changes.push(AmendmentChange {
                        field: field.to_owned(),
                        from: current.clone(),
                        to: date.to_string(),
                    });
                    *current = date.to_string();
                }
                Some(_) => {}
            }
        }
    }
    let delivery = &next.content.delivery;
    if let (Some(from), Some(to)) = (
        parse_date(&delivery.window_from),
        parse_date(&delivery.window_to),
    ) {
        if from > to {
            problems.add("delivery.windowTo", "must not be before windowFrom");
        }
        if next.closes_at_epoch >= to.midnight().assume_utc().unix_timestamp() {
            problems.add(
                "delivery.windowTo",
                "must stay after the closing time's day",
            );
        }
    }
    problems.finish("the amendment has invalid fields", || (next, changes, text))
}

/// The stored amendment and the writes that publish it with the RFQ's new
/// state: the caller adds its own (a message) and commits them as one.
pub(crate) struct Prepared {
    pub amendment: RfqAmendment,
    pub rfq: RfqRecord,
    writes: Vec<(TransactWriteItem, Option<&'static str>)>,
}

/// Prepares amendment `rfq.amendment_count + 1` of a published RFQ.
pub(crate) fn prepare(
    store: &Store,
    caller: &Caller,
    current: &RfqRecord,
    mut next: RfqRecord,
    text: String,
    changes: Vec<AmendmentChange>,
    message_id: Option<String>,
) -> ApiResult<Prepared> {
    if current.status != RfqStatus::Published {
        return Err(ApiError::conflict(format!(
            "only a published request for quotation is amended; this one is {}",
            current.status
        )));
    }
    if current.amendment_count >= MAX_AMENDMENTS {
        return Err(ApiError::conflict(format!(
            "at most {MAX_AMENDMENTS} amendments: publish a new request for quotation"
        )));
    }
    let now = now_rfc3339();
    let number = current.amendment_count + 1;
    next.amendment_count = number;
    next.version = current.version + 1;
    next.updated_at = now.clone();
    next.gsi1sk = Some(queue_sk(next.closes_at_epoch, &next.id));
    let actor = caller.actor();
    let amendment = RfqAmendment {
        number,
        rfq_id: current.id.clone(),
        text,
        changes,
        message_id,
        amended_by: actor.to_string(),
        amended_at: now,
    };
    let record = AmendmentRecord {
        pk: rfq_pk(&current.id),
        sk: amendment_sk(number),
        item_type: AMENDMENT_TYPE.to_owned(),
        amendment: amendment.clone(),
    };
    let event = AuditEvent::new(
        &AuditScope::Org(current.buyer_org_id.clone()),
        &actor,
        AuditAction::RfqAmended,
    )
    .target(format!("rfq:{}", current.id))
    .details(serde_json::json!({
        "number": number,
        "changes": amendment.changes,
        "messageId": amendment.message_id,
    }));
    let writes = vec![
        (
            store.transact_put(&record, Some("attribute_not_exists(PK)"))?,
            Some("rfq"),
        ),
        (
            store.transact_put_if_version(&next, current.version)?,
            Some("rfq"),
        ),
        (event.transact_item(store)?, None),
    ];
    Ok(Prepared {
        amendment,
        rfq: next,
        writes,
    })
}

impl Prepared {
    /// Commits the amendment with `extra` writes in one transaction; a
    /// concurrent change of the RFQ is a 409.
    pub(crate) async fn commit(
        self,
        state: &SourcingState,
        extra: Vec<TransactWriteItem>,
    ) -> ApiResult<(RfqAmendment, RfqRecord)> {
        let mut tx = Transaction::new();
        for (write, name) in self.writes {
            match name {
                Some(name) => tx.push(write).named(name),
                None => {
                    tx.push(write);
                }
            }
        }
        tx.extend(extra);
        match state.store.transact(tx).await {
            Ok(()) => {}
            Err(err) if err.condition_failed("rfq") => {
                return Err(ApiError::conflict(
                    "the request for quotation changed meanwhile (closed, or amended); fetch it again",
                ));
            }
            Err(err) => return Err(ApiError::from(err).context("saving the amendment")),
        }
        tracing::info!(number = self.amendment.number, "rfq amended");
        after_amendment(state, &self.rfq, &self.amendment).await;
        Ok((self.amendment, self.rfq))
    }
}

/// The invitations of an RFQ's qualified candidates (declined ones too).
pub(crate) async fn invitations(store: &Store, rfq_id: &str) -> ApiResult<Vec<InvitationRecord>> {
    let keys: Vec<(String, String)> =
        all_under::<MatchRecord>(store, rfq_pk(rfq_id), MATCH_SK_PREFIX)
            .await?
            .into_iter()
            .filter(|m| m.result.qualified)
            .map(|m| invitation_key(&m.result.supplier_org_id, rfq_id))
            .collect();
    let mut found = Vec::new();
    for chunk in keys.chunks(100) {
        found.extend(store.batch_get::<InvitationRecord>(chunk).await?);
    }
    Ok(found)
}

/// After the commit: the invitations show the new closing time, and every
/// invitee that has not declined is emailed. Failures are logged; the
/// amendment stands.
async fn after_amendment(state: &SourcingState, rfq: &RfqRecord, amendment: &RfqAmendment) {
    let invitations = match invitations(&state.store, &rfq.id).await {
        Ok(found) => found,
        Err(err) => {
            tracing::error!(error = ?err, "could not read the invitations of an amended RFQ");
            return;
        }
    };
    let buyer_name = match access::org(&state.store, &rfq.buyer_org_id).await {
        Ok(org) => org.name,
        Err(_) => "The buyer".to_owned(),
    };
    for invitation in invitations {
        let supplier = &invitation.supplier_org_id;
        if invitation.closes_at != rfq.content.closes_at {
            let (pk, sk) = invitation_key(supplier, &rfq.id);
            let update = Update::new(&pk, &sk, "SET #closesAt = :closesAt")
                .condition("attribute_exists(PK)")
                .name("#closesAt", "closesAt")
                .value(":closesAt", s(rfq.content.closes_at.clone()));
            if let Err(err) = state.store.apply_update(update).await {
                tracing::error!(error = ?err, supplier, "could not move an invitation's closing time");
            }
        }
        if invitation.status == InvitationStatus::Declined {
            continue;
        }
        let message = PlatformEmail::RfqAmended {
            buyer_name: buyer_name.clone(),
            rfq_title: rfq.content.title.clone(),
            number: amendment.number,
            text: amendment.text.clone(),
            changes: amendment
                .changes
                .iter()
                .map(|c| format!("{}: {} → {}", c.field, c.from, c.to))
                .collect(),
            closes_at: rfq.content.closes_at.clone(),
            rfq_path: format!("/v1/orgs/{supplier}/rfqs/{}", rfq.id),
        };
        crate::email_all(
            state,
            supplier,
            supplier_recipients(state, supplier).await,
            &message,
            "could not email an amendment",
        )
        .await;
    }
}

/// Every amendment of an RFQ, oldest first.
pub(crate) async fn list(store: &Store, rfq_id: &str) -> ApiResult<Vec<RfqAmendment>> {
    Ok(
        all_under::<AmendmentRecord>(store, rfq_pk(rfq_id), AMENDMENT_SK_PREFIX)
            .await?
            .into_iter()
            .map(|r| r.amendment)
            .collect(),
    )
}

/// Amends a published RFQ: a text for every invitee and, optionally, a
/// later closing time or award deadline, or a new delivery window. With
/// `If-Match`, only while the RFQ is at that ETag (else 412). Needs
/// `rfq:create`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/amendments",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
        ("If-Match" = Option<String>, Header, description = "The RFQ's ETag", pattern = r#"^(\*|"[0-9]{1,19}")$"#),
    ),
    request_body = AmendmentRequest,
    responses(
        (status = 201, description = "The amendment; the ETag header is the RFQ's new version", body = Envelope<RfqAmendment>),
        (status = 403, description = "Without rfq:create", body = ErrorEnvelope),
        (status = 404, description = "No such RFQ of this org", body = ErrorEnvelope),
        (status = 409, description = "Not published (a draft: edit it; closed: too late), or changed meanwhile", body = ErrorEnvelope),
        (status = 412, description = "The RFQ changed since that ETag", body = ErrorEnvelope),
        (status = 422, description = "No text; a closing time earlier than now, less than 24 hours away or before the current one; an award deadline earlier; a window that does not fit", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn create_amendment(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<AmendmentRequest>,
) -> ApiResult<ApiResponse<RfqAmendment>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqCreate).await?;
    let expected = if_match(&headers)?;
    let current = load(&state.store, &org_id, &rfq_id).await?;
    check_if_match(expected, current.version)?;
    if current.status != RfqStatus::Published {
        return Err(ApiError::conflict(format!(
            "only a published request for quotation is amended (a draft is edited); this one is {}",
            current.status
        )));
    }
    let (next, changes, text) = amend(&current, &request)?;
    let prepared = prepare(&state.store, &caller, &current, next, text, changes, None)?;
    let (amendment, rfq) = prepared.commit(&state, Vec::new()).await?;
    Ok(ApiResponse::created(amendment).header(header::ETAG, etag(rfq.version)))
}

/// The RFQ's amendments, oldest first: for its buyer and its invited
/// suppliers (`rfq:read`); anyone else gets 404.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/amendments",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer's, or an invited supplier's, organization id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
    ),
    responses(
        (status = 200, body = Envelope<Vec<RfqAmendment>>),
        (status = 403, description = "Without rfq:read", body = ErrorEnvelope),
        (status = 404, description = "Neither the buyer nor an invited supplier", body = ErrorEnvelope),
        (status = 409, description = "A draft", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn list_amendments(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<Vec<RfqAmendment>>> {
    let _: Party = party(
        &state,
        &caller,
        &org_id,
        &rfq_id,
        Permission::RfqRead,
        Permission::RfqRead,
    )
    .await?;
    Ok(ApiResponse::ok(list(&state.store, &rfq_id).await?))
}
