//! Milestones on any order: an append-only log a seller keeps of its part
//! (produced, packed, picked up, delivered, ... and exceptions), shown on
//! the order to its buyer. `actual` milestones move the seller's
//! fulfilment, and the order follows as for `POST .../status`: produced,
//! qc_released, packed → `fulfilling`; picked_up, in_transit,
//! customs_cleared → `shipped`; delivered, received → `delivered`.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shared::auth::{Caller, Permission};
use shared::domain::{now_rfc3339, rfc3339_to_epoch};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems};
use utoipa::ToSchema;

use crate::OrdersState;
use crate::lifecycle::{self, Loaded, Outcome, Plan, Shipment};
use crate::model::{FulfilmentStatus, OrderView};

shared::string_enum! {
    /// What happened (or will) to a seller's part of an order.
    MilestoneType {
        Produced = "produced",
        QcReleased = "qc_released",
        Packed = "packed",
        PickedUp = "picked_up",
        InTransit = "in_transit",
        CustomsCleared = "customs_cleared",
        Delivered = "delivered",
        Received = "received",
        Delayed = "delayed",
        TemperatureExcursion = "temperature_excursion",
        Damaged = "damaged",
        Recall = "recall",
    }
}

shared::string_enum! {
    /// Whether the milestone is planned, estimated or has happened.
    MilestoneStatus {
        Planned = "planned",
        Estimated = "estimated",
        Actual = "actual",
    }
}

impl MilestoneType {
    /// The fulfilment status an actual milestone of this type reaches.
    fn reaches(self) -> Option<FulfilmentStatus> {
        use MilestoneType::*;
        match self {
            Produced | QcReleased | Packed => Some(FulfilmentStatus::Fulfilling),
            PickedUp | InTransit | CustomsCleared => Some(FulfilmentStatus::Shipped),
            Delivered | Received => Some(FulfilmentStatus::Delivered),
            Delayed | TemperatureExcursion | Damaged | Recall => None,
        }
    }
}

/// One entry of an order's milestone log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Milestone {
    pub seller_org_id: String,
    #[serde(rename = "type")]
    pub kind: MilestoneType,
    pub status: MilestoneStatus,
    /// When it happened or is expected (RFC 3339).
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    pub recorded_by: String,
    pub recorded_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneRequest {
    #[serde(rename = "type")]
    #[schema(value_type = MilestoneType)]
    kind: String,
    #[schema(value_type = MilestoneStatus)]
    status: String,
    #[schema(format = DateTime)]
    at: String,
    #[schema(max_length = 100)]
    lot: Option<String>,
    #[schema(max_length = 1000)]
    note: Option<String>,
    #[schema(minimum = -100, maximum = 100)]
    temperature_c: Option<f64>,
}

fn check(request: MilestoneRequest, seller: &str, by: &str) -> ApiResult<Milestone> {
    let mut problems = Problems::default();
    let kind = MilestoneType::parse(request.kind.trim());
    if kind.is_none() {
        problems.add("type", "not a milestone type");
    }
    let status = MilestoneStatus::parse(request.status.trim());
    if status.is_none() {
        problems.add("status", "must be planned, estimated or actual");
    }
    if rfc3339_to_epoch(request.at.trim()).is_none() {
        problems.add("at", "must be an RFC 3339 time");
    }
    let lot = problems.plain_text("lot", request.lot.as_deref(), 100, false);
    let note = problems.plain_text("note", request.note.as_deref(), 1000, false);
    if request
        .temperature_c
        .is_some_and(|t| !t.is_finite() || !(-100.0..=100.0).contains(&t))
    {
        problems.add("temperatureC", "-100 to 100 degrees Celsius");
    }
    if kind == Some(MilestoneType::TemperatureExcursion) && request.temperature_c.is_none() {
        problems.add("temperatureC", "is required for a temperature excursion");
    }
    let (Some(kind), Some(status)) = (kind, status) else {
        return Err(ApiError::validation(
            "the milestone has invalid fields",
            problems,
        ));
    };
    problems.finish("the milestone has invalid fields", || Milestone {
        seller_org_id: seller.to_owned(),
        kind,
        status,
        at: request.at.trim().to_owned(),
        lot,
        note,
        temperature_c: request.temperature_c,
        recorded_by: by.to_owned(),
        recorded_at: now_rfc3339(),
    })
}

