//! The order's payment: who may pay by invoice, and starting the payment
//! with its provider once the order is placed.

use serde_json::json;
use shared::domain::Money;
use shared::http::{ApiError, ApiResult};
use shared::payments::{PaymentError, PaymentProvider, PaymentRequest, PaymentStatus};
use shared::store::Store;

use crate::OrdersState;
use crate::lifecycle::{self, Canceller, Loaded, Outcome, Plan};
use crate::model::{Buyer, OrderStatus, PaymentMethod, PaymentState};
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

/// Starts the order's payment with its provider unless it has started:
/// Stripe's idempotency key (the order id) makes a repeat harmless.
pub async fn ensure_payment(state: &OrdersState, loaded: Loaded) -> ApiResult<Loaded> {
    let order = &loaded.order;
    if order.payment.reference.is_some() || order.status != OrderStatus::PendingPayment {
        return Ok(loaded);
    }
    let amount =
        Money::parse(order.totals.total, &order.totals.currency).map_err(ApiError::internal)?;
    let request = PaymentRequest {
        order_id: order.id.clone(),
        amount,
        description: format!("Bodega order {}", order.id),
    };
    let started = match order.payment.method {
        PaymentMethod::Card => match &state.payments.stripe {
            Some(stripe) => stripe.start(&request).await,
            None => Err(PaymentError::NotConfigured),
        },
        PaymentMethod::Invoice => state.payments.invoice.start(&request).await,
    };
    let started = match started {
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
