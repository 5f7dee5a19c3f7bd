//! Address books: a person's (`/v1/me/addresses`) and an organization's
//! delivery addresses (`/v1/orgs/{orgId}/addresses`), so a checkout names a
//! saved address instead of typing it again. Entries are validated by the
//! same code as checkout's inline addresses (`shared::domain::address`);
//! an order copies the address, so it never changes when the book does.
//!
//! Items: `USER#<id>` or `ORG#<id>` / `ADDRESS#<ulid>`, one per entry, and
//! `ADDRESSBOOK` holding the count, which caps the book at
//! [`MAX_ENTRIES`] in the same transaction as each create. At most one entry
//! is the default shipping and one the default billing address: making one
//! the default clears the other in the same transaction.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission, Principal};
use shared::domain::address::{Address, AddressInput, parse_address};
use shared::domain::{new_id, now_rfc3339};
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems, etag, if_match,
};
use shared::store::{Index, PartitionQuery, Store, StoreError, Transaction, Update, n};
use utoipa::ToSchema;

use crate::IdentityState;

/// Entries one book may hold.
pub const MAX_ENTRIES: u64 = 20;
pub const ADDRESS_TYPE: &str = "ADDRESS";
const SK_PREFIX: &str = "ADDRESS#";
const COUNTER_SK: &str = "ADDRESSBOOK";
const MAX_LABEL_CHARS: usize = 50;

/// Whose book: the partition its entries live in, and where its changes
/// are audited (an organization's only).
#[derive(Debug, Clone)]
enum Book {
    User(String),
    Org(String),
}

impl Book {
    fn pk(&self) -> String {
        match self {
            Book::User(id) => format!("USER#{id}"),
            Book::Org(id) => format!("ORG#{id}"),
        }
    }
}

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
/// address given is given whole and validated whole).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressEntryRequest {
    /// A name for the entry (`Home`, `Warehouse`), at most 50 characters.
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    address: Option<AddressInput>,
    #[serde(default)]
    default_shipping: Option<bool>,
    #[serde(default)]
    default_billing: Option<bool>,
}

struct Entry {
    label: Option<Option<String>>,
    address: Option<Address>,
    default_shipping: Option<bool>,
    default_billing: Option<bool>,
}

fn parse_entry(request: AddressEntryRequest, creating: bool) -> ApiResult<Entry> {
    let mut problems = Problems::default();
    let label = request.label.as_deref().map(|raw| {
        problems
            .plain_text("label", Some(raw), MAX_LABEL_CHARS, false)
            .filter(|l| !l.is_empty())
    });
    let address = match &request.address {
        Some(input) => parse_address(&mut problems, "address", input),
        None if creating => {
            problems.add("address", "is required");
            None
        }
        None => None,
    };
    if problems.is_empty() {
        Ok(Entry {
            label,
            address,
            default_shipping: request.default_shipping,
            default_billing: request.default_billing,
        })
    } else {
        Err(ApiError::validation(
            "the address has invalid fields",
            problems,
        ))
    }
}

/// Every entry of `book`, oldest first: one Query (the book is capped far
/// below a page).
async fn entries(store: &Store, book: &Book) -> ApiResult<Vec<AddressRecord>> {
    let query = PartitionQuery {
        index: Index::Table,
        partition: book.pk(),
        sort_prefix: Some(SK_PREFIX.to_owned()),
        ascending: true,
    };
    Ok(store
        .query_page::<AddressRecord>(&query, MAX_ENTRIES as u32 + 5, None)
        .await?
        .items)
}

async fn load(store: &Store, book: &Book, address_id: &str) -> ApiResult<AddressRecord> {
    store
        .get::<AddressRecord>(&book.pk(), &format!("{SK_PREFIX}{address_id}"))
        .await?
        .ok_or_else(|| ApiError::not_found("no such address"))
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
            clears.push("defaultShipping = :false");
        }
        if entry.default_billing && other.default_billing {
            clears.push("defaultBilling = :false");
        }
        if clears.is_empty() {
            continue;
        }
        let update = Update::new(
            &other.pk,
            &other.sk,
            format!("SET {} ADD version :one", clears.join(", ")),
        )
        .condition("version = :seen")
        .value(":false", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
        .value(":one", n(1))
        .value(":seen", n(other.version as i64));
        tx.push(store.transact_update(update)?)
            .named("other-default");
    }
    Ok(())
}

