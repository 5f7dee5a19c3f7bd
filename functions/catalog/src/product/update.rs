//! `PATCH /v1/products/{productId}`: a seller changes a product's editable
//! fields, with optimistic locking (If-Match).

use aws_sdk_dynamodb::types::TransactWriteItem;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use shared::auth::Caller;
use shared::domain::{Sku, now_rfc3339};
use shared::http::Problems;
use shared::http::precondition::if_match;
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{Store, Transaction, Update, attr, n, s, to_item};
use utoipa::ToSchema;

use super::{
    EDITABLE_ATTRIBUTES, LISTING_ATTRIBUTES, Product, ProductInput, ProductView, load_product,
    load_with_stock, validate_product_details, with_etag,
};
use crate::CatalogState;
use crate::access::require_product_seller;
use shared::catalog::{category_exists, failed_image, not_a_ready_image, push_image_checks};
use shared::stock::{self, Stock};

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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
pub(super) async fn update_one(
    state: &CatalogState,
    caller: &Caller,
    product_id: &str,
    expected_version: Option<u64>,
    request: UpdateProductRequest,
) -> ApiResult<(Product, Stock)> {
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
    let details = validate_product_details(
        request.fields.over(current.as_input()),
        current.made_to_order,
        &mut problems,
    );
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
    // stays, even if its asset was deleted since. A made-to-order product's
    // images are its publisher's references, not the seller's assets.
    let added: Vec<String> = next
        .images
        .iter()
        .filter(|image| !current.made_to_order && !current.images.contains(image))
        .cloned()
        .collect();
    push_image_checks(&mut tx, &state.store, &added, &current.seller_org_id)?;
    if next.active != current.active {
        // Checkout reads "for sale" from the stock item: keep it in step.
        tx.push(stock::sale_flags_item(
            &state.store,
            &next.id,
            next.is_listed(),
        )?);
    }
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
    load_with_stock(&state.store, product_id).await
}
