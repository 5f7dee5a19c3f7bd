//! Printful's webhooks (API v2): proving an event came from Printful, and
//! reading what it says.
//!
//! Printful signs each delivery's raw body with HMAC-SHA256, keyed with the
//! webhook's `secret_key` (a hex string, decoded to bytes first), and sends
//! the hex digest in the `X-PF-Webhook-Signature` header. A v2 body reads
//! `{"type", "occurred_at", "retries", "store_id", "data": {"order": ...}}`
//! (v1 named them `type`/`created`, unix seconds; both are read). The time
//! is inside the signed body, so an event more than [`TOLERANCE`] from our
//! clock is refused and a captured delivery cannot be replayed later. Printful retries deliveries and events carry no id of
//! their own: [`PartnerEvent::id`] is the hash of the signed body, for the
//! receiver's applied-once marker.

use std::time::Duration;

use aws_lc_rs::{digest, hmac};
use serde::Deserialize;
use serde_json::Value;

use super::{PartnerOrderStatus, Shipment, printful::shipment_of};
use crate::crypto::{from_hex, hex};

/// The header the signature arrives in.
pub const SIGNATURE_HEADER: &str = "x-pf-webhook-signature";
/// How far an event's time may be from our clock, either way.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the X-PF-Webhook-Signature header is missing")]
    MissingSignature,
    #[error("the signature does not match the payload")]
    BadSignature,
    #[error("the event's time is outside the tolerance")]
    Expired,
    #[error("the payload is not a Printful event")]
    BadPayload,
}

/// What an event says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerChange {
    /// A parcel left (`shipment_sent`; v1's `package_shipped`).
    Shipped(Shipment),
    /// A parcel arrived (`shipment_delivered`).
    Delivered(Shipment),
    /// A parcel came back (`shipment_returned`; v1's `package_returned`).
    Returned(Shipment),
    /// The order's status changed (`order_created`, `order_updated`,
    /// `order_put_hold`, `order_remove_hold`, ...): the status it has now.
    Status(PartnerOrderStatus),
    /// The partner could not make it (`order_failed`).
    Failed { reason: Option<String> },
    /// `order_canceled`.
    Canceled,
    /// An event this parser does not act on.
    Other,
}

/// A verified event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerEvent {
    /// Hex SHA-256 of the signed body: the same delivery twice has one id.
    pub id: String,
    /// The event type, e.g. `shipment_sent`.
    pub kind: String,
    /// When it happened, unix seconds.
    pub occurred_at: i64,
    /// The partner's order id.
    pub order_id: Option<String>,
    /// Our [`super::ExternalId`] of the order.
    pub external_id: Option<String>,
    pub change: PartnerChange,
}

#[derive(Deserialize)]
struct EventBody {
    #[serde(rename = "type", alias = "event")]
    kind: String,
    /// v2: RFC 3339 (or unix seconds).
    #[serde(default)]
    occurred_at: Option<Value>,
    /// v1: unix seconds.
    #[serde(default)]
    created: Option<i64>,
    #[serde(default)]
    data: Value,
}

impl EventBody {
    /// When the event happened, in unix seconds.
    fn unix_time(&self) -> Option<i64> {
        match &self.occurred_at {
            Some(Value::String(at)) => {
                time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(|t| t.unix_timestamp())
            }
            Some(Value::Number(n)) => n.as_i64(),
            _ => self.created,
        }
    }
}

/// The HMAC key of a webhook `secret_key`: its hex decoding, or its bytes
/// when it is not hex.
fn key(secret: &str) -> hmac::Key {
    let bytes = from_hex(secret.trim()).unwrap_or_else(|| secret.as_bytes().to_vec());
    hmac::Key::new(hmac::HMAC_SHA256, &bytes)
}

/// Checks `signature` (the header's value) against the raw `payload` and
/// returns the event. `now_unix` is passed in so tests control the clock.
pub fn verify(
    payload: &[u8],
    signature: Option<&str>,
    secret: &str,
    now_unix: i64,
) -> Result<PartnerEvent, WebhookError> {
    let signature = signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(WebhookError::MissingSignature)?;
    let tag = from_hex(signature).ok_or(WebhookError::BadSignature)?;
    hmac::verify(&key(secret), payload, &tag).map_err(|_| WebhookError::BadSignature)?;
    let body: EventBody = serde_json::from_slice(payload).map_err(|_| WebhookError::BadPayload)?;
    let at = body.unix_time().ok_or(WebhookError::BadPayload)?;
    if now_unix.abs_diff(at) > TOLERANCE.as_secs() {
        return Err(WebhookError::Expired);
    }
    Ok(parse(body, at, payload))
}

