//! Stock of a product, in its own small item, moved only by conditional
//! updates of that item.
//!
//! `PRODUCT#<id> / STOCK` (type `STOCK`, owned by the catalog context)
//! holds two counters, `available` (can be sold) and `reserved` (held by
//! checkouts in progress), and the sale flags a checkout's conditions need:
//! `forSale` (the product is active and not archived) and `madeToOrder`. It
//! carries no index keys: a move writes this item only (about 1 KB, no
//! index writes), never the product item, which is in four indexes that
//! project all attributes. Catalog keeps the flags in step with the product
//! in the same transaction whenever they change ([`sale_flags_item`]).
//!
//! Every move is one UpdateItem whose condition guards the counter it
//! lowers, so concurrent moves never take either below zero and nothing
//! reads-then-writes. Checkout puts the same moves into its own
//! TransactWriteItems with the `*_item` builders.
//!
//! - [`adjust`]: the seller counts stock in or out (`available ± n`).
//! - [`reserve`]: a checkout holds `qty` (`available -= qty, reserved += qty`).
//! - [`release`]: an abandoned checkout gives it back (the reverse).
//! - [`commit`]: a paid order takes it for good (`reserved -= qty`).
//!
//! A made-to-order product counts no stock: checkout only checks it is for
//! sale ([`require_made_to_order_item`]) and nothing moves after.
//!
//! The product item keeps one boolean, `inStock` (available > 0), for the
//! listing's in-stock filter, which runs on index queries of product items.
//! The stream flips it ([`apply_stock_change`]) only when `available`
//! crosses zero, so it is written rarely; that filter is eventually
//! consistent, as search is.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::{Item, Store, StoreError, Update, from_item, n};

pub const AVAILABLE: &str = "available";
pub const RESERVED: &str = "reserved";
/// The stock item's copy of "active and not archived".
pub const FOR_SALE: &str = "forSale";
/// The product item's flag: `available > 0`, kept by the stream.
pub const IN_STOCK: &str = "inStock";
/// The `type` of a stock item.
pub const STOCK_TYPE: &str = "STOCK";
const STOCK_SK: &str = "STOCK";

/// The product item's key.
pub fn product_key(product_id: &str) -> (String, &'static str) {
    (format!("PRODUCT#{product_id}"), "PRODUCT")
}

/// The product's stock item's key (same partition as the product).
pub fn stock_key(product_id: &str) -> (String, &'static str) {
    (format!("PRODUCT#{product_id}"), STOCK_SK)
}

/// A product's stock item as stored: `PRODUCT#<id> / STOCK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub product_id: String,
    #[serde(default)]
    pub available: i64,
    #[serde(default)]
    pub reserved: i64,
    /// Active and not archived: checkout may reserve it.
    #[serde(default)]
    pub for_sale: bool,
    #[serde(default)]
    pub made_to_order: bool,
}

impl StockItem {
    pub fn new(product_id: &str, available: i64, for_sale: bool, made_to_order: bool) -> Self {
        let (pk, sk) = stock_key(product_id);
        Self {
            pk,
            sk: sk.to_owned(),
            item_type: STOCK_TYPE.to_owned(),
            product_id: product_id.to_owned(),
            available,
            reserved: 0,
            for_sale,
            made_to_order,
        }
    }

    pub fn stock(&self) -> Stock {
        Stock {
            available: self.available,
            reserved: self.reserved,
        }
    }
}

/// The Put of a new product's stock item, in the product's creation
/// transaction.
pub fn create_item(store: &Store, stock: &StockItem) -> Result<TransactWriteItem, StoreError> {
    store.transact_put(stock, Some("attribute_not_exists(PK)"))
}

