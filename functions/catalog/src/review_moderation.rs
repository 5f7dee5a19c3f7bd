//! Reviews under moderation: anyone signed in reports a review (once);
//! moderators (and platform admins) hide it, with a reason, or restore it;
//! the report queue lists what people reported, most reported first.
//!
//! A decision is one transaction (`shared::moderation::decide`): the review, the product's rating (a
//! hidden review is out of it, a restored one back in), the moderator's
//! standing (a ConditionCheck on their account: a revoked moderator is 403
//! at once), the event in the author's audit trail (the stream emails the
//! author when a review is hidden) and the queue entry. See
//! `shared::moderation` and docs/permissions.md, "Moderation".

use axum::extract::{Path, State};
use shared::audit::AuditAction;
use shared::auth::Principal;
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
};
use shared::moderation::{
    self, Content, ContentReportView, ModerationReportView, ReasonRequest, Reported,
};
use shared::store::{TransactWriteItem, Update, n, s};

use crate::CatalogState;
use crate::review::{
    ReviewRecord, ReviewView, load_review, product_rating_removal, rating_update, reviews_partition,
};

/// One moderator decision on a review, in one transaction.
async fn decide(
    state: &CatalogState,
    moderator: &Principal,
    review: &ReviewRecord,
    write: Option<(TransactWriteItem, TransactWriteItem)>,
    action: AuditAction,
    reason: Option<&str>,
) -> ApiResult<()> {
    let content = Content::review(&review.product_id, &review.author_id);
    let writes = write
        .map(|(review, rating)| vec![("review", review), ("product", rating)])
        .unwrap_or_default();
    moderation::decide(
        &state.store,
        moderator,
        &content,
        writes,
        action,
        reason,
        |err| {
            if err.condition_failed("product") {
                Some(ApiError::not_found("no such product"))
            } else if err.condition_failed("review") {
                Some(ApiError::conflict("the review changed meanwhile; retry"))
            } else {
                None
            }
        },
    )
    .await
}

