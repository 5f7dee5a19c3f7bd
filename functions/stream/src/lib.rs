//! The DynamoDB stream is the event bus: every state change is an item
//! write, and this function reacts to them: security notification emails,
//! order emails to buyers, the search index of products, the products'
//! in-stock flag (from their stock items), the order
//! statistics, and paid made-to-order lines queued for manufacturing. Lambda (and the devserver's pump) hands it batches in stream
//! order.
//!
//! It is a dispatcher: it links no context's crate. What it reads of other
//! contexts' items are the read models in `shared::contracts`, and the
//! projections it keeps (search index, order statistics) live in
//! `shared::projections`, beside those read models.
//!
//! Processing stops at the first record that fails and reports it: Lambda
//! then retries from that record on, so records are never applied out of
//! order. Every reaction is idempotent, because a retried batch repeats the
//! records before the failure too.

pub mod manufacturing;
mod notifications;
mod order_emails;

use anyhow::Context;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::de::DeserializeOwned;
use shared::contracts::order::ORDER_TYPE;
use shared::contracts::product::PRODUCT_TYPE;
use shared::outbox::Outbox;
use shared::projections::{order_stats, search_index};
use shared::stock::STOCK_TYPE;
use shared::store::Store;

#[derive(Clone)]
pub struct StreamState {
    pub store: Store,
    /// Where its emails go: the mail context's outbox worker sends them.
    pub outbox: Outbox,
    /// Where paid orders with made-to-order lines go (studio's manufacturing).
    pub manufacturing: Option<manufacturing::ManufacturingQueue>,
}

impl StreamState {
    pub fn new(services: &shared::Services) -> Self {
        Self {
            store: services.store.clone(),
            outbox: services.outbox(),
            manufacturing: services.config.manufacturing_queue_url.clone().map(|url| {
                manufacturing::ManufacturingQueue {
                    sqs: aws_sdk_sqs::Client::new(&services.sdk),
                    url,
                }
            }),
        }
    }
}

/// One record, decoded: what kind of item changed and its two images.
pub struct Change<'a> {
    pub record: &'a EventRecord,
    pub item_type: String,
}

impl Change<'_> {
    /// The record's id: the same on every delivery of the record.
    pub fn event_id(&self) -> &str {
        &self.record.event_id
    }

    pub fn is_modify(&self) -> bool {
        self.record.event_name == "MODIFY"
    }

    pub fn is_insert(&self) -> bool {
        self.record.event_name == "INSERT"
    }

    pub fn old<T: DeserializeOwned>(&self) -> anyhow::Result<Option<T>> {
        image(&self.record.change.old_image)
    }

    pub fn new_image<T: DeserializeOwned>(&self) -> anyhow::Result<Option<T>> {
        image(&self.record.change.new_image)
    }
}

fn image<T: DeserializeOwned>(item: &serde_dynamo::Item) -> anyhow::Result<Option<T>> {
    if item.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_dynamo::from_item(item.clone())?))
}

fn item_type(record: &EventRecord) -> Option<String> {
    let image = if record.change.new_image.is_empty() {
        &record.change.old_image
    } else {
        &record.change.new_image
    };
    match image.get("type") {
        Some(serde_dynamo::AttributeValue::S(kind)) => Some(kind.clone()),
        _ => None,
    }
}

/// Applies every reaction to one record.
async fn process(state: &StreamState, record: &EventRecord) -> anyhow::Result<()> {
    let Some(item_type) = item_type(record) else {
        return Ok(());
    };
    let change = Change { record, item_type };
    notifications::react(state, &change).await?;
    order_emails::react(state, &change).await?;
    manufacturing::react(state, &change).await?;
    match change.item_type.as_str() {
        PRODUCT_TYPE => {
            search_index::apply_product_change(&state.store, change.old()?, change.new_image()?)
                .await
                .context("updating the search index")?;
        }
        STOCK_TYPE => {
            // Catalog's stock item: the product's in-stock flag follows
            // when the stock crosses zero.
            shared::stock::apply_stock_change(&state.store, change.old()?, change.new_image()?)
                .await
                .context("updating the product's in-stock flag")?;
        }
        ORDER_TYPE => {
            order_stats::apply_order_change(
                &state.store,
                change.event_id(),
                change.old()?,
                change.new_image()?,
            )
            .await
            .context("updating the order statistics")?;
        }
        _ => {}
    }
    Ok(())
}

/// Handles one batch; the response names the first record that failed.
pub async fn handle_batch(state: &StreamState, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        if let Err(err) = process(state, record).await {
            tracing::error!(event_id = %record.event_id, error = ?err, "stream record failed; retrying from it");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}
