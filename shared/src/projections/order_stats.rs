//! Order statistics: per-day counters kept from the stream of order
//! changes; orders reads them (`GET /v1/admin/stats`, `orders::stats`).
//!
//! `STATS#ORDERS / DAY#<yyyy-mm-dd>` (UTC) holds `placed`, `paid`,
//! `cancelled`, `refunded` (orders) and per currency `revenue_<CUR>` (order
//! totals as they were paid) and `refundedAmount_<CUR>`, in minor units.
//! Every counter moves by an atomic ADD in a transaction with a marker
//! keyed by the stream record's id, so a redelivered record counts once.

use serde::Serialize;

use crate::contracts::order::{OrderStatus, OrderSummary, PaymentState};
use crate::domain::now_epoch;
use crate::store::{Store, StoreError, Transaction, Update, n, s};

/// The partition of the daily counters.
pub const STATS_PK: &str = "STATS#ORDERS";
const MARKER_TTL_SECS: i64 = 7 * 24 * 3600;
/// `revenue_<CUR>`: paid order totals of a day in that currency.
pub const REVENUE_PREFIX: &str = "revenue_";
/// `refundedAmount_<CUR>`: refunded amounts of a day in that currency.
pub const REFUNDED_PREFIX: &str = "refundedAmount_";

/// The sort key of one day's counters (`yyyy-mm-dd`).
pub fn day_sk(day: &str) -> String {
    format!("DAY#{day}")
}

/// What one change of an order adds to which day.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Increments {
    pub day: String,
    pub counts: Vec<(&'static str, i64)>,
    /// (attribute, amount): `revenue_EUR`, `refundedAmount_EUR`.
    pub amounts: Vec<(String, i64)>,
}

fn currency_attr(prefix: &str, currency: &str) -> Option<String> {
    (currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()))
        .then(|| format!("{prefix}{currency}"))
}

/// The counters a change moves (none for most changes).
pub fn increments(old: Option<&OrderSummary>, new: Option<&OrderSummary>) -> Option<Increments> {
    let new = new?;
    let mut inc = Increments {
        day: new.updated_at.get(..10)?.to_owned(),
        ..Increments::default()
    };
    let Some(old) = old else {
        inc.day = new.created_at.get(..10)?.to_owned();
        inc.counts.push(("placed", 1));
        return Some(inc);
    };
    let currency = &new.totals.currency;
    if old.status != new.status {
        match new.status {
            OrderStatus::Paid if old.status == OrderStatus::PendingPayment => {
                inc.counts.push(("paid", 1));
            }
            OrderStatus::Cancelled => inc.counts.push(("cancelled", 1)),
            OrderStatus::Refunded => inc.counts.push(("refunded", 1)),
            _ => {}
        }
    }
    // Revenue is money received: also a payment that arrived after the order
    // was cancelled (it is then refunded, and counted there too).
    if old.payment.state != PaymentState::Succeeded && new.payment.state == PaymentState::Succeeded
    {
        inc.amounts
            .push((currency_attr(REVENUE_PREFIX, currency)?, new.totals.total));
    }
    if old.payment.state != PaymentState::Refunded && new.payment.state == PaymentState::Refunded {
        let amount = new
            .payment
            .refund
            .as_ref()
            .map_or(new.totals.total, |r| r.amount);
        inc.amounts
            .push((currency_attr(REFUNDED_PREFIX, currency)?, amount));
    }
    (!inc.counts.is_empty() || !inc.amounts.is_empty()).then_some(inc)
}

#[derive(Serialize)]
struct Marker {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: &'static str,
    #[serde(rename = "type")]
    item_type: &'static str,
    ttl: i64,
}