/// The steps from `from` to `to` a seller may take, in order (none when
/// the fulfilment is there or past it).
fn steps(from: FulfilmentStatus, to: FulfilmentStatus) -> Vec<FulfilmentStatus> {
    use FulfilmentStatus::*;
    let rank = |s: FulfilmentStatus| match s {
        Paid => Some(0),
        Fulfilling => Some(1),
        Shipped => Some(2),
        Delivered => Some(3),
        _ => None,
    };
    match (rank(from), rank(to)) {
        (Some(f), Some(t)) if f < t => [Fulfilling, Shipped, Delivered]
            .into_iter()
            .filter(|s| rank(*s).is_some_and(|r| r > f && r <= t))
            .filter(|s| !(f == 0 && t >= 2 && *s == Fulfilling))
            .collect(),
        (None, Some(_)) => vec![to],
        _ => Vec::new(),
    }
}

fn plan(loaded: &Loaded, seller: &str, milestone: &Milestone) -> ApiResult<Option<Plan>> {
    let fulfilment = loaded
        .fulfilments
        .iter()
        .find(|f| f.seller_org_id == seller)
        .ok_or_else(|| ApiError::not_found("no such fulfilment"))?;
    let mut current = loaded.clone();
    let mut moved = false;
    if milestone.status == MilestoneStatus::Actual
        && let Some(target) = milestone.kind.reaches()
    {
        for step in steps(fulfilment.status, target) {
            if let Some(step_plan) = lifecycle::plan_fulfilment_step(
                &current,
                seller,
                step,
                &Shipment::default(),
                &milestone.recorded_by,
            )? {
                current.order = step_plan.order;
                for changed in step_plan.fulfilments {
                    if let Some(slot) = current
                        .fulfilments
                        .iter_mut()
                        .find(|f| f.seller_org_id == changed.seller_org_id)
                    {
                        *slot = changed;
                    }
                }
                moved = true;
            }
        }
    }
    current.order.milestones.push(milestone.clone());
    let mut plan = Plan::of(current.order);
    if moved {
        plan.fulfilments = current
            .fulfilments
            .into_iter()
            .filter(|f| f.seller_org_id == seller)
            .collect();
    }
    Ok(Some(plan))
}

/// Records a milestone of the org's part of an order; `actual` ones move
/// the fulfilment and the order (a step that is not allowed yet, e.g. on
/// an unpaid order, is a 409). Needs `order:fulfil`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/fulfilments/{orderId}/milestones",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The seller organization"),
        ("orderId" = String, Path, description = "The order"),
    ),
    request_body = MilestoneRequest,
    responses(
        (status = 201, description = "The order with its milestone log", body = Envelope<OrderView>),
        (status = 403, description = "No order:fulfil permission in the organization (e.g. a buyer)", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or it has no part in this order", body = ErrorEnvelope),
        (status = 409, description = "The status this milestone reaches is not allowed now (e.g. the order is unpaid or cancelled)", body = ErrorEnvelope),
        (status = 422, description = "An unknown type or status, a time that is not RFC 3339, an excursion without a temperature", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, order_id = %order_id))]
pub async fn record_milestone(
    State(state): State<OrdersState>,
    caller: Caller,
    Path((org_id, order_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<MilestoneRequest>,
) -> ApiResult<ApiResponse<OrderView>> {
    caller
        .require(&state.store, &org_id, Permission::OrderFulfil)
        .await?;
    let milestone = check(request, &org_id, &caller.actor().to_string())?;
    let outcome = lifecycle::transition(&state.store, &order_id, |loaded| {
        plan(loaded, &org_id, &milestone)
    })
    .await
    .map_err(|err| {
        if err.status() == axum::http::StatusCode::NOT_FOUND {
            ApiError::not_found("no such fulfilment")
        } else {
            err
        }
    })?;
    let loaded = match outcome {
        Outcome::Applied(loaded) | Outcome::Unchanged(loaded) => loaded,
        Outcome::Duplicate => return Err(ApiError::conflict("retry")),
    };
    if milestone.kind == MilestoneType::TemperatureExcursion {
        tracing::warn!(order_id = %order_id, temperature_c = ?milestone.temperature_c, "temperature excursion recorded");
    }
    Ok(ApiResponse::created(OrderView::for_staff(loaded.order)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use FulfilmentStatus::*;

    #[test]
    fn actual_milestones_take_the_allowed_steps_in_order() {
        assert_eq!(steps(Paid, Shipped), vec![Shipped]);
        assert_eq!(steps(Paid, Delivered), vec![Shipped, Delivered]);
        assert_eq!(steps(Paid, Fulfilling), vec![Fulfilling]);
        assert_eq!(steps(Fulfilling, Delivered), vec![Shipped, Delivered]);
        assert_eq!(steps(Shipped, Fulfilling), Vec::<FulfilmentStatus>::new());
        assert_eq!(steps(Delivered, Delivered), Vec::<FulfilmentStatus>::new());
        assert_eq!(steps(PendingPayment, Shipped), vec![Shipped]);
    }
}
