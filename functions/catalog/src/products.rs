//! Product endpoints: create, read, update with optimistic locking (each one
//! or a bulk of up to 25), archive, and the seller's stock adjustments.

use aws_sdk_dynamodb::types::TransactWriteItem;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use shared::auth::Caller;
use shared::domain::{Sku, new_id, now_rfc3339};
use shared::http::precondition::{etag, if_match};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorBody, ErrorEnvelope};
use shared::idempotency::{self, Begin, IdempotencyKey};
use shared::stock::{self, Stock, product_key};
use shared::store::{Store, Transaction, Update, attr, n, s, to_item};
use utoipa::ToSchema;

use crate::CatalogState;
use crate::access::{require_product_seller, require_seller};
use crate::category::category_key;
use crate::product::{
    EDITABLE_ATTRIBUTES, LISTING_ATTRIBUTES, Product, ProductInput, ProductView, SkuMarker,
    validate_details,
};
use crate::validation::Problems;

/// Most products one bulk call may create or update: one transaction each, run together.
pub const MAX_BULK: usize = 25;
const MAX_INITIAL_STOCK: i64 = 1_000_000_000;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewProductRequest {
    /// The seller organization that owns the product.
    pub seller_org_id: String,
    #[schema(example = "TOM-ROMA-1KG")]
    pub sku: String,
    /// Units available at creation; default 0.
    #[serde(default)]
    pub stock: Option<i64>,
    #[serde(flatten)]
    pub fields: ProductInput,
}

/// A creation whose every field is valid.
pub struct NewProduct {
    seller_org_id: String,
    sku: Sku,
    stock: i64,
    details: crate::product::ProductDetails,
}

impl TryFrom<NewProductRequest> for NewProduct {
    type Error = ApiError;

    fn try_from(request: NewProductRequest) -> Result<Self, ApiError> {
        let mut problems = Problems::default();
        let seller_org_id = problems.text("sellerOrgId", &request.seller_org_id, 1, 64);
        let sku = problems.parsed("sku", Sku::parse(&request.sku));
        let stock = request.stock.unwrap_or(0);
        if !(0..=MAX_INITIAL_STOCK).contains(&stock) {
            problems.add("stock", "must be from 0 to 1000000000");
        }
        let details = validate_details(request.fields, &mut problems);
        match (sku, details) {
            (Some(sku), Some(details)) if problems.is_empty() => Ok(Self {
                seller_org_id,
                sku,
                stock,
                details,
            }),
            _ => Err(ApiError::validation(
                "the product has invalid fields",
                problems.fields().clone(),
            )),
        }
    }
}

fn category_exists(store: &Store, category_id: &str) -> ApiResult<TransactWriteItem> {
    let (pk, sk) = category_key(category_id);
    Ok(store.transact_require_exists(&pk, sk)?)
}

/// Checks, in the product's transaction, that every image is a ready
/// product image of the seller (see `shared::asset_refs`); each check is
/// named `image:<assetId>`.
fn push_image_checks(
    tx: &mut Transaction,
    store: &Store,
    images: &[String],
    seller_org_id: &str,
) -> ApiResult<()> {
    for image in images {
        tx.push(shared::asset_refs::require_ready_product_image(
            store,
            image,
            seller_org_id,
        )?)
        .named(format!("image:{image}"));
    }
    Ok(())
}

/// The image whose check failed, if the cancellation was caused by one.
fn failed_image(err: &shared::store::StoreError) -> Option<&str> {
    err.failed_conditions()
        .find_map(|name| name.strip_prefix("image:"))
}

fn not_a_ready_image(image: &str) -> ApiError {
    ApiError::invalid_field(
        "images",
        format!(
            "{image} is not a ready product image of this organization: upload it with POST /v1/uploads first"
        ),
    )
}

fn with_etag(product: Product) -> ApiResponse<ProductView> {
    let version = product.version;
    ApiResponse::ok(ProductView::from(product)).header(header::ETAG, etag(version))
}

