//! Taking money for an order: a card payment through Stripe, or an invoice
//! an admin marks paid later.
//!
//! The orders context holds a [`Payments`] and picks a provider per order;
//! both implement [`PaymentProvider`], so checkout and refund read the same
//! whichever way the customer pays. Stripe's own notifications arrive as
//! webhooks, checked by [`webhook::verify`] before anything trusts them.

use std::future::Future;
use std::sync::Arc;

use crate::domain::Money;
use crate::http::error::ApiError;

mod invoice;
mod stripe;
pub mod webhook;

pub use invoice::InvoiceProvider;
pub use stripe::{DEFAULT_API_BASE as DEFAULT_STRIPE_API_BASE, StripeProvider};

/// A payment to start for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    pub order_id: String,
    pub amount: Money,
    /// What the customer is paying for, in words (for providers that show it).
    pub description: String,
}

/// Where a payment stands after `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Succeeded,
    Processing,
    /// The client must confirm (enter card details, pass 3-D Secure), or an
    /// admin must mark an invoice paid.
    RequiresAction,
    Failed,
}

/// A started payment: what to store on the order, and what the client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentStart {
    /// The provider's id for the payment: `pi_...` or `inv_<orderId>`.
    pub reference: String,
    /// What the browser confirms the payment with (Stripe.js); none for invoices.
    pub client_secret: Option<String>,
    pub status: PaymentStatus,
}

/// Money to give back for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub order_id: String,
    /// The [`PaymentStart::reference`] of the payment being refunded.
    pub reference: String,
    pub amount: Money,
    /// How many attempts failed before this one. Each attempt has its own
    /// idempotency key, so a retry after a failure reaches the provider
    /// instead of replaying the failure; a second full refund of a charge
    /// is refused by the provider, never paid twice.
    pub attempt: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOutcome {
    /// The provider's id for the refund: `re_...` or `credit_<orderId>`.
    pub reference: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The provider refused (declined card, invalid request); message is safe to show.
    #[error("the payment was refused: {0}")]
    Rejected(String),
    /// The provider could not be reached or failed (5xx, timeout): retry later.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    /// Card payments are not configured in this deployment.
    #[error("card payments are not configured")]
    NotConfigured,
}

impl From<PaymentError> for ApiError {
    fn from(err: PaymentError) -> Self {
        match err {
            PaymentError::Rejected(message) => ApiError::payment_failed(message),
            PaymentError::Unavailable(_) => ApiError::unavailable(err)
                .with_details(serde_json::json!({ "dependency": "payments" })),
            PaymentError::NotConfigured => ApiError::unavailable(err)
                .with_details(serde_json::json!({ "dependency": "payments" })),
        }
    }
}

/// A way to take and give back money for an order.
pub trait PaymentProvider: Send + Sync {
    /// A short name to store with the order and to log: `stripe`, `invoice`.
    fn name(&self) -> &'static str;

    /// Starts the payment. Calling it again for the same order must not
    /// charge twice.
    fn start(
        &self,
        request: &PaymentRequest,
    ) -> impl Future<Output = Result<PaymentStart, PaymentError>> + Send;

    /// Refunds (part of) a started payment. Calling it again for the same
    /// order must not refund twice.
    fn refund(
        &self,
        request: &RefundRequest,
    ) -> impl Future<Output = Result<RefundOutcome, PaymentError>> + Send;

    /// Voids a started payment nobody paid (the order was cancelled or
    /// expired), so it can no longer be paid. A payment that was paid
    /// meanwhile is refused (`Rejected`); the caller refunds it instead.
    fn void(&self, reference: &str) -> impl Future<Output = Result<(), PaymentError>> + Send;
}

/// What the orders context holds: both providers, built once per cold start.
#[derive(Clone)]
pub struct Payments {
    /// `None` when no Stripe key is configured: card payments answer
    /// [`PaymentError::NotConfigured`].
    pub stripe: Option<Arc<StripeProvider>>,
    pub invoice: Arc<InvoiceProvider>,
    /// The `whsec_...` secret Stripe signs webhooks with; never printed.
    pub webhook_secret: Option<String>,
}

impl Payments {
    /// The card provider, or `NotConfigured` when this deployment has none.
    pub fn card(&self) -> Result<&StripeProvider, PaymentError> {
        self.stripe.as_deref().ok_or(PaymentError::NotConfigured)
    }
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("stripe", &self.stripe)
            .field("invoice", &self.invoice)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn errors_map_to_statuses() {
        let rejected = ApiError::from(PaymentError::Rejected("Your card was declined.".into()));
        assert_eq!(rejected.status(), StatusCode::PAYMENT_REQUIRED);
        assert_eq!(rejected.message(), "Your card was declined.");
        let down = ApiError::from(PaymentError::Unavailable("timed out".into()));
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!down.message().contains("timed out"));
        let off = ApiError::from(PaymentError::NotConfigured);
        assert_eq!(off.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn debug_hides_the_webhook_secret() {
        let payments = Payments {
            stripe: Some(Arc::new(
                StripeProvider::new("https://api.stripe.com", "sk_test_hidden").unwrap(),
            )),
            invoice: Arc::new(InvoiceProvider),
            webhook_secret: Some("whsec_hidden".into()),
        };
        let text = format!("{payments:?}");
        assert!(!text.contains("hidden"), "{text}");
        assert!(payments.card().is_ok());
        let without = Payments {
            stripe: None,
            ..payments
        };
        assert!(matches!(without.card(), Err(PaymentError::NotConfigured)));
    }
}
