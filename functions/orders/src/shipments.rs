//! The `orders-shipments` worker: shipments other contexts report on a
//! seller's behalf (studio's print partner shipped a parcel), as
//! `shared::contracts::order::ShipmentNotice` messages on orders' shipments
//! queue. Each is applied under orders' own rules, through the same engine
//! as the seller's `POST .../status` with `shipped`: a `paid` or
//! `fulfilling` fulfilment becomes `shipped` with the carrier and tracking
//! number, the order follows, and the stream emails the buyer. A fulfilment
//! already shipped (a notice delivered twice) is left as it is; one that
//! may not ship (the order was cancelled) is logged and dropped.

use shared::contracts::order::ShipmentNotice;
use shared::sqs::{BatchResponse, ItemFailure, SqsEvent};
use shared::store::Store;

use crate::lifecycle::{self, Outcome, Shipment};
use crate::model::FulfilmentStatus;

/// Applies one notice; `Err` only for what may succeed on a retry.
pub async fn apply(store: &Store, notice: &ShipmentNotice) -> anyhow::Result<()> {
    let shipment = Shipment {
        carrier: Some(notice.carrier.clone()),
        tracking_number: Some(notice.tracking_number.clone()),
    };
    let outcome = lifecycle::transition(store, &notice.order_id, |loaded| {
        let Some(fulfilment) = loaded
            .fulfilments
            .iter()
            .find(|f| f.seller_org_id == notice.seller_org_id)
        else {
            return Ok(None);
        };
        if matches!(
            fulfilment.status,
            FulfilmentStatus::Shipped | FulfilmentStatus::Delivered
        ) {
            return Ok(None);
        }
        lifecycle::plan_fulfilment_step(
            loaded,
            &notice.seller_org_id,
            FulfilmentStatus::Shipped,
            &shipment,
            &notice.by,
        )
    })
    .await;
    match outcome {
        Ok(Outcome::Applied(_)) => {
            tracing::info!(order_id = %notice.order_id, seller_org_id = %notice.seller_org_id, "fulfilment shipped on the seller's behalf");
            Ok(())
        }
        Ok(Outcome::Unchanged(_) | Outcome::Duplicate) => Ok(()),
        Err(err) if err.status().is_client_error() => {
            tracing::warn!(order_id = %notice.order_id, error = %err.message(), "a shipment notice cannot apply; dropped");
            Ok(())
        }
        Err(err) => Err(anyhow::anyhow!("applying a shipment notice: {err:?}")),
    }
}

/// One SQS batch; the messages that must come again are reported.
pub async fn handle_batch(store: &Store, event: SqsEvent) -> BatchResponse {
    let mut response = BatchResponse::default();
    for message in event.records {
        let notice = match serde_json::from_str::<ShipmentNotice>(&message.body) {
            Ok(notice) => notice,
            Err(err) => {
                // Reported, not dropped: after the queue's retries it lands
                // in the dead-letter queue, where it can be read and replayed.
                tracing::error!(message_id = %message.message_id, error = %err, "not a shipment notice; left for the dead-letter queue");
                response.batch_item_failures.push(ItemFailure {
                    item_identifier: message.message_id,
                });
                continue;
            }
        };
        if let Err(err) = apply(store, &notice).await {
            tracing::warn!(order_id = %notice.order_id, error = ?err, "a shipment notice comes back");
            response.batch_item_failures.push(ItemFailure {
                item_identifier: message.message_id,
            });
        }
    }
    response
}
