//! `POST /v1/manufacturing/webhooks/{provider}`: the print partner tells
//! us what happened to an order. Authenticated as Printful specifies
//! (`X-PF-Webhook-Signature`, the hex HMAC-SHA256 of the raw body keyed
//! with the webhook's `secret_key`; the event's time within five minutes,
//! see `shared::print_partner::webhook`), applied once (a marker keyed by
//! the hash of the body, written in the same transaction as the change),
//! only forward (see [`ManufacturingStatus::may_become`]), tracking merged
//! by shipment. A parcel that left marks the seller's fulfilment shipped
//! through orders (a `ShipmentNotice` on orders' shipments queue), and the
//! buyer gets orders' "shipped" email.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use shared::contracts::order::ShipmentNotice;
use shared::domain::now_epoch;
use shared::http::{ApiError, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::print_partner::webhook::{self, PartnerChange, PartnerEvent, WebhookError};
use shared::store::StoreError;
use utoipa::ToSchema;

use super::{ManufacturingRecord, ManufacturingStatus, load, merge_shipment, save};
use crate::StudioState;

pub const EVENT_TYPE: &str = "STUDIO_MFG_EVENT";
/// How long an applied event's marker is kept: far past the five minutes
/// in which a delivery is accepted at all.
const EVENT_TTL_SECS: i64 = 30 * 24 * 3600;

/// What became of a webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartnerWebhookReceipt {
    /// `applied`, `duplicate` (applied before), `unchanged` (nothing new,
    /// or a status that would move backwards) or `ignored` (not one of ours).
    #[schema(example = "applied")]
    pub outcome: String,
}

fn receipt(outcome: &str) -> ApiResponse<PartnerWebhookReceipt> {
    ApiResponse::ok(PartnerWebhookReceipt {
        outcome: outcome.to_owned(),
    })
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventMarker {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    manufacturing_order_id: String,
    kind: String,
    ttl: i64,
}

/// Takes what the event says into the record; `true` if anything changed.
pub fn apply_change(record: &mut ManufacturingRecord, event: &PartnerEvent) -> bool {
    use ManufacturingStatus::*;
    let mut changed = match &event.change {
        PartnerChange::Shipped(shipment) => {
            merge_shipment(&mut record.shipments, shipment) | record.move_to(Shipped, None)
        }
        PartnerChange::Delivered(shipment) => {
            merge_shipment(&mut record.shipments, shipment) | record.move_to(Delivered, None)
        }
        PartnerChange::Returned(shipment) => {
            merge_shipment(&mut record.shipments, shipment) | record.move_to(Returned, None)
        }
        PartnerChange::Status(status) => match ManufacturingStatus::from_partner(status) {
            // Between in_production and on_hold, the newer report wins.
            Some(to)
                if to.rank() == record.status.rank()
                    && event.occurred_at < record.partner_reported_at =>
            {
                false
            }
            Some(to) => record.move_to(to, None),
            None => false,
        },
        PartnerChange::Failed { reason } => record.move_to(
            Failed,
            Some(
                reason
                    .clone()
                    .unwrap_or_else(|| "the partner could not make it".into()),
            ),
        ),
        PartnerChange::Canceled => record.move_to(Canceled, Some("canceled at the partner".into())),
        PartnerChange::Other => false,
    };
    if changed {
        record.partner_reported_at = record.partner_reported_at.max(event.occurred_at);
        if record.partner_order_id.is_none() {
            changed = true;
            record.partner_order_id = event.order_id.clone();
        }
    }
    changed
}

/// Applies a verified event: `applied`, `duplicate`, `unchanged` or `ignored`.
pub async fn apply_event(
    state: &StudioState,
    event: &PartnerEvent,
) -> Result<&'static str, StoreError> {
    let Some(id) = event.external_id.as_deref() else {
        return Ok("ignored");
    };
    let marker_pk = format!("MFGEVENT#{}", event.id);
    if state.store.get_raw(&marker_pk, "EVENT").await?.is_some() {
        return Ok("duplicate");
    }
    for _ in 0..5 {
        let Some(mut record) = load(&state.store, id).await? else {
            return Ok("ignored");
        };
        if !apply_change(&mut record, event) {
            return Ok("unchanged");
        }
        let marker = EventMarker {
            pk: marker_pk.clone(),
            sk: "EVENT".into(),
            item_type: EVENT_TYPE.into(),
            manufacturing_order_id: record.id.clone(),
            kind: event.kind.clone(),
            ttl: now_epoch() + EVENT_TTL_SECS,
        };
        let guard = state
            .store
            .transact_put(&marker, Some("attribute_not_exists(PK)"))?;
        match save(&state.store, &mut record, vec![guard]).await {
            Ok(()) => {
                tracing::info!(line_id = %record.id, kind = %event.kind, status = %record.status, "partner event applied");
                notify_shipped(state, &mut record).await;
                return Ok("applied");
            }
            Err(err) if err.condition_failed("event") => return Ok("duplicate"),
            Err(StoreError::TransactionCanceled(_)) => continue,
            Err(err) => return Err(err),
        }
    }
    Err(StoreError::Other(anyhow::anyhow!(
        "the manufacturing order kept changing while an event was applied"
    )))
}

