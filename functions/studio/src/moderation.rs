//! Public designs under moderation: anyone signed in reports a gallery
//! design (once); a moderator (or platform admin) holds it for review with
//! a reason, and clears it. A held design is out of the gallery and a 404
//! to everyone but its owner, who sees `heldForReview`; clearing puts it
//! back (if it is still public). The reports and the queue are
//! `shared::moderation`'s, shared with the catalog's reviews.
//!
//! A decision is one transaction (`shared::moderation::decide`): the design (`version` as read, so an
//! owner's concurrent edit is not lost), the moderator's standing (a
//! ConditionCheck on their account), the queue entry and the event in the
//! owner's audit trail (the stream emails the owner when a design is held).

use axum::extract::{Path, State};
use shared::audit::AuditAction;
use shared::auth::Principal;
use shared::domain::now_rfc3339;
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::moderation::{self, Content, ContentReportView, ReasonRequest, Reported};
use shared::store::{TransactWriteItem, Update, attr, n, s};

use crate::StudioState;
use crate::designs::{find, gallery_keys};
use crate::model::{DesignRecord, DesignView};

fn not_found() -> ApiError {
    ApiError::not_found("no such design")
}

/// A design moderators act on: public, and ready or held.
async fn public_design(state: &StudioState, design_id: &str) -> ApiResult<DesignRecord> {
    match find(&state.store, design_id).await? {
        Some(record) if record.listed() || (record.is_public && record.held_at.is_some()) => {
            Ok(record)
        }
        _ => Err(not_found()),
    }
}

/// One decision on a design, in one transaction.
async fn decide(
    state: &StudioState,
    moderator: &Principal,
    record: &DesignRecord,
    write: Option<TransactWriteItem>,
    action: AuditAction,
    reason: Option<&str>,
) -> ApiResult<()> {
    let content = Content::design(&record.id, &record.owner_id);
    let writes = write.map(|w| vec![("design", w)]).unwrap_or_default();
    moderation::decide(
        &state.store,
        moderator,
        &content,
        writes,
        action,
        reason,
        |err| {
            err.condition_failed("design")
                .then(|| ApiError::conflict("the design changed meanwhile; retry"))
        },
    )
    .await
}

/// Holds a public design for review (moderators and platform admins),
/// giving a reason: it leaves the gallery and is a 404 to all but its
/// owner; the reason goes to the owner's audit trail and the owner is
/// emailed. Holding a held design changes nothing.
#[utoipa::path(
    post,
    path = "/v1/designs/{designId}/hide",
    tag = "moderation",
    security(("bearer" = [])),
    request_body = ReasonRequest,
    params(("designId" = String, Path, description = "The design's id")),
    responses(
        (status = 200, description = "The design, held for review", body = Envelope<DesignView>),
        (status = 403, description = "The caller is not a moderator or platform admin", body = ErrorEnvelope),
        (status = 404, description = "No such public design", body = ErrorEnvelope),
        (status = 409, description = "The design changed meanwhile; retry", body = ErrorEnvelope),
        (status = 422, description = "The reason is missing or too long", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id))]
pub async fn hide_design(
    State(state): State<StudioState>,
    principal: Principal,
    Path(design_id): Path<String>,
    ApiJson(request): ApiJson<ReasonRequest>,
) -> ApiResult<ApiResponse<DesignView>> {
    let reason = request.parse()?;
    moderation::require_moderator(&state.store, &principal).await?;
    let record = public_design(&state, &design_id).await?;
    if record.held_at.is_none() {
        let hold = Update::new(
            &record.pk,
            &record.sk,
            "SET heldAt = :now, updatedAt = :now, #version = :next \
             REMOVE GSI2PK, GSI2SK, GSI3PK, GSI3SK",
        )
        .condition("#version = :seen AND attribute_not_exists(heldAt)")
        .name("#version", attr::VERSION)
        .value(":now", s(now_rfc3339()))
        .value(":seen", n(record.version as i64))
        .value(":next", n(record.version as i64 + 1));
        let write = state.store.transact_update(hold)?;
        decide(
            &state,
            &principal,
            &record,
            Some(write),
            AuditAction::ContentHidden,
            Some(&reason),
        )
        .await?;
        tracing::info!(design_id, "design held for review");
    }
    let stored = find(&state.store, &design_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(ApiResponse::ok(stored.into()))
}

/// Clears a design held for review: back in the gallery while it is public
/// and ready. For a design that is not held, keeps it despite its reports.
/// Either way its reports leave the queue. Moderators and platform admins.
#[utoipa::path(
    post,
    path = "/v1/designs/{designId}/clear",
    tag = "moderation",
    security(("bearer" = [])),
    params(("designId" = String, Path, description = "The design's id")),
    responses(
        (status = 200, description = "The design, no longer held", body = Envelope<DesignView>),
        (status = 403, description = "The caller is not a moderator or platform admin", body = ErrorEnvelope),
        (status = 404, description = "No such public design", body = ErrorEnvelope),
        (status = 409, description = "The design changed meanwhile; retry", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id))]
