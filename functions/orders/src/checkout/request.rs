//! The checkout request body and its validation: addresses (given inline or
//! named from an address book), note, payment method and net terms, every
//! bad field named with its path.

use serde::{Deserialize, Serialize};
use shared::contracts::sourced_order::NET_TERMS_DAYS;
use shared::http::{ApiError, ApiResult, Problems};
use utoipa::ToSchema;

pub use shared::domain::address::AddressInput;
use shared::domain::address::parse_address as address;

use crate::model::{Address, PaymentMethod};

const MAX_NOTE_CHARS: usize = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckoutRequest {
    /// The address to ship to; or name a saved one with `shippingAddressId`.
    pub shipping_address: Option<AddressInput>,
    /// A saved address to ship to instead of `shippingAddress`: from the
    /// organization's address book with `?orgId=` (or an API key), else
    /// from the signed-in person's. The order keeps a copy.
    #[schema(example = "01JDC0ADDRESS0000000000000")]
    pub shipping_address_id: Option<String>,
    /// Defaults to the shipping address.
    pub billing_address: Option<AddressInput>,
    /// A saved address to bill instead of `billingAddress` (same book as
    /// `shippingAddressId`).
    pub billing_address_id: Option<String>,
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

/// Where one of the order's addresses comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum AddressSource {
    Given(Address),
    /// The id of an entry in the buyer's address book.
    Saved(String),
}

/// A checkout request that passed validation.
#[derive(Debug)]
pub(super) struct Checkout {
    pub(super) shipping: AddressSource,
    /// `None`: bill the shipping address.
    pub(super) billing: Option<AddressSource>,
    pub(super) note: Option<String>,
    pub(super) method: PaymentMethod,
    pub(super) net_terms_days: Option<i64>,
    pub(super) expected_total: Option<i64>,
}

/// The address given inline at `field`, or the saved one `<field>Id` names;
/// both is a 422 on the id. `Ok(None)`: neither was sent.
fn address_source(
    fields: &mut Problems,
    field: &str,
    inline: Option<&AddressInput>,
    saved: Option<&str>,
) -> Option<Option<AddressSource>> {
    let id_field = format!("{field}Id");
    match (inline, saved.map(str::trim)) {
        (Some(_), Some(_)) => {
            fields.add(id_field, format!("send {field} or {field}Id, not both"));
            None
        }
        (None, Some("")) => {
            fields.add(id_field, "must name a saved address");
            None
        }
        (None, Some(id)) => Some(Some(AddressSource::Saved(id.to_owned()))),
        (Some(input), None) => address(fields, field, input).map(|a| Some(AddressSource::Given(a))),
        (None, None) => Some(None),
    }
}

pub(super) fn validate(request: &CheckoutRequest) -> ApiResult<Checkout> {
    let mut fields = Problems::default();
    let shipping = address_source(
        &mut fields,
        "shippingAddress",
        request.shipping_address.as_ref(),
        request.shipping_address_id.as_deref(),
    );
    let shipping = match shipping {
        Some(None) => {
            fields.add("shippingAddress", "is required (or shippingAddressId)");
            None
        }
        other => other.flatten(),
    };
    let billing = address_source(
        &mut fields,
        "billingAddress",
        request.billing_address.as_ref(),
        request.billing_address_id.as_deref(),
    );
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
            billing: billing.flatten(),
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
            shipping_address_id: None,
            billing_address: None,
            billing_address_id: None,
            note: None,
            payment_method: Some(method.into()),
            net_terms_days: None,
            expected_total: None,
        }
    }

    #[test]
    fn billing_defaults_to_shipping_and_invoice_to_thirty_days() {
        let checkout = validate(&request("invoice")).unwrap();
        assert_eq!(checkout.billing, None);
        let AddressSource::Given(shipping) = checkout.shipping else {
            panic!("an inline address")
        };
        assert_eq!(shipping.country.as_str(), "DE");
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

    #[test]
    fn a_saved_address_is_named_instead_of_given_never_both() {
        let mut saved = request("card");
        saved.shipping_address = None;
        saved.shipping_address_id = Some(" 01JDC0ADDRESS ".into());
        saved.billing_address_id = Some("01JDC0BILLING".into());
        let checkout = validate(&saved).unwrap();
        assert_eq!(
            checkout.shipping,
            AddressSource::Saved("01JDC0ADDRESS".into())
        );
        assert_eq!(
            checkout.billing,
            Some(AddressSource::Saved("01JDC0BILLING".into()))
        );

        let mut both = request("card");
        both.shipping_address_id = Some("01JDC0ADDRESS".into());
        both.billing_address = Some(good_address());
        both.billing_address_id = Some("".into());
        let err = validate(&both).unwrap_err();
        let fields = err.fields();
        assert!(fields.contains_key("shippingAddressId"), "{fields:?}");
        assert!(fields.contains_key("billingAddressId"), "{fields:?}");
    }
}