/// The `X-PF-Webhook-Signature` value for `payload`, as Printful would
/// send it: for tests and samples.
pub fn sign(payload: &[u8], secret: &str) -> String {
    hex(hmac::sign(&key(secret), payload).as_ref())
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse(body: EventBody, at: i64, payload: &[u8]) -> PartnerEvent {
    let data = &body.data;
    let order = &data["order"];
    let shipment = || shipment_of(&data["shipment"]);
    let change = match body.kind.as_str() {
        "shipment_sent" | "package_shipped" => PartnerChange::Shipped(shipment()),
        "shipment_delivered" => PartnerChange::Delivered(shipment()),
        "shipment_returned" | "package_returned" => PartnerChange::Returned(shipment()),
        "order_failed" => PartnerChange::Failed {
            reason: text(&data["reason"]),
        },
        "order_canceled" => PartnerChange::Canceled,
        kind if kind.starts_with("order_") => match order["status"].as_str() {
            Some(status) => PartnerChange::Status(PartnerOrderStatus::parse(status)),
            None => PartnerChange::Other,
        },
        _ => PartnerChange::Other,
    };
    PartnerEvent {
        id: hex(digest::digest(&digest::SHA256, payload).as_ref()),
        kind: body.kind,
        occurred_at: at,
        order_id: text(&order["id"]),
        external_id: text(&order["external_id"]),
        change,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "5f1a9c0e4b7d2a63";
    const NOW: i64 = 1_790_000_000;

    fn rfc3339(unix: i64) -> String {
        time::OffsetDateTime::from_unix_timestamp(unix)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }

    fn shipped(at: i64) -> Vec<u8> {
        serde_json::json!({
            "type": "shipment_sent",
            "occurred_at": rfc3339(at),
            "retries": 0,
            "store_id": 7,
            "data": {
                "shipment": {"id": 9, "carrier": "DHL", "tracking_number": "PF123",
                             "tracking_url": "https://track.example/PF123", "shipment_status": "shipped"},
                "order": {"id": 42, "external_id": "01JD8X3Q4Z5Y6W7V8T9S0R1P2N", "status": "fulfilled"}
            }
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_signed_shipment_event_is_read() {
        let payload = shipped(NOW - 10);
        let event = verify(&payload, Some(&sign(&payload, SECRET)), SECRET, NOW).unwrap();
        assert_eq!(event.kind, "shipment_sent");
        assert_eq!(event.order_id.as_deref(), Some("42"));
        assert_eq!(
            event.external_id.as_deref(),
            Some("01JD8X3Q4Z5Y6W7V8T9S0R1P2N")
        );
        let PartnerChange::Shipped(shipment) = &event.change else {
            panic!("{event:?}")
        };
        assert_eq!(shipment.tracking_number.as_deref(), Some("PF123"));
        assert_eq!(event.id.len(), 64);
        assert_eq!(event.occurred_at, NOW - 10);
    }

    #[test]
    fn a_v1_event_with_unix_created_is_read_too() {
        let payload = serde_json::json!({"type": "package_shipped", "created": NOW,
            "data": {"shipment": {"tracking_number": 7}, "order": {"id": 3}}})
        .to_string();
        let event = verify(
            payload.as_bytes(),
            Some(&sign(payload.as_bytes(), SECRET)),
            SECRET,
            NOW,
        )
        .unwrap();
        assert!(
            matches!(&event.change, PartnerChange::Shipped(s) if s.tracking_number.as_deref() == Some("7"))
        );
        let undated = br#"{"type": "order_updated", "data": {}}"#;
        assert_eq!(
            verify(undated, Some(&sign(undated, SECRET)), SECRET, NOW),
            Err(WebhookError::BadPayload)
        );
    }

    #[test]
    fn forged_missing_and_replayed_events_are_refused() {
        let payload = shipped(NOW);
        let signature = sign(&payload, SECRET);
        assert_eq!(
            verify(&payload, None, SECRET, NOW),
            Err(WebhookError::MissingSignature)
        );
        assert_eq!(
            verify(&payload, Some(&sign(&payload, "00ff")), SECRET, NOW),
            Err(WebhookError::BadSignature)
        );
        let mut tampered = payload.clone();
        tampered[5] ^= 1;
        assert_eq!(
            verify(&tampered, Some(&signature), SECRET, NOW),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(&payload, Some("not hex"), SECRET, NOW),
            Err(WebhookError::BadSignature)
        );
        let old = shipped(NOW - 3600);
        assert_eq!(
            verify(&old, Some(&sign(&old, SECRET)), SECRET, NOW),
            Err(WebhookError::Expired)
        );
    }

    #[test]
    fn order_events_carry_the_status() {
        let payload = serde_json::json!({"type": "order_put_hold", "occurred_at": rfc3339(NOW),
            "data": {"order": {"id": 1, "status": "onhold"}}})
        .to_string();
        let event = verify(
            payload.as_bytes(),
            Some(&sign(payload.as_bytes(), SECRET)),
            SECRET,
            NOW,
        )
        .unwrap();
        assert_eq!(
            event.change,
            PartnerChange::Status(PartnerOrderStatus::OnHold)
        );
    }
}
