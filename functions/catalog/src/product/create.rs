//! `POST /v1/products`: a seller creates a product; its SKU must be free on
//! the whole platform.

use aws_sdk_dynamodb::types::TransactWriteItem;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::auth::Caller;
use shared::domain::{Sku, new_id};
use shared::http::Problems;
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{Store, Transaction};
use utoipa::ToSchema;

use super::{
    MAX_INITIAL_STOCK, Product, ProductInput, ProductView, SkuMarker, validate_details, with_etag,
};
use crate::CatalogState;
use crate::access::require_seller;
use crate::category::category_key;

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

pub(super) fn category_exists(store: &Store, category_id: &str) -> ApiResult<TransactWriteItem> {
    let (pk, sk) = category_key(category_id);
    Ok(store.transact_require_exists(&pk, sk)?)
}

/// Checks, in the product's transaction, that every image is a ready
/// product image of the seller (see `shared::asset_refs`); each check is
/// named `image:<assetId>`.
pub(super) fn push_image_checks(
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
pub(super) fn failed_image(err: &shared::store::StoreError) -> Option<&str> {
    err.failed_conditions()
        .find_map(|name| name.strip_prefix("image:"))
}

pub(super) fn not_a_ready_image(image: &str) -> ApiError {
    ApiError::invalid_field(
        "images",
        format!(
            "{image} is not a ready product image of this organization: upload it with POST /v1/uploads first"
        ),
    )
}

/// Creates one product: product, SKU marker and a check that the category
/// exists, in one transaction.
pub(super) async fn create_one(
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