/// The notice that asks orders to mark the seller's fulfilment shipped:
/// once the order shipped with tracking and before it was sent.
pub fn shipment_notice(record: &ManufacturingRecord) -> Option<ShipmentNotice> {
    if record.fulfilment_shipped
        || !matches!(
            record.status,
            ManufacturingStatus::Shipped | ManufacturingStatus::Delivered
        )
    {
        return None;
    }
    let shipment = record
        .shipments
        .iter()
        .rev()
        .find(|s| s.tracking_number.is_some())?;
    Some(ShipmentNotice {
        order_id: record.order_id.clone(),
        seller_org_id: record.seller_org_id.clone(),
        carrier: shipment
            .carrier
            .clone()
            .unwrap_or_else(|| record.provider.clone()),
        tracking_number: shipment.tracking_number.clone().unwrap_or_default(),
        by: format!("{}:{}", record.provider, record.id),
    })
}

/// Sends the shipment notice if one is due and records that it went;
/// best effort: what fails is sent again by the reconciliation schedule.
pub async fn notify_shipped(state: &StudioState, record: &mut ManufacturingRecord) {
    let Some(notice) = shipment_notice(record) else {
        return;
    };
    let Some(queue) = &state.shipments else {
        tracing::warn!(
            "ORDERS_SHIPMENT_QUEUE_URL is not set: the fulfilment is not marked shipped"
        );
        return;
    };
    let body = match serde_json::to_string(&notice) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "a shipment notice cannot be written");
            return;
        }
    };
    if let Err(err) = queue
        .sqs
        .send_message()
        .queue_url(&queue.url)
        .message_body(body)
        .send()
        .await
    {
        tracing::warn!(error = ?err, line_id = %record.id, "the shipment notice was not queued; reconciliation sends it");
        return;
    }
    for _ in 0..3 {
        record.fulfilment_shipped = true;
        match save(&state.store, record, Vec::new()).await {
            Ok(()) => return,
            Err(StoreError::TransactionCanceled(_)) => match load(&state.store, &record.id).await {
                Ok(Some(fresh)) => *record = fresh,
                _ => return,
            },
            Err(err) => {
                tracing::warn!(error = ?err, "the shipment notice was sent but not recorded");
                return;
            }
        }
    }
}

fn refused(err: WebhookError) -> ApiError {
    let message = match err {
        WebhookError::MissingSignature => "the X-PF-Webhook-Signature header is missing",
        WebhookError::BadSignature => "the signature does not match",
        WebhookError::Expired => "the event is too old or from the future",
        WebhookError::BadPayload => "the body is not a Printful event",
    };
    tracing::warn!(reason = message, "a partner webhook was refused");
    shared::metrics::count("PartnerWebhooksRefused", 1);
    ApiError::bad_request(message)
}

/// Receives the print partner's events (Printful: `shipment_sent`,
/// `shipment_delivered`, `shipment_returned`, `order_updated`,
/// `order_put_hold`, `order_remove_hold`, `order_failed`,
/// `order_canceled`; v1's `package_shipped` and `package_returned` too).
/// Only events signed with the webhook's secret, and no older than five
/// minutes, are read.
#[utoipa::path(
    post,
    path = "/v1/manufacturing/webhooks/{provider}",
    tag = "studio",
    params(
        ("provider" = String, Path, description = "The partner: `printful`", pattern = "^printful$"),
        ("X-PF-Webhook-Signature" = String, Header, description = "Hex HMAC-SHA256 of the raw body, keyed with the webhook's secret_key (hex-decoded)"),
    ),
    request_body(content = String, description = "The event, as the partner sent it", content_type = "application/json"),
    responses(
        (status = 200, description = "Received: applied, a duplicate, unchanged, or not ours", body = Envelope<PartnerWebhookReceipt>),
        (status = 400, description = "Missing or wrong signature, an event older than five minutes, or not an event", body = ErrorEnvelope),
        (status = 404, description = "No such partner", body = ErrorEnvelope),
        (status = 503, description = "Not configured, or a dependency is down: the partner retries", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(provider = %provider))]
pub async fn partner_webhook(
    State(state): State<StudioState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ApiResponse<PartnerWebhookReceipt>> {
    if provider != "printful" {
        return Err(ApiError::not_found("no such partner"));
    }
    let Some(secret) = state.printful_webhook_secret.as_deref() else {
        return Err(ApiError::unavailable(anyhow::anyhow!(
            "PRINTFUL_WEBHOOK_SECRET is not configured"
        )));
    };
    let signature = headers
        .get(webhook::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    let event = webhook::verify(&body, signature, secret, now_epoch()).map_err(refused)?;
    let outcome = apply_event(&state, &event)
        .await
        .map_err(|err| ApiError::from(err).context("applying the partner's event"))?;
    Ok(receipt(outcome))
}
