//! `POST` and `PATCH /v1/products/bulk`: up to 25 products created or
//! changed in one call, each on its own, with a result per product.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use shared::auth::Caller;
use shared::http::precondition::if_match;
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorBody, ErrorEnvelope};
use utoipa::ToSchema;

use super::create::{NewProductRequest, create_one};
use super::update::{UpdateProductRequest, update_one};
use super::{Product, ProductView};
use crate::CatalogState;
use shared::stock::Stock;

/// Most products one bulk call may create or update: one transaction each, run together.
pub const MAX_BULK: usize = 25;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
    Fut: std::future::Future<Output = ApiResult<(Product, Stock)>>,
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
            let item = shared::http::from_json::<T>(raw, "the product");
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

/// One product's changes in a bulk update: the body of
/// PATCH /v1/products/{productId} plus its id and, if wanted, its ETag.
// Unknown fields are refused by the flattened `UpdateProductRequest`
// (`deny_unknown_fields`): serde hands every field this struct does not
// name to a flattened struct that itself flattens, without marking which
// it took, so the same attribute here would refuse the product's fields.
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
#[serde(deny_unknown_fields)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bulk_update_item_reads_the_products_fields_and_refuses_others() {
        let item: BulkUpdateItem = shared::http::from_json(
            json!({"id": "P1", "ifMatch": "\"2\"", "sku": "A-1", "name": "Roma", "price": {"amount": 1, "currency": "EUR"}}),
            "the product",
        )
        .unwrap();
        assert_eq!(item.id, "P1");
        assert_eq!(item.if_match.as_deref(), Some("\"2\""));
        for field in ["role", "status", "unitPrice", "sellerOrgId", "stock"] {
            let mut raw = json!({"id": "P1", "name": "Roma"});
            raw[field] = json!(1);
            let err = shared::http::from_json::<BulkUpdateItem>(raw, "the product")
                .err()
                .unwrap_or_else(|| panic!("{field} was read"));
            assert_eq!(
                err.fields()[field],
                ["is not a field of this request"],
                "{field}"
            );
        }
    }
}
