//! Address books: a person's (`/v1/me/addresses`) and an organization's
//! delivery addresses (`/v1/orgs/{orgId}/addresses`), so a checkout names a
//! saved address instead of typing it again. Entries are validated by the
//! same code as checkout's inline addresses (`shared::domain::address`);
//! an order copies the address, so it never changes when the book does.
//! Checkout reads an entry through `shared::contracts::address`, whose keys
//! this module uses.
//!
//! Items: `USER#<id>` or `ORG#<id>` / `ADDRESS#<ulid>`, one per entry, and
//! `ADDRESSBOOK` holding the count, which caps the book at
//! [`MAX_ENTRIES`] in the same transaction as each create. At most one entry
//! is the default shipping and one the default billing address: making one
//! the default clears the other in the same transaction. A book with entries
//! always has both defaults: the first entry takes them, a default is moved
//! (never unset alone), and a removed default passes to the newest entry.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header::ETAG};
use serde::{Deserialize, Serialize};
use shared::audit::{Actor, AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission, Principal};
pub use shared::contracts::address::ADDRESS_TYPE;
use shared::contracts::address::{ADDRESS_SK_PREFIX, AddressBook as Book};
use shared::domain::address::{Address, AddressInput, parse_address};
use shared::domain::{new_id, now_rfc3339};
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems, etag, if_match,
};
use shared::store::{
    Index, PartitionQuery, QueryRefinement, Store, StoreError, Transaction, Update, n,
};
use utoipa::ToSchema;

use crate::IdentityState;

/// Entries one book may hold.
pub const MAX_ENTRIES: u64 = 20;
const COUNTER_SK: &str = "ADDRESSBOOK";
const MAX_LABEL_CHARS: usize = 50;

/// One saved address, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub address: Address,
    pub default_shipping: bool,
    pub default_billing: bool,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// A saved address.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SavedAddressView {
    #[schema(example = "01JDC0ADDRESS0000000000000")]
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Warehouse")]
    label: Option<String>,
    address: Address,
    default_shipping: bool,
    default_billing: bool,
    version: u64,
    created_at: String,
    updated_at: String,
}

