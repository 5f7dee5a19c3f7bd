//! A product as the API shows it.

use std::collections::BTreeMap;

use serde::Serialize;
use shared::domain::Money;
use shared::stock::Stock;

use utoipa::ToSchema;

use super::{Compliance, PriceTier, Product, ProductSource, Unit};

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rating {
    pub count: i64,
    /// Mean of the ratings, `null` before the first review.
    pub average: Option<f64>,
}

/// A product as lists and search show it: everything but the exact stock
/// counts, which live in the stock item (reading it for a whole page would
/// be a second DynamoDB call). `inStock` says whether any can be bought.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductSummary {
    pub id: String,
    pub seller_org_id: String,
    #[schema(example = "TOM-ROMA-1KG")]
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category_id: String,
    pub tags: Vec<String>,
    pub price: Money,
    pub images: Vec<String>,
    pub active: bool,
    /// True once archived: no longer listed or sold, still readable by id.
    pub archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// Made to order by a partner when sold: no stock is counted (its
    /// `stock` stays 0, `inStock` false) and checkout needs none.
    pub made_to_order: bool,
    /// Some stock is available. In lists and search this is the product's
    /// flag, which the stream flips when the available stock crosses zero
    /// (eventually consistent, like the in-stock filter); on one product it
    /// is exact (`stock.available > 0`).
    pub in_stock: bool,
    /// What the product was published from (e.g. a studio design), if
    /// another context published it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<ProductSource>,
    pub attributes: BTreeMap<String, String>,
    pub price_tiers: Vec<PriceTier>,
    pub minimum_order_quantity: i64,
    pub unit: Unit,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_country: Option<String>,
    pub compliance: Compliance,
    pub rating: Rating,
    pub created_at: String,
    pub updated_at: String,
    /// The optimistic-locking version; the ETag is `"v<version>"`.
    pub version: u64,
}

/// One product as the API shows it: the summary and its exact stock counts
/// (the stock item, read in the same call as the product).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    #[serde(flatten)]
    pub product: ProductSummary,
    pub stock: Stock,
}

/// A product with its stock (the stock item, read in the same call).
impl From<(Product, Stock)> for ProductView {
    fn from((p, stock): (Product, Stock)) -> Self {
        let mut product = ProductSummary::from(p);
        product.in_stock = stock.available > 0;
        Self { product, stock }
    }
}

/// A product from its item alone: `inStock` is the stream's flag.
impl From<Product> for ProductSummary {
    fn from(p: Product) -> Self {
        let average = (p.rating_count > 0).then(|| p.rating_sum as f64 / p.rating_count as f64);
        Self {
            archived: p.archived_at.is_some(),
            archived_at: p.archived_at,
            in_stock: p.in_stock,
            made_to_order: p.made_to_order,
            source: p.source,
            rating: Rating {
                count: p.rating_count,
                average,
            },
            id: p.id,
            seller_org_id: p.seller_org_id,
            sku: p.sku,
            name: p.name,
            description: p.description,
            category_id: p.category_id,
            tags: p.tags,
            price: p.price,
            images: p.images,
            active: p.active,
            attributes: p.attributes,
            price_tiers: p.price_tiers,
            minimum_order_quantity: p.minimum_order_quantity,
            unit: p.unit,
            origin_country: p.origin_country,
            compliance: p.compliance,
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}
