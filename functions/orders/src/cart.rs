//! The buyer's one cart: add, change a quantity, remove, clear, read.
//!
//! The cart holds product ids and quantities only. Reading it shows each
//! line at the product's current price (its tier for the quantity) and
//! stock; checkout prices it again from the products, never from the cart
//! or the client. Every change is a conditional write on the cart's
//! `version`, retried on a concurrent change, so two tabs adding at once
//! both land.

use std::collections::HashMap;

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shared::contracts::product::ProductForSale;
use shared::domain::{now_epoch, now_rfc3339};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{Store, StoreError};
use utoipa::ToSchema;

use crate::OrdersState;
use crate::buyer::{BuyerParams, Purchaser};
use crate::model::{Buyer, CART_TYPE};
use crate::pricing;

/// Lines a cart may hold: a one-seller cart of this many lines fills one
/// card checkout's transaction exactly (5 + lines + sellers = 100 items; see
/// docs/orders.md, "Limits"). Carts from several sellers may need fewer.
pub const MAX_CART_LINES: usize = 94;
/// Units of one product per line.
pub const MAX_LINE_QUANTITY: i64 = 1_000_000;
/// A cart nobody touches for 90 days is deleted by TTL.
const CART_TTL_SECS: i64 = 90 * 24 * 3600;
const CART_SK: &str = "CART";
/// Attempts at a change when other changes to the same cart keep winning.
const MAX_ATTEMPTS: usize = 5;

pub fn cart_pk(buyer: &Buyer) -> String {
    format!("CART#{}", buyer.key())
}

pub fn cart_key(buyer: &Buyer) -> (String, &'static str) {
    (cart_pk(buyer), CART_SK)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartLine {
    pub product_id: String,
    pub quantity: i64,
    pub added_at: String,
}

/// `CART#<buyer> / CART`. An emptied cart is deleted, never stored empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub currency: String,
    pub lines: Vec<CartLine>,
    pub updated_at: String,
    pub version: u64,
    pub ttl: i64,
}

/// Stock as a buyer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockStatus {
    InStock,
    /// Fewer units available than the line asks for.
    Insufficient,
    OutOfStock,
    /// Archived, deactivated or deleted since it was added.
    Unavailable,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartLineView {
    pub product_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_org_id: Option<String>,
    pub quantity: i64,
    /// The current unit price for this quantity (minor units).
    pub unit_price: i64,
    pub line_total: i64,
    pub stock_status: StockStatus,
    pub available_quantity: i64,
    pub minimum_order_quantity: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// The cart at current prices. Shipping and tax depend on the address and
/// are computed at checkout.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartView {
    pub buyer: Buyer,
    /// Set by the first line; every line must share it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    pub lines: Vec<CartLineView>,
    pub subtotal: i64,
    /// False while any line cannot be bought as it is.
    pub ready_for_checkout: bool,
    pub version: u64,
}

/// Products by id with their stock, in one BatchGet (per 50 products).
pub async fn load_products(
    store: &Store,
    ids: impl IntoIterator<Item = &str>,
) -> Result<HashMap<String, ProductForSale>, StoreError> {
    let ids: Vec<&str> = ids.into_iter().collect();
    shared::contracts::product::load_for_sale(store, &ids).await
}

fn line_view(line: &CartLine, product: Option<&ProductForSale>) -> CartLineView {
    let Some(product) = product else {
        return CartLineView {
            product_id: line.product_id.clone(),
            sku: None,
            name: None,
            seller_org_id: None,
            quantity: line.quantity,
            unit_price: 0,
            line_total: 0,
            stock_status: StockStatus::Unavailable,
            available_quantity: 0,
            minimum_order_quantity: 1,
            image: None,
        };
    };
    let unit_price = pricing::unit_price(product.price.amount, &product.price_tiers, line.quantity);
    let stock_status = if !product.is_listed() {
        StockStatus::Unavailable
    } else if product.made_to_order {
        StockStatus::InStock
    } else if product.stock_available <= 0 {
        StockStatus::OutOfStock
    } else if product.stock_available < line.quantity {
        StockStatus::Insufficient
    } else {
        StockStatus::InStock
    };
    CartLineView {
        product_id: line.product_id.clone(),
        sku: Some(product.sku.clone()),
        name: Some(product.name.clone()),
        seller_org_id: Some(product.seller_org_id.clone()),
        quantity: line.quantity,
        unit_price,
        line_total: pricing::line_total(unit_price, line.quantity).unwrap_or(i64::MAX),
        stock_status,
        available_quantity: product.stock_available.max(0),
        minimum_order_quantity: product.minimum_order_quantity,
        image: product.images.first().cloned(),
    }
}

