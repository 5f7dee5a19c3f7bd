//! Awarding a closed RFQ, whole or split by line and quantity: one order
//! per awarded supplier in the orders context, at the proposal's prices,
//! through `shared::contracts::sourced_order` (which enforces orders'
//! rules and builds its items), payable by invoice under the RFQ's terms.
//!
//! One transaction per award: the Idempotency-Key claim with its result,
//! each order and its fulfilment, a counter per awarded RFQ line (`ADD`,
//! conditional on staying within the requested quantity, named
//! `line:<id>`: two awards racing for the same line cannot over-award), the
//! award record, the RFQ's status and the audit entry. The suppliers hear
//! whether they were selected by email afterwards.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission};
use shared::contracts::address::{ADDRESS_SK_PREFIX, AddressBook, SavedAddress};
use shared::contracts::sourced_order::{
    SourcedFrom, SourcedLine, SourcedOrder, sourced_order_items,
};
use shared::domain::address::Address;
use shared::domain::{new_id, now_epoch, now_rfc3339};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems};
use shared::idempotency::{self, IdempotencyKey};
use shared::outbox::PlatformEmail;
use shared::store::{Store, StoreError, Transaction, Update, n, s};
use utoipa::ToSchema;

use crate::SourcingState;
use crate::access;
use crate::closing::{RankedProposal, not_selected, ranked};
use crate::matching::parse_date;
use crate::model::{
    ProposalStatus, RfqRecord, RfqStatus, all_under, proposal_key, rfq_key, rfq_pk,
};
use crate::publish::supplier_recipients;
use crate::rfqs::load;

const MAX_AWARDS: usize = 20;
const AWARDED_SK_PREFIX: &str = "AWARDED#";

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwardLineInput {
    #[schema(example = "L1")]
    rfq_line_id: String,
    #[schema(example = 300, minimum = 1)]
    quantity: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwardInput {
    proposal_id: String,
    lines: Vec<AwardLineInput>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwardRequest {
    /// 1 to 20 proposals, each with the lines and quantities it wins.
    awards: Vec<AwardInput>,
    /// Required when a winner is not the best-ranked proposal.
    #[schema(example = "Split to secure supply")]
    reason: Option<String>,
}

/// An order the award created.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwardedOrder {
    pub order_id: String,
    pub supplier_org_id: String,
    pub proposal_id: String,
    /// Minor units of the RFQ's currency, at the proposal's prices.
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwardView {
    pub award_id: String,
    pub rfq_id: String,
    pub status: RfqStatus,
    pub orders: Vec<AwardedOrder>,
}

/// A line's awarded quantity so far: `RFQ#<id> / AWARDED#<lineId>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AwardedCounter {
    #[serde(rename = "SK")]
    sk: String,
    #[serde(default)]
    awarded: i64,
}

struct Checked<'a> {
    /// (proposal, lines with quantities)
    awards: Vec<(&'a RankedProposal, Vec<(String, i64)>)>,
    reason: Option<String>,
}

fn check<'a>(
    request: &AwardRequest,
    rfq: &RfqRecord,
    ranked: &'a [RankedProposal],
) -> ApiResult<Checked<'a>> {
    let mut problems = Problems::default();
    if request.awards.is_empty() || request.awards.len() > MAX_AWARDS {
        problems.add("awards", format!("1 to {MAX_AWARDS} proposals"));
    }
    let today = shared::clock::now().date();
    let mut awards = Vec::new();
    let mut per_line: BTreeMap<&str, i64> = BTreeMap::new();
    let best = ranked.iter().find(|p| p.rank == Some(1));
    let mut needs_reason = false;
    for (i, award) in request.awards.iter().enumerate() {
        let field = format!("awards[{i}].proposalId");
        let Some(proposal) = ranked.iter().find(|p| p.proposal.id == award.proposal_id) else {
            problems.add(field, "no standing proposal of this RFQ");
            continue;
        };
        if awards
            .iter()
            .any(|(p, _): &(&RankedProposal, _)| p.proposal.id == award.proposal_id)
        {
            problems.add(field.clone(), "awarded twice");
        }
        if !proposal.compliance.passed {
            problems.add(
                field.clone(),
                format!("disqualified: {}", proposal.compliance.reasons.join("; ")),
            );
        }
        if parse_date(&proposal.proposal.content.valid_until).is_some_and(|d| d < today) {
            problems.add(
                field.clone(),
                format!(
                    "the proposal expired on {}",
                    proposal.proposal.content.valid_until
                ),
            );
        }
        if best.is_none_or(|b| b.proposal.id != proposal.proposal.id) {
            needs_reason = true;
        }
        if award.lines.is_empty() {
            problems.add(format!("awards[{i}].lines"), "award at least one line");
        }
        let mut lines = Vec::new();
        for (j, line) in award.lines.iter().enumerate() {
            let field = |name: &str| format!("awards[{i}].lines[{j}].{name}");
            let Some(offered) = proposal
                .proposal
                .content
                .lines
                .iter()
                .find(|l| l.rfq_line_id == line.rfq_line_id)
            else {
                problems.add(field("rfqLineId"), "the proposal does not offer this line");
                continue;
            };
            if !(1..=offered.quantity).contains(&line.quantity) {
                problems.add(
                    field("quantity"),
                    format!("1 to {} (the quantity offered)", offered.quantity),
                );
                continue;
            }
            *per_line.entry(offered.rfq_line_id.as_str()).or_default() += line.quantity;
            lines.push((line.rfq_line_id.clone(), line.quantity));
        }
        awards.push((proposal, lines));
    }
    for (line_id, quantity) in &per_line {
        if let Some(line) = rfq.content.lines.iter().find(|l| l.id == *line_id)
            && *quantity > line.quantity
        {
            problems.add(
                "awards",
                format!("{line_id}: {quantity} awarded, {} requested", line.quantity),
            );
        }
    }
    let reason = problems.plain_text("reason", request.reason.as_deref(), 1000, false);
    if needs_reason && reason.is_none() && !problems.fields().contains_key("reason") {
        problems.add(
            "reason",
            "required when the award does not go to the best-ranked proposal",
        );
    }
    problems.finish("the award has invalid fields", || Checked {
        awards,
        reason,
    })
}

