//! The orders context: carts, checkout, orders, fulfilments, payments,
//! refunds and order statistics. Money and stock move here, so every move
//! is one conditional write or one transaction (docs/orders.md).
//!
//! `routes(state)` is what the orders Lambda and the devserver serve;
//! `openapi()` describes the same routes. The `orders-expiry` binary is the
//! scheduled sweep of unpaid orders.

mod admin;
pub mod buyer;
pub mod cart;
pub mod checkout;
pub mod expiry;
mod fulfilments;
pub mod lifecycle;
pub mod milestones;
pub mod model;
mod orders;
pub mod pricing;
pub mod shipments;
pub mod stats;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use shared::auth::TokenKeys;
use shared::http::RouteSink;
use shared::payments::Payments;
use shared::ratelimit::RateLimiter;
use shared::routes;
use shared::store::Store;
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone)]
pub struct OrdersState {
    pub store: Store,
    pub tokens: Arc<TokenKeys>,
    pub rate_limiter: RateLimiter,
    pub payments: Payments,
}

impl OrdersState {
    /// `payments`: [`shared::Services::payments`], read at start.
    pub fn new(services: &shared::Services, payments: Payments) -> Self {
        Self {
            store: services.store.clone(),
            tokens: services.tokens.clone(),
            rate_limiter: services.rate_limiter.clone(),
            payments,
        }
    }
}

impl FromRef<OrdersState> for Arc<TokenKeys> {
    fn from_ref(state: &OrdersState) -> Self {
        state.tokens.clone()
    }
}

impl FromRef<OrdersState> for Store {
    fn from_ref(state: &OrdersState) -> Self {
        state.store.clone()
    }
}

impl FromRef<OrdersState> for RateLimiter {
    fn from_ref(state: &OrdersState) -> Self {
        state.rate_limiter.clone()
    }
}

fn api<R: RouteSink<OrdersState>>(sink: R) -> R {
    sink
        // GET, DELETE /v1/cart
        .routes(routes!(cart::get_cart, cart::clear_cart))
        // POST /v1/cart/items
        .routes(routes!(cart::add_item))
        // PUT, DELETE /v1/cart/items/{productId}
        .routes(routes!(cart::set_quantity, cart::remove_item))
        // POST /v1/checkout
        .routes(routes!(checkout::checkout))
        // GET /v1/orders
        .routes(routes!(orders::list_orders))
        // GET /v1/orders/{orderId}
        .routes(routes!(orders::get_order))
        // POST /v1/orders/{orderId}/cancel
        .routes(routes!(orders::cancel_order))
        // GET /v1/orgs/{orgId}/fulfilments
        .routes(routes!(fulfilments::list_fulfilments))
        // GET /v1/orgs/{orgId}/fulfilments/{orderId}
        .routes(routes!(fulfilments::get_fulfilment))
        // POST /v1/orgs/{orgId}/fulfilments/{orderId}/status
        .routes(routes!(fulfilments::advance_fulfilment))
        // POST /v1/orgs/{orgId}/fulfilments/{orderId}/milestones
        .routes(routes!(milestones::record_milestone))
        // GET /v1/admin/orders
        .routes(routes!(admin::list_all_orders))
        // POST /v1/admin/orders/{orderId}/invoice-payment
        .routes(routes!(admin::mark_invoice_paid))
        // POST /v1/admin/orders/{orderId}/refund
        .routes(routes!(admin::refund_order))
        // GET /v1/admin/stats
        .routes(routes!(stats::order_stats))
        // POST /v1/payments/webhook
        .routes(routes!(webhook::payment_webhook))
}

/// The context's routes, without the shared layers (see `shared::http::service`).
pub fn routes(state: OrdersState) -> Router {
    api(Router::new()).with_state(state)
}

/// The OpenAPI description of `routes`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(OpenApiRouter::new()).split_for_parts().1
}