async fn view(store: &Store, buyer: Buyer, cart: Option<CartRecord>) -> ApiResult<CartView> {
    let Some(cart) = cart else {
        return Ok(CartView {
            buyer,
            currency: None,
            lines: Vec::new(),
            subtotal: 0,
            ready_for_checkout: false,
            version: 0,
        });
    };
    let products = load_products(store, cart.lines.iter().map(|l| l.product_id.as_str())).await?;
    let lines: Vec<CartLineView> = cart
        .lines
        .iter()
        .map(|line| line_view(line, products.get(&line.product_id)))
        .collect();
    let ready = lines
        .iter()
        .all(|l| l.stock_status == StockStatus::InStock && l.quantity >= l.minimum_order_quantity);
    Ok(CartView {
        buyer,
        currency: Some(cart.currency),
        subtotal: lines
            .iter()
            .map(|l| l.line_total)
            .fold(0, i64::saturating_add),
        lines,
        ready_for_checkout: ready,
        version: cart.version,
    })
}

pub async fn load_cart(store: &Store, buyer: &Buyer) -> Result<Option<CartRecord>, StoreError> {
    let (pk, sk) = cart_key(buyer);
    store.get(&pk, sk).await
}

/// Applies `change` to the cart and writes it back only if nobody changed it
/// meanwhile; on a lost race it reads again and reapplies (a few times).
async fn mutate(
    store: &Store,
    buyer: &Buyer,
    mut change: impl FnMut(&mut CartRecord) -> ApiResult<()>,
) -> ApiResult<Option<CartRecord>> {
    for _ in 0..MAX_ATTEMPTS {
        let existing = load_cart(store, buyer).await?;
        let expected = existing.as_ref().map(|c| c.version);
        let (pk, sk) = cart_key(buyer);
        let mut cart = existing.unwrap_or_else(|| CartRecord {
            pk: pk.clone(),
            sk: sk.to_owned(),
            item_type: CART_TYPE.to_owned(),
            currency: String::new(),
            lines: Vec::new(),
            updated_at: String::new(),
            version: 0,
            ttl: 0,
        });
        change(&mut cart)?;
        cart.version += 1;
        cart.updated_at = now_rfc3339();
        cart.ttl = now_epoch() + CART_TTL_SECS;
        let written = if cart.lines.is_empty() {
            let values = [(":v", shared::store::n(expected.unwrap_or(0) as i64))];
            let item = store.transact_delete(&pk, sk, Some("version = :v"), &values)?;
            store.transact(vec![item]).await.map(|()| None)
        } else {
            let item = match expected {
                Some(version) => store.transact_put_if_version(&cart, version)?,
                None => store.transact_put(&cart, Some("attribute_not_exists(PK)"))?,
            };
            store.transact(vec![item]).await.map(|()| Some(cart))
        };
        match written {
            Ok(cart) => return Ok(cart),
            Err(StoreError::TransactionCanceled(_)) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::conflict(
        "the cart is being changed elsewhere; please retry",
    ))
}

/// The product a line may hold, or why not (422 on `productId`/`quantity`).
fn check_line(product: &ProductForSale, quantity: i64, cart_currency: &str) -> ApiResult<()> {
    if !product.is_listed() {
        return Err(ApiError::invalid_field(
            "productId",
            "this product is not for sale",
        ));
    }
    if !(1..=MAX_LINE_QUANTITY).contains(&quantity) {
        return Err(ApiError::invalid_field(
            "quantity",
            format!("must be a whole number from 1 to {MAX_LINE_QUANTITY}"),
        ));
    }
    if quantity < product.minimum_order_quantity {
        return Err(ApiError::invalid_field(
            "quantity",
            format!(
                "this product is sold in quantities of at least {}",
                product.minimum_order_quantity
            ),
        ));
    }
    let currency = product.price.currency.as_str();
    if !cart_currency.is_empty() && cart_currency != currency {
        return Err(ApiError::invalid_field(
            "productId",
            format!("this product is priced in {currency}, the cart in {cart_currency}"),
        ));
    }
    Ok(())
}

/// The product without its stock (adding to the cart checks no stock).
async fn product_for_cart(store: &Store, product_id: &str) -> ApiResult<ProductForSale> {
    let (pk, sk) = shared::stock::product_key(product_id);
    store
        .get::<ProductForSale>(&pk, sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no such product"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddItem {
    #[schema(example = "01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub product_id: String,
    /// Units to add to the line (it is created if missing).
    #[schema(example = 2, minimum = 1, maximum = 1_000_000_i64)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetQuantity {
    /// The line's new quantity (at least the product's minimum order quantity).
    #[schema(example = 5, minimum = 1, maximum = 1_000_000_i64)]
    pub quantity: i64,
}

/// The caller's cart (or the org's, with `?orgId=`) at current prices and stock.
#[utoipa::path(
    get,
    path = "/v1/cart",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(BuyerParams),
    responses(
        (status = 200, description = "The cart; an empty one if nothing was added", body = Envelope<CartView>),
        (status = 403, description = "No order:create permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such organization (or not the caller's)", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn get_cart(
    State(state): State<OrdersState>,
    Purchaser(buyer): Purchaser,
) -> ApiResult<ApiResponse<CartView>> {
    let cart = load_cart(&state.store, &buyer).await?;
    Ok(ApiResponse::ok(view(&state.store, buyer, cart).await?))
}

/// Empties the cart.
#[utoipa::path(
    delete,
    path = "/v1/cart",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(BuyerParams),
    responses(
        (status = 200, description = "The emptied cart", body = Envelope<CartView>),
        (status = 403, description = "No order:create permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such organization (or not the caller's)", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn clear_cart(
    State(state): State<OrdersState>,
    Purchaser(buyer): Purchaser,
) -> ApiResult<ApiResponse<CartView>> {
    let (pk, sk) = cart_key(&buyer);
    state.store.delete(&pk, sk).await?;
    Ok(ApiResponse::ok(view(&state.store, buyer, None).await?))
}

/// Adds units of a product: the product must be for sale, the line's
/// quantity at least its minimum order quantity, and its currency the cart's.
#[utoipa::path(
    post,
    path = "/v1/cart/items",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(BuyerParams),
    request_body = AddItem,
    responses(
        (status = 200, description = "The cart after the change", body = Envelope<CartView>),
        (status = 403, description = "No order:create permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "No such product, or no such organization", body = ErrorEnvelope),
        (status = 409, description = "The cart kept changing elsewhere; retry", body = ErrorEnvelope),
        (status = 422, description = "Not for sale, a quantity below the minimum or out of range, another currency, or a full cart", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn add_item(
    State(state): State<OrdersState>,
    Purchaser(buyer): Purchaser,
    ApiJson(request): ApiJson<AddItem>,
) -> ApiResult<ApiResponse<CartView>> {
    if !(1..=MAX_LINE_QUANTITY).contains(&request.quantity) {
        return Err(ApiError::invalid_field(
            "quantity",
            format!("must be a whole number from 1 to {MAX_LINE_QUANTITY}"),
        ));
    }
    let product = product_for_cart(&state.store, request.product_id.trim()).await?;
    let cart = mutate(&state.store, &buyer, |cart| {
        let existing = cart.lines.iter().position(|l| l.product_id == product.id);
        let quantity = existing
            .map_or(0, |i| cart.lines[i].quantity)
            .saturating_add(request.quantity);
        check_line(&product, quantity, &cart.currency)?;
        match existing {
            Some(i) => cart.lines[i].quantity = quantity,
            None if cart.lines.len() >= MAX_CART_LINES => {
                return Err(ApiError::invalid_field(
                    "productId",
                    format!("a cart holds at most {MAX_CART_LINES} products"),
                ));
            }
            None => cart.lines.push(CartLine {
                product_id: product.id.clone(),
                quantity,
                added_at: now_rfc3339(),
            }),
        }
        cart.currency = product.price.currency.as_str().to_owned();
        Ok(())
    })
    .await?;
    Ok(ApiResponse::ok(view(&state.store, buyer, cart).await?))
}

/// Sets a line's quantity (at least the product's minimum order quantity).
#[utoipa::path(
    put,
    path = "/v1/cart/items/{productId}",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(("productId" = String, Path, description = "The product of the line"), BuyerParams),
    request_body = SetQuantity,
    responses(
        (status = 200, description = "The cart after the change", body = Envelope<CartView>),
        (status = 403, description = "No order:create permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "The product is not in the cart, or no such organization", body = ErrorEnvelope),
        (status = 409, description = "The cart kept changing elsewhere; retry", body = ErrorEnvelope),
        (status = 422, description = "A quantity below the minimum or out of range, or the product is no longer for sale", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn set_quantity(
    State(state): State<OrdersState>,
    Purchaser(buyer): Purchaser,
    Path(product_id): Path<String>,
    ApiJson(request): ApiJson<SetQuantity>,
) -> ApiResult<ApiResponse<CartView>> {
    let product = product_for_cart(&state.store, &product_id).await?;
    let cart = mutate(&state.store, &buyer, |cart| {
        let currency = cart.currency.clone();
        let line = cart
            .lines
            .iter_mut()
            .find(|l| l.product_id == product_id)
            .ok_or_else(|| ApiError::not_found("this product is not in the cart"))?;
        check_line(&product, request.quantity, &currency)?;
        line.quantity = request.quantity;
        Ok(())
    })
    .await?;
    Ok(ApiResponse::ok(view(&state.store, buyer, cart).await?))
}

/// Removes a line.
#[utoipa::path(
    delete,
    path = "/v1/cart/items/{productId}",
    tag = "orders",
    security(("bearer" = []), ("apiKey" = [])),
    params(("productId" = String, Path, description = "The product of the line"), BuyerParams),
    responses(
        (status = 200, description = "The cart after the change", body = Envelope<CartView>),
        (status = 403, description = "No order:create permission in the organization", body = ErrorEnvelope),
        (status = 404, description = "The product is not in the cart, or no such organization", body = ErrorEnvelope),
        (status = 409, description = "The cart kept changing elsewhere; retry", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn remove_item(
    State(state): State<OrdersState>,
    Purchaser(buyer): Purchaser,
    Path(product_id): Path<String>,
) -> ApiResult<ApiResponse<CartView>> {
    let cart = mutate(&state.store, &buyer, |cart| {
        let before = cart.lines.len();
        cart.lines.retain(|l| l.product_id != product_id);
        if cart.lines.len() == before {
            return Err(ApiError::not_found("this product is not in the cart"));
        }
        Ok(())
    })
    .await?;
    Ok(ApiResponse::ok(view(&state.store, buyer, cart).await?))
}
