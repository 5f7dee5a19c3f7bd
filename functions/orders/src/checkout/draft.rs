//! The order and its fulfilments (one per seller) as the checkout will
//! write them: totals quoted, pending payment.

use shared::domain::{Currency, new_id, now_epoch, now_rfc3339};
use shared::http::{ApiError, ApiResult};

use super::PAYMENT_WINDOW_SECS;
use super::request::Checkout;
use super::saved_address::ShipTo;
use crate::model::{
    ALL_ORDERS_PARTITION, Buyer, EXPIRING_PARTITION, FULFILMENT_TYPE, FulfilmentRecord,
    FulfilmentStatus, HistoryEntry, ORDER_SK, ORDER_TYPE, OrderLine, OrderRecord, OrderStatus,
    Payment, PaymentMethod, PaymentState, Totals, buyer_partition, expiring_sk, fulfilment_sk,
    order_pk, seller_partition, status_partition,
};
use crate::pricing::{self, PricedLine};

pub(super) struct Draft {
    pub(super) order: OrderRecord,
    pub(super) fulfilments: Vec<FulfilmentRecord>,
}

pub(super) fn draft(
    buyer: &Buyer,
    checkout: &Checkout,
    ship_to: &ShipTo,
    currency: Currency,
    lines: Vec<OrderLine>,
) -> ApiResult<Draft> {
    let priced: Vec<PricedLine> = lines
        .iter()
        .map(|l| PricedLine {
            seller_org_id: l.seller_org_id.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            line_total: l.line_total,
        })
        .collect();
    let quote = pricing::quote(currency, ship_to.shipping.country.as_str(), &priced)
        .map_err(|err| ApiError::invalid_field("cart", err.to_string()))?;
    let id = new_id();
    let now = now_rfc3339();
    let pk = order_pk(&id);
    let expires_at =
        (checkout.method == PaymentMethod::Card).then(|| now_epoch() + PAYMENT_WINDOW_SECS);
    let due_date = checkout.net_terms_days.map(|days| {
        let due = time::OffsetDateTime::now_utc() + time::Duration::days(days);
        due.date().to_string()
    });
    let entry = HistoryEntry::new(
        OrderStatus::PendingPayment.as_str(),
        &now,
        &buyer.placed_by,
        None,
    );
    let fulfilments = quote
        .sellers
        .iter()
        .map(|(seller, (subtotal, shipping))| FulfilmentRecord {
            pk: pk.clone(),
            sk: fulfilment_sk(seller),
            item_type: FULFILMENT_TYPE.to_owned(),
            gsi1pk: seller_partition(seller),
            gsi1sk: id.clone(),
            order_id: id.clone(),
            seller_org_id: seller.clone(),
            status: FulfilmentStatus::PendingPayment,
            lines: lines
                .iter()
                .filter(|l| &l.seller_org_id == seller)
                .cloned()
                .collect(),
            currency: currency.as_str().to_owned(),
            subtotal: *subtotal,
            shipping: *shipping,
            shipping_address: ship_to.shipping.clone(),
            carrier: None,
            tracking_number: None,
            history: vec![entry.clone()],
            created_at: now.clone(),
            updated_at: now.clone(),
            version: 1,
        })
        .collect::<Vec<_>>();
    let order = OrderRecord {
        pk: pk.clone(),
        sk: ORDER_SK.to_owned(),
        item_type: ORDER_TYPE.to_owned(),
        gsi1pk: buyer_partition(&buyer.key()),
        gsi1sk: id.clone(),
        gsi2pk: status_partition(OrderStatus::PendingPayment),
        gsi2sk: id.clone(),
        gsi3pk: ALL_ORDERS_PARTITION.to_owned(),
        gsi3sk: id.clone(),
        gsi4pk: expires_at.map(|_| EXPIRING_PARTITION.to_owned()),
        gsi4sk: expires_at.map(|at| expiring_sk(at, &id)),
        id: id.clone(),
        buyer: buyer.clone(),
        status: OrderStatus::PendingPayment,
        totals: Totals {
            currency: currency.as_str().to_owned(),
            subtotal: quote.subtotal,
            shipping: quote.shipping,
            tax_rate_basis_points: quote.tax_rate,
            tax: quote.tax,
            total: quote.total,
        },
        lines,
        shipping_address: ship_to.shipping.clone(),
        billing_address: ship_to.billing.clone(),
        note: checkout.note.clone(),
        payment: Payment {
            method: checkout.method,
            provider: match checkout.method {
                PaymentMethod::Card => "stripe".into(),
                PaymentMethod::Invoice => "invoice".into(),
            },
            state: PaymentState::Pending,
            reference: None,
            client_secret: None,
            net_terms_days: checkout.net_terms_days,
            due_date,
            paid_at: None,
            last_error: None,
            refund: None,
        },
        seller_org_ids: fulfilments
            .iter()
            .map(|f| f.seller_org_id.clone())
            .collect(),
        fulfilment_count: fulfilments.len() as i64,
        shipped_count: 0,
        delivered_count: 0,
        history: vec![entry],
        expires_at,
        sourced_from: None,
        milestones: Vec::new(),
        created_at: now.clone(),
        updated_at: now,
        version: 1,
    };
    Ok(Draft { order, fulfilments })
}
