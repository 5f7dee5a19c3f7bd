//! `POST /v1/payments/webhook`: Stripe tells us what happened to a payment.
//!
//! The `Stripe-Signature` header is checked first (HMAC-SHA256 of the raw
//! body with the endpoint's secret, within five minutes of its timestamp);
//! anything else is a 400 and changes nothing. Each handled event writes a
//! marker `WEBHOOK#<eventId>` in the same transaction as its change, so a
//! redelivered event changes nothing twice. Events for orders we do not
//! know are acknowledged and ignored; a 503 makes Stripe deliver again.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use shared::domain::{now_epoch, now_rfc3339};
use shared::http::{ApiError, ApiResponse, ApiResult, Envelope, ErrorEnvelope, StepContext};
use shared::payments::webhook::{self, WebhookError, WebhookEvent};
use shared::store::{Store, StoreError};
use utoipa::ToSchema;

use crate::OrdersState;
use crate::lifecycle::{self, Loaded, Outcome, Plan};
use crate::model::{OrderStatus, PaymentState, Refund, RefundState};
use crate::orders::settle_refund;

/// Markers of handled events live 30 days (Stripe retries for 3).
const MARKER_TTL_SECS: i64 = 30 * 24 * 3600;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventMarker {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    event_type: String,
    order_id: String,
    received_at: String,
    ttl: i64,
}

