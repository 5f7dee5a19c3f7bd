//! Stripe webhooks: proving an event came from Stripe before acting on it.
//!
//! Stripe signs `"{t}.{raw body}"` with HMAC-SHA256, keyed with the
//! endpoint's whole `whsec_...` secret, and sends
//! `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`. Several `v1` appear
//! while a secret is being rolled, so any one matching is enough. The
//! timestamp is signed too, and an old one is refused so a captured request
//! cannot be replayed later.

use std::time::Duration;

use aws_lc_rs::hmac;
use serde::Deserialize;

use crate::crypto::{from_hex, hex};

/// How far the signed timestamp may be from our clock, either way.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// A verified event.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// `evt_...`: Stripe may deliver an event more than once.
    pub id: String,
    /// The event type, such as `payment_intent.succeeded`.
    pub kind: String,
    /// `data.object`: the PaymentIntent, charge or refund the event is about.
    pub object: serde_json::Value,
}

impl WebhookEvent {
    /// The order the object was created for (`metadata.order_id`).
    pub fn order_id(&self) -> Option<&str> {
        self.object["metadata"]["order_id"].as_str()
    }

    /// The PaymentIntent the event is about: the object itself, or the one a
    /// charge or refund belongs to.
    pub fn payment_intent(&self) -> Option<&str> {
        if self.object["object"] == "payment_intent" {
            self.object["id"].as_str()
        } else {
            self.object["payment_intent"].as_str()
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the Stripe-Signature header is missing or has no v1 signature")]
    MissingSignature,
    #[error("the Stripe-Signature header cannot be read")]
    Malformed,
    #[error("no signature matches the payload")]
    BadSignature,
    #[error("the signature's timestamp is outside the tolerance")]
    Expired,
    #[error("the payload is not a Stripe event")]
    BadPayload,
}

#[derive(Deserialize)]
struct EventBody {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// Checks `signature_header` against the raw `payload` and returns the
/// event. `now_unix` is the current time, passed in so tests control it.
pub fn verify(
    payload: &[u8],
    signature_header: &str,
    secret: &str,
    now_unix: i64,
) -> Result<WebhookEvent, WebhookError> {
    let header = signature_header.trim();
    if header.is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (name, value) = part.trim().split_once('=').ok_or(WebhookError::Malformed)?;
        match name {
            "t" => timestamp = Some(value.parse::<i64>().map_err(|_| WebhookError::Malformed)?),
            "v1" => signatures.push(value),
            // v0 (test-mode legacy) and schemes to come are not ours to check.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::Malformed)?;
    if signatures.is_empty() {
        return Err(WebhookError::MissingSignature);
    }

    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let signed = signed_payload(timestamp, payload);
    let matches = signatures.iter().any(|signature| {
        from_hex(signature).is_some_and(|tag| hmac::verify(&key, &signed, &tag).is_ok())
    });
    if !matches {
        return Err(WebhookError::BadSignature);
    }
    if now_unix.abs_diff(timestamp) > TOLERANCE.as_secs() {
        return Err(WebhookError::Expired);
    }

    let body: EventBody = serde_json::from_slice(payload).map_err(|_| WebhookError::BadPayload)?;
    Ok(WebhookEvent {
        id: body.id,
        kind: body.kind,
        object: body.data.object,
    })
}

/// A `Stripe-Signature` header value for `payload`, as Stripe would send it:
/// for tests and the samples under events/.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, &signed_payload(timestamp, payload));
    format!("t={timestamp},v1={}", hex(tag.as_ref()))
}

fn signed_payload(timestamp: i64, payload: &[u8]) -> Vec<u8> {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(payload);
    signed
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_bodegatest";
    const NOW: i64 = 1_790_000_000;

    fn payload() -> Vec<u8> {
        serde_json::json!({
            "id": "evt_123",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": {
                "id": "pi_123",
                "object": "payment_intent",
                "metadata": {"order_id": "01ORDER"}
            }}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn accepts_a_valid_signature() {
        let body = payload();
        let header = sign(&body, SECRET, NOW);
        let event = verify(&body, &header, SECRET, NOW + 10).unwrap();
        assert_eq!(event.id, "evt_123");
        assert_eq!(event.kind, "payment_intent.succeeded");
        assert_eq!(event.order_id(), Some("01ORDER"));
        assert_eq!(event.payment_intent(), Some("pi_123"));
    }

    #[test]
    fn matches_stripes_signing_scheme() {
        // Computed outside Rust, the way localstripe signs: Python's
        // hmac.new(b"whsec_bodegalocal", b'1700000000.{"id":"evt_1"}', sha256).
        assert_eq!(
            sign(br#"{"id":"evt_1"}"#, "whsec_bodegalocal", 1_700_000_000),
            "t=1700000000,v1=e3eff909b5e5ea63e725df7054cb447c54bf08bf4a45863409c76297b4346adc"
        );
    }

    #[test]
    fn rejects_a_wrong_secret() {
        let body = payload();
        let header = sign(&body, "whsec_other", NOW);
        assert_eq!(
            verify(&body, &header, SECRET, NOW),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn rejects_a_tampered_body() {
        let body = payload();
        let header = sign(&body, SECRET, NOW);
        let tampered = String::from_utf8(body)
            .unwrap()
            .replace("01ORDER", "02ORDER");
        assert_eq!(
            verify(tampered.as_bytes(), &header, SECRET, NOW),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn rejects_a_timestamp_outside_the_tolerance() {
        let body = payload();
        let old = sign(&body, SECRET, NOW - 301);
        assert_eq!(verify(&body, &old, SECRET, NOW), Err(WebhookError::Expired));
        let future = sign(&body, SECRET, NOW + 301);
        assert_eq!(
            verify(&body, &future, SECRET, NOW),
            Err(WebhookError::Expired)
        );
        let edge = sign(&body, SECRET, NOW - 300);
        assert!(verify(&body, &edge, SECRET, NOW).is_ok());
    }

    #[test]
    fn a_rewritten_timestamp_breaks_the_signature() {
        let body = payload();
        let header = sign(&body, SECRET, NOW - 3600)
            .replace(&format!("t={}", NOW - 3600), &format!("t={NOW}"));
        assert_eq!(
            verify(&body, &header, SECRET, NOW),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn accepts_any_matching_v1_among_several() {
        let body = payload();
        let good = sign(&body, SECRET, NOW);
        let good_v1 = good.split_once(",v1=").unwrap().1;
        let stale = sign(&body, "whsec_old", NOW);
        let stale_v1 = stale.split_once(",v1=").unwrap().1;
        let header = format!("t={NOW},v1={stale_v1},v1=nothex,v1={good_v1},v0=abc");
        assert!(verify(&body, &header, SECRET, NOW).is_ok());
        let none_good = format!("t={NOW},v1={stale_v1},v0={good_v1}");
        assert_eq!(
            verify(&body, &none_good, SECRET, NOW),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn rejects_headers_missing_parts() {
        let body = payload();
        let good = sign(&body, SECRET, NOW);
        let v1 = good.split_once(",v1=").unwrap().1;
        assert_eq!(
            verify(&body, "", SECRET, NOW),
            Err(WebhookError::MissingSignature)
        );
        assert_eq!(
            verify(&body, &format!("t={NOW}"), SECRET, NOW),
            Err(WebhookError::MissingSignature)
        );
        assert_eq!(
            verify(&body, &format!("v1={v1}"), SECRET, NOW),
            Err(WebhookError::Malformed)
        );
        assert_eq!(
            verify(&body, &format!("t=soon,v1={v1}"), SECRET, NOW),
            Err(WebhookError::Malformed)
        );
        assert_eq!(
            verify(&body, "garbage", SECRET, NOW),
            Err(WebhookError::Malformed)
        );
    }

    #[test]
    fn rejects_a_signed_payload_that_is_not_an_event() {
        for body in [&b"not json"[..], br#"{"id":"evt_1"}"#] {
            let header = sign(body, SECRET, NOW);
            assert_eq!(
                verify(body, &header, SECRET, NOW),
                Err(WebhookError::BadPayload)
            );
        }
    }

    #[test]
    fn finds_the_intent_of_a_charge_or_refund() {
        let event = WebhookEvent {
            id: "evt_1".into(),
            kind: "charge.refunded".into(),
            object: serde_json::json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_9"}),
        };
        assert_eq!(event.payment_intent(), Some("pi_9"));
        assert_eq!(event.order_id(), None);
    }
}
