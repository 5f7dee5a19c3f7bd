//! Products: the item in the table, the request that creates one, the
//! rules every product obeys (one validator for create, update and bulk),
//! how the API shows one, and the product endpoints.
//!
//! Items (see docs/data-model.md, "Catalog"):
//! - `PRODUCT#<id> / PRODUCT`: the product. While it is listed (active and
//!   not archived) it carries the keys of three indexes:
//!   GSI1 `PRODUCTS#CATEGORY#<categoryId> / <id>` (category, newest),
//!   GSI2 `PRODUCTS#CATEGORY#<categoryId> / <price:013>#<id>` (category, by price),
//!   GSI3 `PRODUCTS#SELLER#<orgId> / <id>` (seller, newest);
//!   GSI4 `PRODUCTS#SELLER#<orgId> / <price>#<id>` (seller, by price).
//!   Archiving removes them, so an archived product leaves every list while
//!   GetItem still finds it for old orders.
//! - `SKU#<sku> / MARKER`: the SKU's uniqueness marker, written in the same
//!   transaction as the product; it stays after archiving, since orders keep
//!   referring to the SKU.

//!
//! The stored product, what a seller sends, the rules and the creation
//! command live in `shared::catalog` (other contexts publish products
//! through it too); here: `view` (what the API shows) and the endpoints by
//! URL: `create` (POST /v1/products), `bulk` (POST and PATCH
//! /v1/products/bulk), `get`, `update` and `archive` (GET, PATCH and DELETE
//! /v1/products/{productId}), `adjust_stock` (POST
//! /v1/products/{productId}/stock). The list is `crate::listing`.

mod view;

pub(crate) mod adjust_stock;
pub(crate) mod archive;
pub(crate) mod bulk;
pub(crate) mod create;
pub(crate) mod get;
pub(crate) mod update;

use axum::http::header;
use shared::http::precondition::etag;
use shared::http::{ApiError, ApiResponse, ApiResult};
use shared::stock::{self, Stock, StockItem, product_key};
use shared::store::Store;

pub use shared::catalog::{
    Certification, CertificationInput, CertificationKind, Compliance, ComplianceInput,
    EDITABLE_ATTRIBUTES, LISTING_ATTRIBUTES, MAX_INITIAL_STOCK, PRODUCT_TYPE, PriceInput,
    PriceTier, Product, ProductDetails, ProductInput, ProductSource, SKU_MARKER_TYPE, SkuMarker,
    Unit, category_partition, seller_partition, sku_key, validate_details,
    validate_product_details,
};
pub use view::{ProductSummary, ProductView, Rating};

fn with_etag((product, stock): (Product, Stock)) -> ApiResponse<ProductView> {
    let version = product.version;
    ApiResponse::ok(ProductView::from((product, stock))).header(header::ETAG, etag(version))
}

