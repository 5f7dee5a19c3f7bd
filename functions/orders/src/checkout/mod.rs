//! `POST /v1/checkout`: the cart becomes an order in one transaction.
//!
//! Prices come from the products as they are now (their tier for the
//! quantity), never from the client. The order's id is known from its
//! draft, so the payment starts first (a Stripe PaymentIntent the browser
//! confirms, whose idempotency key is the order id, or an invoice): a
//! refusal (402) or an unavailable provider (503) writes nothing and holds
//! no stock. Then one TransactWriteItems writes the order (once, with the
//! payment's reference and client secret), the payment link, one
//! fulfilment per seller, reserves every line's stock on the condition
//! that enough is available, deletes the cart (only if it is the cart that
//! was priced) and claims the Idempotency-Key with its result. Any failed
//! condition cancels it all: a 409 names the products short of stock,
//! nothing is written, and the payment just started is cancelled. A
//! placement whose outcome is unknown (an answer lost) keeps its payment:
//! the order may hold it, and a retry with the key answers with that order.

mod draft;
mod lines;
mod payment;
mod place;
mod request;
mod saved_address;

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use shared::contracts::product::ProductForSale;
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, StepContext,
};
use shared::idempotency::{self, IdempotencyKey};

pub use lines::LineProblem;
pub use payment::ensure_payment;
pub use request::{AddressInput, CheckoutRequest};

use crate::OrdersState;
use crate::buyer::{BuyerParams, Purchaser};
use crate::cart;
use crate::lifecycle;
use crate::model::{Buyer, OrderView, PaymentMethod};
use draft::draft;
use lines::price_cart;
use payment::{abandon_payment, require_invoice_allowed, settle_if_paid, start_payment};
use place::{Created, Placed, place};
use request::{Checkout, validate};

/// An unpaid card order is cancelled this long after checkout.
pub const PAYMENT_WINDOW_SECS: i64 = 30 * 60;
/// DynamoDB's limit on one TransactWriteItems.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// Items a checkout writes besides its lines and fulfilments: the order,
/// the payment link, the cart, the idempotency key and (card orders) the
/// buyer's unpaid-order count.
const FIXED_ITEMS: usize = 5;

/// Places the order for the cart. Send an `Idempotency-Key`: a retry with
/// the same key and body returns the first order (200,
/// `Idempotent-Replayed: true`), never a second one; the same key with
/// another body is a 422. Keys are kept 24 hours.
#[utoipa::path(
    post,
    path = "/v1/checkout",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        BuyerParams,
        ("Idempotency-Key" = String, Header, description = "Required: 1 to 255 visible ASCII characters, unique per checkout attempt", min_length = 1, max_length = 255, pattern = r"^[\x21-\x7e]+$"),
    ),
    request_body = CheckoutRequest,
    responses(
        (status = 201, description = "The order, pending payment; for card payments `payment.clientSecret` is for Stripe.js", body = Envelope<OrderView>),
        (status = 200, description = "A replay: the order this Idempotency-Key placed", body = Envelope<OrderView>),
        (status = 400, description = "No Idempotency-Key, or the body is not JSON", body = ErrorEnvelope),
        (status = 403, description = "No order:create permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such organization (or not the caller's), or shippingAddressId / billingAddressId names no address of the buyer's address book", body = ErrorEnvelope),
        (status = 409, description = "Products short of stock or no longer for sale (details.lines names them), the total differs from expectedTotal (details.totals), the cart changed meanwhile, or too many unpaid card orders; nothing was written", body = ErrorEnvelope),
        (status = 402, description = "The payment provider refused the payment; no order was placed and no stock held", body = ErrorEnvelope),
        (status = 422, description = "Invalid addresses (or both an address and its id) or payment method, an empty cart, a cart too large for one checkout, invoice without a verified organization, or the Idempotency-Key was used for another request", body = ErrorEnvelope),
        (status = 503, description = "A dependency (the payment provider, the database) is unavailable; retry with the same Idempotency-Key", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(order_id))]