/// Creates one product: product, SKU marker and a check that the category
/// exists, in one transaction.
async fn create_one(
    state: &CatalogState,
    caller: &Caller,
    request: NewProductRequest,
) -> ApiResult<Product> {
    let new = NewProduct::try_from(request)?;
    require_seller(state, caller, &new.seller_org_id).await?;
    let product = Product::new(new_id(), new.seller_org_id, new.sku, new.stock, new.details);
    let marker = SkuMarker::new(&product.sku, &product.id);
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put(&product, Some("attribute_not_exists(PK)"))?,
    );
    tx.push(
        state
            .store
            .transact_put(&marker, Some("attribute_not_exists(PK)"))?,
    )
    .named("sku");
    tx.push(category_exists(&state.store, &product.category_id)?)
        .named("category");
    push_image_checks(
        &mut tx,
        &state.store,
        &product.images,
        &product.seller_org_id,
    )?;
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("sku") => {
            return Err(ApiError::conflict_on("sku", "another product has this SKU"));
        }
        Err(err) if err.condition_failed("category") => {
            return Err(ApiError::invalid_field("categoryId", "no such category"));
        }
        Err(err) if failed_image(&err).is_some() => {
            return Err(not_a_ready_image(failed_image(&err).unwrap_or_default()));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(product_id = %product.id, sku = %product.sku, "product created");
    Ok(product)
}

