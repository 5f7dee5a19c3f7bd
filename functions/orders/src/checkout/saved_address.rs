//! The addresses an order ships to and bills, resolved: given inline, or
//! copied from the buyer's address book (identity's items, read through
//! `shared::contracts::address`). The order keeps the copy, so later edits
//! of the book never change it. An id that is not in the buyer's own book
//! (another person's, another organization's, or none) is a 404.

use shared::contracts::address::{AddressBook, SavedAddress};
use shared::http::{ApiError, ApiResult};
use shared::store::Store;

use super::request::{AddressSource, Checkout};
use crate::model::{Address, Buyer};

/// The order's shipping and billing addresses.
pub(super) struct ShipTo {
    pub(super) shipping: Address,
    pub(super) billing: Address,
}

/// The book a buyer's saved address ids name: the organization's when
/// buying for one, else the signed-in person's.
fn book_of(buyer: &Buyer) -> Option<AddressBook> {
    match (&buyer.org_id, &buyer.user_id) {
        (Some(org), _) => Some(AddressBook::Org(org.clone())),
        (None, Some(user)) => Some(AddressBook::User(user.clone())),
        (None, None) => None,
    }
}

async fn resolve_one(
    store: &Store,
    buyer: &Buyer,
    source: &AddressSource,
    field: &str,
) -> ApiResult<Address> {
    let id = match source {
        AddressSource::Given(address) => return Ok(address.clone()),
        AddressSource::Saved(id) => id,
    };
    let not_found =
        || ApiError::not_found(format!("{field}: no such address in your address book"));
    let (pk, sk) = book_of(buyer)
        .and_then(|book| book.entry_key(id))
        .ok_or_else(not_found)?;
    let saved = store
        .get::<SavedAddress>(&pk, &sk)
        .await?
        .ok_or_else(not_found)?;
    Ok(saved.address)
}

/// The checkout's addresses, copying saved ones from the buyer's book (at
/// most two GetItems); billing defaults to the shipping address.
pub(super) async fn resolve(
    store: &Store,
    buyer: &Buyer,
    checkout: &Checkout,
) -> ApiResult<ShipTo> {
    let shipping = resolve_one(store, buyer, &checkout.shipping, "shippingAddressId").await?;
    let billing = match &checkout.billing {
        None => shipping.clone(),
        Some(source) if *source == checkout.shipping => shipping.clone(),
        Some(source) => resolve_one(store, buyer, source, "billingAddressId").await?,
    };
    Ok(ShipTo { shipping, billing })
}