impl From<AddressRecord> for SavedAddressView {
    fn from(r: AddressRecord) -> Self {
        Self {
            id: r.id,
            label: r.label,
            address: r.address,
            default_shipping: r.default_shipping,
            default_billing: r.default_billing,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A new entry, or the fields of one to change (PATCH: each optional; an
/// address given is given whole and validated whole; an empty label
/// removes it). `defaultShipping`/`defaultBilling: true` makes the entry
/// the default (the previous one stops being it); `false` on the current
/// default is refused: make another entry the default instead.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressEntryRequest {
    /// A name for the entry (`Home`, `Warehouse`), at most 50 characters.
    #[serde(default)]
    #[schema(example = "Warehouse")]
    label: Option<String>,
    #[serde(default)]
    address: Option<AddressInput>,
    #[serde(default)]
    default_shipping: Option<bool>,
    #[serde(default)]
    default_billing: Option<bool>,
}

struct Entry {
    /// `Some(None)`: remove the label.
    label: Option<Option<String>>,
    address: Option<Address>,
    default_shipping: Option<bool>,
    default_billing: Option<bool>,
}

fn parse_entry(request: AddressEntryRequest, creating: bool) -> ApiResult<Entry> {
    let mut problems = Problems::default();
    let label = request
        .label
        .as_deref()
        .map(|raw| problems.plain_text("label", Some(raw), MAX_LABEL_CHARS, false));
    let address = match &request.address {
        Some(input) => parse_address(&mut problems, "address", input),
        None if creating => {
            problems.add("address", "is required");
            None
        }
        None => None,
    };
    problems.finish("the address has invalid fields", || Entry {
        label,
        address,
        default_shipping: request.default_shipping,
        default_billing: request.default_billing,
    })
}

/// Every entry of `book`, oldest first: one strongly consistent Query (the
/// book is capped far below a page), so a write decides from the book as
/// it is now.
async fn entries(store: &Store, book: &Book) -> ApiResult<Vec<AddressRecord>> {
    let query = PartitionQuery {
        index: Index::Table,
        partition: book.pk(),
        sort_prefix: Some(ADDRESS_SK_PREFIX.to_owned()),
        ascending: true,
    };
    let consistent = QueryRefinement {
        consistent_read: true,
        ..QueryRefinement::default()
    };
    Ok(store
        .query_page_where::<AddressRecord>(&query, &consistent, MAX_ENTRIES as u32 + 5, None)
        .await?
        .items)
}

/// The entry `address_id` of `book`; 404 if the book has none (an id of
/// another book is no different).
async fn load(store: &Store, book: &Book, address_id: &str) -> ApiResult<AddressRecord> {
    let not_found = || ApiError::not_found("no such address in this address book");
    let (pk, sk) = book.entry_key(address_id).ok_or_else(not_found)?;
    store
        .get::<AddressRecord>(&pk, &sk)
        .await?
        .ok_or_else(not_found)
}

/// Sets (`value` true) or clears the default flags `flags` names on
/// `other`, guarded by its version, in `tx`.
fn set_defaults(
    store: &Store,
    tx: &mut Transaction,
    other: &AddressRecord,
    flags: &[&str],
    value: bool,
) -> ApiResult<()> {
    let sets: Vec<String> = flags.iter().map(|f| format!("{f} = :flag")).collect();
    let update = Update::new(
        &other.pk,
        &other.sk,
        format!("SET {}, updatedAt = :now ADD version :one", sets.join(", ")),
    )
    .condition("version = :seen")
    .value(":flag", AttributeValue::Bool(value))
    .value(":now", shared::store::s(now_rfc3339()))
    .value(":one", n(1))
    .value(":seen", n(other.version as i64));
    tx.push(store.transact_update(update)?)
        .named("other-default");
    Ok(())
}

/// Clears the default flags `entry` takes over from the other entries, in
/// `tx`, each guarded by its version.
fn take_over_defaults(
    store: &Store,
    tx: &mut Transaction,
    others: &[AddressRecord],
    entry: &AddressRecord,
) -> ApiResult<()> {
    for other in others.iter().filter(|o| o.id != entry.id) {
        let mut clears = Vec::new();
        if entry.default_shipping && other.default_shipping {
            clears.push("defaultShipping");
        }
        if entry.default_billing && other.default_billing {
            clears.push("defaultBilling");
        }
        if !clears.is_empty() {
            set_defaults(store, tx, other, &clears, false)?;
        }
    }
    Ok(())
}

/// The audit entry of a change to an organization's book (a person's own
/// book is not audited).
fn audit(book: &Book, actor: &Actor, action: AuditAction, id: &str) -> Option<AuditEvent> {
    match book {
        Book::Org(org_id) => Some(
            AuditEvent::new(&AuditScope::Org(org_id.clone()), actor, action)
                .target(format!("address:{id}")),
        ),
        Book::User(_) => None,
    }
}

fn changed_meanwhile() -> ApiError {
    ApiError::conflict("the address book changed meanwhile; try again")
}

fn stale_etag() -> ApiError {
    ApiError::precondition_failed("the address changed since that ETag; fetch it again")
}

async fn create(
    state: &IdentityState,
    book: &Book,
    actor: &Actor,
    request: AddressEntryRequest,
) -> ApiResult<ApiResponse<SavedAddressView>> {
    let entry = parse_entry(request, true)?;
    let others = entries(&state.store, book).await?;
    if others.len() as u64 >= MAX_ENTRIES {
        return Err(book_full());
    }
    let id = new_id();
    let now = now_rfc3339();
    // The first entry takes both defaults, whatever the request says.
    let first = others.is_empty();
    let record = AddressRecord {
        pk: book.pk(),
        sk: format!("{ADDRESS_SK_PREFIX}{id}"),
        item_type: ADDRESS_TYPE.to_owned(),
        id: id.clone(),
        label: entry.label.flatten(),
        address: entry.address.expect("required on create"),
        default_shipping: first || entry.default_shipping.unwrap_or(false),
        default_billing: first || entry.default_billing.unwrap_or(false),
        version: 1,
        created_at: now.clone(),
        updated_at: now,
    };
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put(&record, Some("attribute_not_exists(PK)"))?,
    )
    .named("address");
    // The cap, and for a first entry that no other first entry raced it
    // (both would take the defaults).
    let condition = if first {
        "attribute_not_exists(#count) OR #count = :zero"
    } else {
        "#count < :max"
    };
    let counter = Update::new(book.pk(), COUNTER_SK, "ADD #count :one")
        .condition(condition)
        .name("#count", "count")
        .value(":one", n(1));
    let counter = if first {
        counter.value(":zero", n(0))
    } else {
        counter.value(":max", n(MAX_ENTRIES as i64))
    };
    tx.push(state.store.transact_update(counter)?)
        .named("count");
    take_over_defaults(&state.store, &mut tx, &others, &record)?;
    if let Some(event) = audit(book, actor, AuditAction::AddressAdded, &id) {
        tx.push(event.transact_item(&state.store)?);
    }
    match state.store.transact(tx).await {
        Ok(()) => {
            let tag = etag(record.version);
            Ok(ApiResponse::created(SavedAddressView::from(record)).header(ETAG, tag))
        }
        Err(err) if err.condition_failed("count") && !first => Err(book_full()),
        Err(err) if err.condition_failed("count") || changed_concurrently(&err) => {
            Err(changed_meanwhile())
        }
        Err(err) => Err(err.into()),
    }
}

fn book_full() -> ApiError {
    ApiError::conflict(format!(
        "the address book is full ({MAX_ENTRIES} entries); remove one first"
    ))
}

fn changed_concurrently(err: &StoreError) -> bool {
    err.condition_failed("other-default")
}

async fn update(
    state: &IdentityState,
    book: &Book,
    actor: &Actor,
    address_id: &str,
    headers: &HeaderMap,
    request: AddressEntryRequest,
) -> ApiResult<ApiResponse<SavedAddressView>> {
    let entry = parse_entry(request, false)?;
    let expected = if_match(headers)?;
    let current = load(&state.store, book, address_id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(stale_etag());
    }
    // A default is moved by making another entry the default, not unset
    // alone, so a book with entries always has both defaults.
    let mut problems = Problems::default();
    for (field, asked, is_default) in [
        (
            "defaultShipping",
            entry.default_shipping,
            current.default_shipping,
        ),
        (
            "defaultBilling",
            entry.default_billing,
            current.default_billing,
        ),
    ] {
        if asked == Some(false) && is_default {
            problems.add(field, "make another address the default instead");
        }
    }
    problems.finish("a default address cannot be unset alone", || ())?;
    let mut next = current.clone();
    if let Some(label) = entry.label {
        next.label = label;
    }
    if let Some(address) = entry.address {
        next.address = address;
    }
    next.default_shipping |= entry.default_shipping.unwrap_or(false);
    next.default_billing |= entry.default_billing.unwrap_or(false);
    next.version = current.version + 1;
    next.updated_at = now_rfc3339();
    let others = entries(&state.store, book).await?;
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put_if_version(&next, current.version)?,
    )
    .named("address");
    take_over_defaults(&state.store, &mut tx, &others, &next)?;
    if let Some(event) = audit(book, actor, AuditAction::AddressChanged, address_id) {
        tx.push(event.transact_item(&state.store)?);
    }
    match state.store.transact(tx).await {
        Ok(()) => {
            let tag = etag(next.version);
            Ok(ApiResponse::ok(SavedAddressView::from(next)).header(ETAG, tag))
        }
        Err(err) if err.condition_failed("address") => Err(stale_etag()),
        Err(err) if changed_concurrently(&err) => Err(changed_meanwhile()),
        Err(err) => Err(err.into()),
    }
}

async fn remove(
    state: &IdentityState,
    book: &Book,
    actor: &Actor,
    address_id: &str,
    headers: &HeaderMap,
) -> ApiResult<StatusCode> {
    let expected = if_match(headers)?;
    let current = load(&state.store, book, address_id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(stale_etag());
    }
    let mut tx = Transaction::new();
    tx.push(state.store.transact_delete(
        &current.pk,
        &current.sk,
        Some("version = :seen"),
        &[(":seen", n(current.version as i64))],
    )?)
    .named("address");
    let counter = Update::new(book.pk(), COUNTER_SK, "ADD #count :minus")
        .name("#count", "count")
        .value(":minus", n(-1));
    tx.push(state.store.transact_update(counter)?)
        .named("count");
    // The defaults pass to the newest remaining entry.
    let mut passed = Vec::new();
    if current.default_shipping {
        passed.push("defaultShipping");
    }
    if current.default_billing {
        passed.push("defaultBilling");
    }
    let others = entries(&state.store, book).await?;
    if let Some(heir) = others.iter().rev().find(|o| o.id != current.id)
        && !passed.is_empty()
    {
        set_defaults(&state.store, &mut tx, heir, &passed, true)?;
    }
    if let Some(event) = audit(book, actor, AuditAction::AddressRemoved, address_id) {
        tx.push(event.transact_item(&state.store)?);
    }
    match state.store.transact(tx).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(err) if err.condition_failed("address") => Err(stale_etag()),
        Err(err) if changed_concurrently(&err) => Err(changed_meanwhile()),
        Err(err) => Err(err.into()),
    }
}

