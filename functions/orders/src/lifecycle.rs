//! Every change of an order after checkout, through one engine.
//!
//! A transition loads the order and its fulfilments (one consistent Query
//! of the order's partition), decides on the loaded state, and writes its
//! decision in one TransactWriteItems: the order and each changed
//! fulfilment replaced only while their `version` is what was read, plus
//! the stock moves. If anyone changed the order meanwhile the transaction
//! is cancelled, the engine reads again and decides again. So concurrent
//! actors (two expiry sweeps, a webhook and a buyer cancelling) serialize:
//! each change applies once, and stock moves with it or not at all.
//!
//! The rules of which transition is allowed from where live here too:
//! an invalid one is a 409 naming the order's status.

use std::time::Duration;

use aws_sdk_dynamodb::types::TransactWriteItem;
use shared::domain::now_rfc3339;
use shared::http::ApiError;
use shared::stock;
use shared::store::{Item, Store, StoreError, Transaction, Update, from_item, n};

use crate::model::{
    FULFILMENT_TYPE, FulfilmentRecord, FulfilmentStatus, HistoryEntry, ORDER_TYPE, OrderRecord,
    OrderStatus, PaymentMethod, PaymentState, Refund, order_pk, status_partition,
};

const MAX_ATTEMPTS: u32 = 10;

/// An order with its fulfilments, as read.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub order: OrderRecord,
    pub fulfilments: Vec<FulfilmentRecord>,
}

/// What a transition writes.
pub struct Plan {
    pub order: OrderRecord,
    /// Only the fulfilments that change.
    pub fulfilments: Vec<FulfilmentRecord>,
    /// Counter moves: stock (`shared::stock::*_item`) and the buyer's
    /// unpaid-order count.
    pub moves: Vec<TransactWriteItem>,
    /// Items with their own conditions (e.g. a webhook event's marker); if
    /// one fails, the change was already made: the outcome is `Duplicate`.
    pub guards: Vec<TransactWriteItem>,
}

impl Plan {
    /// A plan that writes only `order`.
    pub fn of(order: OrderRecord) -> Self {
        Self {
            order,
            fulfilments: Vec::new(),
            moves: Vec::new(),
            guards: Vec::new(),
        }
    }
}

/// The item counting a buyer's unpaid card orders (`BUYER#<buyer> /
/// UNPAID_ORDERS`): checkout adds one on the condition that fewer than
/// [`MAX_UNPAID_CARD_ORDERS`] are open, and payment, cancellation and expiry
/// take it back in their own transactions. It stops one buyer from holding
/// stock with unpaid orders (each holds it up to 30 minutes).
pub const MAX_UNPAID_CARD_ORDERS: i64 = 5;

fn unpaid_update(buyer_key: &str, delta: i64) -> Update {
    let update = Update::new(
        format!("BUYER#{buyer_key}"),
        "UNPAID_ORDERS",
        "ADD #open :delta",
    )
    .name("#open", "openCardOrders")
    .value(":delta", n(delta));
    if delta > 0 {
        update
            .condition("attribute_not_exists(#open) OR #open < :max")
            .value(":max", n(MAX_UNPAID_CARD_ORDERS))
    } else {
        update
    }
}

/// Checkout's claim of one more unpaid card order for `buyer_key`.
pub fn open_unpaid_item(store: &Store, buyer_key: &str) -> Result<TransactWriteItem, StoreError> {
    store.transact_update(unpaid_update(buyer_key, 1))
}

/// The unpaid card order leaves the count (paid, cancelled or expired).
fn close_unpaid(store: &Store, order: &OrderRecord, plan: &mut Plan) -> Result<(), StoreError> {
    if order.status == OrderStatus::PendingPayment && order.payment.method == PaymentMethod::Card {
        plan.moves
            .push(store.transact_update(unpaid_update(&order.buyer.key(), -1))?);
    }
    Ok(())
}

#[derive(Debug)]
pub enum Outcome {
    Applied(Loaded),
    /// Nothing to do: the order is already where the transition leads.
    Unchanged(Loaded),
    /// A guard failed: this exact change was made before.
    Duplicate,
}

pub async fn load(store: &Store, order_id: &str) -> Result<Option<Loaded>, StoreError> {
    let items = store.partition_items(&order_pk(order_id)).await?;
    let mut order = None;
    let mut fulfilments = Vec::new();
    for item in items {
        match item_type(&item) {
            Some(ORDER_TYPE) => order = Some(from_item::<OrderRecord>(item)?),
            Some(FULFILMENT_TYPE) => fulfilments.push(from_item::<FulfilmentRecord>(item)?),
            _ => {}
        }
    }
    Ok(order.map(|order| Loaded { order, fulfilments }))
}

