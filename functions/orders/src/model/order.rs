//! The items of the orders context and how the API shows them.
//!
//! Items (see docs/data-model.md, "Orders"):
//! - `CART#<buyer> / CART`: the buyer's one cart (`<buyer>` is `USER#<id>`
//!   or `ORG#<id>`), its lines in one item so checkout deletes it with one
//!   write; `version` guards every change.
//! - `ORDER#<id> / ORDER`: the order with its lines, totals, addresses,
//!   payment and history. Indexes:
//!   GSI1 `ORDERS#BUYER#<buyer> / <id>` (a buyer's orders, newest first),
//!   GSI2 `ORDERS#STATUS#<status> / <id>` (admin: by status),
//!   GSI3 `ORDERS#ALL / <id>` (admin: all),
//!   GSI4 `ORDERS#EXPIRING / <expiresAt:010>#<id>` only while a card order
//!   waits for payment (the expiry sweep's queue; sparse).
//! - `ORDER#<id> / FULFILMENT#<sellerOrgId>`: one per seller org, with that
//!   seller's lines and the shipping address. GSI1
//!   `FULFILMENTS#SELLER#<orgId> / <orderId>` (a seller's fulfilments).

use serde::{Deserialize, Serialize};
use shared::domain::CountryCode;
use utoipa::ToSchema;

pub const ORDER_TYPE: &str = "ORDER";
pub const FULFILMENT_TYPE: &str = "FULFILMENT";
pub const CART_TYPE: &str = "CART";
pub const ORDER_SK: &str = "ORDER";
pub const EXPIRING_PARTITION: &str = "ORDERS#EXPIRING";
pub const ALL_ORDERS_PARTITION: &str = "ORDERS#ALL";

pub fn order_pk(order_id: &str) -> String {
    format!("ORDER#{order_id}")
}

pub fn fulfilment_sk(seller_org_id: &str) -> String {
    format!("FULFILMENT#{seller_org_id}")
}

pub fn status_partition(status: OrderStatus) -> String {
    format!("ORDERS#STATUS#{}", status.as_str())
}

pub fn buyer_partition(buyer_key: &str) -> String {
    format!("ORDERS#BUYER#{buyer_key}")
}

pub fn seller_partition(org_id: &str) -> String {
    format!("FULFILMENTS#SELLER#{org_id}")
}

/// The sort key of an order in the expiry queue: due time first.
pub fn expiring_sk(expires_at: i64, order_id: &str) -> String {
    format!("{expires_at:010}#{order_id}")
}

macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:tt,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum! {
    /// Where an order is: `pending_payment` → `paid` → `fulfilling` →
    /// `shipped` → `delivered`, or `cancelled` / `refunded`.
    OrderStatus {
        PendingPayment = "pending_payment",
        Paid = "paid",
        Fulfilling = "fulfilling",
        Shipped = "shipped",
        Delivered = "delivered",
        Cancelled = "cancelled",
        Refunded = "refunded",
    }
}

status_enum! {
    /// Where one seller's part of an order is. Sellers move it from `paid`
    /// (ready to fulfil) to `fulfilling`, `shipped` and `delivered`.
    FulfilmentStatus {
        PendingPayment = "pending_payment",
        Paid = "paid",
        Fulfilling = "fulfilling",
        Shipped = "shipped",
        Delivered = "delivered",
        Cancelled = "cancelled",
    }
}

status_enum! {
    /// How the buyer pays.
    PaymentMethod {
        Card = "card",
        Invoice = "invoice",
    }
}

status_enum! {
    PaymentState {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
        Refunded = "refunded",
    }
}

status_enum! {
    RefundState {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

/// A postal address, validated at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[schema(example = "Erika Mustermann")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Acme Supplies GmbH")]
    pub company: Option<String>,
    #[schema(example = "Hauptstraße 5")]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[schema(example = "10115")]
    pub postal_code: String,
    #[schema(example = "Berlin")]
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[schema(value_type = String, example = "DE")]
    pub country: CountryCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "+49 30 1234567")]
    pub phone: Option<String>,
}

/// Who buys: a person for themselves, or an organization (placed by one of
/// its members or API keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    /// `user` or `org`.
    #[schema(example = "org")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// Who placed the order: `user:<id>` or `apikey:<prefix>`.
    #[schema(example = "user:01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub placed_by: String,
}

impl Buyer {
    /// `USER#<id>` or `ORG#<id>`: the cart's and the order list's key.
    pub fn key(&self) -> String {
        match (&self.org_id, &self.user_id) {
            (Some(org), _) => format!("ORG#{org}"),
            (None, Some(user)) => format!("USER#{user}"),
            (None, None) => String::new(),
        }
    }
}

