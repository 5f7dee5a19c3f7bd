//! Orders placed from an awarded proposal (sourcing asks, orders owns): the
//! one way another context creates an order. [`sourced_order_items`] checks
//! the orders context's rules for such an order and builds its items as
//! orders stores them — `ORDER#<id> / ORDER` and one `FULFILMENT#<seller>` —
//! for the caller to write in its own transaction. Orders' round-trip test
//! reads these items as its `OrderRecord` and `FulfilmentRecord`, so a
//! change of orders' layout fails there, not in production.
//!
//! Such an order is priced by the proposal (never re-priced from the
//! catalog): each line keeps the proposal's unit price, the order keeps the
//! proposal's revision and SHA-256 hash (`sourcedFrom`). It is payable by
//! invoice under the RFQ's terms, pending payment, and reserves no stock (the
//! goods are made or sourced for it).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::order::{FULFILMENT_TYPE, ORDER_SK, ORDER_TYPE, order_pk};
use crate::domain::Money;
use crate::domain::address::Address;

/// Invoice terms orders accepts, in days.
pub const NET_TERMS_DAYS: &[i64] = &[14, 30, 60];
const MAX_QUANTITY: i64 = 1_000_000_000;
const MAX_LINES: usize = 100;

/// Where a sourced order comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourcedFrom {
    /// `rfq`
    #[schema(example = "rfq")]
    pub source: String,
    pub rfq_id: String,
    pub proposal_id: String,
    pub revision: u32,
    /// SHA-256 of the proposal revision the prices come from.
    pub proposal_hash: String,
    /// The RFQ asked for cold-chain delivery: a temperature excursion on
    /// the order alerts the buyer.
    #[serde(default)]
    pub cold_chain: bool,
}

/// One awarded line at the proposal's price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedLine {
    pub rfq_line_id: String,
    pub name: String,
    pub quantity: i64,
    /// Minor units of the order's currency, from the proposal.
    pub unit_price: i64,
}

/// What sourcing asks orders to create.
#[derive(Debug, Clone)]
pub struct SourcedOrder {
    pub order_id: String,
    pub buyer_org_id: String,
    /// `user:<id>` or `apikey:<prefix>`.
    pub placed_by: String,
    pub seller_org_id: String,
    pub currency: String,
    pub lines: Vec<SourcedLine>,
    /// Where the goods go: a saved address of the buyer organization.
    pub ship_to: Address,
    pub net_terms_days: i64,
    pub from: SourcedFrom,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourcedOrderError {
    #[error("an order needs 1 to {MAX_LINES} lines")]
    Lines,
    #[error("line {0}: quantity must be 1 to {MAX_QUANTITY}")]
    Quantity(String),
    #[error("line {0}: the unit price is not a valid amount of the currency")]
    Price(String),
    #[error("the total is not a valid amount of the currency")]
    Total,
    #[error("invoice terms must be 14, 30 or 60 days")]
    NetTerms,
}

/// The order's and its fulfilment's items, as orders stores them, after
/// checking the orders context's rules. `now` is RFC 3339.
pub fn sourced_order_items(
    order: &SourcedOrder,
    now: &str,
    today: time::Date,
) -> Result<(Value, Value), SourcedOrderError> {
    if order.lines.is_empty() || order.lines.len() > MAX_LINES {
        return Err(SourcedOrderError::Lines);
    }
    if !NET_TERMS_DAYS.contains(&order.net_terms_days) {
        return Err(SourcedOrderError::NetTerms);
    }
    let mut lines = Vec::new();
    let mut subtotal: i64 = 0;
    for line in &order.lines {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(SourcedOrderError::Quantity(line.rfq_line_id.clone()));
        }
        let price = Money::parse(line.unit_price, &order.currency)
            .map_err(|_| SourcedOrderError::Price(line.rfq_line_id.clone()))?;
        let total = price
            .times(line.quantity as u64)
            .ok_or(SourcedOrderError::Total)?;
        subtotal = subtotal
            .checked_add(total.amount)
            .ok_or(SourcedOrderError::Total)?;
        lines.push(json!({
            "productId": format!("rfq:{}:{}", order.from.rfq_id, line.rfq_line_id),
            "sellerOrgId": order.seller_org_id,
            "sku": format!("RFQ-{}", line.rfq_line_id),
            "name": line.name,
            "quantity": line.quantity,
            "unitPrice": line.unit_price,
            "lineTotal": total.amount,
        }));
    }
    Money::parse(subtotal, &order.currency).map_err(|_| SourcedOrderError::Total)?;
    let id = &order.order_id;
    let pk = order_pk(id);
    let buyer_key = format!("ORG#{}", order.buyer_org_id);
    let address = serde_json::to_value(&order.ship_to).map_err(|_| SourcedOrderError::Total)?;
    let history = json!([{
        "status": "pending_payment",
        "at": now,
        "by": order.placed_by,
        "note": format!("awarded from request for quotation {}", order.from.rfq_id),
    }]);
    let due = today + time::Duration::days(order.net_terms_days);
    let order_item = json!({
        "PK": pk,
        "SK": ORDER_SK,
        "type": ORDER_TYPE,
        "GSI1PK": format!("ORDERS#BUYER#{buyer_key}"),
        "GSI1SK": id,
        "GSI2PK": "ORDERS#STATUS#pending_payment",
        "GSI2SK": id,
        "GSI3PK": "ORDERS#ALL",
        "GSI3SK": id,
        "id": id,
        "buyer": {
            "kind": "org",
            "userId": order.placed_by.strip_prefix("user:"),
            "orgId": order.buyer_org_id,
            "placedBy": order.placed_by,
        },
        "status": "pending_payment",
        "lines": lines,
        "totals": {
            "currency": order.currency,
            "subtotal": subtotal,
            "shipping": 0,
            "taxRateBasisPoints": 0,
            "tax": 0,
            "total": subtotal,
        },
        "shippingAddress": address,
        "billingAddress": address,
        "payment": {
            "method": "invoice",
            "provider": "invoice",
            "state": "pending",
            "netTermsDays": order.net_terms_days,
            "dueDate": due.to_string(),
        },
        "sellerOrgIds": [order.seller_org_id],
        "fulfilmentCount": 1,
        "shippedCount": 0,
        "deliveredCount": 0,
        "history": history,
        "sourcedFrom": order.from,
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
    });
    let fulfilment_item = json!({
        "PK": pk,
        "SK": format!("FULFILMENT#{}", order.seller_org_id),
        "type": FULFILMENT_TYPE,
        "GSI1PK": format!("FULFILMENTS#SELLER#{}", order.seller_org_id),
        "GSI1SK": id,
        "orderId": id,
        "sellerOrgId": order.seller_org_id,
        "status": "pending_payment",
        "lines": lines,
        "currency": order.currency,
        "subtotal": subtotal,
        "shipping": 0,
        "shippingAddress": address,
        "history": history,
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
    });
    Ok((order_item, fulfilment_item))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CountryCode;

