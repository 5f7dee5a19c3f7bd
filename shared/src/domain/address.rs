//! A postal address: what checkout, the address book and orders keep, with
//! the one validation every entry point uses.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::CountryCode;
use crate::http::Problems;

/// A postal address, validated at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[schema(example = "Erika Mustermann")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Acme Supplies GmbH")]
    pub company: Option<String>,
    #[schema(example = "Hauptstraße 5")]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[schema(example = "10115")]
    pub postal_code: String,
    #[schema(example = "Berlin")]
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[schema(value_type = String, example = "DE")]
    pub country: CountryCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "+49 30 1234567")]
    pub phone: Option<String>,
}

/// An address as a request carries it: every field optional, so each
/// missing or bad one is named (`<prefix>.<field>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressInput {
    #[schema(example = "Erika Mustermann")]
    pub name: Option<String>,
    pub company: Option<String>,
    #[schema(example = "Hauptstraße 5")]
    pub line1: Option<String>,
    pub line2: Option<String>,
    #[schema(example = "10115")]
    pub postal_code: Option<String>,
    #[schema(example = "Berlin")]
    pub city: Option<String>,
    pub region: Option<String>,
    #[schema(example = "DE")]
    pub country: Option<String>,
    pub phone: Option<String>,
}

/// Validates `input`, adding each problem under `<prefix>.<field>`; the
/// address when every field is good.
pub fn parse_address(fields: &mut Problems, prefix: &str, input: &AddressInput) -> Option<Address> {
    let before = fields.len();
    let field = |name: &str| format!("{prefix}.{name}");
    let name = fields.plain_text(&field("name"), input.name.as_deref(), 100, true);
    let company = fields.plain_text(&field("company"), input.company.as_deref(), 100, false);
    let line1 = fields.plain_text(&field("line1"), input.line1.as_deref(), 200, true);
    let line2 = fields.plain_text(&field("line2"), input.line2.as_deref(), 200, false);
    let postal_code =
        fields.plain_text(&field("postalCode"), input.postal_code.as_deref(), 20, true);
    if let Some(code) = &postal_code
        && !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        fields.add(
            field("postalCode"),
            "may hold letters, digits, spaces and dashes only",
        );
    }
    let city = fields.plain_text(&field("city"), input.city.as_deref(), 100, true);
    let region = fields.plain_text(&field("region"), input.region.as_deref(), 100, false);
    let phone = fields.plain_text(&field("phone"), input.phone.as_deref(), 30, false);
    if let Some(phone) = &phone
        && !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()/.".contains(c))
    {
        fields.add(
            field("phone"),
            "may hold digits, spaces and + - ( ) / . only",
        );
    }
    let country = match input
        .country
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => {
            fields.add(field("country"), "is required");
            None
        }
        Some(raw) => CountryCode::parse(raw)
            .map_err(|err| fields.add(field("country"), err.to_string()))
            .ok(),
    };
    if fields.len() != before {
        return None;
    }
    Some(Address {
        name: name?,
        company,
        line1: line1?,
        line2,
        postal_code: postal_code?,
        city: city?,
        region,
        country: country?,
        phone,
    })
}