/// Adds to `tx` the deletes that erase a user's address book (its entries
/// and its counter), so account erasure removes it in the same transaction
/// as the account: at most [`MAX_ENTRIES`] + 1 writes.
pub async fn erase_user_book(store: &Store, tx: &mut Transaction, user_id: &str) -> ApiResult<()> {
    let book = Book::User(user_id.to_owned());
    for record in entries(store, &book).await? {
        tx.push(store.transact_delete(&record.pk, &record.sk, None, &[])?);
    }
    tx.push(store.transact_delete(&book.pk(), COUNTER_SK, None, &[])?);
    Ok(())
}

// ---------------------------------------------------------------------------
// A person's book: /v1/me/addresses
// ---------------------------------------------------------------------------

/// The signed-in user's saved addresses, oldest first (at most 20).
#[utoipa::path(
    get,
    path = "/v1/me/addresses",
    tag = "identity",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<Vec<SavedAddressView>>)),
)]
#[tracing::instrument(skip_all)]
pub async fn list_my_addresses(
    State(state): State<IdentityState>,
    principal: Principal,
) -> ApiResult<ApiResponse<Vec<SavedAddressView>>> {
    let book = Book::User(principal.user_id.clone());
    let views = entries(&state.store, &book)
        .await?
        .into_iter()
        .map(SavedAddressView::from)
        .collect();
    Ok(ApiResponse::ok(views))
}