    fn order() -> SourcedOrder {
        SourcedOrder {
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
            ship_to: crate::domain::address::Address {
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
                revision: 3,
                proposal_hash: "ab".repeat(32),
                cold_chain: true,
            },
        }
    }

    fn today() -> time::Date {
        time::macros::date!(2026 - 11 - 26)
    }

    #[test]
    fn the_order_keeps_the_proposal_prices_and_is_payable_by_invoice() {
        let (order_item, fulfilment) =
            sourced_order_items(&order(), "2026-11-26T10:00:00Z", today()).unwrap();
        assert_eq!(order_item["lines"][0]["unitPrice"], 240);
        assert_eq!(order_item["lines"][0]["lineTotal"], 72_000);
        assert_eq!(order_item["totals"]["total"], 72_000);
        assert_eq!(order_item["payment"]["method"], "invoice");
        assert_eq!(order_item["payment"]["dueDate"], "2026-12-26");
        assert_eq!(order_item["sourcedFrom"]["revision"], 3);
        assert_eq!(fulfilment["subtotal"], 72_000);
    }

    #[test]
    fn orders_rules_are_enforced() {
        let mut bad = order();
        bad.net_terms_days = 45;
        assert_eq!(
            sourced_order_items(&bad, "now", today()),
            Err(SourcedOrderError::NetTerms)
        );
        let mut bad = order();
        bad.lines[0].quantity = 0;
        assert!(matches!(
            sourced_order_items(&bad, "now", today()),
            Err(SourcedOrderError::Quantity(_))
        ));
        let mut bad = order();
        bad.lines.clear();
        assert_eq!(
            sourced_order_items(&bad, "now", today()),
            Err(SourcedOrderError::Lines)
        );
        let mut bad = order();
        bad.lines[0].unit_price = 9_000_000_000_000;
        bad.lines[0].quantity = 1_000_000;
        assert_eq!(
            sourced_order_items(&bad, "now", today()),
            Err(SourcedOrderError::Total)
        );
    }
}