fn audit(book: &Book, caller_actor: &shared::audit::Actor, action: AuditAction, id: &str) -> Option<AuditEvent> {
    match book {
        Book::Org(org_id) => Some(
            AuditEvent::new(&AuditScope::Org(org_id.clone()), caller_actor, action)
                .target(format!("address:{id}")),
        ),
        Book::User(_) => None,
    }
}

fn changed_concurrently(err: &StoreError) -> bool {
    err.condition_failed("other-default")
}

async fn create(
    state: &IdentityState,
    book: &Book,
    actor: &shared::audit::Actor,
    request: AddressEntryRequest,
) -> ApiResult<ApiResponse<SavedAddressView>> {
    let entry = parse_entry(request, true)?;
    let others = entries(&state.store, book).await?;
    let id = new_id();
    let now = now_rfc3339();
    let first = others.is_empty();
    let record = AddressRecord {
        pk: book.pk(),
        sk: format!("{SK_PREFIX}{id}"),
        item_type: ADDRESS_TYPE.to_owned(),
        id: id.clone(),
        label: entry.label.flatten(),
        address: entry.address.expect("required on create"),
        // The first entry is the default until another is chosen.
        default_shipping: entry.default_shipping.unwrap_or(first),
        default_billing: entry.default_billing.unwrap_or(first),
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
    let counter = Update::new(book.pk(), COUNTER_SK, "ADD #count :one")
        .condition("attribute_not_exists(#count) OR #count < :max")
        .name("#count", "count")
        .value(":one", n(1))
        .value(":max", n(MAX_ENTRIES as i64));
    tx.push(state.store.transact_update(counter)?)
        .named("count");
    take_over_defaults(&state.store, &mut tx, &others, &record)?;
    if let Some(event) = audit(book, actor, AuditAction::AddressAdded, &id) {
        tx.push(event.transact_item(&state.store)?);
    }
    match state.store.transact(tx).await {
        Ok(()) => Ok(ApiResponse::created(SavedAddressView::from(record.clone()))
            .header(axum::http::header::ETAG, etag(record.version))),
        Err(err) if err.condition_failed("count") => Err(ApiError::conflict(format!(
            "the address book is full ({MAX_ENTRIES} entries); remove one first"
        ))),
        Err(err) if changed_concurrently(&err) => Err(ApiError::conflict(
            "the address book changed meanwhile; try again",
        )),
        Err(err) => Err(err.into()),
    }
}

async fn update(
    state: &IdentityState,
    book: &Book,
    actor: &shared::audit::Actor,
    address_id: &str,
    headers: &HeaderMap,
    request: AddressEntryRequest,
) -> ApiResult<ApiResponse<SavedAddressView>> {
    let entry = parse_entry(request, false)?;
    let expected = if_match(headers)?;
    let current = load(&state.store, book, address_id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(ApiError::precondition_failed(
            "the address changed since that ETag; fetch it again",
        ));
    }
    let mut next = current.clone();
    if let Some(label) = entry.label {
        next.label = label;
    }
    if let Some(address) = entry.address {
        next.address = address;
    }
    // A default is moved by making another entry the default, not unset
    // alone, so a book with entries always has both defaults.
    if entry.default_shipping == Some(false) && current.default_shipping
        || entry.default_billing == Some(false) && current.default_billing
    {
        return Err(ApiError::invalid_field(
            "defaultShipping",
            "make another address the default instead",
        ));
    }
    next.default_shipping |= entry.default_shipping.unwrap_or(false);
    next.default_billing |= entry.default_billing.unwrap_or(false);
    next.version = current.version + 1;
    next.updated_at = now_rfc3339();
    let others = entries(&state.store, book).await?;
    let mut tx = Transaction::new();
    tx.push(state.store.transact_put_if_version(&next, current.version)?)
    .named("address");
    take_over_defaults(&state.store, &mut tx, &others, &next)?;
    if let Some(event) = audit(book, actor, AuditAction::AddressChanged, address_id) {
        tx.push(event.transact_item(&state.store)?);
    }
    match state.store.transact(tx).await {
        Ok(()) => Ok(ApiResponse::ok(SavedAddressView::from(next.clone()))
            .header(axum::http::header::ETAG, etag(next.version))),
        Err(err) if err.condition_failed("address") => Err(ApiError::precondition_failed(
            "the address changed meanwhile; fetch it again",
        )),
        Err(err) if changed_concurrently(&err) => Err(ApiError::conflict(
            "the address book changed meanwhile; try again",
        )),
        Err(err) => Err(err.into()),
    }
}

async fn remove(
    state: &IdentityState,
    book: &Book,
    actor: &shared::audit::Actor,
    address_id: &str,
    headers: &HeaderMap,
) -> ApiResult<StatusCode> {
    let expected = if_match(headers)?;
    let current = load(&state.store, book, address_id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(ApiError::precondition_failed(
            "the address changed since that ETag; fetch it again",
        ));
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
    let others: Vec<AddressRecord> = entries(&state.store, book)
        .await?
        .into_iter()
        .filter(|o| o.id != current.id)
        .collect();
    if let Some(heir) = others.last()
        && (current.default_shipping || current.default_billing)
    {
        let mut sets = Vec::new();
        if current.default_shipping {
            sets.push("defaultShipping = :true");
        }
        if current.default_billing {
            sets.push("defaultBilling = :true");
        }
        let update = Update::new(
            &heir.pk,
            &heir.sk,
            format!("SET {} ADD version :one", sets.join(", ")),
        )
        .condition("version = :seen")
        .value(":true", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
        .value(":one", n(1))
        .value(":seen", n(heir.version as i64));
        tx.push(state.store.transact_update(update)?)
            .named("other-default");
    }
    if let Some(event) = audit(book, actor, AuditAction::AddressRemoved, address_id) {
        tx.push(event.transact_item(&state.store)?);
    }
    match state.store.transact(tx).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(err) if err.condition_failed("address") => Err(ApiError::precondition_failed(
            "the address changed meanwhile; fetch it again",
        )),
        Err(err) if changed_concurrently(&err) => Err(ApiError::conflict(
            "the address book changed meanwhile; try again",
        )),
        Err(err) => Err(err.into()),
    }
}

/// Deletes every entry of a user's book (account erasure).
pub async fn erase_user_book(store: &Store, user_id: &str) -> ApiResult<()> {
    let book = Book::User(user_id.to_owned());
    for record in entries(store, &book).await? {
        store.delete(&record.pk, &record.sk).await?;
    }
    Ok(store.delete(&book.pk(), COUNTER_SK).await?)
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
    let actor = shared::audit::Actor::User(principal.user_id.clone());
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
    let actor = shared::audit::Actor::User(principal.user_id.clone());
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
    let actor = shared::audit::Actor::User(principal.user_id.clone());
    let book = Book::User(principal.user_id);
    remove(&state, &book, &actor, &address_id, &headers).await
}

// ---------------------------------------------------------------------------
// An organization's delivery addresses: /v1/orgs/{orgId}/addresses
// ---------------------------------------------------------------------------

/// The organization's delivery addresses. Needs `order:create` (to use them).
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/addresses",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id")),
    responses(
        (status = 200, body = Envelope<Vec<SavedAddressView>>),
        (status = 403, description = "Without order:create", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_org_addresses(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> ApiResult<ApiResponse<Vec<SavedAddressView>>> {
    caller
        .require(&state.store, &org_id, Permission::OrderCreate)
        .await?;
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
    update(&state, &book, &caller.actor(), &address_id, &headers, request).await
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
