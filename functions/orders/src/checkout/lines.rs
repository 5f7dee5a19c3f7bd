//! The cart's lines priced from the products as they are now, and the
//! problems that stop a line (the 409/422 details).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use shared::contracts::product::ProductForSale;
use shared::domain::Currency;
use shared::http::{ApiError, ApiResult, FieldErrors};
use shared::store::Store;
use utoipa::ToSchema;

use crate::cart::{self, CartRecord};
use crate::model::OrderLine;
use crate::pricing;

/// A product a line cannot be bought as, for the 409/422 details.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineProblem {
    pub product_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub requested: i64,
    pub available: i64,
    /// `insufficient_stock`, `not_for_sale`, `below_minimum` or `currency_mismatch`.
    pub problem: &'static str,
}

fn problem(
    product: Option<&ProductForSale>,
    product_id: &str,
    requested: i64,
    problem: &'static str,
) -> LineProblem {
    LineProblem {
        product_id: product_id.to_owned(),
        name: product.map(|p| p.name.clone()),
        requested,
        available: product.map_or(0, |p| p.stock_available.max(0)),
        problem,
    }
}

fn names(problems: &[LineProblem]) -> String {
    problems
        .iter()
        .map(|p| p.name.clone().unwrap_or_else(|| p.product_id.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lines priced from the products; 409/422 if any cannot be bought.
pub(super) fn price_cart(
    cart: &CartRecord,
    products: &BTreeMap<String, ProductForSale>,
) -> ApiResult<(Currency, Vec<OrderLine>)> {
    let mut unavailable = Vec::new();
    let mut invalid = Vec::new();
    let mut lines = Vec::new();
    let currency = Currency::parse(&cart.currency).map_err(ApiError::internal)?;
    for line in &cart.lines {
        let product = products.get(&line.product_id);
        let Some(product) = product.filter(|p| p.is_listed()) else {
            unavailable.push(problem(
                product,
                &line.product_id,
                line.quantity,
                "not_for_sale",
            ));
            continue;
        };
        if product.price.currency != currency {
            invalid.push(problem(
                Some(product),
                &product.id,
                line.quantity,
                "currency_mismatch",
            ));
            continue;
        }
        if line.quantity < product.minimum_order_quantity {
            invalid.push(problem(
                Some(product),
                &product.id,
                line.quantity,
                "below_minimum",
            ));
            continue;
        }
        if !product.can_supply(line.quantity) {
            unavailable.push(problem(
                Some(product),
                &product.id,
                line.quantity,
                "insufficient_stock",
            ));
            continue;
        }
        let unit_price =
            pricing::unit_price(product.price.amount, &product.price_tiers, line.quantity);
        let line_total = pricing::line_total(unit_price, line.quantity)
            .map_err(|err| ApiError::invalid_field("cart", err.to_string()))?;
        lines.push(OrderLine {
            line_id: shared::domain::new_id(),
            product_id: product.id.clone(),
            seller_org_id: product.seller_org_id.clone(),
            sku: product.sku.clone(),
            name: product.name.clone(),
            quantity: line.quantity,
            unit_price,
            line_total,
            made_to_order: product.made_to_order,
        });
    }
    if !invalid.is_empty() {
        let message = format!(
            "some lines cannot be ordered as they are: {}",
            names(&invalid)
        );
        return Err(ApiError::validation(message, FieldErrors::new())
            .with_details(json!({ "lines": invalid })));
    }
    if !unavailable.is_empty() {
        return Err(short_of_stock(unavailable));
    }
    Ok((currency, lines))
}

fn short_of_stock(problems: Vec<LineProblem>) -> ApiError {
    shared::metrics::count("CheckoutsShortOfStock", 1);
    ApiError::conflict(format!(
        "not enough stock, or no longer for sale: {}",
        names(&problems)
    ))
    .with_details(json!({ "lines": problems }))
}

/// 409 naming the lines the stock no longer covers, with what is left now.
pub(super) async fn stock_conflict(store: &Store, short: &[&OrderLine]) -> ApiError {
    let now = cart::load_products(store, short.iter().map(|l| l.product_id.as_str()))
        .await
        .unwrap_or_default();
    let problems = short
        .iter()
        .map(|line| {
            let product = now.get(&line.product_id);
            let mut p = problem(
                product,
                &line.product_id,
                line.quantity,
                "insufficient_stock",
            );
            if p.name.is_none() {
                p.name = Some(line.name.clone());
            }
            if product.is_some_and(|p| !p.is_listed()) {
                p.problem = "not_for_sale";
            }
            p
        })
        .collect();
    short_of_stock(problems)
}