/// Sets the stock item's `forSale` flag, in the transaction that changes
/// the product's `active` or `archivedAt`. No condition: the product's own
/// condition in that transaction guards the change.
pub fn sale_flags_item(
    store: &Store,
    product_id: &str,
    for_sale: bool,
) -> Result<TransactWriteItem, StoreError> {
    let (pk, sk) = stock_key(product_id);
    store.transact_update(
        Update::new(pk, sk, "SET #forSale = :forSale")
            .name("#forSale", FOR_SALE)
            .value(":forSale", AttributeValue::Bool(for_sale)),
    )
}

/// Each product (read as `T`) with its stock item, both read in the same
/// BatchGetItem (one call per 50 products); missing products are left out.
pub async fn load_with_products<T: DeserializeOwned>(
    store: &Store,
    product_ids: &[&str],
) -> Result<HashMap<String, (T, Option<StockItem>)>, StoreError> {
    let mut keys = Vec::with_capacity(product_ids.len() * 2);
    for id in product_ids {
        let (pk, product_sk) = product_key(id);
        keys.push((pk.clone(), product_sk.to_owned()));
        keys.push((pk, STOCK_SK.to_owned()));
    }
    let mut products: HashMap<String, T> = HashMap::new();
    let mut stocks: HashMap<String, StockItem> = HashMap::new();
    for item in store.batch_get_raw(&keys).await? {
        let id = partition_id(&item);
        if is_stock(&item) {
            stocks.insert(id, from_item(item)?);
        } else {
            products.insert(id, from_item(item)?);
        }
    }
    Ok(products
        .into_iter()
        .map(|(id, product)| {
            let stock = stocks.remove(&id);
            (id, (product, stock))
        })
        .collect())
}

fn is_stock(item: &Item) -> bool {
    matches!(item.get("SK"), Some(AttributeValue::S(sk)) if sk == STOCK_SK)
}

fn partition_id(item: &Item) -> String {
    match item.get("PK") {
        Some(AttributeValue::S(pk)) => pk.strip_prefix("PRODUCT#").unwrap_or(pk).to_owned(),
        _ => String::new(),
    }
}

/// The stream's reaction to a stock item's change: when `available`
/// crosses zero, the product item's `inStock` follows (the listing's
/// in-stock filter reads it). Other moves write nothing. A new stock item
/// needs nothing: its product was written with `inStock` in the same
/// transaction.
pub async fn apply_stock_change(
    store: &Store,
    old: Option<StockItem>,
    new: Option<StockItem>,
) -> Result<(), StoreError> {
    let (Some(old), Some(new)) = (old, new) else {
        return Ok(());
    };
    let in_stock = new.available > 0;
    if (old.available > 0) == in_stock {
        return Ok(());
    }
    let (pk, sk) = product_key(&new.product_id);
    let update = Update::new(pk, sk, "SET #inStock = :inStock")
        .condition("attribute_exists(PK)")
        .name("#inStock", IN_STOCK)
        .value(":inStock", AttributeValue::Bool(in_stock));
    match store.apply_update(update).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(err),
    }
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

impl StockMove {
    fn adjust(delta: i64) -> Self {
        if delta >= 0 {
            Self {
                expression: "SET #available = #available + :delta",
                condition: "attribute_exists(#available)",
                values: vec![(":delta", n(delta))],
            }
        } else {
            Self {
                expression: "SET #available = #available + :delta",
                condition: "attribute_exists(#available) AND #available >= :need",
                values: vec![(":delta", n(delta)), (":need", n(-delta))],
            }
        }
    }

    fn reserve(qty: i64) -> Self {
        Self {
            expression: "SET #available = #available - :qty, #reserved = #reserved + :qty",
            condition: "attribute_exists(#available) AND #available >= :qty AND forSale = :true",
            values: vec![(":qty", n(qty)), (":true", AttributeValue::Bool(true))],
        }
    }

    fn release(qty: i64) -> Self {
        Self {
            expression: "SET #available = #available + :qty, #reserved = #reserved - :qty",
            condition: "attribute_exists(#reserved) AND #reserved >= :qty",
            values: vec![(":qty", n(qty))],
        }
    }

