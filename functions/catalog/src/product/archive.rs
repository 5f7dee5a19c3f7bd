//! `DELETE /v1/products/{productId}`: archiving, which takes a product out
//! of every list and sale but keeps it readable for old orders.

use axum::extract::{Path, State};
use shared::auth::Caller;
use shared::domain::now_rfc3339;
use shared::http::{ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::stock;
use shared::store::{Transaction, Update, attr, n, s};

use super::{LISTING_ATTRIBUTES, ProductView, load_product, load_with_stock, with_etag};
use crate::CatalogState;
use crate::access::require_product_seller;

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
    if current.archived_at.is_none() {
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
        // The stock item's `forSale` follows in the same transaction:
        // checkout reads it.
        let mut tx = Transaction::new();
        tx.push(state.store.transact_update(archive)?)
            .named("product");
        tx.push(stock::sale_flags_item(&state.store, &product_id, false)?);
        match state.store.transact(tx).await {
            Ok(()) => tracing::info!(product_id = %current.id, "product archived"),
            // Archived by a concurrent request: the outcome is the same.
            Err(err) if err.condition_failed("product") => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(with_etag(load_with_stock(&state.store, &product_id).await?))
}
