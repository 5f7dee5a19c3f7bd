//! A postal address, as orders and fulfilments keep it.

use serde::{Deserialize, Serialize};
use shared::domain::CountryCode;
use utoipa::ToSchema;

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