/// Applies one stream record's change to the counters, once per record id.
pub async fn apply_order_change(
    store: &Store,
    event_id: &str,
    old: Option<OrderSummary>,
    new: Option<OrderSummary>,
) -> Result<(), StoreError> {
    let Some(inc) = increments(old.as_ref(), new.as_ref()) else {
        return Ok(());
    };
    let marker = Marker {
        pk: format!("STATS#EVENT#{event_id}"),
        sk: "MARKER",
        item_type: "STATS_MARKER",
        ttl: now_epoch() + MARKER_TTL_SECS,
    };
    let mut adds = Vec::new();
    let mut names = vec![
        ("#type".to_owned(), "type".to_owned()),
        ("#date".to_owned(), "date".to_owned()),
    ];
    let mut values = vec![
        (":type".to_owned(), s("ORDER_STATS")),
        (":date".to_owned(), s(inc.day.clone())),
    ];
    for (i, (attribute, amount)) in inc
        .counts
        .iter()
        .map(|(a, v)| ((*a).to_owned(), *v))
        .chain(inc.amounts.iter().cloned())
        .enumerate()
    {
        adds.push(format!("#a{i} :v{i}"));
        names.push((format!("#a{i}"), attribute));
        values.push((format!(":v{i}"), n(amount)));
    }
    let expression = format!("SET #type = :type, #date = :date ADD {}", adds.join(", "));
    let mut update = Update::new(STATS_PK, day_sk(&inc.day), expression);
    for (placeholder, attribute) in &names {
        update = update.name(placeholder, attribute);
    }
    for (placeholder, value) in values {
        update = update.value(&placeholder, value);
    }
    let mut tx = Transaction::new();
    tx.push(store.transact_put(&marker, Some("attribute_not_exists(PK)"))?)
        .named("counted");
    tx.push(store.transact_update(update)?);
    match store.transact(tx).await {
        Ok(()) => Ok(()),
        // The marker exists: this record was counted before.
        Err(err) if err.condition_failed("counted") => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::order::{BuyerSummary, PaymentSummary, RefundSummary, TotalsSummary};

    fn image(status: OrderStatus, payment: PaymentState, updated: &str) -> OrderSummary {
        OrderSummary {
            id: "o-1".into(),
            buyer: BuyerSummary { user_id: None },
            lines: Vec::new(),
            status,
            created_at: "2026-11-20T10:00:00Z".into(),
            updated_at: updated.into(),
            totals: TotalsSummary {
                currency: "EUR".into(),
                total: 1_845,
            },
            payment: PaymentSummary {
                state: payment,
                refund: None,
            },
            milestones: Vec::new(),
            sourced_from: None,
        }
    }

    #[test]
    fn a_new_order_counts_as_placed_on_its_creation_day() {
        let new = image(
            OrderStatus::PendingPayment,
            PaymentState::Pending,
            "2026-11-21T00:00:00Z",
        );
        let inc = increments(None, Some(&new)).unwrap();
        assert_eq!(inc.day, "2026-11-20");
        assert_eq!(inc.counts, vec![("placed", 1)]);
    }

    #[test]
    fn payment_adds_revenue_in_its_currency_on_the_day_it_was_paid() {
        let old = image(
            OrderStatus::PendingPayment,
            PaymentState::Pending,
            "2026-11-20T10:00:00Z",
        );
        let new = image(
            OrderStatus::Paid,
            PaymentState::Succeeded,
            "2026-11-21T09:00:00Z",
        );
        let inc = increments(Some(&old), Some(&new)).unwrap();
        assert_eq!(inc.day, "2026-11-21");
        assert_eq!(inc.counts, vec![("paid", 1)]);
        assert_eq!(inc.amounts, vec![("revenue_EUR".to_owned(), 1_845)]);
    }

    #[test]
    fn cancellations_and_refunds_count_and_other_changes_do_not() {
        let paid = image(
            OrderStatus::Paid,
            PaymentState::Succeeded,
            "2026-11-21T09:00:00Z",
        );
        let mut cancelled = image(
            OrderStatus::Cancelled,
            PaymentState::Refunded,
            "2026-11-22T09:00:00Z",
        );
        cancelled.payment.refund = Some(RefundSummary { amount: 1_845 });
        let inc = increments(Some(&paid), Some(&cancelled)).unwrap();
        assert_eq!(inc.counts, vec![("cancelled", 1)]);
        assert_eq!(inc.amounts, vec![("refundedAmount_EUR".to_owned(), 1_845)]);
        let mut late = image(
            OrderStatus::Cancelled,
            PaymentState::Succeeded,
            "2026-11-22T09:00:00Z",
        );
        let mut expired = late.clone();
        expired.payment.state = PaymentState::Pending;
        late.payment.refund = Some(RefundSummary { amount: 1_845 });
        let inc = increments(Some(&expired), Some(&late)).unwrap();
        assert_eq!(inc.counts, vec![]);
        assert_eq!(inc.amounts, vec![("revenue_EUR".to_owned(), 1_845)]);
        let shipped = image(
            OrderStatus::Shipped,
            PaymentState::Succeeded,
            "2026-11-22T09:00:00Z",
        );
        assert_eq!(increments(Some(&paid), Some(&shipped)), None);
        assert_eq!(increments(Some(&paid), None), None);
    }
}
