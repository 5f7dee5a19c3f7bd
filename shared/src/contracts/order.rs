//! Orders as other contexts read them: `ORDER#<id> / ORDER` (for order
//! statistics and the buyer's emails, and [`OrderToManufacture`] for the
//! lines a partner makes to order) and `ORDER#<id> /
//! FULFILMENT#<sellerOrgId>` (for the "shipped" email). Owned by orders,
//! whose records store these attributes under these names; the statuses are
//! defined here once and used by orders itself. A round-trip test
//! (`tests/tests/api/stream.rs`) reads orders' stored items as these models.

use serde::{Deserialize, Serialize};

pub const ORDER_TYPE: &str = "ORDER";
pub const FULFILMENT_TYPE: &str = "FULFILMENT";
pub const ORDER_SK: &str = "ORDER";

pub fn order_pk(order_id: &str) -> String {
    format!("ORDER#{order_id}")
}

crate::string_enum! {
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

crate::string_enum! {
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

crate::string_enum! {
    PaymentState {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
        Refunded = "refunded",
    }
}

/// An order as its statistics and its buyer's emails read it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderSummary {
    pub id: String,
    pub status: OrderStatus,
    pub buyer: BuyerSummary,
    pub lines: Vec<LineSummary>,
    pub totals: TotalsSummary,
    pub payment: PaymentSummary,
    /// The sellers' milestone log (orders' `milestones`), oldest first.
    #[serde(default)]
    pub milestones: Vec<MilestoneSummary>,
    /// Orders placed from an awarded proposal: where from, and whether the
    /// RFQ asked for cold-chain delivery.
    #[serde(default)]
    pub sourced_from: Option<super::sourced_order::SourcedFrom>,
    pub created_at: String,
    pub updated_at: String,
}

/// One milestone, as the buyer's alert reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MilestoneSummary {
    #[serde(rename = "type")]
    pub kind: String,
    pub seller_org_id: String,
    pub at: String,
    #[serde(default)]
    pub temperature_c: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuyerSummary {
    /// The person who placed it; none for an order placed by an API key.
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineSummary {
    pub name: String,
    pub quantity: i64,
    pub line_total: i64,
}

/// In minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TotalsSummary {
    pub currency: String,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSummary {
    pub state: PaymentState,
    #[serde(default)]
    pub refund: Option<RefundSummary>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RefundSummary {
    pub amount: i64,
}

/// An order as a context that has made-to-order lines manufactured reads
/// it (studio, on the stream's order changes): which lines to make, for
/// whom, and whether the buyer has paid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderToManufacture {
    pub id: String,
    pub status: OrderStatus,
    pub payment: PaymentSummary,
    pub shipping_address: ShippingAddress,
    pub lines: Vec<LineToManufacture>,
    /// The order's currency (and total): what a line's price is in.
    pub totals: TotalsSummary,
}

impl OrderToManufacture {
    /// Paid and not cancelled or refunded: its lines may be made.
    pub fn is_paid(&self) -> bool {
        self.payment.state == PaymentState::Succeeded
            && matches!(
                self.status,
                OrderStatus::Paid
                    | OrderStatus::Fulfilling
                    | OrderStatus::Shipped
                    | OrderStatus::Delivered
            )
    }

    /// The lines a partner makes: made to order, with a line id.
    pub fn lines_to_make(&self) -> impl Iterator<Item = &LineToManufacture> {
        self.lines
            .iter()
            .filter(|line| line.made_to_order && !line.line_id.is_empty())
    }
}

/// One line of an order, as manufacturing reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineToManufacture {
    /// A ULID (26 characters): the partner order's external id.
    #[serde(default)]
    pub line_id: String,
    pub product_id: String,
    pub seller_org_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    /// What the buyer pays for the line, in minor units of the order's
    /// currency: the most its manufacturing may cost.
    pub line_total: i64,
    #[serde(default)]
    pub made_to_order: bool,
}

/// The buyer's shipping address, as checkout validated it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingAddress {
    pub name: String,
    #[serde(default)]
    pub company: Option<String>,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub postal_code: String,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// One seller's part of an order, as the "shipped" email reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfilmentSummary {
    pub order_id: String,
    pub status: FulfilmentStatus,
    pub lines: Vec<LineSummary>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
}

/// A seller's part of an order shipped on the seller's behalf by another
/// context (a print partner's parcel, reported to studio): what that context
/// asks orders to do. It travels as the body of a message on orders'
/// shipments queue (`ORDERS_SHIPMENT_QUEUE_URL`); orders' `orders-shipments`
/// worker applies it under orders' own rules, as if the seller had posted
/// `shipped` with this carrier and tracking number (a `paid` or
/// `fulfilling` fulfilment becomes `shipped`, the order follows, the buyer
/// gets the "shipped" email). Applying it twice changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentNotice {
    pub order_id: String,
    pub seller_org_id: String,
    pub carrier: String,
    pub tracking_number: String,
    /// Who shipped it, for the fulfilment's history (e.g. `printful:<lineId>`).
    pub by: String,
}