/// One line of an order, priced at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub product_id: String,
    pub seller_org_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    /// Minor units, from the product's price tier for this quantity.
    pub unit_price: i64,
    pub line_total: i64,
}

/// Amounts of an order, in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    #[schema(example = "EUR")]
    pub currency: String,
    pub subtotal: i64,
    pub shipping: i64,
    /// Tax rate applied, in basis points (1900 = 19 %).
    pub tax_rate_basis_points: i64,
    pub tax: i64,
    pub total: i64,
}

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

/// One step of an order's (or a fulfilment's) life: what, when, who.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    #[schema(example = "paid")]
    pub status: String,
    pub at: String,
    /// `user:<id>`, `apikey:<prefix>`, `stripe` or `system`.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl HistoryEntry {
    pub fn new(status: &str, at: &str, by: &str, note: Option<String>) -> Self {
        Self {
            status: status.to_owned(),
            at: at.to_owned(),
            by: by.to_owned(),
            note,
        }
    }
}

/// An order as stored: `ORDER#<id> / ORDER`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    #[serde(rename = "GSI2PK")]
    pub gsi2pk: String,
    #[serde(rename = "GSI2SK")]
    pub gsi2sk: String,
    #[serde(rename = "GSI3PK")]
    pub gsi3pk: String,
    #[serde(rename = "GSI3SK")]
    pub gsi3sk: String,
    #[serde(rename = "GSI4PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi4pk: Option<String>,
    #[serde(rename = "GSI4SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi4sk: Option<String>,
    pub id: String,
    pub buyer: Buyer,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub totals: Totals,
    pub shipping_address: Address,
    pub billing_address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub payment: Payment,
    pub seller_org_ids: Vec<String>,
    pub fulfilment_count: i64,
    #[serde(default)]
    pub shipped_count: i64,
    #[serde(default)]
    pub delivered_count: i64,
    pub history: Vec<HistoryEntry>,
    /// Epoch seconds after which an unpaid card order is cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// An order as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    #[schema(example = "01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub id: String,
    pub buyer: Buyer,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub totals: Totals,
    pub shipping_address: Address,
    pub billing_address: Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub payment: Payment,
    pub seller_org_ids: Vec<String>,
    pub history: Vec<HistoryEntry>,
    /// When an unpaid card order will be cancelled (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

impl OrderView {
    /// The buyer's view (with the payment's client secret).
    pub fn for_buyer(order: OrderRecord) -> Self {
        Self {
            id: order.id,
            buyer: order.buyer,
            status: order.status,
            lines: order.lines,
            totals: order.totals,
            shipping_address: order.shipping_address,
            billing_address: order.billing_address,
            note: order.note,
            payment: order.payment,
            seller_org_ids: order.seller_org_ids,
            history: order.history,
            expires_at: order.expires_at.map(shared::domain::epoch_to_rfc3339),
            created_at: order.created_at,
            updated_at: order.updated_at,
            version: order.version,
        }
    }

    /// Anyone else's view (an admin's): without the client secret.
    pub fn for_staff(order: OrderRecord) -> Self {
        let mut view = Self::for_buyer(order);
        view.payment.client_secret = None;
        view
    }
}

/// One seller's part of an order: `ORDER#<id> / FULFILMENT#<sellerOrgId>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfilmentRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub order_id: String,
    pub seller_org_id: String,
    pub status: FulfilmentStatus,
    pub lines: Vec<OrderLine>,
    pub currency: String,
    pub subtotal: i64,
    pub shipping: i64,
    pub shipping_address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    pub history: Vec<HistoryEntry>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// A fulfilment as its seller sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FulfilmentView {
    pub order_id: String,
    pub seller_org_id: String,
    pub status: FulfilmentStatus,
    pub lines: Vec<OrderLine>,
    #[schema(example = "EUR")]
    pub currency: String,
    pub subtotal: i64,
    pub shipping: i64,
    pub shipping_address: Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "DHL")]
    pub carrier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "00340434161094042557")]
    pub tracking_number: Option<String>,
    pub history: Vec<HistoryEntry>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

impl From<FulfilmentRecord> for FulfilmentView {
    fn from(f: FulfilmentRecord) -> Self {
        Self {
            order_id: f.order_id,
            seller_org_id: f.seller_org_id,
            status: f.status,
            lines: f.lines,
            currency: f.currency,
            subtotal: f.subtotal,
            shipping: f.shipping,
            shipping_address: f.shipping_address,
            carrier: f.carrier,
            tracking_number: f.tracking_number,
            history: f.history,
            created_at: f.created_at,
            updated_at: f.updated_at,
            version: f.version,
        }
    }
}