fn item_type(item: &Item) -> Option<&str> {
    item.get("type")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// Loads the order, lets `decide` plan the change, and writes it; again
/// from a fresh read whenever a concurrent change wins.
pub async fn transition(
    store: &Store,
    order_id: &str,
    mut decide: impl FnMut(&Loaded) -> Result<Option<Plan>, ApiError>,
) -> Result<Outcome, ApiError> {
    for attempt in 0..MAX_ATTEMPTS {
        let loaded = load(store, order_id)
            .await?
            .ok_or_else(|| ApiError::not_found("no such order"))?;
        let Some(mut plan) = decide(&loaded)? else {
            return Ok(Outcome::Unchanged(loaded));
        };
        let now = now_rfc3339();
        plan.order.updated_at = now.clone();
        for fulfilment in &mut plan.fulfilments {
            fulfilment.updated_at = now.clone();
        }
        let tx = transaction(store, &loaded, &plan)?;
        match store.transact(tx).await {
            Ok(()) => return Ok(Outcome::Applied(applied(&loaded, plan))),
            Err(err @ StoreError::TransactionCanceled(_)) => {
                if err.condition_failed(GUARD) {
                    return Ok(Outcome::Duplicate);
                }
                if !err.condition_failed(VERSION) && err.condition_failed(MOVE) {
                    return Err(ApiError::internal(anyhow::anyhow!(
                        "a stock move of order {order_id} was refused: {err}"
                    )));
                }
                // A concurrent change won (or DynamoDB saw a conflict): read again.
                backoff(attempt).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::conflict(
        "the order is being changed by someone else; please retry",
    ))
}

/// The order and fulfilments as they are after `plan` was written.
fn applied(loaded: &Loaded, plan: Plan) -> Loaded {
    let mut after = loaded.clone();
    after.order = plan.order;
    after.order.version = loaded.order.version + 1;
    after.order.gsi2pk = status_partition(after.order.status);
    for changed in plan.fulfilments {
        if let Some(slot) = after
            .fulfilments
            .iter_mut()
            .find(|f| f.seller_org_id == changed.seller_org_id)
        {
            let version = slot.version + 1;
            *slot = changed;
            slot.version = version;
        }
    }
    after
}

/// The names of a transition's writes: every write of a group has its
/// group's name, since what a failure means depends only on the group.
const VERSION: &str = "version";
const MOVE: &str = "move";
const GUARD: &str = "guard";

/// The order and the changed fulfilments (each guarded by its version), the
/// counter moves and the guards, in one transaction.
fn transaction(store: &Store, loaded: &Loaded, plan: &Plan) -> Result<Transaction, ApiError> {
    let mut tx = Transaction::new();
    let mut order = plan.order.clone();
    order.version = loaded.order.version + 1;
    order.gsi2pk = status_partition(order.status);
    tx.push(store.transact_put_if_version(&order, loaded.order.version)?)
        .named(VERSION);
    for changed in &plan.fulfilments {
        let read = loaded
            .fulfilments
            .iter()
            .find(|f| f.seller_org_id == changed.seller_org_id)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("planned an unknown fulfilment")))?;
        let mut next = changed.clone();
        next.version = read.version + 1;
        tx.push(store.transact_put_if_version(&next, read.version)?)
            .named(VERSION);
    }
    for item in &plan.moves {
        tx.push(item.clone()).named(MOVE);
    }
    for item in &plan.guards {
        tx.push(item.clone()).named(GUARD);
    }
    Ok(tx)
}

/// A short, growing, jittered pause before reading again.
pub async fn backoff(attempt: u32) {
    let base = 10_u64 * u64::from(attempt + 1);
    let jitter = rand::random_range(0..=base);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

fn conflict_from(status: OrderStatus, action: &str) -> ApiError {
    ApiError::conflict(format!("a {status} order cannot be {action}"))
}

/// What cancelling or refunding does to stock and fulfilments: every
/// fulfilment not yet shipped is cancelled, and its units go back on sale
/// (released from the reservation before payment, restocked after).
/// Whether the order's lines hold catalog stock: a checkout reserves it;
/// an order placed from an awarded proposal (`sourcedFrom`) reserves none
/// (its goods are made or sourced for it), so its payment commits and its
/// cancellation releases nothing.
fn holds_stock(order: &OrderRecord) -> bool {
    order.sourced_from.is_none()
}

fn unwind(
    store: &Store,
    loaded: &Loaded,
    entry: &HistoryEntry,
    plan: &mut Plan,
) -> Result<(), ApiError> {
    let paid = loaded.order.status != OrderStatus::PendingPayment;
    let holds_stock = holds_stock(&loaded.order);
    for fulfilment in &loaded.fulfilments {
        if !matches!(
            fulfilment.status,
            FulfilmentStatus::PendingPayment
                | FulfilmentStatus::Paid
                | FulfilmentStatus::Fulfilling
        ) {
            continue;
        }
        for line in fulfilment
            .lines
            .iter()
            .filter(|l| holds_stock && !l.made_to_order)
        {
            let item = if paid {
                stock::adjust_item(store, &line.product_id, line.quantity)
            } else {
                stock::release_item(store, &line.product_id, line.quantity)
            };
            plan.moves.push(item.map_err(ApiError::from)?);
        }
        let mut cancelled = fulfilment.clone();
        cancelled.status = FulfilmentStatus::Cancelled;
        cancelled.history.push(entry.clone());
        plan.fulfilments.push(cancelled);
    }
    Ok(())
}

fn base_plan(loaded: &Loaded, status: OrderStatus, entry: HistoryEntry) -> Plan {
    let mut order = loaded.order.clone();
    order.status = status;
    order.history.push(entry);
    Plan::of(order)
}

/// Leaves the expiry queue (the order no longer waits for a card payment).
fn dequeue(order: &mut OrderRecord) {
    order.gsi4pk = None;
    order.gsi4sk = None;
    order.expires_at = None;
}

/// pending_payment → paid: the reservation becomes a sale (reserved stock
/// is taken for good) and every fulfilment becomes ready.
pub fn plan_pay(
    store: &Store,
    loaded: &Loaded,
    by: &str,
    reference: Option<&str>,
) -> Result<Option<Plan>, ApiError> {
    match loaded.order.status {
        OrderStatus::PendingPayment => {}
        OrderStatus::Paid
        | OrderStatus::Fulfilling
        | OrderStatus::Shipped
        | OrderStatus::Delivered
        | OrderStatus::Refunded => return Ok(None),
        OrderStatus::Cancelled => return Err(conflict_from(OrderStatus::Cancelled, "paid")),
    }
    let now = now_rfc3339();
    let entry = HistoryEntry::new(OrderStatus::Paid.as_str(), &now, by, None);
    let mut plan = base_plan(loaded, OrderStatus::Paid, entry.clone());
    dequeue(&mut plan.order);
    plan.order.payment.state = PaymentState::Succeeded;
    plan.order.payment.paid_at = Some(now);
    plan.order.payment.last_error = None;
    if let Some(reference) = reference {
        plan.order.payment.reference = Some(reference.to_owned());
    }
    let order_holds_stock = holds_stock(&loaded.order);
    for line in loaded
        .order
        .lines
        .iter()
        .filter(|l| order_holds_stock && !l.made_to_order)
    {
        plan.moves
            .push(stock::commit_item(store, &line.product_id, line.quantity)?);
    }
    close_unpaid(store, &loaded.order, &mut plan)?;
    for fulfilment in &loaded.fulfilments {
        let mut ready = fulfilment.clone();
        ready.status = FulfilmentStatus::Paid;
        ready.history.push(entry.clone());
        plan.fulfilments.push(ready);
    }
    Ok(Some(plan))
}

/// Who may cancel, and from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canceller {
    /// While pending_payment or paid.
    Buyer,
    /// Any time before a parcel ships.
    Admin,
    /// The expiry sweep: only pending_payment card orders past their time.
    Expiry { now: i64 },
}

/// → cancelled: stock goes back on sale; a paid order gets a refund
/// (recorded as pending here; the caller asks the provider after).
pub fn plan_cancel(
    store: &Store,
    loaded: &Loaded,
    who: Canceller,
    by: &str,
    reason: Option<String>,
) -> Result<Option<Plan>, ApiError> {
    let order = &loaded.order;
    let status = order.status;
    let allowed = match who {
        Canceller::Buyer => matches!(status, OrderStatus::PendingPayment | OrderStatus::Paid),
        Canceller::Admin => {
            matches!(
                status,
                OrderStatus::PendingPayment | OrderStatus::Paid | OrderStatus::Fulfilling
            ) && order.shipped_count == 0
        }
        Canceller::Expiry { now } => {
            if status != OrderStatus::PendingPayment || order.expires_at.is_none_or(|due| due > now)
            {
                return Ok(None);
            }
            true
        }
    };
    if status == OrderStatus::Cancelled {
        return Ok(None);
    }
    if !allowed {
        return Err(match (who, status) {
            (Canceller::Admin, OrderStatus::Fulfilling) => {
                ApiError::conflict("part of this order has shipped; refund it instead")
            }
            _ => conflict_from(status, "cancelled"),
        });
    }
    let now = now_rfc3339();
    let entry = HistoryEntry::new(OrderStatus::Cancelled.as_str(), &now, by, reason);
    let mut plan = base_plan(loaded, OrderStatus::Cancelled, entry.clone());
    dequeue(&mut plan.order);
    if status != OrderStatus::PendingPayment {
        plan.order.payment.refund = Some(Refund::pending(order.totals.total, now, by, None));
    }
    close_unpaid(store, order, &mut plan)?;
    unwind(store, loaded, &entry, &mut plan)?;
    Ok(Some(plan))
}

/// paid, fulfilling, shipped or delivered → refunded (full refund, by an
/// admin or the provider): what has not shipped goes back on sale.
pub fn plan_refund(
    store: &Store,
    loaded: &Loaded,
    by: &str,
    reason: Option<String>,
) -> Result<Option<Plan>, ApiError> {
    let order = &loaded.order;
    match order.status {
        OrderStatus::Paid
        | OrderStatus::Fulfilling
        | OrderStatus::Shipped
        | OrderStatus::Delivered => {}
        OrderStatus::Refunded => return Ok(None),
        status => return Err(conflict_from(status, "refunded")),
    }
    let now = now_rfc3339();
    let entry = HistoryEntry::new(OrderStatus::Refunded.as_str(), &now, by, reason);
    let mut plan = base_plan(loaded, OrderStatus::Refunded, entry.clone());
    plan.order.payment.refund = Some(Refund::pending(order.totals.total, now, by, None));
    unwind(store, loaded, &entry, &mut plan)?;
    Ok(Some(plan))
}

/// Where a seller may take its fulfilment next.
pub fn fulfilment_step_allowed(from: FulfilmentStatus, to: FulfilmentStatus) -> bool {
    use FulfilmentStatus::*;
    matches!(
        (from, to),
        (Paid, Fulfilling) | (Paid, Shipped) | (Fulfilling, Shipped) | (Shipped, Delivered)
    )
}

/// Details of a seller's step.
#[derive(Debug, Clone, Default)]
pub struct Shipment {
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

/// A seller moves its own fulfilment; the order follows: `fulfilling` at
/// the first step, `shipped` when every parcel shipped, `delivered` when
/// every parcel arrived.
pub fn plan_fulfilment_step(
    loaded: &Loaded,
    seller_org_id: &str,
    to: FulfilmentStatus,
    shipment: &Shipment,
    by: &str,
) -> Result<Option<Plan>, ApiError> {
    let fulfilment = loaded
        .fulfilments
        .iter()
        .find(|f| f.seller_org_id == seller_org_id)
        .ok_or_else(|| ApiError::not_found("no such fulfilment"))?;
    if fulfilment.status == to {
        return Ok(None);
    }
    if !matches!(
        loaded.order.status,
        OrderStatus::Paid | OrderStatus::Fulfilling | OrderStatus::Shipped
    ) || !fulfilment_step_allowed(fulfilment.status, to)
    {
        return Err(ApiError::conflict(format!(
            "a {} fulfilment of a {} order cannot become {to}",
            fulfilment.status, loaded.order.status
        )));
    }
    let now = now_rfc3339();
    let entry = HistoryEntry::new(to.as_str(), &now, by, None);
    let mut next = fulfilment.clone();
    next.status = to;
    next.history.push(entry);
    if to == FulfilmentStatus::Shipped {
        next.carrier = shipment.carrier.clone();
        next.tracking_number = shipment.tracking_number.clone();
    }
    let mut order = loaded.order.clone();
    match to {
        FulfilmentStatus::Shipped => order.shipped_count += 1,
        FulfilmentStatus::Delivered => order.delivered_count += 1,
        _ => {}
    }
    let order_status = if order.delivered_count == order.fulfilment_count {
        OrderStatus::Delivered
    } else if order.shipped_count == order.fulfilment_count {
        OrderStatus::Shipped
    } else {
        OrderStatus::Fulfilling
    };
    if order_status != order.status {
        order.status = order_status;
        order
            .history
            .push(HistoryEntry::new(order_status.as_str(), &now, by, None));
    }
    let mut plan = Plan::of(order);
    plan.fulfilments.push(next);
    Ok(Some(plan))
}
