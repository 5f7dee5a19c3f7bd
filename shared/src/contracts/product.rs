//! Catalog's product as other contexts read `PRODUCT#<id> / PRODUCT`:
//! - as it is sold ([`ProductForSale`]: price, volume tiers, minimum order
//!   quantity, stock or made to order, listed or not), by carts and checkout,
//!   read with its stock item (`PRODUCT#<id> / STOCK`, see `crate::stock`)
//!   in the same BatchGetItem by [`load_for_sale`];
//! - as it is indexed ([`ProductForIndex`]: its words and category), by the
//!   search index the stream keeps;
//! - as sourcing matches it ([`ProductForSourcing`]: category, price,
//!   minimum order, rating and compliance data), read from catalog's
//!   products-by-category index (`GSI1PK = PRODUCTS#CATEGORY#<id>`, whose
//!   partition name [`category_partition`] gives).
//!
//! Owned by catalog, whose `Product` stores these attributes under these
//! names; catalog's round-trip tests read its full item as these models.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::Money;

/// The `type` of a product item.
pub const PRODUCT_TYPE: &str = "PRODUCT";

/// A B2B volume price: from `minQuantity` units on, each costs `unitPrice`
/// (minor units of the product's currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
// Also read back from stored items: no deny_unknown_fields (an item written
// by a newer version must still read); requests refuse unknown fields in
// shared::http::from_json, and the OpenAPI document marks it closed.
#[serde(rename_all = "camelCase")]
pub struct PriceTier {
    #[schema(example = 10)]
    pub min_quantity: i64,
    #[schema(example = 1099)]
    pub unit_price: i64,
}

/// Whether a product is on sale: active and not archived. The one rule,
/// for catalog's lists and search as for carts and checkout.
pub fn is_listed(active: bool, archived_at: Option<&str>) -> bool {
    active && archived_at.is_none()
}

/// The product as carts and checkout read it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductForSale {
    pub id: String,
    pub seller_org_id: String,
    pub sku: String,
    pub name: String,
    pub price: Money,
    pub images: Vec<String>,
    pub active: bool,
    pub price_tiers: Vec<PriceTier>,
    pub minimum_order_quantity: i64,
    /// Not on the product item: the stock item's `available`, filled by
    /// [`load_for_sale`] (0 without a stock item).
    #[serde(skip)]
    pub stock_available: i64,
    /// Made to order when sold: checkout reserves no stock for it.
    #[serde(default)]
    pub made_to_order: bool,
    #[serde(default)]
    pub archived_at: Option<String>,
}

impl ProductForSale {
    pub fn is_listed(&self) -> bool {
        is_listed(self.active, self.archived_at.as_deref())
    }

    /// Whether `quantity` units can be sold now: always for a listed
    /// made-to-order product, else while the available stock covers them.
    pub fn can_supply(&self, quantity: i64) -> bool {
        self.made_to_order || self.stock_available >= quantity
    }
}

/// The products as they are sold, each with its stock, read in one
/// BatchGetItem per 50 products (product and stock item together, strongly
/// consistent); ids of no product are left out.
pub async fn load_for_sale(
    store: &crate::store::Store,
    product_ids: &[&str],
) -> Result<HashMap<String, ProductForSale>, crate::store::StoreError> {
    if product_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = crate::stock::load_with_products::<ProductForSale>(store, product_ids).await?;
    Ok(found
        .into_iter()
        .map(|(id, (mut product, stock))| {
            product.stock_available = stock.map_or(0, |s| s.available);
            (id, product)
        })
        .collect())
}

/// The product as the search index reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductForIndex {
    pub id: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub category_id: String,
    pub active: bool,
    #[serde(default)]
    pub archived_at: Option<String>,
}

impl ProductForIndex {
    pub fn is_listed(&self) -> bool {
        is_listed(self.active, self.archived_at.as_deref())
    }
}

/// The GSI1 partition of a category's listed products (catalog keeps it).
pub fn category_partition(category_id: &str) -> String {
    format!("PRODUCTS#CATEGORY#{category_id}")
}

/// A certificate as sourcing checks it: its scheme (`haccp`, `brcgs`,
/// `organic`, ...) and the ISO date it lapses on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateForSourcing {
    pub kind: String,
    pub expires_on: String,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceForSourcing {
    #[serde(default)]
    pub certifications: Vec<CertificateForSourcing>,
    /// Lower-cased allergen names as declared; empty means not declared
    /// (catalog's convention for "none" is the one entry `none`).
    #[serde(default)]
    pub allergens: Vec<String>,
}

/// The product as sourcing matches it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductForSourcing {
    pub id: String,
    pub seller_org_id: String,
    pub name: String,
    pub category_id: String,
    pub price: Money,
    pub minimum_order_quantity: i64,
    #[serde(default)]
    pub origin_country: Option<String>,
    #[serde(default)]
    pub compliance: ComplianceForSourcing,
    #[serde(default)]
    pub rating_count: i64,
    #[serde(default)]
    pub rating_sum: i64,
    pub active: bool,
    #[serde(default)]
    pub archived_at: Option<String>,
}

impl ProductForSourcing {
    /// The index partition this product is listed under.
    pub fn category_partition_of(&self) -> String {
        category_partition(&self.category_id)
    }

    pub fn is_listed(&self) -> bool {
        is_listed(self.active, self.archived_at.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_means_active_and_not_archived() {
        assert!(is_listed(true, None));
        assert!(!is_listed(false, None));
        assert!(!is_listed(true, Some("2026-11-26T10:00:00Z")));
    }
}
