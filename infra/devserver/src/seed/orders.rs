//! The demo orders: a member of the verified buyer organization fills the
//! org's cart and checks out by invoice (a fixed Idempotency-Key per order,
//! so a retry never orders twice); the platform admin marks the invoice
//! paid; for a shipped order each seller ships its part.

use std::collections::BTreeMap;

use anyhow::Context as _;
use axum::http::{Method, StatusCode};
use orders::model::OrderStatus;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::domain::{Email, Sku};

use super::orgs::Orgs;
use super::text;
use super::users::Accounts;
use super::{Kind, Summary};
use crate::client::Api;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedOrder {
    pub idempotency_key: String,
    /// The member who checks out (a demo user).
    pub buyer: Email,
    /// The buying organization's name.
    pub buyer_org: String,
    pub lines: Vec<SeedLine>,
    /// The body of `POST /v1/checkout`; its `note` names the order, so a
    /// second run finds it in the org's orders.
    pub checkout: Value,
    /// `paid` or `shipped`.
    pub outcome: OrderStatus,
    /// Carrier and tracking number, for a shipped order.
    #[serde(default)]
    pub shipment: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeedLine {
    pub sku: Sku,
    pub quantity: i64,
}

/// Places each order not placed yet and moves it on to its outcome;
/// returns the order ids by Idempotency-Key.
pub(super) async fn seed_orders(
    api: &Api,
    accounts: &Accounts,
    admin: &str,
    orgs: &Orgs,
    products: &BTreeMap<Sku, String>,
    orders: &[SeedOrder],
    summary: &mut Summary,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut ids = BTreeMap::new();
    for order in orders {
        anyhow::ensure!(
            matches!(order.outcome, OrderStatus::Paid | OrderStatus::Shipped),
            "the order {} should end paid or shipped, not {}",
            order.idempotency_key,
            order.outcome
        );
        let buyer = accounts.token(&order.buyer)?;
        let org_id = &orgs.get(&order.buyer_org)?.id;
        let placed = match placed_order(api, buyer, org_id, order).await? {
            Some(placed) => {
                summary.count(Kind::Orders, false);
                placed
            }
            None => {
                let placed = place(api, buyer, org_id, products, order)
                    .await
                    .with_context(|| format!("placing the order {}", order.idempotency_key))?;
                summary.count(Kind::Orders, true);
                placed
            }
        };
        let id = text(&placed, "id")?.to_owned();
        advance(api, accounts, admin, orgs, &placed, order)
            .await
            .with_context(|| {
                format!(
                    "taking the order {} to {}",
                    order.idempotency_key, order.outcome
                )
            })?;
        ids.insert(order.idempotency_key.clone(), id);
    }
    Ok(ids)
}

/// The org's order with this order's note, if it was placed before.
async fn placed_order(
    api: &Api,
    buyer: &str,
    org_id: &str,
    order: &SeedOrder,
) -> anyhow::Result<Option<Value>> {
    let note = &order.checkout["note"];
    anyhow::ensure!(
        note.is_string(),
        "the order {} needs a note to be found again",
        order.idempotency_key
    );
    let path = format!("/v1/orders?orgId={org_id}&limit=100");
    let placed = api
        .list_all(&path, Some(buyer))
        .await
        .context("listing the buyer organization's orders")?;
    Ok(placed.into_iter().find(|o| &o["note"] == note))
}

/// Fills the org's cart with the order's lines and checks out.
async fn place(
    api: &Api,
    buyer: &str,
    org_id: &str,
    products: &BTreeMap<Sku, String>,
    order: &SeedOrder,
) -> anyhow::Result<Value> {
    api.call(
        Method::DELETE,
        &format!("/v1/cart?orgId={org_id}"),
        Some(buyer),
        None,
        &[],
    )
    .await?
    .data()
    .context("emptying the cart")?;
    for line in &order.lines {
        let product_id = products
            .get(&line.sku)
            .with_context(|| format!("no product {} (products.json)", line.sku))?;
        let body = json!({ "productId": product_id, "quantity": line.quantity });
        api.post(
            &format!("/v1/cart/items?orgId={org_id}"),
            Some(buyer),
            &body,
        )
        .await?
        .data()
        .with_context(|| format!("adding {} to the cart", line.sku))?;
    }
    api.call(
        Method::POST,
        &format!("/v1/checkout?orgId={org_id}"),
        Some(buyer),
        Some(&order.checkout),
        &[("idempotency-key", &order.idempotency_key)],
    )
    .await?
    .data()
    .context("checking out")
}

/// Takes a placed order as far as its outcome: invoice paid, then shipped
/// by each of its sellers. Steps already taken are skipped.
async fn advance(
    api: &Api,
    accounts: &Accounts,
    admin: &str,
    orgs: &Orgs,
    placed: &Value,
    order: &SeedOrder,
) -> anyhow::Result<()> {
    let id = text(placed, "id")?;
    if placed["status"] == "pending_payment" {
        let path = format!("/v1/admin/orders/{id}/invoice-payment");
        api.call(Method::POST, &path, Some(admin), None, &[])
            .await?
            .data()
            .context("marking the invoice paid")?;
    }
    if order.outcome == OrderStatus::Shipped && placed["status"] != "shipped" {
        let shipment = order
            .shipment
            .as_ref()
            .context("a shipped order needs its shipment (carrier, trackingNumber)")?;
        let mut step = shipment.clone();
        step["status"] = json!("shipped");
        for seller in placed["sellerOrgIds"].as_array().into_iter().flatten() {
            let seller = seller.as_str().context("a seller org id")?;
            let owner = accounts.token(&orgs.by_id(seller)?.owner)?;
            let path = format!("/v1/orgs/{seller}/fulfilments/{id}/status");
            api.post(&path, Some(owner), &step)
                .await?
                .data()
                .with_context(|| format!("shipping the part of {seller}"))?;
        }
    }
    let now = api
        .get(&format!("/v1/orders/{id}"), Some(admin))
        .await?
        .data_if(&[StatusCode::OK])?;
    anyhow::ensure!(
        now["status"] == order.outcome.as_str(),
        "the order is {}, not {}",
        now["status"],
        order.outcome
    );
    Ok(())
}
