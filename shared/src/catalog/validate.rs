//! The rules every product obeys: one validator for create, update and
//! bulk, recording every problem at once.

use crate::domain::{CountryCode, Currency, Money};
use crate::http::Problems;
use serde_json::Value;

use super::{Certification, CertificationKind, Compliance, ProductDetails, ProductInput, Unit};

const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 5000;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 40;
const MAX_IMAGES: usize = 20;
const MAX_IMAGE_URL_CHARS: usize = 2048;
const MAX_ATTRIBUTES: usize = 50;
const MAX_PRICE_TIERS: usize = 10;
const MAX_CERTIFICATIONS: usize = 20;
const MAX_ALLERGENS: usize = 20;
const MAX_NUTRIENTS: usize = 40;
const MAX_QUANTITY: i64 = 1_000_000_000;

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

/// Checks every field of a stocked product's `input`, recording each
/// problem in `problems`.
pub fn validate_details(input: ProductInput, problems: &mut Problems) -> Option<ProductDetails> {
    validate_product_details(input, false, problems)
}

/// An image reference of a made-to-order product: an asset key (1 to 200
/// characters) or an http(s) URL (at most 2048), without spaces or control
/// characters.
fn is_image_reference(image: &str) -> bool {
    let url = image.starts_with("https://") || image.starts_with("http://");
    let limit = if url { MAX_IMAGE_URL_CHARS } else { 200 };
    !image.is_empty()
        && image.len() <= limit
        && !image.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Checks every field of `input`. A stocked product's images are asset ids
/// (checked ready in its transaction); a made-to-order product's are the
/// publishing context's references, asset keys or URLs.
pub fn validate_product_details(
    input: ProductInput,
    made_to_order: bool,
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
    if made_to_order {
        if images.len() > MAX_IMAGES || !images.iter().all(|i| is_image_reference(i)) {
            problems.add(
                "images",
                format!(
                    "at most {MAX_IMAGES} asset keys (1 to 200 characters) or http(s) URLs (at most {MAX_IMAGE_URL_CHARS}), without spaces"
                ),
            );
        }
    } else if images.len() > MAX_IMAGES
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
        if !(0..=crate::domain::money::MAX_AMOUNT).contains(&tier.unit_price) {
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
        && CountryCode::parse(country).is_err()
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
