//! Reviews: one per user per product, with the product's rating kept exact.
//!
//! Items (see docs/data-model.md, "Catalog"):
//! - `PRODUCT#<productId> / REVIEW#<userId>`: the review. The key makes "one
//!   per user per product" a plain `attribute_not_exists(PK)`. While visible
//!   it carries GSI1 `REVIEWS#<productId> / <reviewId>` (a ULID, so the list
//!   is newest first); hiding removes the keys.
//!
//! The product's `ratingCount` and `ratingSum` move with atomic ADDs in the
//! same transaction as the review write, and every write is conditioned on
//! the rating it read (`rating = :old`), so the delta it adds is exact even
//! under concurrent edits; nothing reads and writes back a total.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::domain::{new_id, now_rfc3339, strip_html};
use shared::http::Problems;
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
};
use shared::stock::product_key;
use shared::store::{Index, PartitionQuery, Store, TransactWriteItem, Transaction, Update, n, s};
use utoipa::ToSchema;

use crate::CatalogState;

pub const REVIEW_TYPE: &str = "REVIEW";
const MAX_TITLE_CHARS: usize = 120;
const MAX_BODY_CHARS: usize = 5000;

pub(crate) fn review_key(product_id: &str, user_id: &str) -> (String, String) {
    (product_key(product_id).0, format!("REVIEW#{user_id}"))
}