pub async fn clear_design(
    State(state): State<StudioState>,
    principal: Principal,
    Path(design_id): Path<String>,
) -> ApiResult<ApiResponse<DesignView>> {
    moderation::require_moderator(&state.store, &principal).await?;
    let record = public_design(&state, &design_id).await?;
    let write = if record.held_at.is_some() {
        let mut released = record.clone();
        released.held_at = None;
        let mut update = match gallery_keys(&released) {
            Some([(g2pk, g2sk), (g3pk, g3sk)]) => Update::new(
                &record.pk,
                &record.sk,
                "SET GSI2PK = :g2pk, GSI2SK = :g2sk, GSI3PK = :g3pk, GSI3SK = :g3sk, \
                 updatedAt = :now, #version = :next REMOVE heldAt",
            )
            .value(":g2pk", s(g2pk))
            .value(":g2sk", s(g2sk))
            .value(":g3pk", s(g3pk))
            .value(":g3sk", s(g3sk)),
            None => Update::new(
                &record.pk,
                &record.sk,
                "SET updatedAt = :now, #version = :next REMOVE heldAt",
            ),
        };
        update = update
            .condition("#version = :seen AND attribute_exists(heldAt)")
            .name("#version", attr::VERSION)
            .value(":now", s(now_rfc3339()))
            .value(":seen", n(record.version as i64))
            .value(":next", n(record.version as i64 + 1));
        Some(state.store.transact_update(update)?)
    } else {
        None
    };
    decide(
        &state,
        &principal,
        &record,
        write,
        AuditAction::ContentRestored,
        None,
    )
    .await?;
    let stored = find(&state.store, &design_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(ApiResponse::ok(stored.into()))
}

/// Reports a gallery design to the moderators, with a reason. A person
/// reports a design once: reporting it again answers 200 with the first
/// report and counts nothing.
#[utoipa::path(
    post,
    path = "/v1/designs/{designId}/reports",
    tag = "moderation",
    security(("bearer" = [])),
    request_body = ReasonRequest,
    params(("designId" = String, Path, description = "The design's id")),
    responses(
        (status = 201, description = "Reported; the count includes it", body = Envelope<ContentReportView>),
        (status = 200, description = "The caller had reported it already: the first report, nothing counted", body = Envelope<ContentReportView>),
        (status = 404, description = "No such design in the gallery", body = ErrorEnvelope),
        (status = 409, description = "Too many reports at once; retry", body = ErrorEnvelope),
        (status = 422, description = "The reason is missing or too long, or the design is the caller's own", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id))]
pub async fn report_design(
    State(state): State<StudioState>,
    principal: Principal,
    Path(design_id): Path<String>,
    ApiJson(request): ApiJson<ReasonRequest>,
) -> ApiResult<ApiResponse<ContentReportView>> {
    let reason = request.parse()?;
    let record = match find(&state.store, &design_id).await? {
        Some(record) if record.listed() => record,
        _ => return Err(not_found()),
    };
    let content = Content::design(&record.id, &record.owner_id);
    match moderation::report(&state.store, &content, &principal.user_id, reason).await? {
        Reported::New(view) => Ok(ApiResponse::created(view)),
        Reported::Repeat(view) => Ok(ApiResponse::ok(view)),
    }
}
