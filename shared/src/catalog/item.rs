//! The product item (`PRODUCT#<id> / PRODUCT`) and its SKU marker
//! (`SKU#<sku> / MARKER`): keys, stored fields, the listing index keys.

use std::collections::BTreeMap;

use crate::domain::{Money, Sku, now_rfc3339};
use crate::stock::product_key;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    CertificationInput, ComplianceInput, PriceInput, PriceTier, ProductDetails, ProductInput,
};

pub use crate::contracts::product::PRODUCT_TYPE;
pub const SKU_MARKER_TYPE: &str = "SKU_MARKER";

/// The key of a SKU's uniqueness marker.
pub fn sku_key(sku: &str) -> (String, &'static str) {
    (format!("SKU#{sku}"), "MARKER")
}

pub use crate::contracts::product::category_partition;

pub fn seller_partition(org_id: &str) -> String {
    format!("PRODUCTS#SELLER#{org_id}")
}

/// How a product is counted and sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Kg,
    Case,
    Piece,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificationKind {
    Haccp,
    Iso22000,
    Fssc22000,
    Brcgs,
    Ifs,
    Organic,
    Halal,
    Kosher,
    Fairtrade,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Certification {
    pub kind: CertificationKind,
    #[schema(example = "SGS")]
    pub issuer: String,
    #[schema(example = "HACCP-2024-0042")]
    pub number: String,
    /// ISO 8601 date, e.g. `2027-03-31`.
    #[schema(example = "2027-03-31")]
    pub expires_on: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Compliance {
    #[serde(default)]
    pub certifications: Vec<Certification>,
    /// Lower-cased allergen names, e.g. `gluten`, `milk`.
    #[serde(default)]
    pub allergens: Vec<String>,
    /// Nutrient → amount per 100 g (or per unit), e.g. `{"energyKcal": 18}`.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, f64>)]
    pub nutrition: BTreeMap<String, f64>,
}

/// Where a product published by another context comes from, e.g.
/// `{"kind": "design", "id": "01J..."}` for a studio design.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductSource {
    /// The kind of thing, e.g. `design`.
    #[schema(example = "design")]
    pub kind: String,
    #[schema(example = "01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub id: String,
}

/// A product as stored: `PRODUCT#<id> / PRODUCT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
    #[serde(rename = "GSI2PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(rename = "GSI2SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    #[serde(rename = "GSI3PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi3pk: Option<String>,
    #[serde(rename = "GSI3SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi3sk: Option<String>,
    #[serde(rename = "GSI4PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi4pk: Option<String>,
    #[serde(rename = "GSI4SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi4sk: Option<String>,
    pub id: String,
    pub seller_org_id: String,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category_id: String,
    pub tags: Vec<String>,
    pub price: Money,
    pub images: Vec<String>,
    pub active: bool,
    /// Not stored when empty (see `Compliance::nutrition`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    pub price_tiers: Vec<PriceTier>,
    pub minimum_order_quantity: i64,
    pub unit: Unit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_country: Option<String>,
    pub compliance: Compliance,
    /// Made to order by a partner when sold (see [`ProductSource`]): no
    /// stock is counted or reserved, and checkout needs none. Set at
    /// creation, never edited.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub made_to_order: bool,
    /// What the product was made from, when another context published it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ProductSource>,
    /// Whether its stock item has units available: the listing's in-stock
    /// filter reads it. Set at creation, then flipped by the stream when
    /// the stock crosses zero (`shared::stock::apply_stock_change`), so it
    /// may lag the stock item, which holds the counters.
    #[serde(default)]
    pub in_stock: bool,
    /// Kept by review writes with atomic ADDs in the same transaction.
    #[serde(default)]
    pub rating_count: i64,
    #[serde(default)]
    pub rating_sum: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// The attributes a seller edits (PATCH sets exactly these).
pub const EDITABLE_ATTRIBUTES: &[&str] = &[
    "name",
    "description",
    "categoryId",
    "tags",
    "price",
    "images",
    "active",
    "attributes",
    "priceTiers",
    "minimumOrderQuantity",
    "unit",
    "originCountry",
    "compliance",
];

/// The index keys a listed product carries.
pub const LISTING_ATTRIBUTES: &[&str] = &[
    "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "GSI4PK", "GSI4SK",
];

impl Product {
    pub fn is_listed(&self) -> bool {
        crate::contracts::product::is_listed(self.active, self.archived_at.as_deref())
    }

    /// Sets or clears the index keys so the product is in the lists exactly
    /// while it is listed.
    pub fn refresh_listing_keys(&mut self) {
        if self.is_listed() {
            let category = category_partition(&self.category_id);
            self.gsi1pk = Some(category.clone());
            self.gsi1sk = Some(self.id.clone());
            self.gsi2pk = Some(category);
            self.gsi2sk = Some(format!("{}#{}", self.price.sortable_amount(), self.id));
            self.gsi3pk = Some(seller_partition(&self.seller_org_id));
            self.gsi3sk = Some(self.id.clone());
            self.gsi4pk = self.gsi3pk.clone();
            self.gsi4sk = self.gsi2sk.clone();
        } else {
            self.gsi1pk = None;
            self.gsi1sk = None;
            self.gsi2pk = None;
            self.gsi2sk = None;
            self.gsi3pk = None;
            self.gsi3sk = None;
            self.gsi4pk = None;
            self.gsi4sk = None;
        }
    }

    pub fn apply(&mut self, details: ProductDetails) {
        self.name = details.name;
        self.description = details.description;
        self.category_id = details.category_id;
        self.tags = details.tags;
        self.price = details.price;
        self.images = details.images;
        self.active = details.active;
        self.attributes = details.attributes;
        self.price_tiers = details.price_tiers;
        self.minimum_order_quantity = details.minimum_order_quantity;
        self.unit = details.unit;
        self.origin_country = details.origin_country;
        self.compliance = details.compliance;
        self.refresh_listing_keys();
    }

    /// A new product; `stock` is the units its stock item starts with.
    pub fn new(
        id: String,
        seller_org_id: String,
        sku: Sku,
        stock: i64,
        details: ProductDetails,
    ) -> Self {
        let (pk, sk) = product_key(&id);
        let now = now_rfc3339();
        let mut product = Self {
            pk,
            sk: sk.to_owned(),
            item_type: PRODUCT_TYPE.to_owned(),
            gsi1pk: None,
            gsi1sk: None,
            gsi2pk: None,
            gsi2sk: None,
            gsi3pk: None,
            gsi3sk: None,
            gsi4pk: None,
            gsi4sk: None,
            id,
            seller_org_id,
            sku: sku.to_string(),
            name: String::new(),
            description: String::new(),
            category_id: String::new(),
            tags: Vec::new(),
            price: details.price,
            images: Vec::new(),
            active: true,
            attributes: BTreeMap::new(),
            price_tiers: Vec::new(),
            minimum_order_quantity: 1,
            unit: Unit::Piece,
            origin_country: None,
            compliance: Compliance::default(),
            made_to_order: false,
            source: None,
            in_stock: stock > 0,
            rating_count: 0,
            rating_sum: 0,
            archived_at: None,
            created_at: now.clone(),
            updated_at: now,
            version: 1,
        };
        product.apply(details);
        product
    }

    /// The editable fields as a client would send them, to merge a PATCH into.
    pub fn as_input(&self) -> ProductInput {
        ProductInput {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            category_id: Some(self.category_id.clone()),
            tags: Some(self.tags.clone()),
            price: Some(PriceInput {
                amount: self.price.amount,
                currency: self.price.currency.to_string(),
            }),
            images: Some(self.images.clone()),
            active: Some(self.active),
            attributes: Some(self.attributes.clone()),
            price_tiers: Some(self.price_tiers.clone()),
            minimum_order_quantity: Some(self.minimum_order_quantity),
            unit: Some(Value::String(enum_text(&self.unit))),
            origin_country: self.origin_country.clone().map(Some),
            compliance: Some(ComplianceInput {
                certifications: self
                    .compliance
                    .certifications
                    .iter()
                    .map(|c| CertificationInput {
                        kind: Value::String(enum_text(&c.kind)),
                        issuer: c.issuer.clone(),
                        number: c.number.clone(),
                        expires_on: c.expires_on.clone(),
                    })
                    .collect(),
                allergens: self.compliance.allergens.clone(),
                nutrition: self.compliance.nutrition.clone(),
            }),
        }
    }
}

fn enum_text<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuMarker {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    product_id: String,
}

impl SkuMarker {
    pub fn product_id(&self) -> &str {
        &self.product_id
    }

    pub fn new(sku: &str, product_id: &str) -> Self {
        let (pk, sk) = sku_key(sku);
        Self {
            pk,
            sk: sk.to_owned(),
            item_type: SKU_MARKER_TYPE.to_owned(),
            product_id: product_id.to_owned(),
        }
    }
}
