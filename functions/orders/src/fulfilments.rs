//! A seller org's side of orders: its fulfilments, and the steps it takes
//! them through (fulfilling, shipped with carrier and tracking number,
//! delivered). A seller sees and moves only its own: another seller's
//! fulfilment is a 404.

use axum::extract::{Path, State};
use serde::Deserialize;
use shared::auth::{Caller, Permission};
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
    Problems,
};
use shared::store::{Index, PartitionQuery, QueryRefinement, s};
use utoipa::{IntoParams, ToSchema};

use crate::OrdersState;
use crate::lifecycle::{self, Outcome, Shipment};
use crate::model::{FulfilmentRecord, FulfilmentStatus, FulfilmentView, seller_partition};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FulfilmentFilter {
    /// Only fulfilments in this status (`paid` = ready to fulfil); empty for all.
    #[param(pattern = r"^(pending_payment|paid|fulfilling|shipped|delivered|cancelled)?$")]
    pub status: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::not_found("no such fulfilment")
}

/// The org's fulfilments, newest order first.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/fulfilments",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The seller organization"), FulfilmentFilter, PageParams),
    responses(
        (status = 200, description = "One page of fulfilments, newest first (a status filter may return short pages)", body = Envelope<Vec<FulfilmentView>>),
        (status = 400, description = "The cursor is not from this list", body = ErrorEnvelope),
        (status = 403, description = "No order:read permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such organization (or not the caller's)", body = ErrorEnvelope),
        (status = 422, description = "Unknown status", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn list_fulfilments(
    State(state): State<OrdersState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(filter): ApiQuery<FulfilmentFilter>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<FulfilmentView>>> {
    caller
        .require(&state.store, &org_id, Permission::OrderRead)
        .await?;
    let mut refinement = QueryRefinement::default();
    if let Some(raw) = filter.status.as_deref().filter(|s| !s.is_empty()) {
        let status = FulfilmentStatus::parse(raw).ok_or_else(|| {
            ApiError::invalid_field(
                "status",
                "must be a fulfilment status such as paid or shipped",
            )
        })?;
        refinement.filter = Some("#status = :status".into());
        refinement.names.push(("#status".into(), "status".into()));
        refinement
            .values
            .push((":status".into(), s(status.as_str())));
    }
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: seller_partition(&org_id),
        sort_prefix: None,
        ascending: false,
    };
    let found = state
        .store
        .query_page_where::<FulfilmentRecord>(&query, &refinement, page.limit(), page.cursor())
        .await?;
    let views = found.items.into_iter().map(FulfilmentView::from).collect();
    Ok(ApiResponse::ok(views).paginated(found.next_cursor, page.limit()))
}

/// The org's fulfilment of one order.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/fulfilments/{orderId}",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The seller organization"),
        ("orderId" = String, Path, description = "The order"),
    ),
    responses(
        (status = 200, description = "The fulfilment with its history", body = Envelope<FulfilmentView>),
        (status = 403, description = "No order:read permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or it has no part in this order", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, order_id = %order_id))]
pub async fn get_fulfilment(
    State(state): State<OrdersState>,
    caller: Caller,
    Path((org_id, order_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<FulfilmentView>> {
    caller
        .require(&state.store, &org_id, Permission::OrderRead)
        .await?;
    let loaded = lifecycle::load(&state.store, &order_id)
        .await?
        .ok_or_else(not_found)?;
    let fulfilment = loaded
        .fulfilments
        .into_iter()
        .find(|f| f.seller_org_id == org_id)
        .ok_or_else(not_found)?;
    Ok(ApiResponse::ok(fulfilment.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FulfilmentStep {
    /// `fulfilling`, `shipped` or `delivered`.
    #[schema(example = "shipped")]
    pub status: String,
    /// Required for `shipped`.
    #[schema(example = "DHL")]
    pub carrier: Option<String>,
    /// Required for `shipped`.
    #[schema(example = "00340434161094042557")]
    pub tracking_number: Option<String>,
}

fn validate(step: &FulfilmentStep) -> ApiResult<(FulfilmentStatus, Shipment)> {
    let mut fields = Problems::default();
    let status = match FulfilmentStatus::parse(step.status.trim()) {
        Some(
            s @ (FulfilmentStatus::Fulfilling
            | FulfilmentStatus::Shipped
            | FulfilmentStatus::Delivered),
        ) => Some(s),
        _ => {
            fields.add("status", "must be fulfilling, shipped or delivered");
            None
        }
    };
    let mut shipment = Shipment::default();
    if status == Some(FulfilmentStatus::Shipped) {
        for (name, raw, slot) in [
            ("carrier", &step.carrier, &mut shipment.carrier),
            (
                "trackingNumber",
                &step.tracking_number,
                &mut shipment.tracking_number,
            ),
        ] {
            match raw.as_deref().map(|v| shared::domain::plain_text(v, 100)) {
                Some(Ok(value)) => *slot = Some(value),
                Some(Err(message)) => fields.add(name, message),
                None => fields.add(name, "is required to ship"),
            }
        }
    } else if step.carrier.is_some() || step.tracking_number.is_some() {
        fields.add("status", "carrier and trackingNumber go with shipped");
    }
    match status {
        Some(status) if fields.is_empty() => Ok((status, shipment)),
        _ => Err(ApiError::validation("the step has invalid fields", fields)),
    }
}

/// Moves the org's fulfilment one step: `paid` → `fulfilling` →
/// `shipped` (with carrier and tracking number) → `delivered` (`paid` →
/// `shipped` is allowed too). The order follows its fulfilments.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/fulfilments/{orderId}/status",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The seller organization"),
        ("orderId" = String, Path, description = "The order"),
    ),
    request_body = FulfilmentStep,
    responses(
        (status = 200, description = "The fulfilment after the step", body = Envelope<FulfilmentView>),
        (status = 403, description = "No order:fulfil permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or it has no part in this order", body = ErrorEnvelope),
        (status = 409, description = "Not a valid step from the current status (e.g. the order is unpaid or cancelled)", body = ErrorEnvelope),
        (status = 422, description = "Unknown status, or shipped without carrier and tracking number", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, order_id = %order_id))]
pub async fn advance_fulfilment(
    State(state): State<OrdersState>,
    caller: Caller,
    Path((org_id, order_id)): Path<(String, String)>,
    ApiJson(step): ApiJson<FulfilmentStep>,
) -> ApiResult<ApiResponse<FulfilmentView>> {
    caller
        .require(&state.store, &org_id, Permission::OrderFulfil)
        .await?;
    let (status, shipment) = validate(&step)?;
    let by = caller.actor().to_string();
    let outcome = lifecycle::transition(&state.store, &order_id, |loaded| {
        if !loaded.fulfilments.iter().any(|f| f.seller_org_id == org_id) {
            return Err(not_found());
        }
        lifecycle::plan_fulfilment_step(loaded, &org_id, status, &shipment, &by)
    })
    .await
    .map_err(|err| {
        if err.status() == axum::http::StatusCode::NOT_FOUND {
            not_found()
        } else {
            err
        }
    })?;
    let loaded = match outcome {
        Outcome::Applied(loaded) | Outcome::Unchanged(loaded) => loaded,
        Outcome::Duplicate => return Err(ApiError::conflict("retry")),
    };
    let fulfilment = loaded
        .fulfilments
        .into_iter()
        .find(|f| f.seller_org_id == org_id)
        .ok_or_else(not_found)?;
    Ok(ApiResponse::ok(fulfilment.into()))
}