pub(crate) fn reviews_partition(product_id: &str) -> String {
    format!("REVIEWS#{product_id}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewRecord {
    #[serde(rename = "PK")]
    pub(crate) pk: String,
    #[serde(rename = "SK")]
    pub(crate) sk: String,
    #[serde(rename = "type")]
    item_type: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    pub id: String,
    pub product_id: String,
    pub author_id: String,
    pub rating: i64,
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    pub id: String,
    pub product_id: String,
    pub author_id: String,
    #[schema(example = 5)]
    pub rating: i64,
    pub title: String,
    pub body: String,
    /// True once a moderator hid it: it is out of the list and the rating.
    pub hidden: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ReviewRecord> for ReviewView {
    fn from(r: ReviewRecord) -> Self {
        Self {
            hidden: r.hidden_at.is_some(),
            id: r.id,
            product_id: r.product_id,
            author_id: r.author_id,
            rating: r.rating,
            title: r.title,
            body: r.body,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    #[schema(example = 5, minimum = 1, maximum = 5)]
    rating: i64,
    /// HTML tags are removed.
    #[schema(
        example = "Tasty and firm",
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
    )]
    title: String,
    /// HTML tags are removed.
    #[serde(default)]
    #[schema(max_length = 5000, pattern = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$")]
    body: String,
}

struct ReviewText {
    rating: i64,
    title: String,
    body: String,
}

impl TryFrom<ReviewRequest> for ReviewText {
    type Error = ApiError;

    fn try_from(request: ReviewRequest) -> Result<Self, ApiError> {
        let mut problems = Problems::default();
        if !(1..=5).contains(&request.rating) {
            problems.add("rating", "must be a whole number from 1 to 5");
        }
        let title = problems.text("title", &strip_html(&request.title), 1, MAX_TITLE_CHARS);
        let body = problems.text("body", &strip_html(&request.body), 0, MAX_BODY_CHARS);
        problems.finish("the review has invalid fields", || Self {
            rating: request.rating,
            title,
            body,
        })
    }
}

/// `ADD ratingCount :count, ratingSum :sum` on a product that is still for sale.
fn rating_change(
    store: &Store,
    product_id: &str,
    count: i64,
    sum: i64,
) -> ApiResult<TransactWriteItem> {
    let for_sale = "attribute_exists(PK) AND attribute_not_exists(archivedAt)";
    rating_update(store, product_id, count, sum, for_sale)
}

pub(crate) fn rating_update(
    store: &Store,
    product_id: &str,
    count: i64,
    sum: i64,
    condition: &str,
) -> ApiResult<TransactWriteItem> {
    let (pk, sk) = product_key(product_id);
    let update = Update::new(pk, sk, "ADD ratingCount :count, ratingSum :sum")
        .condition(condition)
        .value(":count", n(count))
        .value(":sum", n(sum));
    Ok(store.transact_update(update)?)
}

pub(crate) async fn load_review(
    store: &Store,
    product_id: &str,
    user_id: &str,
) -> ApiResult<ReviewRecord> {
    let (pk, sk) = review_key(product_id, user_id);
    store
        .get::<ReviewRecord>(&pk, &sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no such review"))
}

/// The review write and the product's rating change (none when the review
/// is already out of the rating), together; maps what failed.
pub(crate) async fn write_with_rating(
    store: &Store,
    review: TransactWriteItem,
    rating: Option<TransactWriteItem>,
) -> ApiResult<()> {
    let mut tx = Transaction::new();
    tx.push(review).named("review");
    if let Some(rating) = rating {
        tx.push(rating).named("product");
    }
    match store.transact(tx).await {
        Ok(()) => Ok(()),
        Err(err) if err.condition_failed("product") => {
            Err(ApiError::not_found("no such product, or it is archived"))
        }
        Err(err) if err.condition_failed("review") => Err(ApiError::conflict(
            "the review changed meanwhile, or already exists; fetch it again",
        )),
        Err(err) => Err(err.into()),
    }
}

fn review_item_update(
    store: &Store,
    current: &ReviewRecord,
    text: &ReviewText,
) -> ApiResult<TransactWriteItem> {
    let update = Update::new(
        &current.pk,
        &current.sk,
        "SET rating = :rating, title = :title, #body = :body, updatedAt = :now",
    )
    .condition("rating = :old AND attribute_not_exists(hiddenAt)")
    .name("#body", "body")
    .value(":rating", n(text.rating))
    .value(":title", s(&text.title))
    .value(":body", s(&text.body))
    .value(":now", s(now_rfc3339()))
    .value(":old", n(current.rating));
    Ok(store.transact_update(update)?)
}

/// Reviews a product as the signed-in user: once per product.
#[utoipa::path(
    post,
    path = "/v1/products/{productId}/reviews",
    tag = "catalog",
    security(("bearer" = [])),
    request_body = ReviewRequest,
    params(("productId" = String, Path, description = "The product's id")),
    responses(
        (status = 201, description = "The review; the product's rating includes it", body = Envelope<ReviewView>),
        (status = 404, description = "No such product, or it is archived", body = ErrorEnvelope),
        (status = 409, description = "The user has reviewed this product already", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn create_review(
    State(state): State<CatalogState>,
    principal: Principal,
    Path(product_id): Path<String>,
    ApiJson(request): ApiJson<ReviewRequest>,
) -> ApiResult<ApiResponse<ReviewView>> {
    let text = ReviewText::try_from(request)?;
    let (pk, sk) = review_key(&product_id, &principal.user_id);
    let id = new_id();
    let now = now_rfc3339();
    let review = ReviewRecord {
        pk,
        sk,
        item_type: REVIEW_TYPE.to_owned(),
        gsi1pk: Some(reviews_partition(&product_id)),
        gsi1sk: Some(id.clone()),
        id,
        product_id: product_id.clone(),
        author_id: principal.user_id.clone(),
        rating: text.rating,
        title: text.title,
        body: text.body,
        hidden_at: None,
        created_at: now.clone(),
        updated_at: now,
    };
    write_with_rating(
        &state.store,
        state
            .store
            .transact_put(&review, Some("attribute_not_exists(PK)"))?,
        Some(rating_change(&state.store, &product_id, 1, review.rating)?),
    )
    .await
    .map_err(|err| {
        if err.status() == StatusCode::CONFLICT {
            ApiError::conflict("you have reviewed this product already; edit your review instead")
        } else {
            err
        }
    })?;
    Ok(ApiResponse::created(review.into()))
}

/// Changes the signed-in user's review of a product.
#[utoipa::path(
    patch,
    path = "/v1/products/{productId}/reviews/mine",
    tag = "catalog",
    security(("bearer" = [])),
    request_body = ReviewRequest,
    params(("productId" = String, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The updated review", body = Envelope<ReviewView>),
        (status = 404, description = "The user has no review of this product, or the product is archived", body = ErrorEnvelope),
        (status = 409, description = "The review changed meanwhile or is hidden", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn update_review(
    State(state): State<CatalogState>,
    principal: Principal,
    Path(product_id): Path<String>,
    ApiJson(request): ApiJson<ReviewRequest>,
) -> ApiResult<ApiResponse<ReviewView>> {
    let text = ReviewText::try_from(request)?;
    let current = load_review(&state.store, &product_id, &principal.user_id).await?;
    if current.hidden_at.is_some() {
        return Err(ApiError::conflict("a hidden review cannot be edited"));
    }
    write_with_rating(
        &state.store,
        review_item_update(&state.store, &current, &text)?,
        Some(rating_change(
            &state.store,
            &product_id,
            0,
            text.rating - current.rating,
        )?),
    )
    .await?;
    Ok(ApiResponse::ok(
        load_review(&state.store, &product_id, &principal.user_id)
            .await?
            .into(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ReviewDeleted {
    deleted: bool,
}

/// Deletes the signed-in user's review of a product.
#[utoipa::path(
    delete,
    path = "/v1/products/{productId}/reviews/mine",
    tag = "catalog",
    security(("bearer" = [])),
    params(("productId" = String, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The review is gone, and out of the rating", body = Envelope<ReviewDeleted>),
        (status = 404, description = "The user has no review of this product", body = ErrorEnvelope),
        (status = 409, description = "The review changed meanwhile; retry", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn delete_review(
    State(state): State<CatalogState>,
    principal: Principal,
    Path(product_id): Path<String>,
) -> ApiResult<ApiResponse<ReviewDeleted>> {
    let current = load_review(&state.store, &product_id, &principal.user_id).await?;
    let hidden = current.hidden_at.is_some();
    let delete = state.store.transact_delete(
        &current.pk,
        &current.sk,
        Some(if hidden {
            "rating = :old AND attribute_exists(hiddenAt)"
        } else {
            "rating = :old AND attribute_not_exists(hiddenAt)"
        }),
        &[(":old", n(current.rating))],
    )?;
    // A hidden review is already out of the rating.
    let rating = (!hidden)
        .then(|| product_rating_removal(&state.store, &product_id, current.rating))
        .transpose()?;
    write_with_rating(&state.store, delete, rating).await?;
    Ok(ApiResponse::ok(ReviewDeleted { deleted: true }))
}

/// Takes one rating out of a product, archived or not.
pub(crate) fn product_rating_removal(
    store: &Store,
    product_id: &str,
    rating: i64,
) -> ApiResult<TransactWriteItem> {
    rating_update(store, product_id, -1, -rating, "attribute_exists(PK)")
}

/// A product's visible reviews, newest first.
#[utoipa::path(
    get,
    path = "/v1/products/{productId}/reviews",
    tag = "catalog",
    params(("productId" = String, Path, description = "The product's id"), PageParams),
    responses(
        (status = 200, description = "One page of reviews, newest first", body = Envelope<Vec<ReviewView>>),
        (status = 400, description = "The cursor is not from this list", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_reviews(
    State(state): State<CatalogState>,
    Path(product_id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<ReviewView>>> {
    let limit = params.limit();
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: reviews_partition(&product_id),
        sort_prefix: None,
        ascending: false,
    };
    let page = state
        .store
        .query_page::<ReviewRecord>(&query, limit, params.cursor())
        .await?;
    let reviews = page.items.into_iter().map(ReviewView::from).collect();
    Ok(ApiResponse::ok(reviews).paginated(page.next_cursor, limit))
}
