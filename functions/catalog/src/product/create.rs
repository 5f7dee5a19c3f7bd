//! `POST /v1/products`: a seller creates a product; its SKU must be free on
//! the whole platform.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::auth::Caller;
use shared::catalog::{NewProduct, Supply, ValidProduct};
use shared::http::{ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::stock::Stock;
use utoipa::ToSchema;

use super::{Product, ProductInput, ProductView, with_etag};
use crate::CatalogState;
use crate::access::require_seller;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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

impl From<NewProductRequest> for NewProduct {
    fn from(request: NewProductRequest) -> Self {
        Self {
            seller_org_id: request.seller_org_id,
            sku: request.sku,
            supply: Supply::Stocked {
                initial: request.stock.unwrap_or(0),
            },
            fields: request.fields,
        }
    }
}

/// Creates one product through `shared::catalog::create_product`, the code
/// path every context's products take, after the caller's permission check.
pub(super) async fn create_one(
    state: &CatalogState,
    caller: &Caller,
    request: NewProductRequest,
) -> ApiResult<(Product, Stock)> {
    let initial = request.stock.unwrap_or(0);
    let valid = ValidProduct::try_from(NewProduct::from(request))?;
    require_seller(state, caller, valid.seller_org_id()).await?;
    let product = shared::catalog::create_product(&state.store, valid).await?;
    let stock = Stock {
        available: initial,
        reserved: 0,
    };
    Ok((product, stock))
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
