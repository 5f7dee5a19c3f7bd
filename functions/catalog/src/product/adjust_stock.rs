//! `POST /v1/products/{productId}/stock`: a seller counts stock in or out.

use axum::extract::{Path, State};
use serde::Deserialize;
use shared::auth::Caller;
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::idempotency::{self, Begin, IdempotencyKey};
use shared::stock::{self, Stock};
use utoipa::ToSchema;

use super::{MAX_INITIAL_STOCK, load_product};
use crate::CatalogState;
use crate::access::require_product_seller;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
        (status = 409, description = "Not enough stock to remove that many, the product is made to order (no stock), or the same Idempotency-Key is still in progress", body = ErrorEnvelope),
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
    if product.made_to_order {
        return Err(ApiError::conflict_on(
            "delta",
            "this product is made to order when sold: it has no stock to count",
        ));
    }
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