    fn commit(qty: i64) -> Self {
        Self {
            expression: "SET #reserved = #reserved - :qty",
            condition: "attribute_exists(#reserved) AND #reserved >= :qty",
            values: vec![(":qty", n(qty))],
        }
    }

    /// The move as an update of `product_id`'s stock item.
    fn update(self, product_id: &str) -> Update {
        let (pk, sk) = stock_key(product_id);
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
        match store.update::<StockItem>(self.update(product_id)).await {
            Ok(item) => Ok(item.stock()),
            Err(StoreError::ConditionFailed) => {
                // Why: a missing product, one not for sale, or too little stock.
                let (pk, sk) = stock_key(product_id);
                let Some(item) = store.get::<StockItem>(&pk, sk).await? else {
                    return Err(StockError::NotFound);
                };
                if for_sale && !item.for_sale {
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
    let (pk, sk) = stock_key(product_id);
    Ok(store.transact_check(
        &pk,
        sk,
        "attribute_exists(PK) AND forSale = :true AND madeToOrder = :true",
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

/// What [`backfill`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backfilled {
    /// Products that got their stock item now.
    pub created: usize,
    /// Products that had one already.
    pub present: usize,
    /// Products that changed while the backfill read them: run it again.
    pub changed: usize,
}

/// The counters a product item held before stock items existed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyProduct {
    id: String,
    #[serde(default)]
    stock_available: i64,
    #[serde(default)]
    stock_reserved: i64,
    active: bool,
    #[serde(default)]
    archived_at: Option<String>,
    #[serde(default)]
    made_to_order: bool,
    version: u64,
}

/// Creates the stock item of every product that has none, from the
/// counters its product item held (`stockAvailable`, `stockReserved`), and
/// in the same transaction sets the product's `inStock` and removes those
/// counters from it. Idempotent: a product whose stock item exists is left
/// alone, so running it again creates nothing. Scans the table (a one-off
/// after deploying stock items; see docs/data-model.md).
pub async fn backfill(store: &Store) -> Result<Backfilled, StoreError> {
    let mut done = Backfilled::default();
    let mut start = None;
    loop {
        let page = store
            .client()
            .scan()
            .table_name(store.table())
            .filter_expression("#type = :product")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(
                ":product",
                AttributeValue::S(crate::contracts::product::PRODUCT_TYPE.to_owned()),
            )
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(crate::store::classify)?;
        for item in page.items.unwrap_or_default() {
            let product: LegacyProduct = from_item(item)?;
            backfill_one(store, &product, &mut done).await?;
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(done);
        }
    }
}

async fn backfill_one(
    store: &Store,
    product: &LegacyProduct,
    done: &mut Backfilled,
) -> Result<(), StoreError> {
    let for_sale =
        crate::contracts::product::is_listed(product.active, product.archived_at.as_deref());
    let mut stock = StockItem::new(
        &product.id,
        product.stock_available,
        for_sale,
        product.made_to_order,
    );
    stock.reserved = product.stock_reserved;
    let mut tx = crate::store::Transaction::new();
    tx.push(store.transact_put(&stock, Some("attribute_not_exists(available)"))?)
        .named("stock");
    let (pk, sk) = product_key(&product.id);
    tx.push(
        store.transact_update(
            Update::new(
                pk,
                sk,
                "SET #inStock = :inStock REMOVE stockAvailable, stockReserved",
            )
            .condition("#version = :version")
            .name("#inStock", IN_STOCK)
            .name("#version", "version")
            .value(
                ":inStock",
                AttributeValue::Bool(product.stock_available > 0),
            )
            .value(":version", n(product.version as i64)),
        )?,
    )
    .named("product");
    match store.transact(tx).await {
        Ok(()) => done.created += 1,
        Err(err) if err.condition_failed("stock") => done.present += 1,
        Err(err) if err.condition_failed("product") => done.changed += 1,
        Err(err) => return Err(err),
    }
    Ok(())
}
