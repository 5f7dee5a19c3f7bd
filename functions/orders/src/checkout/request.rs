//! The checkout request body and its validation: addresses, note, payment
//! method and net terms, every bad field named with its path.

use serde::{Deserialize, Serialize};
use shared::contracts::sourced_order::NET_TERMS_DAYS;
use shared::domain::CountryCode;
use shared::http::{ApiError, ApiResult, Problems};
use utoipa::ToSchema;

use crate::model::{Address, PaymentMethod};

const MAX_NOTE_CHARS: usize = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutRequest {
    pub shipping_address: Option<AddressInput>,
    /// Defaults to the shipping address.
    pub billing_address: Option<AddressInput>,
    #[schema(example = "Please deliver to the loading dock")]
    pub note: Option<String>,
    /// `card` (Stripe) or `invoice` (verified buyer organizations only).
    #[schema(example = "card")]
    pub payment_method: Option<String>,
    /// Invoice only: 14, 30 (default) or 60 days.
    #[schema(example = 30)]
    pub net_terms_days: Option<i64>,
    /// The grand total (minor units) the buyer was shown. If sent and the
    /// prices changed since, the checkout is refused (409 with the new
    /// totals) instead of charging more than the buyer agreed to.
    #[schema(example = 3094)]
    pub expected_total: Option<i64>,
}

fn address(fields: &mut Problems, prefix: &str, input: &AddressInput) -> Option<Address> {
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

/// A checkout request that passed validation.
#[derive(Debug)]
pub(super) struct Checkout {
    pub(super) shipping: Address,
    pub(super) billing: Address,
    pub(super) note: Option<String>,
    pub(super) method: PaymentMethod,
    pub(super) net_terms_days: Option<i64>,
    pub(super) expected_total: Option<i64>,
}

pub(super) fn validate(request: &CheckoutRequest) -> ApiResult<Checkout> {
    let mut fields = Problems::default();
    let shipping = match &request.shipping_address {
        Some(input) => address(&mut fields, "shippingAddress", input),
        None => {
            fields.add("shippingAddress", "is required");
            None
        }
    };
    let billing = request
        .billing_address
        .as_ref()
        .map(|input| address(&mut fields, "billingAddress", input));
    let note = fields.plain_text("note", request.note.as_deref(), MAX_NOTE_CHARS, false);
    let method = match request.payment_method.as_deref().map(str::trim) {
        None | Some("") => {
            fields.add("paymentMethod", "is required: card or invoice");
            None
        }
        Some(raw) => PaymentMethod::parse(raw).or_else(|| {
            fields.add("paymentMethod", "must be card or invoice");
            None
        }),
    };
    let net_terms_days = match (method, request.net_terms_days) {
        (Some(PaymentMethod::Invoice), None) => Some(30),
        (Some(PaymentMethod::Invoice), Some(days)) if NET_TERMS_DAYS.contains(&days) => Some(days),
        (Some(PaymentMethod::Invoice), Some(_)) => {
            fields.add("netTermsDays", "must be 14, 30 or 60");
            None
        }
        (_, Some(_)) => {
            fields.add("netTermsDays", "applies to invoice payments only");
            None
        }
        (_, None) => None,
    };
    match (shipping, billing, method) {
        (Some(shipping), billing, Some(method)) if fields.is_empty() => Ok(Checkout {
            billing: billing.flatten().unwrap_or_else(|| shipping.clone()),
            shipping,
            note,
            method,
            net_terms_days,
            expected_total: request.expected_total,
        }),
        _ => Err(ApiError::validation(
            "the checkout request has invalid fields",
            fields,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good_address() -> AddressInput {
        AddressInput {
            name: Some("Erika Mustermann".into()),
            company: None,
            line1: Some("Hauptstraße 5".into()),
            line2: None,
            postal_code: Some("10115".into()),
            city: Some("Berlin".into()),
            region: None,
            country: Some("de".into()),
            phone: Some("+49 30 123".into()),
        }
    }

    fn request(method: &str) -> CheckoutRequest {
        CheckoutRequest {
            shipping_address: Some(good_address()),
            billing_address: None,
            note: None,
            payment_method: Some(method.into()),
            net_terms_days: None,
            expected_total: None,
        }
    }

    #[test]
    fn billing_defaults_to_shipping_and_invoice_to_thirty_days() {
        let checkout = validate(&request("invoice")).unwrap();
        assert_eq!(checkout.billing, checkout.shipping);
        assert_eq!(checkout.shipping.country.as_str(), "DE");
        assert_eq!(checkout.net_terms_days, Some(30));
        assert_eq!(validate(&request("card")).unwrap().net_terms_days, None);
    }

    #[test]
    fn every_bad_field_is_named_with_its_path() {
        let mut bad = request("cash");
        bad.shipping_address = Some(AddressInput {
            name: Some(" ".into()),
            postal_code: Some("10115<script>".into()),
            country: Some("XX".into()),
            phone: Some("call me".into()),
            ..good_address()
        });
        bad.net_terms_days = Some(45);
        let err = validate(&bad).unwrap_err();
        let fields = err.fields();
        for name in [
            "shippingAddress.name",
            "shippingAddress.postalCode",
            "shippingAddress.country",
            "shippingAddress.phone",
            "paymentMethod",
        ] {
            assert!(fields.contains_key(name), "{name} missing from {fields:?}");
        }
        let mut card_terms = request("card");
        card_terms.net_terms_days = Some(30);
        assert!(
            validate(&card_terms)
                .unwrap_err()
                .fields()
                .contains_key("netTermsDays")
        );
        let mut no_address = request("card");
        no_address.shipping_address = None;
        assert!(
            validate(&no_address)
                .unwrap_err()
                .fields()
                .contains_key("shippingAddress")
        );
    }
}
