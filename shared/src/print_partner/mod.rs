//! Print-on-demand manufacturing: a partner that prints a design on a
//! garment and ships it to the buyer. [`PrintPartner`] is what a context
//! (studio) calls; [`PrintfulClient`] is the real client of Printful's API
//! v2, and `infra/standins/printful.py` the local stand-in it is tested
//! against. Behind the `print-partner` feature of `shared`.
//!
//! A partner order's life (see docs/print-partner.md): created as a
//! `draft` with our order line's id as its `external_id`; its costs are
//! `calculating`, then `done`; once they are checked, `confirm` sends it to
//! production (`pending` → `inprocess` → `fulfilled`, with shipments), or
//! `cancel` drops it (`canceled`). The partner tells us what happened by
//! signed webhooks ([`webhook::verify`]); a schedule can read the order and
//! its shipments when a webhook never came.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod printful;
pub mod webhook;

pub use printful::{DEFAULT_API_BASE as DEFAULT_PRINTFUL_API_BASE, PrintfulClient};

/// Our id for a partner order: the order line's id (a ULID is 26
/// characters). Printful's `external_id` takes at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an external id is 1 to 32 letters, digits, '-' or '_'")]
pub struct InvalidExternalId;

impl ExternalId {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, InvalidExternalId> {
        let ok = (1..=Self::MAX_CHARS).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned())).ok_or(InvalidExternalId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExternalId {
    type Error = InvalidExternalId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ExternalId> for String {
    fn from(id: ExternalId) -> Self {
        id.0
    }
}

/// Which partner order: the partner's own id, or ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerOrderRef {
    /// The partner's id (Printful's numeric order id, as text).
    Partner(String),
    /// Our [`ExternalId`] (Printful: `@<external_id>` in the path).
    External(ExternalId),
}

/// Where the garment goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub name: String,
    pub address1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    pub zip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// One garment line: the partner's catalog variant (product, size, colour)
/// printed with `image_url` at `placement` (e.g. `front`) by `technique`
/// (e.g. `dtg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftItem {
    pub catalog_variant_id: u64,
    pub quantity: u32,
    pub placement: String,
    pub technique: String,
    pub image_url: String,
}

/// A partner order to create as a draft (nothing is made or charged until
/// it is confirmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftOrder {
    pub external_id: ExternalId,
    pub recipient: Recipient,
    pub items: Vec<DraftItem>,
    /// The shipping method, e.g. `STANDARD`.
    pub shipping: String,
}

/// Where a partner order is (Printful v2's order statuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerOrderStatus {
    /// Created, not confirmed: nothing is made or charged.
    Draft,
    /// Confirmed, waiting to be made.
    Pending,
    InProcess,
    OnHold,
    /// Some items shipped.
    Partial,
    /// Every item shipped.
    Fulfilled,
    Failed,
    Canceled,
    /// A status this client does not know yet.
    Other(String),
}

impl PartnerOrderStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "draft" => Self::Draft,
            "pending" => Self::Pending,
            "inprocess" => Self::InProcess,
            "onhold" => Self::OnHold,
            "partial" => Self::Partial,
            "fulfilled" => Self::Fulfilled,
            "failed" => Self::Failed,
            // A deleted draft is reported `archived`.
            "canceled" | "cancelled" | "archived" => Self::Canceled,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Whether the partner has priced the order yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostStatus {
    Calculating,
    Done,
    Failed,
}

/// What the partner charges us, in minor units of `currency`; the amounts
/// are known once `status` is `Done`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerCosts {
    pub status: CostStatus,
    pub currency: Option<String>,
    pub subtotal: Option<i64>,
    pub shipping: Option<i64>,
    pub tax: Option<i64>,
    pub total: Option<i64>,
}

/// A partner order as the partner reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerOrder {
    /// The partner's id.
    pub id: String,
    pub external_id: Option<String>,
    pub status: PartnerOrderStatus,
    pub costs: PartnerCosts,
}

/// A parcel on its way.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shipment {
    pub id: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// E.g. `shipped`, `delivered`, `returned`.
    pub status: Option<String>,
    pub shipped_at: Option<String>,
}

/// What went wrong talking to the partner; [`PartnerError::is_retryable`]
/// says whether the same call may succeed later.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PartnerError {
    /// The partner refused the request as it is (4xx): retrying the same
    /// call will not help. `message` is the partner's, safe to log.
    #[error("the print partner refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the print partner has no such order")]
    NotFound,
    /// Too many requests (429): wait `retry_after` before the next call.
    #[error("the print partner asks to wait {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// 5xx, a timeout or no connection: retry later.
    #[error("the print partner is unavailable: {0}")]
    Unavailable(String),
    /// An answer this client cannot read.
    #[error("the print partner's answer cannot be read: {0}")]
    BadAnswer(String),
}

impl PartnerError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

/// A print-on-demand partner.
pub trait PrintPartner: Send + Sync {
    /// A short name to store and to route webhooks by: `printful`.
    fn name(&self) -> &'static str;

    /// Creates a draft order. Idempotent by `external_id`: when an order
    /// with that id exists already, it is returned instead.
    fn create_draft(
        &self,
        order: &DraftOrder,
    ) -> impl Future<Output = Result<PartnerOrder, PartnerError>> + Send;

    /// The order as it is now (its costs are `Calculating` for a while
    /// after creation).
    fn order(
        &self,
        order: &PartnerOrderRef,
    ) -> impl Future<Output = Result<PartnerOrder, PartnerError>> + Send;

    /// Sends a draft to production; its costs must be `Done`.
    fn confirm(
        &self,
        order: &PartnerOrderRef,
    ) -> impl Future<Output = Result<PartnerOrder, PartnerError>> + Send;

    /// Cancels an order not yet in production.
    fn cancel(
        &self,
        order: &PartnerOrderRef,
    ) -> impl Future<Output = Result<PartnerOrder, PartnerError>> + Send;

    /// The order's shipments, newest last.
    fn shipments(
        &self,
        order: &PartnerOrderRef,
    ) -> impl Future<Output = Result<Vec<Shipment>, PartnerError>> + Send;
}

/// An amount such as `"12.50"` in minor units (1250); `None` if unreadable.
pub(crate) fn minor_units(amount: &str) -> Option<i64> {
    let amount = amount.trim();
    let (negative, amount) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty() || fraction.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<i64>().ok()?;
    let value = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_id_fits_printfuls_limit() {
        assert!(ExternalId::parse("01JD8X3Q4Z5Y6W7V8T9S0R1P2N").is_ok());
        assert!(ExternalId::parse(&"a".repeat(32)).is_ok());
        for bad in ["", "has space", "a/b", &"a".repeat(33)] {
            assert!(ExternalId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn amounts_read_as_minor_units() {
        assert_eq!(minor_units("12.50"), Some(1250));
        assert_eq!(minor_units("12.5"), Some(1250));
        assert_eq!(minor_units("7"), Some(700));
        assert_eq!(minor_units("-0.99"), Some(-99));
        for bad in ["", "1.234", "abc", "1.x", ".5"] {
            assert_eq!(minor_units(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_rate_limits_and_outages_are_retryable() {
        assert!(PartnerError::Unavailable("503".into()).is_retryable());
        assert!(
            PartnerError::RateLimited {
                retry_after: Duration::from_secs(3)
            }
            .is_retryable()
        );
        assert!(
            !PartnerError::Rejected {
                status: 400,
                message: "x".into()
            }
            .is_retryable()
        );
        assert!(!PartnerError::NotFound.is_retryable());
    }
}
