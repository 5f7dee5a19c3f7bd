//! Card payments through Stripe's REST API: a PaymentIntent per order, which
//! the browser confirms with Stripe.js, and refunds against it.
//!
//! Stripe's API is plain HTTPS with form-encoded bodies, so a small client
//! over `reqwest` covers the two calls we make. Every call carries an
//! `Idempotency-Key` derived from the order, so a retried checkout or refund
//! returns the first result instead of charging or refunding twice.
//!
//! Only parameters both Stripe and the local stand-in (localstripe) accept
//! are sent: localstripe answers 400 to anything it does not know, which is
//! why the order's description is not sent with the intent.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{
    PaymentError, PaymentProvider, PaymentRequest, PaymentStart, PaymentStatus, RefundOutcome,
    RefundRequest,
};

pub const DEFAULT_API_BASE: &str = crate::config::DEFAULT_STRIPE_API_BASE;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Well inside a function's 10 s budget minus the time spent before the call.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub struct StripeProvider {
    client: reqwest::Client,
    api_base: String,
    secret_key: String,
}

impl std::fmt::Debug for StripeProvider {
    // The secret key moves money: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeProvider")
            .field("api_base", &self.api_base)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl StripeProvider {
    /// A provider for the API at `api_base` (`https://api.stripe.com`, or the
    /// local stand-in) with a secret (`sk_...`) or restricted (`rk_...`) key.
    pub fn new(api_base: &str, secret_key: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("bodega/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| anyhow::anyhow!("building the Stripe HTTP client: {err}"))?;
        Ok(Self {
            client,
            api_base: api_base.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
        })
    }

    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// POSTs a form to `path` and reads the JSON answer, sorting failures
    /// into what the customer can fix (`Rejected`) and what a retry may
    /// fix (`Unavailable`).
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(&str, String)],
    ) -> Result<T, PaymentError> {
        let response = self
            .client
            .post(format!("{}{path}", self.api_base))
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", idempotency_key)
            .form(form)
            .send()
            .await
            .map_err(|err| unavailable(path, &err))?;
        let status = response.status();
        if status.is_success() {
            return response.json::<T>().await.map_err(|err| {
                let err = PaymentError::Unavailable(format!(
                    "Stripe's answer to {path} could not be read: {}",
                    error_chain(&err)
                ));
                tracing::warn!(error = %err, "Stripe call failed");
                err
            });
        }
        let body = response.text().await.unwrap_or_default();
        let err = classify_failure(status, &body);
        match &err {
            PaymentError::Rejected(message) => {
                tracing::info!(path, status = status.as_u16(), %message, "Stripe refused the request")
            }
            _ => {
                tracing::warn!(path, status = status.as_u16(), error = %err, "Stripe call failed")
            }
        }
        Err(err)
    }
}

impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    #[tracing::instrument(skip_all, fields(order_id = %request.order_id, amount = %request.amount))]
    async fn start(&self, request: &PaymentRequest) -> Result<PaymentStart, PaymentError> {
        let form = [
            ("amount", request.amount.amount.to_string()),
            (
                "currency",
                request.amount.currency.as_str().to_ascii_lowercase(),
            ),
            ("metadata[order_id]", request.order_id.clone()),
            ("payment_method_types[]", "card".to_owned()),
        ];
        let intent: IntentBody = self
            .post(
                "/v1/payment_intents",
                &format!("bodega-pi-{}", request.order_id),
                &form,
            )
            .await?;
        Ok(PaymentStart {
            status: intent_status(&intent.status),
            reference: intent.id,
            client_secret: intent.client_secret,
        })
    }

    #[tracing::instrument(skip_all, fields(order_id = %request.order_id, reference = %request.reference, amount = %request.amount))]
    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, PaymentError> {
        let form = [
            ("payment_intent", request.reference.clone()),
            ("amount", request.amount.amount.to_string()),
            ("metadata[order_id]", request.order_id.clone()),
        ];
        let refund: RefundBody = self
            .post(
                "/v1/refunds",
                &format!("bodega-refund-{}-{}", request.order_id, request.attempt),
                &form,
            )
            .await?;
        Ok(RefundOutcome {
            reference: refund.id,
        })
    }

    /// Cancels the PaymentIntent, so Stripe.js can no longer confirm it.
    #[tracing::instrument(skip_all, fields(reference = %reference))]
    async fn void(&self, reference: &str) -> Result<(), PaymentError> {
        if !reference.starts_with("pi_")
            || !reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(PaymentError::Rejected(format!(
                "{reference:?} is not a PaymentIntent id"
            )));
        }
        let _: IntentBody = self
            .post(
                &format!("/v1/payment_intents/{reference}/cancel"),
                &format!("bodega-void-{reference}"),
                &[],
            )
            .await?;
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
struct IntentBody {
    id: String,
    client_secret: Option<String>,
    status: String,
}

