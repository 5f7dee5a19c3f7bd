//! A buyer's orders: list, read, cancel. Also the refund step every
//! cancel or refund of a paid order ends with.

use axum::extract::{Path, State};
use serde::Deserialize;
use shared::auth::{Caller, Permission, PlatformRole};
use shared::domain::Money;
use shared::http::{
    ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams, StepContext,
};
use shared::payments::{PaymentError, PaymentProvider, Payments, RefundRequest};
use shared::store::{Index, PartitionQuery};
use utoipa::ToSchema;

use crate::OrdersState;
use crate::buyer::{self, BuyerParams};
use crate::lifecycle::{self, Canceller, Loaded, Outcome, Plan};
use crate::model::{
    OrderRecord, OrderStatus, OrderView, PaymentMethod, PaymentState, RefundState, buyer_partition,
};

/// How the caller stands to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Buyer,
    Admin,
}

/// The caller's standing to `order`: its buyer (the person, or a member or
/// key of the buying org with `permission`), a platform admin, or nobody
/// (404, as if the order did not exist).
pub async fn viewer(
    state: &OrdersState,
    caller: &Caller,
    order: &OrderRecord,
    permission: Permission,
) -> ApiResult<Viewer> {
    let is_admin = caller.user().is_some_and(|p| p.role == PlatformRole::Admin);
    let not_found = || ApiError::not_found("no such order");
    let as_buyer = match (&order.buyer.org_id, caller) {
        (None, Caller::User(principal)) => {
            order.buyer.user_id.as_deref() == Some(&principal.user_id)
        }
        (Some(org_id), _) => match caller.access(&state.store, org_id).await {
            Ok(access) if access.membership.is_some() || !is_admin => {
                if access.permissions.contains(permission) {
                    true
                } else if is_admin {
                    false
                } else {
                    return Err(access.require(permission).unwrap_err());
                }
            }
            _ => false,
        },
        _ => false,
    };
    match (as_buyer, is_admin) {
        (true, _) => Ok(Viewer::Buyer),
        (false, true) => Ok(Viewer::Admin),
        (false, false) => Err(not_found()),
    }
}

pub fn view_for(viewer: Viewer, order: OrderRecord) -> OrderView {
    match viewer {
        Viewer::Buyer => OrderView::for_buyer(order),
        Viewer::Admin => OrderView::for_staff(order),
    }
}

/// After an unpaid card order was cancelled (by its buyer, an admin or the
/// expiry sweep): voids its PaymentIntent, so the browser can no longer pay
/// it. Best effort: if Stripe cannot be reached, or the buyer paid in the
/// same moment, the webhook's payment of a cancelled order is refunded.
pub async fn void_payment(payments: &Payments, order: &OrderRecord) {
    let (PaymentMethod::Card, Some(reference), Some(stripe)) = (
        order.payment.method,
        order.payment.reference.as_deref(),
        payments.stripe.as_deref(),
    ) else {
        return;
    };
    if let Err(err) = stripe.void(reference).await {
        tracing::warn!(order_id = %order.id, error = %err, "the payment of a cancelled order could not be voided");
    }
}

/// Asks the provider for a refund recorded as pending (or failed before),
/// and records the answer. A refusal or an outage leaves the refund
/// `failed` with the reason; an admin retries it with the refund endpoint.
pub async fn settle_refund(state: &OrdersState, loaded: Loaded) -> ApiResult<Loaded> {
    let order = &loaded.order;
    let Some(refund) = &order.payment.refund else {
        return Ok(loaded);
    };
    if refund.state == RefundState::Succeeded {
        return Ok(loaded);
    }
    let amount = Money::parse(refund.amount, &order.totals.currency).map_err(ApiError::internal)?;
    let request = RefundRequest {
        order_id: order.id.clone(),
        reference: order.payment.reference.clone().unwrap_or_default(),
        amount,
        attempt: refund.failed_attempts,
    };
    let result = match order.payment.method {
        PaymentMethod::Card => match &state.payments.stripe {
            Some(stripe) => stripe.refund(&request).await,
            None => Err(PaymentError::NotConfigured),
        },
        PaymentMethod::Invoice => state.payments.invoice.refund(&request).await,
    };
    match &result {
        Ok(_) => shared::metrics::count("RefundsSucceeded", 1),
        Err(err) => {
            shared::metrics::count("RefundsFailed", 1);
            tracing::warn!(order_id = %order.id, error = %err, "a refund failed; an admin can retry it");
        }
    }
    let outcome = lifecycle::transition(&state.store, &order.id, |l| {
        let mut order = l.order.clone();
        let Some(refund) = order.payment.refund.as_mut() else {
            return Ok(None);
        };
        if refund.state == RefundState::Succeeded {
            return Ok(None);
        }
        match &result {
            Ok(outcome) => {
                refund.state = RefundState::Succeeded;
                refund.reference = Some(outcome.reference.clone());
                refund.error = None;
                order.payment.state = PaymentState::Refunded;
            }
            Err(err) => {
                refund.state = RefundState::Failed;
                refund.error = Some(err.to_string());
                refund.failed_attempts += 1;
            }
        }
        Ok(Some(Plan::of(order)))
    })
    .await?;
    Ok(match outcome {
        Outcome::Applied(after) | Outcome::Unchanged(after) => after,
        Outcome::Duplicate => loaded,
    })
}

