//! The one transaction that places the order: claims the Idempotency-Key,
//! writes the order (with its started payment) and its payment link and
//! fulfilments, deletes the priced cart, counts the buyer's unpaid card
//! orders and reserves every line's stock, each condition named so a
//! cancellation says which one failed.

use serde::{Deserialize, Serialize};
use shared::http::{ApiError, ApiResult};
use shared::idempotency;
use shared::stock;
use shared::store::{Store, StoreError, Transaction, n};

use super::draft::Draft;
use super::lines::stock_conflict;
use crate::cart::CartRecord;
use crate::lifecycle::{self, Loaded};
use crate::model::{OrderLine, PaymentMethod};
use crate::webhook;

const MAX_ATTEMPTS: u32 = 10;

/// What the Idempotency-Key stores: the order it created.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Created {
    pub(super) order_id: String,
}

pub(super) enum Placed {
    New(Box<Loaded>),
    /// The key was used before, by this request's twin.
    Replay,
}

/// Writes the draft in one transaction; again on a transient conflict.
pub(super) async fn place(
    store: &Store,
    draft: Draft,
    cart: &CartRecord,
    claim: (&str, &str, &str),
) -> ApiResult<Placed> {
    let (scope, key, fingerprint) = claim;
    let result = serde_json::to_value(Created {
        order_id: draft.order.id.clone(),
    })
    .map_err(ApiError::internal)?;
    let mut tx = Transaction::new();
    tx.push(idempotency::claim_item(
        store,
        scope,
        key,
        fingerprint,
        &result,
    )?)
    .named("idempotency-key");
    tx.push(store.transact_put(&draft.order, Some("attribute_not_exists(PK)"))?);
    if let Some(reference) = &draft.order.payment.reference {
        tx.push(webhook::payment_link(store, reference, &draft.order.id)?);
    }
    let (cart_pk, cart_sk) = (cart.pk.as_str(), cart.sk.as_str());
    tx.push(store.transact_delete(
        cart_pk,
        cart_sk,
        Some("version = :v"),
        &[(":v", n(cart.version as i64))],
    )?)
    .named("cart");
    for fulfilment in &draft.fulfilments {
        tx.push(store.transact_put(fulfilment, Some("attribute_not_exists(PK)"))?);
    }
    if draft.order.payment.method == PaymentMethod::Card {
        tx.push(lifecycle::open_unpaid_item(
            store,
            &draft.order.buyer.key(),
        )?)
        .named("unpaid-orders");
    }
    for line in &draft.order.lines {
        let item = if line.made_to_order {
            stock::require_made_to_order_item(store, &line.product_id)?
        } else {
            stock::reserve_item(store, &line.product_id, line.quantity)?
        };
        tx.push(item).named(format!("stock:{}", line.product_id));
    }
    for attempt in 0..MAX_ATTEMPTS {
        match store.transact(tx.clone()).await {
            Ok(()) => {
                return Ok(Placed::New(Box::new(Loaded {
                    order: draft.order,
                    fulfilments: draft.fulfilments,
                })));
            }
            Err(err @ StoreError::TransactionCanceled(_)) => {
                if err.condition_failed("idempotency-key") {
                    // The key holds this very draft's order when an earlier
                    // attempt of this transaction committed but its answer
                    // was lost (an SDK retry after a timeout): it is new.
                    let ours = idempotency::lookup(store, scope, key, fingerprint)
                        .await?
                        .and_then(|stored| serde_json::from_value::<Created>(stored).ok())
                        .is_some_and(|created| created.order_id == draft.order.id);
                    if ours {
                        return Ok(Placed::New(Box::new(Loaded {
                            order: draft.order,
                            fulfilments: draft.fulfilments,
                        })));
                    }
                    return Ok(Placed::Replay);
                }
                if err.condition_failed("cart") {
                    return Err(ApiError::conflict(
                        "the cart changed during checkout; review it and check out again",
                    ));
                }
                if err.condition_failed("unpaid-orders") {
                    return Err(ApiError::conflict(format!(
                        "you have {} unpaid card orders; pay or cancel one before placing another",
                        lifecycle::MAX_UNPAID_CARD_ORDERS
                    )));
                }
                let short: Vec<&OrderLine> = draft
                    .order
                    .lines
                    .iter()
                    .filter(|line| err.condition_failed(&format!("stock:{}", line.product_id)))
                    .collect();
                if !short.is_empty() {
                    return Err(stock_conflict(store, &short).await);
                }
                // No condition failed: a conflicting transaction; try again.
                lifecycle::backoff(attempt).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::conflict(
        "checkout is very busy right now; please retry with the same Idempotency-Key",
    ))
}
