//! Products: the item in the table, the request that creates one, and the
//! rules every product obeys (one validator for create, update and bulk).
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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::domain::{Currency, Money, Sku, now_rfc3339};
use shared::stock::{Stock, product_key};
use utoipa::ToSchema;

pub use shared::contracts::product::PriceTier;

use crate::validation::Problems;

pub use shared::contracts::product::PRODUCT_TYPE;
pub const SKU_MARKER_TYPE: &str = "SKU_MARKER";

const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 5000;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 40;
const MAX_IMAGES: usize = 20;
const MAX_ATTRIBUTES: usize = 50;
const MAX_PRICE_TIERS: usize = 10;
const MAX_CERTIFICATIONS: usize = 20;
const MAX_ALLERGENS: usize = 20;
const MAX_NUTRIENTS: usize = 40;
const MAX_QUANTITY: i64 = 1_000_000_000;

/// ISO 3166-1 alpha-2 codes.
const ISO_3166: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM \
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE \
NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD \
SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA \
UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

pub fn sku_key(sku: &str) -> (String, &'static str) {
    (format!("SKU#{sku}"), "MARKER")
}

pub fn category_partition(category_id: &str) -> String {
    format!("PRODUCTS#CATEGORY#{category_id}")
}

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
    // Empty maps are not stored: DynamoDB Local's stream renders an empty
    // map as `{}`, which the SDK cannot read (the devserver's pump stalls).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, f64>)]
    pub nutrition: BTreeMap<String, f64>,
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
    /// Moved only by `shared::stock` (conditional updates).
    pub stock_available: i64,
    pub stock_reserved: i64,
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
        shared::contracts::product::is_listed(self.active, self.archived_at.as_deref())
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
            stock_available: stock,
            stock_reserved: 0,
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

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PriceInput {
    /// Minor units (cents).
    #[schema(example = 1299)]
    pub amount: i64,
    #[schema(example = "EUR")]
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
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
#[serde(rename_all = "camelCase")]
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
#[serde(rename_all = "camelCase")]
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

fn parse_enum<T: serde::de::DeserializeOwned>(value: &Value) -> Option<T> {
    serde_json::from_value(value.clone()).ok()
}

fn valid_date(raw: &str) -> bool {
    time::Date::parse(
        raw,
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .is_ok()
}

/// Checks every field of `input`, recording each problem in `problems`.
pub(crate) fn validate_details(
    input: ProductInput,
    problems: &mut Problems,
) -> Option<ProductDetails> {
    let name = problems.text(
        "name",
        input.name.as_deref().unwrap_or(""),
        1,
        MAX_NAME_CHARS,
    );
    let description = problems.text(
        "description",
        input.description.as_deref().unwrap_or(""),
        0,
        MAX_DESCRIPTION_CHARS,
    );
    let category_id = problems.text(
        "categoryId",
        input.category_id.as_deref().unwrap_or(""),
        1,
        64,
    );

    let mut tags: Vec<String> = Vec::new();
    let raw_tags = input.tags.unwrap_or_default();
    if raw_tags.len() > MAX_TAGS {
        problems.add("tags", format!("at most {MAX_TAGS} tags"));
    }
    for tag in raw_tags.iter().take(MAX_TAGS) {
        let tag = problems.text("tags", &tag.to_lowercase(), 1, MAX_TAG_CHARS);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }

    let price = match &input.price {
        None => {
            problems.add("price", "is required");
            None
        }
        Some(price) => {
            let currency = problems.parsed("price.currency", Currency::parse(&price.currency));
            currency.and_then(|c| problems.parsed("price.amount", Money::new(price.amount, c)))
        }
    };

    let images = input.images.unwrap_or_default();
    if images.len() > MAX_IMAGES
        || images
            .iter()
            .any(|i| i.trim().is_empty() || i.len() > 200 || i.chars().any(char::is_control))
    {
        problems.add(
            "images",
            format!("at most {MAX_IMAGES} asset ids of 1 to 200 characters"),
        );
    }

    let attributes = input.attributes.unwrap_or_default();
    if attributes.len() > MAX_ATTRIBUTES
        || attributes
            .iter()
            .any(|(k, v)| k.trim().is_empty() || k.chars().count() > 64 || v.chars().count() > 500)
    {
        problems.add(
            "attributes",
            format!(
                "at most {MAX_ATTRIBUTES} entries; names 1 to 64 characters, values at most 500"
            ),
        );
    }

    let minimum_order_quantity = input.minimum_order_quantity.unwrap_or(1);
    if !(1..=MAX_QUANTITY).contains(&minimum_order_quantity) {
        problems.add("minimumOrderQuantity", "must be from 1 to 1000000000");
    }

    let price_tiers = input.price_tiers.unwrap_or_default();
    if price_tiers.len() > MAX_PRICE_TIERS {
        problems.add("priceTiers", format!("at most {MAX_PRICE_TIERS} tiers"));
    }
    for (i, tier) in price_tiers.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&tier.min_quantity) {
            problems.add(
                format!("priceTiers[{i}].minQuantity"),
                "must be from 1 to 1000000000",
            );
        }
        if !(0..=shared::domain::money::MAX_AMOUNT).contains(&tier.unit_price) {
            problems.add(
                format!("priceTiers[{i}].unitPrice"),
                "must be whole minor units, 0 or more",
            );
        }
        if i > 0 && tier.min_quantity <= price_tiers[i - 1].min_quantity {
            problems.add(
                format!("priceTiers[{i}].minQuantity"),
                "tiers must be in increasing minQuantity",
            );
        }
    }

    let unit = match &input.unit {
        None => Some(Unit::Piece),
        Some(raw) => {
            let unit = parse_enum::<Unit>(raw);
            if unit.is_none() {
                problems.add("unit", "must be kg, case or piece");
            }
            unit
        }
    };

    let origin_country = input
        .origin_country
        .flatten()
        .map(|c| c.trim().to_ascii_uppercase());
    if let Some(country) = &origin_country
        && (country.len() != 2 || !ISO_3166.split(' ').any(|known| known == country))
    {
        problems.add(
            "originCountry",
            "must be an ISO 3166-1 alpha-2 code such as PT",
        );
    }

    let compliance_input = input.compliance.unwrap_or_default();
    if compliance_input.certifications.len() > MAX_CERTIFICATIONS {
        problems.add(
            "compliance.certifications",
            format!("at most {MAX_CERTIFICATIONS}"),
        );
    }
    let mut certifications = Vec::new();
    for (i, cert) in compliance_input.certifications.iter().enumerate() {
        let field = format!("compliance.certifications[{i}]");
        let kind = parse_enum::<CertificationKind>(&cert.kind);
        if kind.is_none() {
            problems.add(
                format!("{field}.kind"),
                "must be haccp, iso22000, fssc22000, brcgs, ifs, organic, halal, kosher, fairtrade or other",
            );
        }
        let issuer = problems.text(&format!("{field}.issuer"), &cert.issuer, 1, 200);
        let number = problems.text(&format!("{field}.number"), &cert.number, 1, 100);
        if !valid_date(cert.expires_on.trim()) {
            problems.add(
                format!("{field}.expiresOn"),
                "must be a date such as 2027-03-31",
            );
        }
        if let Some(kind) = kind {
            certifications.push(Certification {
                kind,
                issuer,
                number,
                expires_on: cert.expires_on.trim().to_owned(),
            });
        }
    }
    let allergens: Vec<String> = compliance_input
        .allergens
        .iter()
        .map(|a| a.trim().to_lowercase())
        .collect();
    if allergens.len() > MAX_ALLERGENS
        || allergens
            .iter()
            .any(|a| a.is_empty() || a.chars().count() > 50)
    {
        problems.add(
            "compliance.allergens",
            format!("at most {MAX_ALLERGENS} names of 1 to 50 characters"),
        );
    }
    let nutrition = compliance_input.nutrition;
    if nutrition.len() > MAX_NUTRIENTS
        || nutrition
            .iter()
            .any(|(k, v)| k.trim().is_empty() || k.len() > 64 || !v.is_finite() || *v < 0.0)
    {
        problems.add(
            "compliance.nutrition",
            format!("at most {MAX_NUTRIENTS} nutrients, each a non-negative number"),
        );
    }

    let (Some(price), Some(unit)) = (price, unit) else {
        return None;
    };
    problems.is_empty().then(|| ProductDetails {
        name,
        description,
        category_id,
        tags,
        price,
        images: images.into_iter().map(|i| i.trim().to_owned()).collect(),
        active: input.active.unwrap_or(true),
        attributes,
        price_tiers,
        minimum_order_quantity,
        unit,
        origin_country,
        compliance: Compliance {
            certifications,
            allergens,
            nutrition,
        },
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rating {
    pub count: i64,
    /// Mean of the ratings, `null` before the first review.
    pub average: Option<f64>,
}

/// A product as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
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
    pub stock: Stock,
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

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        let average = (p.rating_count > 0).then(|| p.rating_sum as f64 / p.rating_count as f64);
        Self {
            archived: p.archived_at.is_some(),
            archived_at: p.archived_at,
            stock: Stock {
                available: p.stock_available,
                reserved: p.stock_reserved,
            },
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(sold.stock_available, 120);
        assert!(sold.is_listed() && product.is_listed());
        let indexed: shared::contracts::product::ProductForIndex =
            serde_dynamo::from_item(item.clone()).unwrap();
        assert_eq!(indexed.id, product.id);
        assert_eq!(indexed.name, product.name);
        assert_eq!(indexed.description, product.description);
        assert_eq!(indexed.tags, product.tags);
        assert_eq!(indexed.category_id, product.category_id);
        assert!(indexed.is_listed());

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