fn marker(
    store: &Store,
    event: &WebhookEvent,
    order_id: &str,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    let record = EventMarker {
        pk: format!("WEBHOOK#{}", event.id),
        sk: "EVENT".into(),
        item_type: "WEBHOOK_EVENT".into(),
        event_type: event.kind.clone(),
        order_id: order_id.to_owned(),
        received_at: now_rfc3339(),
        ttl: now_epoch() + MARKER_TTL_SECS,
    };
    store.transact_put(&record, Some("attribute_not_exists(PK)"))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookReceipt {
    /// `applied`, `duplicate` (seen before) or `ignored` (not ours, or no change).
    #[schema(example = "applied")]
    pub outcome: &'static str,
}

fn receipt(outcome: &'static str) -> ApiResponse<WebhookReceipt> {
    ApiResponse::ok(WebhookReceipt { outcome })
}

fn with_guard(mut plan: Plan, store: &Store, event: &WebhookEvent) -> ApiResult<Option<Plan>> {
    plan.guards.push(marker(store, event, &plan.order.id)?);
    Ok(Some(plan))
}

fn amount_matches(loaded: &Loaded, object: &Value) -> bool {
    let totals = &loaded.order.totals;
    object["amount"].as_i64() == Some(totals.total)
        && object["currency"]
            .as_str()
            .is_some_and(|c| c.eq_ignore_ascii_case(&totals.currency))
}

/// Decides what one event does to the order it names.
fn plan_event(store: &Store, event: &WebhookEvent, loaded: &Loaded) -> ApiResult<Option<Plan>> {
    let order = &loaded.order;
    match event.kind.as_str() {
        "payment_intent.succeeded" => {
            if !amount_matches(loaded, &event.object) {
                tracing::error!(order_id = %order.id, event_id = %event.id, "a payment's amount does not match its order; not applied");
                return Ok(None);
            }
            let reference = event.payment_intent();
            if order.status == OrderStatus::Cancelled {
                // Paid after it was cancelled (e.g. expired): give the money back.
                if order.payment.state == PaymentState::Succeeded || order.payment.refund.is_some()
                {
                    return Ok(None);
                }
                let mut next = order.clone();
                next.payment.state = PaymentState::Succeeded;
                next.payment.reference = reference.map(str::to_owned).or(next.payment.reference);
                next.payment.refund = Some(Refund::pending(
                    order.totals.total,
                    now_rfc3339(),
                    "system",
                    Some("paid after the order was cancelled".into()),
                ));
                let plan = Plan::of(next);
                return with_guard(plan, store, event);
            }
            match lifecycle::plan_pay(store, loaded, "stripe", reference)? {
                Some(plan) => with_guard(plan, store, event),
                None => Ok(None),
            }
        }
        "payment_intent.payment_failed" => {
            if order.status != OrderStatus::PendingPayment {
                return Ok(None);
            }
            let mut next = order.clone();
            next.payment.state = PaymentState::Failed;
            next.payment.last_error = Some(
                event.object["last_payment_error"]["message"]
                    .as_str()
                    .unwrap_or("the payment failed")
                    .chars()
                    .take(300)
                    .collect(),
            );
            let plan = Plan::of(next);
            with_guard(plan, store, event)
        }
        "charge.refunded" => {
            let amount = event.object["amount"].as_i64().unwrap_or(0);
            let refunded = event.object["amount_refunded"].as_i64().unwrap_or(0);
            if refunded < amount || amount == 0 {
                // Partial refunds are made by hand; the order stays as it is.
                return Ok(None);
            }
            let refund_id = event.object["refunds"]["data"][0]["id"]
                .as_str()
                .map(str::to_owned);
            let mut plan = match order.status {
                OrderStatus::Paid
                | OrderStatus::Fulfilling
                | OrderStatus::Shipped
                | OrderStatus::Delivered => {
                    match lifecycle::plan_refund(
                        store,
                        loaded,
                        "stripe",
                        Some("refunded in Stripe".into()),
                    )? {
                        Some(plan) => plan,
                        None => return Ok(None),
                    }
                }
                _ => Plan::of(order.clone()),
            };
            let Some(refund) = plan.order.payment.refund.as_mut() else {
                return Ok(None);
            };
            if refund.state == RefundState::Succeeded {
                return Ok(None);
            }
            refund.state = RefundState::Succeeded;
            refund.error = None;
            if refund.reference.is_none() {
                refund.reference = refund_id;
            }
            plan.order.payment.state = PaymentState::Refunded;
            with_guard(plan, store, event)
        }
        _ => Ok(None),
    }
}

/// Receives Stripe's events (payment_intent.succeeded,
/// payment_intent.payment_failed, charge.refunded). Only requests signed
/// with the endpoint's secret are read.
#[utoipa::path(
    post,
    path = "/v1/payments/webhook",
    tag = "orders",
    params(("Stripe-Signature" = String, Header, description = "t=<unix time>,v1=<HMAC-SHA256 of \"t.body\">")),
    request_body(content = String, description = "The Stripe event, as Stripe sent it", content_type = "application/json"),
    responses(
        (status = 200, description = "Received (applied, a duplicate, or not for us)", body = Envelope<WebhookReceipt>),
        (status = 400, description = "Missing, malformed, wrong or expired signature, or not an event", body = ErrorEnvelope),
        (status = 503, description = "Not configured, or a dependency is down: Stripe retries", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(event_id, order_id))]
pub async fn payment_webhook(
    State(state): State<OrdersState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ApiResponse<WebhookReceipt>> {
    let Some(secret) = state.payments.webhook_secret.as_deref() else {
        return Err(ApiError::unavailable(anyhow::anyhow!(
            "STRIPE_WEBHOOK_SECRET is not configured"
        )));
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let event = webhook::verify(&body, signature, secret, now_epoch()).map_err(|err| {
        let message = match err {
            WebhookError::MissingSignature => "the Stripe-Signature header is missing",
            WebhookError::Malformed => "the Stripe-Signature header is malformed",
            WebhookError::BadSignature => "the signature does not match",
            WebhookError::Expired => "the signature is too old or from the future",
            WebhookError::BadPayload => "the body is not a Stripe event",
        };
        tracing::warn!(reason = message, "a webhook was refused");
        shared::metrics::count("WebhooksRefused", 1);
        ApiError::bad_request(message)
    })?;
    tracing::Span::current().record("event_id", event.id.as_str());
    let Some(order_id) = order_of(&state.store, &event)
        .await
        .context("finding the event's order")?
    else {
        return Ok(receipt("ignored"));
    };
    tracing::Span::current().record("order_id", order_id.as_str());
    let outcome = match lifecycle::transition(&state.store, &order_id, |loaded| {
        plan_event(&state.store, &event, loaded)
    })
    .await
    {
        Ok(outcome) => outcome,
        Err(err) if err.status() == axum::http::StatusCode::NOT_FOUND => {
            return Ok(receipt("ignored"));
        }
        Err(err) if err.status() == axum::http::StatusCode::CONFLICT => {
            tracing::warn!(error = %err, "a webhook event does not apply to its order");
            return Ok(receipt("ignored"));
        }
        Err(err) => return Err(err.context("applying the event to the order")),
    };
    match outcome {
        Outcome::Applied(loaded) => {
            match event.kind.as_str() {
                "payment_intent.succeeded" => shared::metrics::count("PaymentsSucceeded", 1),
                "payment_intent.payment_failed" => shared::metrics::count("PaymentsFailed", 1),
                _ => {}
            }
            settle_refund(&state, loaded)
                .await
                .context("refunding the payment")?;
            Ok(receipt("applied"))
        }
        Outcome::Unchanged(_) => Ok(receipt("ignored")),
        Outcome::Duplicate => Ok(receipt("duplicate")),
    }
}

/// The order an event is about: the payment's `metadata.order_id`, or for
/// a charge, the order its payment intent was recorded for.
async fn order_of(store: &Store, event: &WebhookEvent) -> ApiResult<Option<String>> {
    if let Some(order_id) = event.order_id() {
        return Ok(Some(order_id.to_owned()));
    }
    let Some(intent) = event.payment_intent() else {
        return Ok(None);
    };
    let link = store
        .get::<Value>(&payment_link_pk(intent), PAYMENT_LINK_SK)
        .await?;
    Ok(link.and_then(|l| l["orderId"].as_str().map(str::to_owned)))
}

pub const PAYMENT_LINK_SK: &str = "PAYMENT";

/// `PAYMENT#<reference> / PAYMENT`: which order a provider payment pays.
pub fn payment_link_pk(reference: &str) -> String {
    format!("PAYMENT#{reference}")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentLink {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub order_id: String,
}

/// The link written with the payment's reference, for events that only
/// name the payment.
pub fn payment_link(
    store: &Store,
    reference: &str,
    order_id: &str,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    store.transact_put(
        &PaymentLink {
            pk: payment_link_pk(reference),
            sk: PAYMENT_LINK_SK.into(),
            item_type: "PAYMENT_LINK".into(),
            order_id: order_id.to_owned(),
        },
        None,
    )
}
