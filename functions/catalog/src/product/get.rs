//! `GET /v1/products/{productId}`: one product, archived or not.

use axum::extract::{Path, State};
use shared::http::{ApiResponse, ApiResult, Envelope, ErrorEnvelope};

use super::{ProductView, load_with_stock, with_etag};
use crate::CatalogState;

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
    Ok(with_etag(load_with_stock(&state.store, &product_id).await?))
}
