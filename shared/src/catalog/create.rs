//! Creating a product under catalog's rules. Two steps, so the caller can
//! check its permission between them with the seller org known to be
//! well-formed: `ValidProduct::try_from(NewProduct)` checks every field at
//! once (422 with `error.fields`), then [`create_product`] writes the
//! product, its SKU marker and its checks in one transaction.
//!
//! A product either counts stock ([`Supply::Stocked`]; its images are asset
//! ids of the seller, checked ready in the transaction) or is made to order
//! by a partner when sold ([`Supply::MadeToOrder`]; no stock, its images are
//! the publishing context's references, asset keys or URLs, and it names
//! its [`ProductSource`]).

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::{
    Product, ProductDetails, ProductInput, ProductSource, SkuMarker, validate_product_details,
};
use crate::contracts::category::category_key;
use crate::domain::{Sku, new_id};
use crate::http::{ApiError, ApiResult, Problems};
use crate::stock::{self, StockItem};
use crate::store::{Store, StoreError, Transaction};

/// The most units a product may start with or move by at once.
pub const MAX_INITIAL_STOCK: i64 = 1_000_000_000;

/// How a product is supplied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Supply {
    /// Counted stock, starting at `initial` units (0 to [`MAX_INITIAL_STOCK`]).
    Stocked { initial: i64 },
    /// Made by a partner when ordered: no stock is counted and checkout
    /// needs none.
    MadeToOrder { source: ProductSource },
}

/// A product as a creator sends it, nothing checked yet.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// The seller organization that owns the product.
    pub seller_org_id: String,
    /// Unique on the whole platform.
    pub sku: String,
    pub supply: Supply,
    /// `name`, `categoryId` and `price` are required.
    pub fields: ProductInput,
}

/// A [`NewProduct`] whose every field obeys catalog's rules.
#[derive(Debug, Clone)]
pub struct ValidProduct {
    seller_org_id: String,
    sku: Sku,
    supply: Supply,
    details: ProductDetails,
}

impl ValidProduct {
    /// The org whose `product:write` permission the caller must hold.
    pub fn seller_org_id(&self) -> &str {
        &self.seller_org_id
    }

    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn details(&self) -> &ProductDetails {
        &self.details
    }
}

impl TryFrom<NewProduct> for ValidProduct {
    type Error = ApiError;

    fn try_from(new: NewProduct) -> Result<Self, ApiError> {
        let mut problems = Problems::default();
        let seller_org_id = problems.text("sellerOrgId", &new.seller_org_id, 1, 64);
        let sku = problems.parsed("sku", Sku::parse(&new.sku));
        let made_to_order = match &new.supply {
            Supply::Stocked { initial } => {
                if !(0..=MAX_INITIAL_STOCK).contains(initial) {
                    problems.add("stock", "must be from 0 to 1000000000");
                }
                false
            }
            Supply::MadeToOrder { source } => {
                problems.text("source.kind", &source.kind, 1, 32);
                problems.text("source.id", &source.id, 1, 64);
                true
            }
        };
        let details = validate_product_details(new.fields, made_to_order, &mut problems);
        match (sku, details) {
            (Some(sku), Some(details)) if problems.is_empty() => Ok(Self {
                seller_org_id,
                sku,
                supply: new.supply,
                details,
            }),
            _ => Err(ApiError::validation(
                "the product has invalid fields",
                problems.fields().clone(),
            )),
        }
    }
}

/// A check, in the caller's transaction, that the category exists.
pub fn category_exists(store: &Store, category_id: &str) -> ApiResult<TransactWriteItem> {
    let (pk, sk) = category_key(category_id);
    Ok(store.transact_require_exists(&pk, sk)?)
}

/// Checks, in the product's transaction, that every image is a ready
/// product image of the seller (see `crate::asset_refs`); each check is
/// named `image:<assetId>`.
pub fn push_image_checks(
    tx: &mut Transaction,
    store: &Store,
    images: &[String],
    seller_org_id: &str,
) -> ApiResult<()> {
    for image in images {
        tx.push(crate::asset_refs::require_ready_product_image(
            store,
            image,
            seller_org_id,
        )?)
        .named(format!("image:{image}"));
    }
    Ok(())
}

/// The image whose check failed, if the cancellation was caused by one.
pub fn failed_image(err: &StoreError) -> Option<&str> {
    err.failed_conditions()
        .find_map(|name| name.strip_prefix("image:"))
}

/// The 422 for an image that is not a ready product image of the seller.
pub fn not_a_ready_image(image: &str) -> ApiError {
    ApiError::invalid_field(
        "images",
        format!(
            "{image} is not a ready product image of this organization: upload it with POST /v1/uploads first"
        ),
    )
}

