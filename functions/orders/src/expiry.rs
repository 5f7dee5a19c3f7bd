//! The sweep of unpaid card orders: every order still `pending_payment`
//! when its 30 minutes are up is cancelled and its stock released.
//!
//! The queue is the sparse GSI4 partition `ORDERS#EXPIRING`, sorted by due
//! time, so a sweep reads only what is due. Each cancellation goes through
//! the lifecycle engine (a versioned transaction that re-checks the status),
//! so two sweeps at once, or a sweep racing a payment, cancel an order at
//! most once and release its stock at most once.

use futures::StreamExt;
use serde::Serialize;
use shared::payments::Payments;
use shared::store::{Index, PartitionQuery, QueryRefinement, Store};

use crate::lifecycle::{self, Canceller, Outcome};
use crate::model::{EXPIRING_PARTITION, OrderRecord, expiring_sk};

/// Orders one sweep handles at most (the schedule runs every minute).
const MAX_PER_SWEEP: usize = 1000;
const PAGE: u32 = 100;
/// Cancellations in flight at once.
const PARALLEL: usize = 8;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Due orders found in the queue.
    pub due: usize,
    /// Orders this sweep cancelled.
    pub cancelled: usize,
    /// Orders paid or cancelled meanwhile (by a payment, the buyer, or another sweep).
    pub skipped: usize,
    /// Orders that could not be handled now; the next sweep tries again.
    pub failed: usize,
}

/// Cancels every card order whose payment window closed before `now`
/// (epoch seconds), and voids its PaymentIntent at Stripe.
pub async fn sweep(store: &Store, payments: &Payments, now: i64) -> anyhow::Result<SweepReport> {
    let query = PartitionQuery {
        index: Index::Gsi4,
        partition: EXPIRING_PARTITION.to_owned(),
        sort_prefix: None,
        ascending: true,
    };
    let refinement = QueryRefinement {
        sort_between: Some(("0".into(), expiring_sk(now, "~"))),
        ..QueryRefinement::default()
    };
    let mut due = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .query_page_where::<OrderRecord>(&query, &refinement, PAGE, cursor.as_deref())
            .await?;
        due.extend(page.items.into_iter().map(|o| o.id));
        cursor = page.next_cursor;
        if cursor.is_none() || due.len() >= MAX_PER_SWEEP {
            break;
        }
    }
    let mut report = SweepReport {
        due: due.len(),
        ..SweepReport::default()
    };
    let results: Vec<_> = futures::stream::iter(due)
        .map(|order_id| async move {
            let outcome = lifecycle::transition(store, &order_id, |loaded| {
                lifecycle::plan_cancel(
                    store,
                    loaded,
                    Canceller::Expiry { now },
                    "system",
                    Some("not paid within 30 minutes".into()),
                )
            })
            .await;
            (order_id, outcome)
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    for (order_id, outcome) in results {
        match outcome {
            Ok(Outcome::Applied(after)) => {
                report.cancelled += 1;
                crate::orders::void_payment(payments, &after.order).await;
            }
            Ok(Outcome::Unchanged(_) | Outcome::Duplicate) => report.skipped += 1,
            Err(err) => {
                tracing::warn!(order_id = %order_id, error = %err, "an expired order could not be cancelled");
                report.failed += 1;
            }
        }
    }
    if report.due > 0 {
        tracing::info!(?report, "expiry sweep");
    }
    shared::metrics::count("OrdersExpired", report.cancelled as u64);
    shared::metrics::count("ExpiryFailures", report.failed as u64);
    Ok(report)
}
