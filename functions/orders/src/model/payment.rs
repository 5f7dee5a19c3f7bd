//! An order's payment and its refund.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PaymentMethod, PaymentState, RefundState};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub state: RefundState,
    pub amount: i64,
    /// The provider's refund id (`re_...`) once it accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub requested_at: String,
    pub requested_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Failed attempts so far (an admin retries with the refund endpoint).
    #[serde(default)]
    pub failed_attempts: u32,
}

impl Refund {
    /// A refund of `amount` asked for at `at` by `by`, not yet made.
    pub fn pending(amount: i64, at: String, by: &str, note: Option<String>) -> Self {
        Self {
            state: RefundState::Pending,
            amount,
            reference: None,
            requested_at: at,
            requested_by: by.to_owned(),
            error: note,
            failed_attempts: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub method: PaymentMethod,
    /// `stripe` or `invoice`.
    pub provider: String,
    pub state: PaymentState,
    /// The provider's payment id (`pi_...` or `inv_<orderId>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// For Stripe.js to confirm the card payment (shown to the buyer only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Invoice: days to pay after the order is placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_terms_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    /// The provider's last failure message (a declined card).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
}
