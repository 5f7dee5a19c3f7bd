//! The order's payment: who may pay by invoice, and starting the payment
//! with its provider before the order is placed, so the order is written
//! once, with the payment's reference, in the checkout's one transaction.

use serde_json::json;
use shared::domain::Money;
use shared::http::{ApiError, ApiResult};
use shared::payments::{
    PaymentError, PaymentProvider, PaymentRequest, PaymentStart, PaymentStatus,
};
use shared::store::Store;

use crate::OrdersState;
use crate::lifecycle::{self, Canceller, Loaded, Outcome, Plan};
use crate::model::{Buyer, OrderRecord, OrderStatus, PaymentMethod, PaymentState};
use crate::webhook;

/// Invoices are for organizations a platform admin verified.
pub(super) async fn require_invoice_allowed(store: &Store, buyer: &Buyer) -> ApiResult<()> {
    let Some(org_id) = &buyer.org_id else {
        return Err(ApiError::invalid_field(
            "paymentMethod",
            "invoice payment is for organizations: check out with ?orgId=",
        ));
    };
    let org = store
        .get::<serde_json::Value>(&format!("ORG#{org_id}"), "PROFILE")
        .await?
        .ok_or_else(|| ApiError::not_found("no such organization"))?;
    if org["verification"]["businessVerified"] != json!(true) {
        return Err(ApiError::invalid_field(
            "paymentMethod",
            "invoice payment needs a verified organization; pay by card",
        ));
    }
    Ok(())
}

/// Asks the order's provider to start its payment. Stripe's idempotency key
/// is the order id, so a repeat for the same order is harmless.
async fn start_with_provider(
    state: &OrdersState,
    order: &OrderRecord,
) -> ApiResult<Result<PaymentStart, PaymentError>> {
    let amount =
        Money::parse(order.totals.total, &order.totals.currency).map_err(ApiError::internal)?;
    let request = PaymentRequest {
        order_id: order.id.clone(),
        amount,
        description: format!("Bodega order {}", order.id),
    };
    Ok(match order.payment.method {
        PaymentMethod::Card => match &state.payments.stripe {
            Some(stripe) => stripe.start(&request).await,
            None => Err(PaymentError::NotConfigured),
        },
        PaymentMethod::Invoice => state.payments.invoice.start(&request).await,
    })
}

/// Starts the payment of a draft order, before anything is written: a
/// refusal is a 402 and an unavailable provider a 503, and either way no
/// order exists and no stock is held. What the provider answers goes into
/// the draft, to be written with it.
pub(super) async fn start_payment(
    state: &OrdersState,
    order: &mut OrderRecord,
) -> ApiResult<PaymentStart> {
    let started = match start_with_provider(state, order).await? {
        Ok(started) => started,
        Err(PaymentError::Rejected(message)) => {
            return Err(ApiError::payment_failed(format!(
                "the payment could not be started: {message}"
            )));
        }
        Err(err) => {
            tracing::warn!(order_id = %order.id, error = %err, "the payment could not be started");
            return Err(ApiError::unavailable(anyhow::anyhow!(err)).with_details(json!({
                "dependency": "payments",
                "retry": "nothing was placed and no stock is held; send the same request with the same Idempotency-Key",
            })));
        }
    };
    order.payment.reference = Some(started.reference.clone());
    order.payment.client_secret = started.client_secret.clone();
    if started.status == PaymentStatus::Failed {
        order.payment.state = PaymentState::Failed;
    }
    Ok(started)
}

/// Cancels, best effort, a payment started for an order that was not
/// placed (its stock ran out, the cart changed, a twin request won), so it
/// can never be paid. A failure is logged: the payment has no client
/// secret anywhere and the provider lets it lapse.
pub(super) async fn abandon_payment(state: &OrdersState, method: PaymentMethod, reference: &str) {
    let voided = match method {
        PaymentMethod::Card => match &state.payments.stripe {
            Some(stripe) => stripe.void(reference).await,
            None => Ok(()),
        },
        PaymentMethod::Invoice => state.payments.invoice.void(reference).await,
    };
    match voided {
        Ok(()) => tracing::info!(
            reference,
            "the payment of an order not placed was cancelled"
        ),
        Err(err) => {
            tracing::warn!(reference, error = %err, "the payment of an order not placed could not be cancelled")
        }
    }
}

/// A provider that took the payment as it started it: the order, placed
/// pending, becomes paid (stock committed) in a second transaction, a real
/// change of state.
pub(super) async fn settle_if_paid(
    state: &OrdersState,
    loaded: Loaded,
    started: &PaymentStart,
) -> ApiResult<Loaded> {
    if started.status != PaymentStatus::Succeeded {
        return Ok(loaded);
    }
    let outcome = lifecycle::transition(&state.store, &loaded.order.id, |l| {
        lifecycle::plan_pay(&state.store, l, "stripe", Some(&started.reference))
    })
    .await?;
    Ok(match outcome {
        Outcome::Applied(after) | Outcome::Unchanged(after) => after,
        Outcome::Duplicate => loaded,
    })
}

/// Starts the payment of an order placed without one (placed before
/// payments started ahead of placement), unless it has started: a replay
/// of such an order's checkout finishes it.
pub async fn ensure_payment(state: &OrdersState, loaded: Loaded) -> ApiResult<Loaded> {
    let order = &loaded.order;
    if order.payment.reference.is_some() || order.status != OrderStatus::PendingPayment {
        return Ok(loaded);
    }
    let started = match start_with_provider(state, order).await? {
        Ok(started) => started,
        Err(PaymentError::Rejected(message)) => {
            // The provider will not take this payment: give the stock back.
            let reason = format!("the payment could not be started: {message}");
            lifecycle::transition(&state.store, &order.id, |l| {
                lifecycle::plan_cancel(
                    &state.store,
                    l,
                    Canceller::Admin,
                    "system",
                    Some(reason.clone()),
                )
            })
            .await?;
            return Err(
                ApiError::payment_failed(reason).with_details(json!({ "orderId": order.id }))
            );
        }
        Err(err) => {
            tracing::warn!(order_id = %order.id, error = %err, "the payment could not be started");
            return Err(ApiError::unavailable(anyhow::anyhow!(err)).with_details(json!({
                "orderId": order.id,
                "retry": "the order is placed and its stock held; send the same request with the same Idempotency-Key to start the payment",
            })));
        }
    };
    let outcome = lifecycle::transition(&state.store, &order.id, |l| {
        if l.order.payment.reference.is_some() {
            return Ok(None);
        }
        let link = webhook::payment_link(&state.store, &started.reference, &l.order.id)?;
        let mut plan = if started.status == PaymentStatus::Succeeded {
            match lifecycle::plan_pay(&state.store, l, "stripe", Some(&started.reference))? {
                Some(plan) => plan,
                None => return Ok(None),
            }
        } else {
            let mut order = l.order.clone();
            order.payment.reference = Some(started.reference.clone());
            if started.status == PaymentStatus::Failed {
                order.payment.state = PaymentState::Failed;
            }
            Plan::of(order)
        };
        plan.order.payment.client_secret = started.client_secret.clone();
        plan.guards.push(link);
        Ok(Some(plan))
    })
    .await?;
    Ok(match outcome {
        Outcome::Applied(after) | Outcome::Unchanged(after) => after,
        Outcome::Duplicate => loaded,
    })
}