/// Creates a product for a seller organization. The SKU must be free on the
/// whole platform.
#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "catalog",
    security(("bearer" = []), ("apiKey" = [])),
    request_body = NewProductRequest,
    responses(
        (status = 201, description = "The product was created; the ETag header is its version", body = Envelope<ProductView>),
        (status = 403, description = "The caller may not manage this organization's products", body = ErrorEnvelope),
        (status = 404, description = "The caller is not a member of the organization", body = ErrorEnvelope),
        (status = 409, description = "The SKU is taken", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid or the category does not exist; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn create_product(
    State(state): State<CatalogState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewProductRequest>,
) -> ApiResult<ApiResponse<ProductView>> {
    let product = create_one(&state, &caller, request).await?;
    Ok(with_etag(product).with_status(StatusCode::CREATED))
}

#[derive(Deserialize, ToSchema)]
pub struct BulkCreateRequest {
    /// 1 to 25 products, each shaped like the body of POST /v1/products.
    #[schema(value_type = Vec<NewProductRequest>)]
    products: Vec<serde_json::Value>,
}

/// The outcome for one product of a bulk call, in request order.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkItemResult {
    /// Position in the request.
    index: usize,
    /// The status this product alone would have had (201 or 200, 404, 409, 412, 422, ...).
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<ProductView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkCreateResult {
    created: usize,
    failed: usize,
    results: Vec<BulkItemResult>,
}

fn item_error(index: usize, err: ApiError) -> BulkItemResult {
    BulkItemResult {
        index,
        status: err.status().as_u16(),
        product: None,
        error: Some(ErrorBody {
            code: err.code(),
            message: err.message().to_owned(),
            fields: err.fields().clone(),
            details: None,
        }),
    }
}

/// Creates up to 25 products in one call (for B2B integrations). Each
/// product is written on its own, all or nothing: valid ones are saved,
/// invalid ones are reported with the error they would have had alone.
#[utoipa::path(
    post,
    path = "/v1/products/bulk",
    tag = "catalog",
    security(("bearer" = []), ("apiKey" = [])),
    request_body = BulkCreateRequest,
    responses(
        (status = 200, description = "Per-product results, in request order", body = Envelope<BulkCreateResult>),
        (status = 422, description = "No products, or more than 25", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(products))]
pub async fn bulk_create_products(
    State(state): State<CatalogState>,
    caller: Caller,
    ApiJson(request): ApiJson<BulkCreateRequest>,
) -> ApiResult<ApiResponse<BulkCreateResult>> {
    let (created, results) = run_bulk(request.products, StatusCode::CREATED, |request| {
        create_one(&state, &caller, request)
    })
    .await?;
    Ok(ApiResponse::ok(BulkCreateResult {
        created,
        failed: results.len() - created,
        results,
    }))
}

/// Runs `attempt` on each of 1 to 25 raw items, together, each on its own:
/// an item that does not parse as `T` or whose attempt fails is reported
/// with the error it would have had alone, and the others still run.
/// Returns how many succeeded and the results in request order.
async fn run_bulk<T, F, Fut>(
    items: Vec<serde_json::Value>,
    success: StatusCode,
    attempt: F,
) -> ApiResult<(usize, Vec<BulkItemResult>)>
where
    T: serde::de::DeserializeOwned,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Product>>,
{
    let count = items.len();
    tracing::Span::current().record("products", count);
    if !(1..=MAX_BULK).contains(&count) {
        return Err(ApiError::invalid_field(
            "products",
            format!("must hold 1 to {MAX_BULK} products"),
        ));
    }
    let attempts = items.into_iter().enumerate().map(|(index, raw)| {
        let attempt = &attempt;
        async move {
            let item = serde_json::from_value::<T>(raw).map_err(|e| {
                ApiError::validation(
                    format!("the product does not have the expected shape: {e}"),
                    Default::default(),
                )
            });
            let outcome = match item {
                Ok(item) => attempt(item).await,
                Err(err) => Err(err),
            };
            match outcome {
                Ok(product) => BulkItemResult {
                    index,
                    status: success.as_u16(),
                    product: Some(product.into()),
                    error: None,
                },
                Err(err) => item_error(index, err),
            }
        }
    });
    let results = futures::future::join_all(attempts).await;
    let succeeded = results.iter().filter(|r| r.product.is_some()).count();
    Ok((succeeded, results))
}

/// The product, archived or not (old orders still resolve archived ones).
pub(crate) async fn load_product(store: &Store, product_id: &str) -> ApiResult<Product> {
    let (pk, sk) = product_key(product_id);
    store
        .get::<Product>(&pk, sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no such product"))
}

/// One product by id, including archived ones (flagged `archived`).
#[utoipa::path(
    get,
    path = "/v1/products/{productId}",
    tag = "catalog",
    params(("productId" = String, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The product; the ETag header is its version", body = Envelope<ProductView>),
        (status = 404, description = "No such product", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn get_product(
    State(state): State<CatalogState>,
    Path(product_id): Path<String>,
) -> ApiResult<ApiResponse<ProductView>> {
    Ok(with_etag(load_product(&state.store, &product_id).await?))
}

/// The UpdateItem that writes `next`'s editable fields and listing keys, if
/// the item is still at `expected` and not archived. Stock and rating
/// counters are not touched: they move on their own, atomically.
fn update_editable(store: &Store, next: &Product, expected: u64) -> ApiResult<TransactWriteItem> {
    let item = to_item(next)?;
    let mut sets = vec!["#updatedAt = :updatedAt".to_owned()];
    let mut removes = Vec::new();
    let mut names = Vec::new();
    let mut values = Vec::new();
    for (i, name) in EDITABLE_ATTRIBUTES
        .iter()
        .chain(LISTING_ATTRIBUTES)
        .enumerate()
    {
        let placeholder = format!("#a{i}");
        match item.get(*name) {
            Some(value) => {
                sets.push(format!("{placeholder} = :v{i}"));
                values.push((format!(":v{i}"), value.clone()));
            }
            None => removes.push(placeholder.clone()),
        }
        names.push((placeholder, *name));
    }
    let mut expression = format!("SET {} ADD #version :one", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    let mut update = Update::new(&next.pk, &next.sk, expression)
        .condition("#version = :expected AND attribute_not_exists(archivedAt)")
        .name("#updatedAt", "updatedAt")
        .name("#version", attr::VERSION)
        .value(":updatedAt", s(&next.updated_at))
        .value(":expected", n(expected as i64))
        .value(":one", n(1));
    for (placeholder, name) in &names {
        update = update.name(placeholder, name);
    }
    for (placeholder, value) in values {
        update = update.value(&placeholder, value);
    }
    Ok(store.transact_update(update)?)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProductRequest {
    /// SKUs cannot change (orders refer to them); sending a different one is a 422.
    sku: Option<String>,
    #[serde(flatten)]
    fields: ProductInput,
}

/// Changes a product's editable fields (not its SKU, seller or stock).
/// With `If-Match`, only if it is still at that version (else 412).
#[utoipa::path(
    patch,
    path = "/v1/products/{productId}",
    tag = "catalog",
    security(("bearer" = []), ("apiKey" = [])),
    request_body = UpdateProductRequest,
    params(
        ("productId" = String, Path, description = "The product's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag from GET /v1/products/{productId}", pattern = r#"^(\*|"[0-9]{1,19}")$"#),
    ),
    responses(
        (status = 200, description = "The updated product, with its new ETag", body = Envelope<ProductView>),
        (status = 400, description = "Invalid JSON or If-Match", body = ErrorEnvelope),
        (status = 403, description = "The caller may not manage this organization's products", body = ErrorEnvelope),
        (status = 404, description = "No such product, or not the caller's organization's", body = ErrorEnvelope),
        (status = 409, description = "The product is archived, or changed meanwhile", body = ErrorEnvelope),
        (status = 412, description = "The product changed since that ETag", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn update_product(
    State(state): State<CatalogState>,
    caller: Caller,
    Path(product_id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<UpdateProductRequest>,
) -> ApiResult<ApiResponse<ProductView>> {
    let expected_version = if_match(&headers)?;
    let product = update_one(&state, &caller, &product_id, expected_version, request).await?;
    Ok(with_etag(product))
}

/// Changes one product's editable fields in one transaction, only if it is
/// still at `expected_version` when one is given: the single update and
/// each item of a bulk update.
async fn update_one(
    state: &CatalogState,
    caller: &Caller,
    product_id: &str,
    expected_version: Option<u64>,
    request: UpdateProductRequest,
) -> ApiResult<Product> {
    let current = load_product(&state.store, product_id).await?;
    require_product_seller(state, caller, &current.seller_org_id).await?;
    let mut problems = Problems::default();
    if let Some(sku) = &request.sku
        && Sku::parse(sku).map(|s| s.to_string()).ok().as_deref() != Some(current.sku.as_str())
    {
        problems.add(
            "sku",
            "cannot change; archive this product and create another",
        );
    }
    let details = validate_details(request.fields.over(current.as_input()), &mut problems);
    let details = match details {
        Some(details) if problems.is_empty() => details,
        _ => {
            return Err(ApiError::validation(
                "the product has invalid fields",
                problems.fields().clone(),
            ));
        }
    };
    if current.archived_at.is_some() {
        return Err(ApiError::conflict("the product is archived"));
    }
    if expected_version.is_some_and(|v| v != current.version) {
        return Err(ApiError::precondition_failed(
            "the product changed since that ETag; fetch it again",
        ));
    }
    let mut next = current.clone();
    next.apply(details);
    next.updated_at = now_rfc3339();
    next.version = current.version + 1;

    let mut tx = Transaction::new();
    tx.push(update_editable(&state.store, &next, current.version)?)
        .named("product");
    if next.category_id != current.category_id {
        tx.push(category_exists(&state.store, &next.category_id)?)
            .named("category");
    }
    // Only images this change adds are checked: one already on the product
    // stays, even if its asset was deleted since.
    let added: Vec<String> = next
        .images
        .iter()
        .filter(|image| !current.images.contains(image))
        .cloned()
        .collect();
    push_image_checks(&mut tx, &state.store, &added, &current.seller_org_id)?;
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("category") => {
            return Err(ApiError::invalid_field("categoryId", "no such category"));
        }
        Err(err) if failed_image(&err).is_some() => {
            return Err(not_a_ready_image(failed_image(&err).unwrap_or_default()));
        }
        Err(err) if err.condition_failed("product") => {
            return Err(match expected_version {
                Some(_) => ApiError::precondition_failed(
                    "the product changed since that ETag; fetch it again",
                ),
                None => ApiError::conflict("the product changed meanwhile; try again"),
            });
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(product_id = %next.id, version = next.version, "product updated");
    // Stock may have moved meanwhile; show what is stored now.
    load_product(&state.store, product_id).await
}

/// One product's changes in a bulk update: the body of
/// PATCH /v1/products/{productId} plus its id and, if wanted, its ETag.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkUpdateItem {
    /// The product's id.
    id: String,
    /// The ETag from GET /v1/products/{productId}: then this product is
    /// changed only if it is still at that version (else 412).
    #[schema(example = "\"3\"")]
    if_match: Option<String>,
    #[serde(flatten)]
    changes: UpdateProductRequest,
}

impl BulkUpdateItem {
    /// The version `ifMatch` asks for, read as the If-Match header would be.
    fn expected_version(&self) -> ApiResult<Option<u64>> {
        let Some(tag) = &self.if_match else {
            return Ok(None);
        };
        let value = header::HeaderValue::from_str(tag).map_err(|_| {
            ApiError::precondition_failed("ifMatch does not match the current ETag")
        })?;
        if_match(&HeaderMap::from_iter([(header::IF_MATCH, value)]))
    }
}

#[derive(Deserialize, ToSchema)]
pub struct BulkUpdateRequest {
    /// 1 to 25 products, each its id, an optional ifMatch and the fields to change.
    #[schema(value_type = Vec<BulkUpdateItem>)]
    products: Vec<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkUpdateResult {
    updated: usize,
    failed: usize,
    results: Vec<BulkItemResult>,
}

/// Changes up to 25 products in one call (for B2B integrations). Each
/// product is changed on its own, exactly as PATCH /v1/products/{productId}
/// would: valid changes are saved, and the others are reported with the
/// error they would have had alone (404 for a product of another
/// organization, 412 for a stale ifMatch, 422 with the invalid fields).
#[utoipa::path(
    patch,
    path = "/v1/products/bulk",
    tag = "catalog",
    security(("bearer" = []), ("apiKey" = [])),
    request_body = BulkUpdateRequest,
    responses(
        (status = 200, description = "Per-product results, in request order", body = Envelope<BulkUpdateResult>),
        (status = 422, description = "No products, or more than 25", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(products))]
pub async fn bulk_update_products(
    State(state): State<CatalogState>,
    caller: Caller,
    ApiJson(request): ApiJson<BulkUpdateRequest>,
) -> ApiResult<ApiResponse<BulkUpdateResult>> {
    let (updated, results) = run_bulk(request.products, StatusCode::OK, |item: BulkUpdateItem| {
        let state = &state;
        let caller = &caller;
        async move {
            let expected_version = item.expected_version()?;
            update_one(state, caller, &item.id, expected_version, item.changes).await
        }
    })
    .await?;
    Ok(ApiResponse::ok(BulkUpdateResult {
        updated,
        failed: results.len() - updated,
        results,
    }))
}

/// Archives a product: it leaves every list and search and can no longer be
/// sold, but stays readable by id for the orders that refer to it. Archiving
/// an archived product changes nothing.
#[utoipa::path(
    delete,
    path = "/v1/products/{productId}",
    tag = "catalog",
    security(("bearer" = []), ("apiKey" = [])),
    params(("productId" = String, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The archived product", body = Envelope<ProductView>),
        (status = 403, description = "The caller may not manage this organization's products", body = ErrorEnvelope),
        (status = 404, description = "No such product, or not the caller's organization's", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn archive_product(
    State(state): State<CatalogState>,
    caller: Caller,
    Path(product_id): Path<String>,
) -> ApiResult<ApiResponse<ProductView>> {
    let current = load_product(&state.store, &product_id).await?;
    require_product_seller(&state, &caller, &current.seller_org_id).await?;
    if current.archived_at.is_some() {
        return Ok(with_etag(current));
    }
    let archive = Update::new(
        &current.pk,
        &current.sk,
        format!(
            "SET archivedAt = :now, updatedAt = :now ADD #version :one REMOVE {}",
            LISTING_ATTRIBUTES.join(", ")
        ),
    )
    .condition("attribute_exists(PK) AND attribute_not_exists(archivedAt)")
    .name("#version", attr::VERSION)
    .value(":now", s(now_rfc3339()))
    .value(":one", n(1));
    match state.store.update::<Product>(archive).await {
        Ok(product) => {
            tracing::info!(product_id = %product.id, "product archived");
            Ok(with_etag(product))
        }
        // Archived by a concurrent request: the outcome is the same.
        Err(shared::store::StoreError::ConditionFailed) => {
            Ok(with_etag(load_product(&state.store, &product_id).await?))
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct StockAdjustment {
    /// Units to add (positive) or remove (negative); never takes stock below zero.
    #[schema(example = -3, schema_with = stock_delta)]
    delta: i64,
}

/// A non-zero whole number from -1000000000 to 1000000000.
fn stock_delta() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::{ObjectBuilder, OneOfBuilder, Type};
    let range = |min: i64, max: i64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(min))
            .maximum(Some(max))
    };
    OneOfBuilder::new()
        .item(range(-MAX_INITIAL_STOCK, -1))
        .item(range(1, MAX_INITIAL_STOCK))
        .description(Some(
            "Units to add (positive) or remove (negative), not zero",
        ))
        .build()
        .into()
}

/// Counts stock in or out. Atomic: concurrent adjustments all apply, and
/// one that would take the available stock below zero is refused (409).
#[utoipa::path(
    post,
    path = "/v1/products/{productId}/stock",
    tag = "catalog",
    security(("bearer" = []), ("apiKey" = [])),
    request_body = StockAdjustment,
    params(
        ("productId" = String, Path, description = "The product's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first result instead of moving stock again (24 h)", min_length = 1, max_length = 255, pattern = r"^[\x21-\x7e]+$"),
    ),
    responses(
        (status = 200, description = "The stock after the adjustment (Idempotent-Replayed: true on a replay)", body = Envelope<Stock>),
        (status = 403, description = "The caller may not manage this organization's products", body = ErrorEnvelope),
        (status = 404, description = "No such product, or not the caller's organization's", body = ErrorEnvelope),
        (status = 409, description = "Not enough stock to remove that many, or the same Idempotency-Key is still in progress", body = ErrorEnvelope),
        (status = 422, description = "delta is 0 or out of range, or the Idempotency-Key was used for another request", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn adjust_stock(
    State(state): State<CatalogState>,
    caller: Caller,
    Path(product_id): Path<String>,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    ApiJson(request): ApiJson<StockAdjustment>,
) -> ApiResult<ApiResponse<serde_json::Value>> {
    if request.delta == 0 || request.delta.abs() > MAX_INITIAL_STOCK {
        return Err(ApiError::invalid_field(
            "delta",
            "must be a non-zero whole number from -1000000000 to 1000000000",
        ));
    }
    let product = load_product(&state.store, &product_id).await?;
    require_product_seller(&state, &caller, &product.seller_org_id).await?;
    let claim = match idempotency_key {
        Some(key) => {
            let scope = format!("{}:stock", caller.actor());
            let fingerprint = format!("{product_id}:{}", request.delta);
            match idempotency::begin(&state.store, &scope, &key, &fingerprint).await? {
                Begin::Replay(stored) => return Ok(idempotency::replayed(stored)),
                Begin::Fresh(claim) => Some(claim),
            }
        }
        None => None,
    };
    match stock::adjust(&state.store, &product_id, request.delta).await {
        Ok(stock) => {
            let data = serde_json::to_value(stock).map_err(ApiError::internal)?;
            if let Some(claim) = claim {
                idempotency::complete(&state.store, claim, &data).await?;
            }
            Ok(ApiResponse::ok(data))
        }
        Err(err) => {
            if let Some(claim) = claim
                && let Err(release) = idempotency::release(&state.store, claim).await
            {
                tracing::warn!(error = ?release, "an idempotency claim could not be released");
            }
            Err(err.into())
        }
    }
}