/// Hides a review (moderators and platform admins), giving a reason: it
/// leaves the list and the product's rating, the reason goes to the
/// author's audit trail, and the author is emailed. Hiding a hidden review
/// changes nothing.
#[utoipa::path(
    post,
    path = "/v1/products/{productId}/reviews/{authorId}/hide",
    tag = "moderation",
    security(("bearer" = [])),
    request_body = ReasonRequest,
    params(
        ("productId" = String, Path, description = "The product's id"),
        ("authorId" = String, Path, description = "The id of the review's author"),
    ),
    responses(
        (status = 200, description = "The hidden review", body = Envelope<ReviewView>),
        (status = 403, description = "The caller is not a moderator or platform admin", body = ErrorEnvelope),
        (status = 404, description = "No such review", body = ErrorEnvelope),
        (status = 409, description = "The review changed meanwhile; retry", body = ErrorEnvelope),
        (status = 422, description = "The reason is missing or too long", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn hide_review(
    State(state): State<CatalogState>,
    principal: Principal,
    Path((product_id, author_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<ReasonRequest>,
) -> ApiResult<ApiResponse<ReviewView>> {
    let reason = request.parse()?;
    moderation::require_moderator(&state.store, &principal).await?;
    let current = load_review(&state.store, &product_id, &author_id).await?;
    if current.hidden_at.is_none() {
        let hide = Update::new(
            &current.pk,
            &current.sk,
            "SET hiddenAt = :now, updatedAt = :now REMOVE GSI1PK, GSI1SK",
        )
        .condition("rating = :old AND attribute_not_exists(hiddenAt)")
        .value(":now", s(shared::domain::now_rfc3339()))
        .value(":old", n(current.rating));
        let write = (
            state.store.transact_update(hide)?,
            product_rating_removal(&state.store, &product_id, current.rating)?,
        );
        decide(
            &state,
            &principal,
            &current,
            Some(write),
            AuditAction::ContentHidden,
            Some(&reason),
        )
        .await?;
        tracing::info!(product_id, author_id, "review hidden");
    }
    Ok(ApiResponse::ok(
        load_review(&state.store, &product_id, &author_id)
            .await?
            .into(),
    ))
}

/// Restores a hidden review (back in the list and the product's rating),
/// or, for a visible one, keeps it: either way its reports leave the
/// queue. Moderators and platform admins only.
#[utoipa::path(
    post,
    path = "/v1/products/{productId}/reviews/{authorId}/restore",
    tag = "moderation",
    security(("bearer" = [])),
    params(
        ("productId" = String, Path, description = "The product's id"),
        ("authorId" = String, Path, description = "The id of the review's author"),
    ),
    responses(
        (status = 200, description = "The visible review", body = Envelope<ReviewView>),
        (status = 403, description = "The caller is not a moderator or platform admin", body = ErrorEnvelope),
        (status = 404, description = "No such review, or its product is gone", body = ErrorEnvelope),
        (status = 409, description = "The review changed meanwhile; retry", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn restore_review(
    State(state): State<CatalogState>,
    principal: Principal,
    Path((product_id, author_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<ReviewView>> {
    moderation::require_moderator(&state.store, &principal).await?;
    let current = load_review(&state.store, &product_id, &author_id).await?;
    let write = if current.hidden_at.is_some() {
        let restore = Update::new(
            &current.pk,
            &current.sk,
            "SET GSI1PK = :partition, GSI1SK = :id, updatedAt = :now REMOVE hiddenAt",
        )
        .condition("rating = :old AND attribute_exists(hiddenAt)")
        .value(":partition", s(reviews_partition(&product_id)))
        .value(":id", s(&current.id))
        .value(":now", s(shared::domain::now_rfc3339()))
        .value(":old", n(current.rating));
        Some((
            state.store.transact_update(restore)?,
            rating_update(
                &state.store,
                &product_id,
                1,
                current.rating,
                "attribute_exists(PK)",
            )?,
        ))
    } else {
        None
    };
    decide(
        &state,
        &principal,
        &current,
        write,
        AuditAction::ContentRestored,
        None,
    )
    .await?;
    Ok(ApiResponse::ok(
        load_review(&state.store, &product_id, &author_id)
            .await?
            .into(),
    ))
}

/// Reports a visible review to the moderators, with a reason. A person
/// reports a review once: reporting it again answers 200 with the first
/// report and counts nothing.
#[utoipa::path(
    post,
    path = "/v1/products/{productId}/reviews/{authorId}/reports",
    tag = "moderation",
    security(("bearer" = [])),
    request_body = ReasonRequest,
    params(
        ("productId" = String, Path, description = "The product's id"),
        ("authorId" = String, Path, description = "The id of the review's author"),
    ),
    responses(
        (status = 201, description = "Reported; the count includes it", body = Envelope<ContentReportView>),
        (status = 200, description = "The caller had reported it already: the first report, nothing counted", body = Envelope<ContentReportView>),
        (status = 404, description = "No such review, or it is hidden", body = ErrorEnvelope),
        (status = 409, description = "Too many reports at once; retry", body = ErrorEnvelope),
        (status = 422, description = "The reason is missing or too long, or the review is the caller's own", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn report_review(
    State(state): State<CatalogState>,
    principal: Principal,
    Path((product_id, author_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<ReasonRequest>,
) -> ApiResult<ApiResponse<ContentReportView>> {
    let reason = request.parse()?;
    let review = load_review(&state.store, &product_id, &author_id).await?;
    if review.hidden_at.is_some() {
        return Err(ApiError::not_found("no such review"));
    }
    let content = Content::review(&product_id, &author_id);
    match moderation::report(&state.store, &content, &principal.user_id, reason).await? {
        Reported::New(view) => Ok(ApiResponse::created(view)),
        Reported::Repeat(view) => Ok(ApiResponse::ok(view)),
    }
}

/// The moderation queue: reported reviews and designs not yet decided,
/// most reported first. Moderators and platform admins only.
#[utoipa::path(
    get,
    path = "/v1/moderation/reports",
    tag = "moderation",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "One page of the queue, most reported first", body = Envelope<Vec<ModerationReportView>>),
        (status = 400, description = "The cursor is not from this list", body = ErrorEnvelope),
        (status = 403, description = "The caller is not a moderator or platform admin", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_reports(
    State(state): State<CatalogState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<ModerationReportView>>> {
    moderation::require_moderator(&state.store, &principal).await?;
    let limit = params.limit();
    let page = moderation::queue(&state.store, limit, params.cursor()).await?;
    let reports = page
        .items
        .into_iter()
        .map(ModerationReportView::from)
        .collect();
    Ok(ApiResponse::ok(reports).paginated(page.next_cursor, limit))
}