#[derive(Debug, Deserialize)]
struct RefundBody {
    id: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    message: Option<String>,
    code: Option<String>,
}

/// A PaymentIntent's `status` as the orders context sees it.
fn intent_status(status: &str) -> PaymentStatus {
    match status {
        "succeeded" => PaymentStatus::Succeeded,
        "requires_payment_method" | "requires_confirmation" | "requires_action" => {
            PaymentStatus::RequiresAction
        }
        "canceled" => PaymentStatus::Failed,
        // `processing`, and `requires_capture` (authorized, not yet taken),
        // which we never ask for: the webhook settles the order either way.
        "processing" | "requires_capture" => PaymentStatus::Processing,
        other => {
            tracing::warn!(
                status = other,
                "unknown PaymentIntent status, treated as processing"
            );
            PaymentStatus::Processing
        }
    }
}

/// A non-2xx answer as a `PaymentError`. A 4xx is the request's fault and
/// its message is meant for the customer, except where the fault is ours
/// (a wrong key: 401/403, whose message quotes part of the key) or a retry
/// will do (429 rate limit, 409 same idempotency key still in flight).
fn classify_failure(status: reqwest::StatusCode, body: &str) -> PaymentError {
    let detail = serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let code = detail.as_ref().and_then(|d| d.code.clone());
    match status.as_u16() {
        401 | 403 => PaymentError::Unavailable(format!(
            "Stripe refused our credentials ({status}); check the secret key"
        )),
        429 => PaymentError::Unavailable("Stripe is rate limiting us (429)".into()),
        409 if code.as_deref() == Some("idempotency_key_in_use") => PaymentError::Unavailable(
            "the same payment is being processed by another request".into(),
        ),
        400..=499 => PaymentError::Rejected(
            detail
                .and_then(|d| d.message)
                .unwrap_or_else(|| "the payment provider refused the request".into()),
        ),
        _ => PaymentError::Unavailable(format!("Stripe answered {status}")),
    }
}

fn unavailable(path: &str, err: &reqwest::Error) -> PaymentError {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let err = PaymentError::Unavailable(format!(
        "the call to Stripe {path} {what}: {}",
        error_chain(err)
    ));
    tracing::warn!(error = %err, "Stripe call failed");
    err
}

/// An error and its causes on one line ("error sending request: connection refused").
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn maps_intent_statuses() {
        assert_eq!(intent_status("succeeded"), PaymentStatus::Succeeded);
        assert_eq!(intent_status("processing"), PaymentStatus::Processing);
        for waiting in [
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
        ] {
            assert_eq!(intent_status(waiting), PaymentStatus::RequiresAction);
        }
        assert_eq!(intent_status("canceled"), PaymentStatus::Failed);
    }

    #[test]
    fn a_refused_request_carries_stripes_message() {
        let body = r#"{"error":{"message":"Your card was declined.","code":"card_declined","type":"card_error"}}"#;
        match classify_failure(StatusCode::PAYMENT_REQUIRED, body) {
            PaymentError::Rejected(message) => assert_eq!(message, "Your card was declined."),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_failure(StatusCode::NOT_FOUND, "not json"),
            PaymentError::Rejected(_)
        ));
    }

    #[test]
    fn server_errors_credentials_and_rate_limits_are_retryable() {
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
        ] {
            let body = r#"{"error":{"message":"Invalid API Key provided: sk_test_****cret"}}"#;
            match classify_failure(status, body) {
                PaymentError::Unavailable(message) => {
                    assert!(!message.contains("sk_"), "{message}")
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        let in_flight = r#"{"error":{"message":"busy","code":"idempotency_key_in_use"}}"#;
        assert!(matches!(
            classify_failure(StatusCode::CONFLICT, in_flight),
            PaymentError::Unavailable(_)
        ));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let provider = StripeProvider::new("https://api.stripe.com/", "sk_live_topsecret").unwrap();
        assert_eq!(provider.api_base(), "https://api.stripe.com");
        let text = format!("{provider:?}");
        assert!(!text.contains("topsecret"), "{text}");
    }
}