/// Where the awarded orders ship: the RFQ's saved address, else the buyer
/// organization's default shipping address in the delivery country, else
/// its newest address there. None at all is a 422: a placeholder address
/// would reach the supplier.
async fn delivery_address(store: &Store, org_id: &str, rfq: &RfqRecord) -> ApiResult<Address> {
    let delivery = &rfq.content.delivery;
    let book = AddressBook::Org(org_id.to_owned());
    if let Some((pk, sk)) = delivery
        .address_id
        .as_deref()
        .and_then(|id| book.entry_key(id))
        && let Some(saved) = store.get::<SavedAddress>(&pk, &sk).await?
    {
        return Ok(saved.address);
    }
    let mut in_country: Vec<SavedAddress> =
        all_under::<SavedAddress>(store, book.pk(), ADDRESS_SK_PREFIX)
            .await?
            .into_iter()
            .filter(|a| a.address.country == delivery.country)
            .collect();
    in_country.sort_by(|a, b| {
        b.default_shipping
            .cmp(&a.default_shipping)
            .then(b.id.cmp(&a.id))
    });
    in_country.into_iter().next().map(|a| a.address).ok_or_else(|| {
        ApiError::invalid_field(
            "awards",
            format!(
                "the organization has no saved address in {}: add one to its address book (or name one in delivery.addressId) before awarding",
                delivery.country
            ),
        )
    })
}

