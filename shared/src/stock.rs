//! Stock of a product, moved only by conditional updates of the product item.
//!
//! The product item (`PRODUCT#<id> / PRODUCT`, owned by the catalog context)
//! holds two counters: `stockAvailable` (can be sold) and `stockReserved`
//! (held by checkouts in progress). Every move is one UpdateItem whose
//! condition guards the counter it lowers, so concurrent moves never take
//! either below zero and nothing reads-then-writes. Checkout puts the same
//! moves into its own TransactWriteItems with the `*_item` builders.
//!
//! - [`adjust`]: the seller counts stock in or out (`available ± n`).
//! - [`reserve`]: a checkout holds `qty` (`available -= qty, reserved += qty`).
//! - [`release`]: an abandoned checkout gives it back (the reverse).
//! - [`commit`]: a paid order takes it for good (`reserved -= qty`).
//!
//! A made-to-order product counts no stock: checkout only checks it is for
//! sale ([`require_made_to_order_item`]) and nothing moves after.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::{Store, StoreError, Update, n};

pub const AVAILABLE: &str = "stockAvailable";
pub const RESERVED: &str = "stockReserved";

/// The product item's key.
pub fn product_key(product_id: &str) -> (String, &'static str) {
    (format!("PRODUCT#{product_id}"), "PRODUCT")
}