/// Saves an address; the first one becomes the default shipping and billing address.
#[utoipa::path(
    post,
    path = "/v1/me/addresses",
    tag = "identity",
    security(("bearer" = [])),
    request_body = AddressEntryRequest,
    responses(
        (status = 201, description = "Saved, with its ETag", body = Envelope<SavedAddressView>),
        (status = 409, description = "The book is full (20 entries), or it changed meanwhile", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn add_my_address(
    State(state): State<IdentityState>,
    principal: Principal,
    ApiJson(request): ApiJson<AddressEntryRequest>,
) -> ApiResult<ApiResponse<SavedAddressView>> {
    let actor = Actor::User(principal.user_id.clone());
    create(&state, &Book::User(principal.user_id), &actor, request).await
}

/// Changes a saved address (label, the whole address, or makes it a default).
#[utoipa::path(
    patch,
    path = "/v1/me/addresses/{addressId}",
    tag = "identity",
    security(("bearer" = [])),
    params(
        ("addressId" = String, Path, description = "The saved address's id"),
        ("If-Match" = Option<String>, Header, description = "The entry's ETag"),
    ),
    request_body = AddressEntryRequest,
    responses(
        (status = 200, description = "The entry, with its new ETag", body = Envelope<SavedAddressView>),
        (status = 404, description = "No such address in your book", body = ErrorEnvelope),
        (status = 409, description = "The book changed meanwhile", body = ErrorEnvelope),
        (status = 412, description = "The entry changed since that ETag", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn update_my_address(
    State(state): State<IdentityState>,
    principal: Principal,
    Path(address_id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<AddressEntryRequest>,
) -> ApiResult<ApiResponse<SavedAddressView>> {
    let actor = Actor::User(principal.user_id.clone());
    let book = Book::User(principal.user_id);
    update(&state, &book, &actor, &address_id, &headers, request).await
}

/// Removes a saved address; a default passes to the newest remaining one.
#[utoipa::path(
    delete,
    path = "/v1/me/addresses/{addressId}",
    tag = "identity",
    security(("bearer" = [])),
    params(
        ("addressId" = String, Path, description = "The saved address's id"),
        ("If-Match" = Option<String>, Header, description = "The entry's ETag"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such address in your book", body = ErrorEnvelope),
        (status = 412, description = "The entry changed since that ETag", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn remove_my_address(
    State(state): State<IdentityState>,
    principal: Principal,
    Path(address_id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let actor = Actor::User(principal.user_id.clone());
    let book = Book::User(principal.user_id);
    remove(&state, &book, &actor, &address_id, &headers).await
}

// ---------------------------------------------------------------------------
// An organization's delivery addresses: /v1/orgs/{orgId}/addresses
// ---------------------------------------------------------------------------

/// The organization's delivery addresses, oldest first (at most 20). Needs
/// `order:create` (to use them at checkout) or `org:manage`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/addresses",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id")),
    responses(
        (status = 200, body = Envelope<Vec<SavedAddressView>>),
        (status = 403, description = "Without order:create or org:manage", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_org_addresses(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> ApiResult<ApiResponse<Vec<SavedAddressView>>> {
    // Buyers read the book to use it, managers to change it.
    let access = caller.access(&state.store, &org_id).await?;
    if !access.permissions.contains(Permission::OrgManage) {
        access.require(Permission::OrderCreate)?;
    }
    let views = entries(&state.store, &Book::Org(org_id))
        .await?
        .into_iter()
        .map(SavedAddressView::from)
        .collect();
    Ok(ApiResponse::ok(views))
}

/// Saves a delivery address of the organization. Needs `org:manage`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/addresses",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id")),
    request_body = AddressEntryRequest,
    responses(
        (status = 201, description = "Saved, with its ETag", body = Envelope<SavedAddressView>),
        (status = 403, description = "Without org:manage", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
        (status = 409, description = "The book is full (20 entries), or it changed meanwhile", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn add_org_address(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiJson(request): ApiJson<AddressEntryRequest>,
) -> ApiResult<ApiResponse<SavedAddressView>> {
    caller
        .require(&state.store, &org_id, Permission::OrgManage)
        .await?;
    create(&state, &Book::Org(org_id), &caller.actor(), request).await
}

/// Changes a delivery address of the organization. Needs `org:manage`.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{orgId}/addresses/{addressId}",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("addressId" = String, Path, description = "The saved address's id"),
        ("If-Match" = Option<String>, Header, description = "The entry's ETag"),
    ),
    request_body = AddressEntryRequest,
    responses(
        (status = 200, description = "The entry, with its new ETag", body = Envelope<SavedAddressView>),
        (status = 403, description = "Without org:manage", body = ErrorEnvelope),
        (status = 404, description = "No such organization or address", body = ErrorEnvelope),
        (status = 409, description = "The book changed meanwhile", body = ErrorEnvelope),
        (status = 412, description = "The entry changed since that ETag", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn update_org_address(
    State(state): State<IdentityState>,
    caller: Caller,
    Path((org_id, address_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<AddressEntryRequest>,
) -> ApiResult<ApiResponse<SavedAddressView>> {
    caller
        .require(&state.store, &org_id, Permission::OrgManage)
        .await?;
    let book = Book::Org(org_id);
    update(
        &state,
        &book,
        &caller.actor(),
        &address_id,
        &headers,
        request,
    )
    .await
}

/// Removes a delivery address of the organization. Needs `org:manage`.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{orgId}/addresses/{addressId}",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("addressId" = String, Path, description = "The saved address's id"),
        ("If-Match" = Option<String>, Header, description = "The entry's ETag"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Without org:manage", body = ErrorEnvelope),
        (status = 404, description = "No such organization or address", body = ErrorEnvelope),
        (status = 412, description = "The entry changed since that ETag", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn remove_org_address(
    State(state): State<IdentityState>,
    caller: Caller,
    Path((org_id, address_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    caller
        .require(&state.store, &org_id, Permission::OrgManage)
        .await?;
    let book = Book::Org(org_id);
    remove(&state, &book, &caller.actor(), &address_id, &headers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checkout reads an entry as `shared::contracts::address::SavedAddress`
    /// at the key the contract builds: renaming or retyping a field here
    /// fails this test, not a checkout.
    #[test]
    fn the_saved_address_contract_reads_the_full_item() {
        let mut problems = Problems::default();
        let input = AddressInput {
            name: Some("Erika Mustermann".into()),
            company: Some("Acme".into()),
            line1: Some("Hauptstraße 5".into()),
            postal_code: Some("10115".into()),
            city: Some("Berlin".into()),
            country: Some("de".into()),
            ..AddressInput::default()
        };
        let address = parse_address(&mut problems, "address", &input).expect("valid");
        let book = Book::Org("org-1".into());
        let (pk, sk) = book.entry_key("01JDC0ADDRESS").unwrap();
        let record = AddressRecord {
            pk: pk.clone(),
            sk: sk.clone(),
            item_type: ADDRESS_TYPE.into(),
            id: "01JDC0ADDRESS".into(),
            label: Some("Warehouse".into()),
            address: address.clone(),
            default_shipping: true,
            default_billing: false,
            version: 3,
            created_at: now_rfc3339(),
            updated_at: now_rfc3339(),
        };
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&record).unwrap();
        let saved: shared::contracts::address::SavedAddress =
            serde_dynamo::from_item(item.clone()).unwrap();
        assert_eq!(saved.id, record.id);
        assert_eq!(saved.address, address);
        // Sourcing's awards ship to the book's default shipping address.
        assert!(saved.default_shipping);
        let mut not_default = record.clone();
        not_default.default_shipping = false;
        let item2 = serde_dynamo::to_item::<_, serde_dynamo::Item>(&not_default).unwrap();
        let saved2: shared::contracts::address::SavedAddress =
            serde_dynamo::from_item(item2).unwrap();
        assert!(!saved2.default_shipping);
        assert_eq!(
            (pk.as_str(), sk.as_str()),
            ("ORG#org-1", "ADDRESS#01JDC0ADDRESS")
        );
        let back: AddressRecord = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back.address, record.address);
    }
}
