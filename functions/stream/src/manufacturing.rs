//! Orders paid with made-to-order lines go to the manufacturing queue,
//! where the studio's manufacturing worker has each line made by the print
//! partner. The dispatcher only routes: it reads the order through orders'
//! contract (`OrderToManufacture`) and queues its id when the order has
//! just become paid. The worker is idempotent per line (a manufacturing
//! order is keyed by the line id), so a record delivered twice queues a
//! message twice and still makes each line once.

use anyhow::Context as _;
use shared::contracts::order::{ORDER_TYPE, OrderToManufacture};

use crate::{Change, StreamState};

/// The manufacturing queue, when configured.
#[derive(Clone)]
pub struct ManufacturingQueue {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

/// Whether the change made an order with lines to make paid.
pub fn became_payable(old: Option<&OrderToManufacture>, new: Option<&OrderToManufacture>) -> bool {
    let Some(new) = new else { return false };
    new.is_paid()
        && !old.is_some_and(OrderToManufacture::is_paid)
        && new.lines_to_make().next().is_some()
}

pub async fn react(state: &StreamState, change: &Change<'_>) -> anyhow::Result<()> {
    if change.item_type != ORDER_TYPE {
        return Ok(());
    }
    let Some(queue) = &state.manufacturing else {
        return Ok(());
    };
    let old: Option<OrderToManufacture> = change.old()?;
    let new: Option<OrderToManufacture> = change.new_image()?;
    if !became_payable(old.as_ref(), new.as_ref()) {
        return Ok(());
    }
    let Some(order) = new else { return Ok(()) };
    let body = serde_json::json!({ "orderId": order.id }).to_string();
    queue
        .sqs
        .send_message()
        .queue_url(&queue.url)
        .message_body(body)
        .send()
        .await
        .context("queueing a paid order's lines for manufacturing")?;
    tracing::info!(order_id = %order.id, "paid order queued for manufacturing");
    Ok(())
}