/// A product's stock after a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stock {
    pub available: i64,
    pub reserved: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StockError {
    #[error("the product does not exist")]
    NotFound,
    /// The move would take a counter below zero.
    #[error("not enough stock")]
    Insufficient,
    /// Reserving an archived or inactive product.
    #[error("the product is not for sale")]
    NotForSale,
    #[error("the quantity must be positive")]
    InvalidQuantity,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<StockError> for crate::http::ApiError {
    fn from(err: StockError) -> Self {
        use crate::http::ApiError;
        match err {
            StockError::NotFound => ApiError::not_found("no such product"),
            StockError::Insufficient => {
                ApiError::conflict_on("stock", "not enough stock for this change")
            }
            StockError::NotForSale => ApiError::conflict("the product is not for sale"),
            StockError::InvalidQuantity => {
                ApiError::invalid_field("quantity", "must be a positive whole number")
            }
            StockError::Store(err) => err.into(),
        }
    }
}

/// One conditional update of the counters.
struct StockMove {
    expression: &'static str,
    condition: &'static str,
    values: Vec<(&'static str, AttributeValue)>,
}

fn positive(qty: i64) -> Result<i64, StockError> {
    if qty > 0 {
        Ok(qty)
    } else {
        Err(StockError::InvalidQuantity)
    }
}

/// The counters as an update returns them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Counters {
    #[serde(default)]
    stock_available: i64,
    #[serde(default)]
    stock_reserved: i64,
}

impl StockMove {
    fn adjust(delta: i64) -> Self {
        if delta >= 0 {
            Self {
                expression: "SET #available = #available + :delta",
                condition: "attribute_exists(PK)",
                values: vec![(":delta", n(delta))],
            }
        } else {
            Self {
                expression: "SET #available = #available + :delta",
                condition: "attribute_exists(PK) AND #available >= :need",
                values: vec![(":delta", n(delta)), (":need", n(-delta))],
            }
        }
    }

    fn reserve(qty: i64) -> Self {
        Self {
            expression: "SET #available = #available - :qty, #reserved = #reserved + :qty",
            condition: "attribute_exists(PK) AND #available >= :qty AND active = :true \
                        AND attribute_not_exists(archivedAt)",
            values: vec![(":qty", n(qty)), (":true", AttributeValue::Bool(true))],
        }
    }

    fn release(qty: i64) -> Self {
        Self {
            expression: "SET #available = #available + :qty, #reserved = #reserved - :qty",
            condition: "attribute_exists(PK) AND #reserved >= :qty",
            values: vec![(":qty", n(qty))],
        }
    }

    fn commit(qty: i64) -> Self {
        Self {
            expression: "SET #reserved = #reserved - :qty",
            condition: "attribute_exists(PK) AND #reserved >= :qty",
            values: vec![(":qty", n(qty))],
        }
    }

    /// The move as an update of `product_id`'s item.
    fn update(self, product_id: &str) -> Update {
        let (pk, sk) = product_key(product_id);
        let mut update = Update::new(pk, sk, self.expression).condition(self.condition);
        for (placeholder, name) in [("#available", AVAILABLE), ("#reserved", RESERVED)] {
            if self.expression.contains(placeholder) || self.condition.contains(placeholder) {
                update = update.name(placeholder, name);
            }
        }
        for (placeholder, value) in self.values {
            update = update.value(placeholder, value);
        }
        update
    }

    fn transact_item(
        self,
        store: &Store,
        product_id: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        store.transact_update(self.update(product_id))
    }

    #[tracing::instrument(skip_all, fields(product_id), err(level = "debug"))]
    async fn run(
        self,
        store: &Store,
        product_id: &str,
        for_sale: bool,
    ) -> Result<Stock, StockError> {
        match store.update::<Counters>(self.update(product_id)).await {
            Ok(counters) => Ok(Stock {
                available: counters.stock_available,
                reserved: counters.stock_reserved,
            }),
            Err(StoreError::ConditionFailed) => {
                // Why: a missing product, one not for sale, or too little stock.
                let (pk, sk) = product_key(product_id);
                let Some(item) = store.get_raw(&pk, sk).await? else {
                    return Err(StockError::NotFound);
                };
                let active = matches!(item.get("active"), Some(AttributeValue::Bool(true)));
                if for_sale && (!active || item.contains_key("archivedAt")) {
                    return Err(StockError::NotForSale);
                }
                Err(StockError::Insufficient)
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// Adds `delta` (negative: removes) to the available stock; never below zero.
pub async fn adjust(store: &Store, product_id: &str, delta: i64) -> Result<Stock, StockError> {
    StockMove::adjust(delta).run(store, product_id, false).await
}

/// Holds `qty` for a checkout: fails with `Insufficient` rather than oversell.
pub async fn reserve(store: &Store, product_id: &str, qty: i64) -> Result<Stock, StockError> {
    StockMove::reserve(positive(qty)?)
        .run(store, product_id, true)
        .await
}

/// Returns `qty` held by a checkout to the available stock.
pub async fn release(store: &Store, product_id: &str, qty: i64) -> Result<Stock, StockError> {
    StockMove::release(positive(qty)?)
        .run(store, product_id, false)
        .await
}

/// Takes `qty` held by a checkout out of stock for good (the order is paid).
pub async fn commit(store: &Store, product_id: &str, qty: i64) -> Result<Stock, StockError> {
    StockMove::commit(positive(qty)?)
        .run(store, product_id, false)
        .await
}

/// [`reserve`] as an item of the caller's transaction; a failed condition
/// cancels the whole transaction.
pub fn reserve_item(
    store: &Store,
    product_id: &str,
    qty: i64,
) -> Result<TransactWriteItem, StockError> {
    Ok(StockMove::reserve(positive(qty)?).transact_item(store, product_id)?)
}

/// For a made-to-order product (see `crate::catalog::Supply`), which counts
/// no stock: a check, in the caller's transaction, that it is still for
/// sale and made to order, in place of [`reserve_item`]. Its lines take no
/// commit, release or adjust later either.
pub fn require_made_to_order_item(
    store: &Store,
    product_id: &str,
) -> Result<TransactWriteItem, StockError> {
    let (pk, sk) = product_key(product_id);
    Ok(store.transact_check(
        &pk,
        sk,
        "attribute_exists(PK) AND active = :true AND attribute_not_exists(archivedAt) \
         AND madeToOrder = :true",
        &[],
        &[(":true", AttributeValue::Bool(true))],
    )?)
}

/// [`adjust`] as an item of the caller's transaction (e.g. a cancelled paid
/// order puts its units back on sale).
pub fn adjust_item(
    store: &Store,
    product_id: &str,
    delta: i64,
) -> Result<TransactWriteItem, StockError> {
    if delta == 0 {
        return Err(StockError::InvalidQuantity);
    }
    Ok(StockMove::adjust(delta).transact_item(store, product_id)?)
}

/// [`release`] as an item of the caller's transaction.
pub fn release_item(
    store: &Store,
    product_id: &str,
    qty: i64,
) -> Result<TransactWriteItem, StockError> {
    Ok(StockMove::release(positive(qty)?).transact_item(store, product_id)?)
}

/// [`commit`] as an item of the caller's transaction.
pub fn commit_item(
    store: &Store,
    product_id: &str,
    qty: i64,
) -> Result<TransactWriteItem, StockError> {
    Ok(StockMove::commit(positive(qty)?).transact_item(store, product_id)?)
}
