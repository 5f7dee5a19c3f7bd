//! The order item (`ORDER#<id> / ORDER`), what it holds (buyer, lines,
//! totals, history) and the order as the API shows it.

use serde::{Deserialize, Serialize};
use shared::contracts::sourced_order::SourcedFrom;
use utoipa::ToSchema;

use super::{Address, OrderStatus, Payment};
use crate::milestones::Milestone;

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
    /// The line's own id (a ULID), e.g. the external id of a partner order
    /// that makes it. Absent on lines placed before lines had ids.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub line_id: String,
    pub product_id: String,
    pub seller_org_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    /// Minor units, from the product's price tier for this quantity.
    pub unit_price: i64,
    pub line_total: i64,
    /// Made to order by a partner: no stock was reserved for it, and none
    /// moves when the order is paid, cancelled or refunded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub made_to_order: bool,
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
    /// Set on orders placed from an awarded proposal
    /// (`shared::contracts::sourced_order`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sourced_from: Option<SourcedFrom>,
    /// The sellers' milestone log, oldest first (append-only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
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
    /// The RFQ, proposal revision and its hash the prices come from, for an
    /// order placed by an award.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sourced_from: Option<SourcedFrom>,
    /// What the sellers recorded: produced, shipped, delivered, exceptions.
    pub milestones: Vec<Milestone>,
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
            sourced_from: order.sourced_from,
            milestones: order.milestones,
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

#[cfg(test)]
mod tests {
    use shared::contracts::sourced_order::{SourcedLine, SourcedOrder, sourced_order_items};
    use shared::domain::CountryCode;

    use super::*;
    use crate::model::{
        FulfilmentRecord, FulfilmentStatus, OrderStatus, PaymentMethod, PaymentState,
        buyer_partition, fulfilment_sk, order_pk, seller_partition, status_partition,
    };

    /// Sourcing creates orders through `shared::contracts::sourced_order`:
    /// this crate must read those items as its own, keyed as its own.
    #[test]
    fn a_sourced_order_reads_as_an_order_and_its_fulfilment() {
        let request = SourcedOrder {
            order_id: "o1".into(),
            buyer_org_id: "b1".into(),
            placed_by: "user:u1".into(),
            seller_org_id: "s1".into(),
            currency: "EUR".into(),
            lines: vec![SourcedLine {
                rfq_line_id: "L1".into(),
                name: "Roma tomatoes".into(),
                quantity: 300,
                unit_price: 240,
            }],
            ship_to: shared::domain::address::Address {
                name: "Hopper Canteen".into(),
                company: None,
                line1: "Hauptstraße 5".into(),
                line2: None,
                postal_code: "10115".into(),
                city: "Berlin".into(),
                region: None,
                country: CountryCode::parse("DE").unwrap(),
                phone: None,
            },
            net_terms_days: 30,
            from: SourcedFrom {
                source: "rfq".into(),
                rfq_id: "r1".into(),
                proposal_id: "p1".into(),
                revision: 2,
                proposal_hash: "ab".repeat(32),
                cold_chain: false,
            },
        };
        let today = time::OffsetDateTime::now_utc().date();
        let (order, fulfilment) =
            sourced_order_items(&request, "2026-11-26T10:00:00Z", today).unwrap();
        let order: OrderRecord = serde_json::from_value(order).unwrap();
        let fulfilment: FulfilmentRecord = serde_json::from_value(fulfilment).unwrap();
        assert_eq!(order.pk, order_pk("o1"));
        assert_eq!(order.gsi1pk, buyer_partition(&order.buyer.key()));
        assert_eq!(order.gsi2pk, status_partition(OrderStatus::PendingPayment));
        assert_eq!(order.gsi3pk, crate::model::ALL_ORDERS_PARTITION);
        assert_eq!(order.status, OrderStatus::PendingPayment);
        assert_eq!(order.payment.method, PaymentMethod::Invoice);
        assert_eq!(order.payment.state, PaymentState::Pending);
        assert_eq!(order.payment.net_terms_days, Some(30));
        assert_eq!(order.lines[0].unit_price, 240);
        assert_eq!(order.lines[0].line_total, 72_000);
        assert_eq!(order.totals.total, 72_000);
        assert_eq!(order.sourced_from, Some(request.from.clone()));
        assert_eq!(order.seller_org_ids, vec!["s1".to_owned()]);
        assert!(order.expires_at.is_none() && order.gsi4pk.is_none());
        assert_eq!(fulfilment.sk, fulfilment_sk("s1"));
        assert_eq!(fulfilment.gsi1pk, seller_partition("s1"));
        assert_eq!(fulfilment.status, FulfilmentStatus::PendingPayment);
        assert_eq!(fulfilment.lines, order.lines);
    }
}
