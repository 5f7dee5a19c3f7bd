//! What a seller sends for a product's editable fields, and the same
//! fields once they obey every rule (`ProductDetails`, see `validate`).

use std::collections::BTreeMap;

use crate::domain::Money;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{Compliance, PriceTier, Unit};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// Minor units (cents).
    #[schema(example = 1299)]
    pub amount: i64,
    #[schema(example = "EUR")]
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificationInput {
    /// haccp, iso22000, fssc22000, brcgs, ifs, organic, halal, kosher, fairtrade or other.
    #[schema(value_type = String, example = "haccp")]
    pub kind: Value,
    pub issuer: String,
    pub number: String,
    #[schema(example = "2027-03-31")]
    pub expires_on: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComplianceInput {
    #[serde(default)]
    pub certifications: Vec<CertificationInput>,
    #[serde(default)]
    pub allergens: Vec<String>,
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, f64>)]
    pub nutrition: BTreeMap<String, f64>,
}

/// The editable fields of a product. On create, `name`, `categoryId` and
/// `price` are required; on update every field is optional and replaces the
/// stored one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductInput {
    #[schema(example = "Roma tomatoes")]
    pub name: Option<String>,
    pub description: Option<String>,
    pub category_id: Option<String>,
    pub tags: Option<Vec<String>>,
    pub price: Option<PriceInput>,
    /// Asset ids.
    pub images: Option<Vec<String>>,
    /// Inactive products are kept but not listed; default true.
    pub active: Option<bool>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub price_tiers: Option<Vec<PriceTier>>,
    /// Default 1.
    pub minimum_order_quantity: Option<i64>,
    /// kg, case or piece; default piece.
    #[schema(value_type = Option<String>, example = "kg")]
    pub unit: Option<Value>,
    /// ISO 3166-1 alpha-2, e.g. `PT`; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "PT")]
    pub origin_country: Option<Option<String>>,
    pub compliance: Option<ComplianceInput>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl ProductInput {
    /// `self` over `base`: each field this input has replaces base's.
    pub fn over(self, base: ProductInput) -> ProductInput {
        ProductInput {
            name: self.name.or(base.name),
            description: self.description.or(base.description),
            category_id: self.category_id.or(base.category_id),
            tags: self.tags.or(base.tags),
            price: self.price.or(base.price),
            images: self.images.or(base.images),
            active: self.active.or(base.active),
            attributes: self.attributes.or(base.attributes),
            price_tiers: self.price_tiers.or(base.price_tiers),
            minimum_order_quantity: self.minimum_order_quantity.or(base.minimum_order_quantity),
            unit: self.unit.or(base.unit),
            origin_country: self.origin_country.or(base.origin_country),
            compliance: self.compliance.or(base.compliance),
        }
    }
}

/// Editable fields that obey every rule.
#[derive(Debug, Clone)]
pub struct ProductDetails {
    pub name: String,
    pub description: String,
    pub category_id: String,
    pub tags: Vec<String>,
    pub price: Money,
    pub images: Vec<String>,
    pub active: bool,
    pub attributes: BTreeMap<String, String>,
    pub price_tiers: Vec<PriceTier>,
    pub minimum_order_quantity: i64,
    pub unit: Unit,
    pub origin_country: Option<String>,
    pub compliance: Compliance,
}