pub async fn checkout(
    State(state): State<OrdersState>,
    Purchaser(buyer): Purchaser,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<CheckoutRequest>,
) -> ApiResult<ApiResponse<serde_json::Value>> {
    let store = &state.store;
    let key = key.ok_or_else(|| {
        ApiError::bad_request(
            "send an Idempotency-Key header: a retry with the same key never orders twice",
        )
    })?;
    let checkout = validate(&request)?;
    if checkout.method == PaymentMethod::Card {
        // Without a card provider the order could never be paid: refuse it
        // before any stock is held.
        state.payments.card()?;
    }
    let scope = format!("checkout:{}", buyer.key());
    let fingerprint = serde_json::to_string(&request).map_err(ApiError::internal)?;
    if let Some(stored) = idempotency::lookup(store, &scope, &key, &fingerprint)
        .await
        .context("looking up the idempotency key")?
    {
        return replay(&state, stored).await;
    }
    match place_fresh(&state, &buyer, &checkout, (&scope, &key, &fingerprint)).await {
        Ok(Placed::New(loaded)) => {
            shared::metrics::count("OrdersPlaced", 1);
            let data = serde_json::to_value(OrderView::for_buyer(loaded.order))
                .map_err(ApiError::internal)?;
            Ok(ApiResponse::ok(data).with_status(StatusCode::CREATED))
        }
        Ok(Placed::Replay) => {
            let stored = idempotency::lookup(store, &scope, &key, &fingerprint)
                .await?
                .ok_or_else(|| ApiError::conflict("retry shortly"))?;
            replay(&state, stored).await
        }
        Err(err) => {
            // A twin request with this key may have just placed the order
            // (and emptied the cart, or taken the stock): answer with it.
            match idempotency::lookup(store, &scope, &key, &fingerprint).await {
                Ok(Some(stored)) => replay(&state, stored).await,
                _ => Err(err),
            }
        }
    }
}

/// Prices the cart and places the order, or says why not.
async fn place_fresh(
    state: &OrdersState,
    buyer: &Buyer,
    checkout: &Checkout,
    claim: (&str, &str, &str),
) -> ApiResult<Placed> {
    let store = &state.store;
    if checkout.method == PaymentMethod::Invoice {
        require_invoice_allowed(store, buyer)
            .await
            .context("checking the buyer may pay by invoice")?;
    }
    let cart = cart::load_cart(store, buyer)
        .await
        .context("loading the cart")?
        .filter(|c| !c.lines.is_empty())
        .ok_or_else(|| ApiError::invalid_field("cart", "the cart is empty"))?;
    let products: BTreeMap<String, ProductForSale> =
        cart::load_products(store, cart.lines.iter().map(|l| l.product_id.as_str()))
            .await
            .context("loading the cart's products")?
            .into_iter()
            .collect();
    let (currency, lines) = price_cart(&cart, &products)?;
    let ship_to = saved_address::resolve(store, buyer, checkout)
        .await
        .context("reading the saved addresses")?;
    let mut draft = draft(buyer, checkout, &ship_to, currency, lines)?;
    if let Some(expected) = checkout.expected_total
        && expected != draft.order.totals.total
    {
        return Err(ApiError::conflict(format!(
            "the total is now {} (minor units), not {expected}: prices changed; review the cart",
            draft.order.totals.total
        ))
        .with_details(json!({ "totals": draft.order.totals })));
    }
    let fixed = FIXED_ITEMS - usize::from(draft.order.payment.method != PaymentMethod::Card);
    let items = fixed + draft.order.lines.len() + draft.fulfilments.len();
    if items > MAX_TRANSACTION_ITEMS {
        return Err(ApiError::invalid_field(
            "cart",
            format!(
                "this cart needs {items} writes in one checkout, more than the {MAX_TRANSACTION_ITEMS} allowed \
                 ({fixed} + one per product + one per seller); split it into smaller orders"
            ),
        ));
    }
    tracing::Span::current().record("order_id", draft.order.id.as_str());
    let method = draft.order.payment.method;
    let started = start_payment(state, &mut draft.order).await?;
    match place(store, draft, &cart, claim).await {
        Ok(Placed::New(loaded)) => {
            let loaded = settle_if_paid(state, *loaded, &started)
                .await
                .context("recording the payment taken at once")?;
            Ok(Placed::New(Box::new(loaded)))
        }
        Ok(Placed::Replay) => {
            // A twin request placed the order, with its own payment: this
            // one must never be paid.
            abandon_payment(state, method, &started.reference).await;
            Ok(Placed::Replay)
        }
        Err(err) if err.status() == StatusCode::CONFLICT => {
            // A named condition failed (stock, cart, unpaid orders) or the
            // transaction kept conflicting: it was cancelled, nothing placed.
            abandon_payment(state, method, &started.reference).await;
            Err(err)
        }
        Err(err) => {
            // Outcome unknown (the database unavailable, an answer lost):
            // the order may be placed with this very payment, which must
            // then stay payable. If it was not placed, no one holds the
            // payment's client secret and the provider lets it lapse.
            Err(err)
        }
    }
}

async fn replay(
    state: &OrdersState,
    stored: serde_json::Value,
) -> ApiResult<ApiResponse<serde_json::Value>> {
    let created: Created = serde_json::from_value(stored).map_err(ApiError::internal)?;
    let loaded = lifecycle::load(&state.store, &created.order_id)
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("an idempotency key names a missing order"))
        })?;
    let loaded = ensure_payment(state, loaded).await?;
    let data =
        serde_json::to_value(OrderView::for_buyer(loaded.order)).map_err(ApiError::internal)?;
    Ok(idempotency::replayed(data))
}