/// Creates the product: product, its stock item (`shared::stock`), SKU marker (`attribute_not_exists`, named
/// `sku`: 409 on `sku` when taken), a check that the category exists (422 on
/// `categoryId`) and, for stocked products, that each image is a ready
/// product image of the seller (422 on `images`), in one transaction. The
/// caller has checked the caller's permission on `seller_org_id` already.
#[tracing::instrument(skip_all, fields(seller_org_id = %valid.seller_org_id))]
pub async fn create_product(store: &Store, valid: ValidProduct) -> ApiResult<Product> {
    let ValidProduct {
        seller_org_id,
        sku,
        supply,
        details,
    } = valid;
    let (stock, source) = match supply {
        Supply::Stocked { initial } => (initial, None),
        Supply::MadeToOrder { source } => (0, Some(source)),
    };
    let mut product = Product::new(new_id(), seller_org_id, sku, stock, details);
    product.made_to_order = source.is_some();
    product.source = source;
    let marker = SkuMarker::new(&product.sku, &product.id);
    let stock_item = StockItem::new(
        &product.id,
        stock,
        product.is_listed(),
        product.made_to_order,
    );
    let mut tx = Transaction::new();
    tx.push(store.transact_put(&product, Some("attribute_not_exists(PK)"))?);
    tx.push(stock::create_item(store, &stock_item)?);
    tx.push(store.transact_put(&marker, Some("attribute_not_exists(PK)"))?)
        .named("sku");
    tx.push(category_exists(store, &product.category_id)?)
        .named("category");
    if !product.made_to_order {
        push_image_checks(&mut tx, store, &product.images, &product.seller_org_id)?;
    }
    match store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("sku") => {
            return Err(ApiError::conflict_on("sku", "another product has this SKU"));
        }
        Err(err) if err.condition_failed("category") => {
            return Err(ApiError::invalid_field("categoryId", "no such category"));
        }
        Err(err) if failed_image(&err).is_some() => {
            return Err(not_a_ready_image(failed_image(&err).unwrap_or_default()));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(product_id = %product.id, sku = %product.sku, made_to_order = product.made_to_order, "product created");
    Ok(product)
}

/// The product that holds `sku`, archived or not: how a creator whose
/// create was answered 409 on `sku` (e.g. a publish retried after its
/// answer was lost) finds what it may have created itself.
pub async fn product_by_sku(store: &Store, sku: &str) -> Result<Option<Product>, StoreError> {
    let (pk, sk) = super::sku_key(sku);
    let Some(marker) = store.get::<SkuMarker>(&pk, sk).await? else {
        return Ok(None);
    };
    let (pk, sk) = crate::stock::product_key(marker.product_id());
    store.get::<Product>(&pk, sk).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> ProductInput {
        serde_json::from_value(serde_json::json!({
            "name": "Linen dress",
            "categoryId": "c1",
            "price": {"amount": 4900, "currency": "EUR"},
            "images": ["https://cdn.example.com/designs/01J/print.png", "studio/designs/01J/thumb.png"]
        }))
        .unwrap()
    }

    fn made_to_order() -> NewProduct {
        NewProduct {
            seller_org_id: "org-1".into(),
            sku: "DESIGN-01J-DRESS".into(),
            supply: Supply::MadeToOrder {
                source: ProductSource {
                    kind: "design".into(),
                    id: "01J".into(),
                },
            },
            fields: fields(),
        }
    }

    #[test]
    fn a_made_to_order_product_takes_urls_and_keys_as_images() {
        let valid = ValidProduct::try_from(made_to_order()).expect("valid");
        assert_eq!(valid.details().images.len(), 2);
        assert_eq!(valid.seller_org_id(), "org-1");
    }

    #[test]
    fn a_long_url_is_an_image_of_a_made_to_order_product_only() {
        let url = format!("https://cdn.example.com/{}.png", "d".repeat(300));
        let mut new = made_to_order();
        new.fields.images = Some(vec![url.clone()]);
        assert!(ValidProduct::try_from(new.clone()).is_ok());
        new.supply = Supply::Stocked { initial: 5 };
        let err = ValidProduct::try_from(new).unwrap_err();
        assert!(err.fields().contains_key("images"), "{:?}", err.fields());
    }

    #[test]
    fn every_problem_of_a_made_to_order_product_is_named() {
        let mut new = made_to_order();
        new.sku = "bad sku!".into();
        new.supply = Supply::MadeToOrder {
            source: ProductSource {
                kind: String::new(),
                id: "x".into(),
            },
        };
        new.fields.images = Some(vec!["has space.png".into()]);
        new.fields.name = None;
        let err = ValidProduct::try_from(new).unwrap_err();
        for field in ["sku", "source.kind", "images", "name"] {
            assert!(
                err.fields().contains_key(field),
                "{field} missing in {:?}",
                err.fields()
            );
        }
    }

    #[test]
    fn a_negative_initial_stock_is_refused() {
        let mut new = made_to_order();
        new.supply = Supply::Stocked { initial: -1 };
        new.fields.images = None;
        let err = ValidProduct::try_from(new).unwrap_err();
        assert!(err.fields().contains_key("stock"), "{:?}", err.fields());
    }
}
