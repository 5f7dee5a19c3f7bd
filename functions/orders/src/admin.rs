//! Platform admins: every order (by status), invoices marked paid, refunds.

use axum::extract::{Path, State};
use serde::Deserialize;
use shared::auth::Caller;
use shared::http::{
    ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams, StepContext,
};
use shared::store::{Index, PartitionQuery};
use utoipa::IntoParams;

use crate::OrdersState;
use crate::buyer::require_admin;
use crate::lifecycle::{self, Outcome};
use crate::model::{
    ALL_ORDERS_PARTITION, OrderRecord, OrderStatus, OrderView, PaymentMethod, RefundState,
    status_partition,
};
use crate::orders::{CancelRequest, reason, settle_refund};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusFilter {
    /// Only orders in this status; empty for all.
    #[param(
        pattern = r"^(pending_payment|paid|fulfilling|shipped|delivered|cancelled|refunded)?$"
    )]
    pub status: Option<String>,
}

/// Every order, newest first, optionally of one status (one Query either way).
#[utoipa::path(
    get,
    path = "/v1/admin/orders",
    tag = "orders",
    security(("bearer" = [])),
    params(StatusFilter, PageParams),
    responses(
        (status = 200, description = "One page of orders, newest first", body = Envelope<Vec<OrderView>>),
        (status = 400, description = "The cursor is not from this list", body = ErrorEnvelope),
        (status = 403, description = "Not a platform admin", body = ErrorEnvelope),
        (status = 422, description = "Unknown status", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_all_orders(
    State(state): State<OrdersState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<StatusFilter>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<OrderView>>> {
    require_admin(&caller)?;
    let query = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => {
            let status = OrderStatus::parse(raw).ok_or_else(|| {
                ApiError::invalid_field("status", "must be an order status such as paid or shipped")
            })?;
            PartitionQuery {
                index: Index::Gsi2,
                partition: status_partition(status),
                sort_prefix: None,
                ascending: false,
            }
        }
        None => PartitionQuery {
            index: Index::Gsi3,
            partition: ALL_ORDERS_PARTITION.to_owned(),
            sort_prefix: None,
            ascending: false,
        },
    };
    let found = state
        .store
        .query_page::<OrderRecord>(&query, page.limit(), page.cursor())
        .await?;
    let orders = found.items.into_iter().map(OrderView::for_staff).collect();
    Ok(ApiResponse::ok(orders).paginated(found.next_cursor, page.limit()))
}

fn loaded_of(outcome: Outcome) -> ApiResult<lifecycle::Loaded> {
    match outcome {
        Outcome::Applied(loaded) | Outcome::Unchanged(loaded) => Ok(loaded),
        Outcome::Duplicate => Err(ApiError::conflict("this change was already made")),
    }
}

/// Records that an invoice order's invoice was paid: the order becomes
/// `paid` and its sellers can fulfil it. Marking it again changes nothing.
#[utoipa::path(
    post,
    path = "/v1/admin/orders/{orderId}/invoice-payment",
    tag = "orders",
    security(("bearer" = [])),
    params(("orderId" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order, paid", body = Envelope<OrderView>),
        (status = 403, description = "Not a platform admin", body = ErrorEnvelope),
        (status = 404, description = "No such order", body = ErrorEnvelope),
        (status = 409, description = "Not an invoice order, or it was cancelled", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn mark_invoice_paid(
    State(state): State<OrdersState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> ApiResult<ApiResponse<OrderView>> {
    let by = require_admin(&caller)?;
    let outcome = lifecycle::transition(&state.store, &order_id, |loaded| {
        if loaded.order.payment.method != PaymentMethod::Invoice {
            return Err(ApiError::conflict("this order is not paid by invoice"));
        }
        lifecycle::plan_pay(&state.store, loaded, &by, None)
    })
    .await?;
    Ok(ApiResponse::ok(OrderView::for_staff(
        loaded_of(outcome)?.order,
    )))
}

/// Refunds a paid order in full through its payment provider; it becomes
/// `refunded`, and what has not shipped goes back on sale. On an order whose
/// refund failed before, this retries the refund.
#[utoipa::path(
    post,
    path = "/v1/admin/orders/{orderId}/refund",
    tag = "orders",
    security(("bearer" = [])),
    params(("orderId" = String, Path, description = "The order's id")),
    request_body(content = Option<CancelRequest>, description = "Optional reason"),
    responses(
        (status = 200, description = "The order; payment.refund shows whether the provider refunded", body = Envelope<OrderView>),
        (status = 403, description = "Not a platform admin", body = ErrorEnvelope),
        (status = 404, description = "No such order", body = ErrorEnvelope),
        (status = 409, description = "Nothing to refund: the order is unpaid, or cancelled before payment", body = ErrorEnvelope),
        (status = 422, description = "The reason is too long", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn refund_order(
    State(state): State<OrdersState>,
    caller: Caller,
    Path(order_id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<ApiResponse<OrderView>> {
    let by = require_admin(&caller)?;
    let request = CancelRequest::from_body(&body)?;
    let reason = reason(request.reason.as_deref())?;
    let outcome = lifecycle::transition(&state.store, &order_id, |loaded| {
        let unsettled = loaded
            .order
            .payment
            .refund
            .as_ref()
            .is_some_and(|r| r.state != RefundState::Succeeded);
        if unsettled {
            // Cancelled or refunded already, the provider's part failed: retry it.
            return Ok(None);
        }
        lifecycle::plan_refund(&state.store, loaded, &by, reason.clone())
    })
    .await
    .context("recording the refund")?;
    let loaded = settle_refund(&state, loaded_of(outcome)?)
        .await
        .context("refunding the payment")?;
    Ok(ApiResponse::ok(OrderView::for_staff(loaded.order)))
}