/// Awards proposals of a closed RFQ, whole or split by line and quantity;
/// creates one order per supplier at the proposal's prices. With
/// `Idempotency-Key` a retry returns the first award and creates nothing.
/// Needs `rfq:create`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/award",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first award (24 h)", min_length = 1, max_length = 255, pattern = r"^[\x21-\x7e]+$"),
    ),
    request_body = AwardRequest,
    responses(
        (status = 201, description = "The award and the orders it created", body = Envelope<AwardView>),
        (status = 200, description = "A replay of the same Idempotency-Key: the first award", body = Envelope<AwardView>),
        (status = 403, description = "Without rfq:create", body = ErrorEnvelope),
        (status = 404, description = "No such RFQ of this org", body = ErrorEnvelope),
        (status = 409, description = "Not closed, past its award deadline, more than requested awarded (also by a concurrent award), or the key is in use", body = ErrorEnvelope),
        (status = 422, description = "A proposal that is not standing, disqualified or expired; a line or quantity it does not offer; no reason for a winner that is not best-ranked", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn award_rfq(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id)): Path<(String, String)>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<AwardRequest>,
) -> ApiResult<ApiResponse<serde_json::Value>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqCreate).await?;
    let actor = caller.actor();
    let scope = format!("{actor}:rfq-award:{rfq_id}");
    let fingerprint = serde_json::to_string(&request).map_err(ApiError::internal)?;
    if let Some(key) = &key
        && let Some(stored) = idempotency::lookup(&state.store, &scope, key, &fingerprint).await?
    {
        return Ok(idempotency::replayed(stored));
    }
    let rfq = load(&state.store, &org_id, &rfq_id).await?;
    if !matches!(rfq.status, RfqStatus::Closed | RfqStatus::PartiallyAwarded) {
        return Err(ApiError::conflict(format!(
            "only a closed request for quotation can be awarded; this one is {}",
            rfq.status
        )));
    }
    if rfq.award_by_epoch <= now_epoch() {
        return Err(ApiError::conflict("the award deadline has passed"));
    }
    let ranked = ranked(&state.store, &rfq).await?;
    let checked = check(&request, &rfq, &ranked)?;
    let ship_to = delivery_address(&state.store, &org_id, &rfq).await?;

    let awarded_before: BTreeMap<String, i64> =
        all_under::<AwardedCounter>(&state.store, rfq_pk(&rfq_id), AWARDED_SK_PREFIX)
            .await?
            .into_iter()
            .map(|c| {
                (
                    c.sk.trim_start_matches(AWARDED_SK_PREFIX).to_owned(),
                    c.awarded,
                )
            })
            .collect();
    let mut now_awarded: BTreeMap<String, i64> = BTreeMap::new();
    let now = now_rfc3339();
    let today = shared::clock::now().date();
    let award_id = new_id();
    let mut orders = Vec::new();
    let mut tx = Transaction::new();
    let mut order_writes = Vec::new();
    for (proposal, lines) in &checked.awards {
        let content = &rfq.content;
        let sourced_lines: Vec<SourcedLine> = lines
            .iter()
            .map(|(line_id, quantity)| {
                *now_awarded.entry(line_id.clone()).or_default() += quantity;
                let asked = content.lines.iter().find(|l| &l.id == line_id);
                let offered = proposal
                    .proposal
                    .content
                    .lines
                    .iter()
                    .find(|l| &l.rfq_line_id == line_id)
                    .expect("checked: the proposal offers the line");
                SourcedLine {
                    rfq_line_id: line_id.clone(),
                    name: asked
                        .and_then(|l| l.spec.clone())
                        .unwrap_or_else(|| format!("{} line {line_id}", content.title)),
                    quantity: *quantity,
                    unit_price: offered.unit_price,
                }
            })
            .collect();
        let order = SourcedOrder {
            order_id: new_id(),
            buyer_org_id: org_id.clone(),
            placed_by: actor.to_string(),
            seller_org_id: proposal.proposal.supplier_org_id.clone(),
            currency: content.currency.clone(),
            lines: sourced_lines,
            ship_to: ship_to.clone(),
            net_terms_days: i64::from(content.payment_terms.net_days),
            from: SourcedFrom {
                source: "rfq".into(),
                rfq_id: rfq_id.clone(),
                proposal_id: proposal.proposal.id.clone(),
                revision: proposal.proposal.revision,
                proposal_hash: proposal.proposal.hash.clone(),
                cold_chain: content.delivery.cold_chain,
            },
        };
        let (order_item, fulfilment_item) = sourced_order_items(&order, &now, today)
            .map_err(|e| ApiError::invalid_field("awards", e.to_string()))?;
        orders.push(AwardedOrder {
            order_id: order.order_id.clone(),
            supplier_org_id: order.seller_org_id.clone(),
            proposal_id: proposal.proposal.id.clone(),
            total: order_item["totals"]["total"].as_i64().unwrap_or_default(),
        });
        order_writes.push(order_item);
        order_writes.push(fulfilment_item);
    }
    let complete = rfq.content.lines.iter().all(|line| {
        awarded_before.get(&line.id).copied().unwrap_or(0)
            + now_awarded.get(&line.id).copied().unwrap_or(0)
            >= line.quantity
    });
    let status = if complete {
        RfqStatus::Awarded
    } else {
        RfqStatus::PartiallyAwarded
    };
    let view = AwardView {
        award_id: award_id.clone(),
        rfq_id: rfq_id.clone(),
        status,
        orders: orders.clone(),
    };
    let result = serde_json::to_value(&view).map_err(ApiError::internal)?;
    if let Some(key) = &key {
        tx.push(idempotency::claim_item(
            &state.store,
            &scope,
            key,
            &fingerprint,
            &result,
        )?)
        .named("idempotency-key");
    }
    for item in &order_writes {
        tx.push(
            state
                .store
                .transact_put(item, Some("attribute_not_exists(PK)"))?,
        );
    }
    for (proposal, lines) in &checked.awards {
        let view = &proposal.proposal;
        let before = view.awarded_quantity;
        let after = before + lines.iter().map(|(_, q)| q).sum::<i64>();
        let offered: i64 = view.content.lines.iter().map(|l| l.quantity).sum();
        let status = if after >= offered {
            ProposalStatus::Awarded
        } else {
            ProposalStatus::PartiallyAwarded
        };
        let (pk, sk) = proposal_key(&rfq_id, &view.supplier_org_id);
        let update = Update::new(
            &pk,
            &sk,
            "SET #status = :status, #awarded = :after, #updatedAt = :now, #version = #version + :one",
        )
        .condition("#revision = :revision AND (attribute_not_exists(#awarded) OR #awarded = :before)")
        .name("#status", "status")
        .name("#awarded", "awardedQuantity")
        .name("#revision", "revision")
        .name("#updatedAt", "updatedAt")
        .name("#version", "version")
        .value(":status", s(status.as_str()))
        .value(":after", n(after))
        .value(":before", n(before))
        .value(":revision", n(i64::from(view.revision)))
        .value(":now", s(now.clone()))
        .value(":one", n(1));
        tx.push(state.store.transact_update(update)?)
            .named(format!("proposal:{}", view.id));
    }
    let pk = rfq_pk(&rfq_id);
    for (line_id, quantity) in &now_awarded {
        let requested = rfq
            .content
            .lines
            .iter()
            .find(|l| &l.id == line_id)
            .map_or(0, |l| l.quantity);
        let update = Update::new(
            &pk,
            format!("{AWARDED_SK_PREFIX}{line_id}"),
            "ADD #awarded :q SET #type = :type",
        )
        .condition("attribute_not_exists(#awarded) OR #awarded <= :room")
        .name("#awarded", "awarded")
        .name("#type", "type")
        .value(":q", n(*quantity))
        .value(":room", n(requested - quantity))
        .value(":type", s("RFQ_AWARDED_COUNTER"));
        tx.push(state.store.transact_update(update)?)
            .named(format!("line:{line_id}"));
    }
    tx.push(state.store.transact_put(
        &serde_json::json!({
            "PK": pk,
            "SK": format!("AWARD#{award_id}"),
            "type": "RFQ_AWARD",
            "awardId": award_id,
            "rfqId": rfq_id,
            "awards": request.awards,
            "reason": checked.reason,
            "orders": orders,
            "awardedBy": actor.to_string(),
            "awardedAt": now,
        }),
        Some("attribute_not_exists(PK)"),
    )?);
    let (rfq_pk_, rfq_sk) = rfq_key(&org_id, &rfq_id);
    tx.push(
        state.store.transact_update(
            Update::new(
                &rfq_pk_,
                &rfq_sk,
                "SET #status = :status, #updatedAt = :now, #version = #version + :one",
            )
            .condition("#status IN (:closed, :partial) AND #awardBy > :epoch")
            .name("#status", "status")
            .name("#updatedAt", "updatedAt")
            .name("#version", "version")
            .name("#awardBy", "awardByEpoch")
            .value(":status", s(status.as_str()))
            .value(":now", s(now.clone()))
            .value(":one", n(1))
            .value(":closed", s(RfqStatus::Closed.as_str()))
            .value(":partial", s(RfqStatus::PartiallyAwarded.as_str()))
            .value(":epoch", n(now_epoch())),
        )?,
    )
    .named("rfq");
    tx.push(
        AuditEvent::new(
            &AuditScope::Org(org_id.clone()),
            &actor,
            AuditAction::RfqAwarded,
        )
        .target(format!("rfq:{rfq_id}"))
        .details(serde_json::json!({
            "awardId": award_id,
            "orders": orders.iter().map(|o| &o.order_id).collect::<Vec<_>>(),
            "reason": checked.reason,
        }))
        .transact_item(&state.store)?,
    );
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err @ StoreError::TransactionCanceled(_)) => {
            if err.condition_failed("idempotency-key")
                && let Some(key) = &key
            {
                return match idempotency::lookup(&state.store, &scope, key, &fingerprint).await? {
                    Some(stored) => Ok(idempotency::replayed(stored)),
                    None => Err(ApiError::conflict(
                        "a request with this Idempotency-Key is in progress; retry",
                    )),
                };
            }
            if let Some(line) = now_awarded
                .keys()
                .find(|line| err.condition_failed(&format!("line:{line}")))
            {
                return Err(ApiError::conflict_on(
                    "awards",
                    format!("{line}: that would award more than requested (another award took it)"),
                ));
            }
            if checked
                .awards
                .iter()
                .any(|(p, _)| err.condition_failed(&format!("proposal:{}", p.proposal.id)))
            {
                return Err(ApiError::conflict(
                    "a proposal was awarded meanwhile by another award; fetch the proposals again",
                ));
            }
            if err.condition_failed("rfq") {
                return Err(ApiError::conflict(
                    "the request for quotation changed meanwhile (awarded out, or past its deadline)",
                ));
            }
            return Err(ApiError::conflict(
                "the award conflicted with another; try again",
            ));
        }
        Err(err) => return Err(ApiError::from(err).context("writing the award and its orders")),
    }
    tracing::info!(orders = orders.len(), "rfq awarded");
    notify_suppliers(&state, &rfq, &orders, status).await;
    Ok(ApiResponse::created(result))
}

/// Tells each supplier awarded now of its order; once the RFQ is awarded
/// out, every other proposer that won nothing hears it was not selected.
/// Failures are logged.
async fn notify_suppliers(
    state: &SourcingState,
    rfq: &RfqRecord,
    orders: &[AwardedOrder],
    status: RfqStatus,
) {
    for order in orders {
        let supplier = &order.supplier_org_id;
        let message = PlatformEmail::RfqOutcome {
            rfq_title: rfq.content.title.clone(),
            order_id: Some(order.order_id.clone()),
        };
        crate::email_all(
            state,
            supplier,
            supplier_recipients(state, supplier).await,
            &message,
            "could not email an award notice",
        )
        .await;
    }
    if status == RfqStatus::Awarded {
        let awarded: Vec<String> = orders.iter().map(|o| o.supplier_org_id.clone()).collect();
        not_selected(state, rfq, &awarded).await;
    }
}