/// The buyer's orders (or the org's, with `?orgId=` and `order:read`),
/// newest first.
#[utoipa::path(
    get,
    path = "/v1/orders",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(BuyerParams, PageParams),
    responses(
        (status = 200, description = "One page of orders, newest first", body = Envelope<Vec<OrderView>>),
        (status = 400, description = "The cursor is not from this list", body = ErrorEnvelope),
        (status = 403, description = "No order:read permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such organization (or not the caller's)", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_orders(
    State(state): State<OrdersState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<BuyerParams>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<OrderView>>> {
    let buyer = buyer::resolve(
        &state.store,
        &caller,
        params.org_id.as_deref(),
        Permission::OrderRead,
    )
    .await?;
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: buyer_partition(&buyer.key()),
        sort_prefix: None,
        ascending: false,
    };
    let found = state
        .store
        .query_page::<OrderRecord>(&query, page.limit(), page.cursor())
        .await?;
    let orders = found.items.into_iter().map(OrderView::for_buyer).collect();
    Ok(ApiResponse::ok(orders).paginated(found.next_cursor, page.limit()))
}

/// One order, to its buyer (or the buying org's members with
/// `order:read`) and to platform admins; 404 to everyone else.
#[utoipa::path(
    get,
    path = "/v1/orders/{orderId}",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orderId" = String, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order with its history", body = Envelope<OrderView>),
        (status = 403, description = "A member of the buying org without order:read", body = ErrorEnvelope),
        (status = 404, description = "No such order, or not the caller's", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn get_order(
    State(state): State<OrdersState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> ApiResult<ApiResponse<OrderView>> {
    let loaded = lifecycle::load(&state.store, &order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such order"))?;
    let viewer = viewer(&state, &caller, &loaded.order, Permission::OrderRead).await?;
    Ok(ApiResponse::ok(view_for(viewer, loaded.order)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelRequest {
    /// Why, for the order's history (up to 500 characters).
    #[schema(
        example = "Ordered by mistake",
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub reason: Option<String>,
}

impl CancelRequest {
    /// The body is optional: empty (or JSON `null`) means no reason.
    pub fn from_body(body: &[u8]) -> ApiResult<Self> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| ApiError::bad_request("the body is not valid JSON"))?;
        if value.is_null() {
            return Ok(Self::default());
        }
        shared::http::from_json(value, "the body")
    }
}

pub fn reason(raw: Option<&str>) -> ApiResult<Option<String>> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(text) => shared::domain::plain_text(text, 500)
            .map(Some)
            .map_err(|message| ApiError::invalid_field("reason", message)),
    }
}

/// Cancels an order: its buyer while it is pending payment or paid, a
/// platform admin any time before a parcel ships. Stock goes back on sale,
/// and a paid order is refunded through its payment provider.
#[utoipa::path(
    post,
    path = "/v1/orders/{orderId}/cancel",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orderId" = String, Path, description = "The order's id")),
    request_body(content = Option<CancelRequest>, description = "Optional reason"),
    responses(
        (status = 200, description = "The cancelled order (payment.refund shows the refund)", body = Envelope<OrderView>),
        (status = 403, description = "A member of the buying org without order:create", body = ErrorEnvelope),
        (status = 404, description = "No such order, or not the caller's", body = ErrorEnvelope),
        (status = 409, description = "The order can no longer be cancelled (e.g. it shipped)", body = ErrorEnvelope),
        (status = 422, description = "The reason is too long", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
pub async fn cancel_order(
    State(state): State<OrdersState>,
    caller: Caller,
    Path(order_id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<ApiResponse<OrderView>> {
    let request = CancelRequest::from_body(&body)?;
    let reason = reason(request.reason.as_deref())?;
    let loaded = lifecycle::load(&state.store, &order_id)
        .await
        .context("loading the order")?
        .ok_or_else(|| ApiError::not_found("no such order"))?;
    let viewer = viewer(&state, &caller, &loaded.order, Permission::OrderCreate)
        .await
        .context("checking who cancels")?;
    let who = match viewer {
        Viewer::Buyer => Canceller::Buyer,
        Viewer::Admin => Canceller::Admin,
    };
    let by = caller.actor().to_string();
    let outcome = lifecycle::transition(&state.store, &order_id, |l| {
        lifecycle::plan_cancel(&state.store, l, who, &by, reason.clone())
    })
    .await
    .context("cancelling the order")?;
    let loaded = match outcome {
        Outcome::Applied(after) => {
            if loaded.order.status == OrderStatus::PendingPayment {
                void_payment(&state.payments, &after.order).await;
            }
            after
        }
        Outcome::Unchanged(after) => after,
        Outcome::Duplicate => loaded,
    };
    let loaded = settle_refund(&state, loaded)
        .await
        .context("refunding the payment")?;
    Ok(ApiResponse::ok(view_for(viewer, loaded.order)))
}

#[cfg(test)]
mod tests {
    use super::CancelRequest;

    #[test]
    fn a_cancellation_body_is_optional() {
        for body in [&b""[..], b"  ", b"null", b"{}"] {
            let request = CancelRequest::from_body(body).expect("no reason is fine");
            assert_eq!(request.reason, None, "{:?}", String::from_utf8_lossy(body));
        }
        let request = CancelRequest::from_body(br#"{"reason":"late"}"#).unwrap();
        assert_eq!(request.reason.as_deref(), Some("late"));
        assert!(CancelRequest::from_body(b"[").is_err());
    }
}