/// The product, archived or not (old orders still resolve archived ones),
/// without its stock.
pub(crate) async fn load_product(store: &Store, product_id: &str) -> ApiResult<Product> {
    let (pk, sk) = product_key(product_id);
    store
        .get::<Product>(&pk, sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no such product"))
}

/// The product and its stock, read in one BatchGetItem (strongly
/// consistent): what the API shows.
pub(crate) async fn load_with_stock(
    store: &Store,
    product_id: &str,
) -> ApiResult<(Product, Stock)> {
    let mut found = stock::load_with_products::<Product>(store, &[product_id]).await?;
    let (product, stock) = found
        .remove(product_id)
        .ok_or_else(|| ApiError::not_found("no such product"))?;
    Ok((product, stock_of(stock.as_ref())))
}

/// The counters a stock item shows; zero for a product without one yet
/// (created before stock items, until the backfill runs).
pub(crate) fn stock_of(item: Option<&StockItem>) -> Stock {
    item.map_or(
        Stock {
            available: 0,
            reserved: 0,
        },
        StockItem::stock,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use shared::domain::{Sku, now_rfc3339};

    use shared::http::Problems;

    fn input() -> ProductInput {
        serde_json::from_value(serde_json::json!({
            "name": "Roma tomatoes",
            "categoryId": "c1",
            "price": {"amount": 299, "currency": "EUR"},
            "tags": ["Fresh", "fresh", "red"],
            "unit": "kg",
            "originCountry": "pt",
            "priceTiers": [{"minQuantity": 10, "unitPrice": 250}, {"minQuantity": 50, "unitPrice": 199}],
            "compliance": {"certifications": [{"kind": "haccp", "issuer": "SGS", "number": "H-1", "expiresOn": "2027-03-31"}],
                           "allergens": ["None"], "nutrition": {"energyKcal": 18}}
        }))
        .unwrap()
    }

    /// The contract other contexts read (`shared::contracts::product`) reads
    /// this crate's full item field for field: renaming or retyping a field
    /// here fails this test, not a checkout in production.
    #[test]
    fn the_product_for_sale_contract_reads_the_full_item() {
        let mut problems = Problems::default();
        let details = validate_details(input(), &mut problems).expect("valid");
        let mut product = Product::new(
            shared::domain::new_id(),
            "org-1".into(),
            Sku::parse("TOM-ROMA-1KG").unwrap(),
            120,
            details,
        );
        product.images = vec!["asset-1".into()];
        product.minimum_order_quantity = 5;
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&product).unwrap();
        let sold: shared::contracts::product::ProductForSale =
            serde_dynamo::from_item(item.clone()).unwrap();
        assert_eq!(sold.id, product.id);
        assert_eq!(sold.seller_org_id, "org-1");
        assert_eq!(sold.sku, "TOM-ROMA-1KG");
        assert_eq!(sold.name, product.name);
        assert_eq!(sold.price, product.price);
        assert_eq!(sold.images, vec!["asset-1".to_owned()]);
        assert_eq!(sold.price_tiers, product.price_tiers);
        assert_eq!(sold.minimum_order_quantity, 5);
        // The counters live in the stock item, never on the product item.
        assert_eq!(sold.stock_available, 0);
        assert!(product.in_stock && item.get("inStock").is_some());
        assert!(!item.contains_key("available") && !item.contains_key("stockAvailable"));
        assert!(!sold.made_to_order);
        assert!(sold.is_listed() && product.is_listed());
        let indexed: shared::contracts::product::ProductForIndex =
            serde_dynamo::from_item(item.clone()).unwrap();
        assert_eq!(indexed.id, product.id);
        assert_eq!(indexed.name, product.name);
        assert_eq!(indexed.description, product.description);
        assert_eq!(indexed.tags, product.tags);
        assert_eq!(indexed.category_id, product.category_id);
        assert!(indexed.is_listed());
        let matched: shared::contracts::product::ProductForSourcing =
            serde_dynamo::from_item(item.clone()).unwrap();
        assert_eq!(matched.id, product.id);
        assert_eq!(matched.seller_org_id, "org-1");
        assert_eq!(matched.category_id, product.category_id);
        assert_eq!(matched.price, product.price);
        assert_eq!(matched.minimum_order_quantity, 5);
        assert_eq!(matched.origin_country.as_deref(), Some("PT"));
        assert_eq!(matched.compliance.allergens, vec!["none".to_owned()]);
        assert_eq!(matched.compliance.certifications.len(), 1);
        assert_eq!(matched.compliance.certifications[0].kind, "haccp");
        assert_eq!(
            matched.compliance.certifications[0].expires_on,
            "2027-03-31"
        );
        assert_eq!(
            matched.category_partition_of(),
            product.gsi1pk.clone().unwrap()
        );
        assert!(matched.is_listed());

        product.made_to_order = true;
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&product).unwrap();
        let sold: shared::contracts::product::ProductForSale =
            serde_dynamo::from_item(item).unwrap();
        assert!(sold.made_to_order && sold.can_supply(1_000));

        product.archived_at = Some(now_rfc3339());
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&product).unwrap();
        let sold: shared::contracts::product::ProductForSale =
            serde_dynamo::from_item(item).unwrap();
        assert_eq!(sold.archived_at, product.archived_at);
        assert!(!sold.is_listed() && !product.is_listed());
    }

    #[test]
    fn a_complete_product_is_valid_and_normalized() {
        let mut problems = Problems::default();
        let details = validate_details(input(), &mut problems).expect("valid");
        assert_eq!(details.tags, vec!["fresh", "red"]);
        assert_eq!(details.origin_country.as_deref(), Some("PT"));
        assert_eq!(details.unit, Unit::Kg);
        assert!(details.active);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let mut bad = input();
        bad.name = Some(" ".into());
        bad.price = Some(PriceInput {
            amount: -5,
            currency: "EUR".into(),
        });
        bad.unit = Some(Value::String("ton".into()));
        bad.origin_country = Some(Some("XX".into()));
        bad.price_tiers = Some(vec![
            PriceTier {
                min_quantity: 10,
                unit_price: 1,
            },
            PriceTier {
                min_quantity: 5,
                unit_price: 1,
            },
        ]);
        let mut problems = Problems::default();
        assert!(validate_details(bad, &mut problems).is_none());
        let fields: Vec<&String> = problems.fields().keys().collect();
        for field in [
            "name",
            "price.amount",
            "unit",
            "originCountry",
            "priceTiers[1].minQuantity",
        ] {
            assert!(
                fields.iter().any(|f| *f == field),
                "{field} missing in {fields:?}"
            );
        }
    }

    #[test]
    fn listing_keys_follow_listed_state_and_sort_by_price() {
        let mut problems = Problems::default();
        let details = validate_details(input(), &mut problems).unwrap();
        let mut product = Product::new(
            "01P".into(),
            "org1".into(),
            Sku::parse("a-1").unwrap(),
            5,
            details,
        );
        assert_eq!(product.gsi2sk.as_deref(), Some("0000000000299#01P"));
        assert_eq!(product.gsi3pk.as_deref(), Some("PRODUCTS#SELLER#org1"));
        product.archived_at = Some(now_rfc3339());
        product.refresh_listing_keys();
        assert!(product.gsi1pk.is_none() && product.gsi2sk.is_none() && product.gsi3pk.is_none());
    }

    #[test]
    fn a_patch_replaces_only_the_fields_it_names() {
        let mut problems = Problems::default();
        let details = validate_details(input(), &mut problems).unwrap();
        let product = Product::new(
            "01P".into(),
            "org1".into(),
            Sku::parse("a-1").unwrap(),
            5,
            details,
        );
        let patch: ProductInput = serde_json::from_value(
            serde_json::json!({"name": "Cherry tomatoes", "originCountry": null}),
        )
        .unwrap();
        let merged = validate_details(patch.over(product.as_input()), &mut problems).unwrap();
        assert_eq!(merged.name, "Cherry tomatoes");
        assert_eq!(merged.origin_country, None);
        assert_eq!(merged.price, product.price);
        assert_eq!(merged.compliance, product.compliance);
    }
}
