//! The security trails, newest first (the events themselves are
//! `shared::audit`): an organization's (`GET /v1/orgs/{orgId}/audit`) and a
//! user's own (`GET /v1/me/audit`).

use axum::extract::{Path, State};
use shared::audit::{self, AuditEventView, AuditScope};
use shared::auth::{Caller, Permission, Principal};
use shared::http::{ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams};

use crate::IdentityState;

/// The organization's audit trail, newest first. Needs `audit:read` (owners, admins).
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/audit",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id"), PageParams),
    responses(
        (status = 200, body = Envelope<Vec<AuditEventView>>),
        (status = 400, description = "The cursor or limit is invalid", body = ErrorEnvelope),
        (status = 403, description = "Without audit:read", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_org_audit(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<AuditEventView>>> {
    caller
        .require(&state.store, &org_id, Permission::AuditRead)
        .await?;
    trail_page(&state, AuditScope::Org(org_id), &page).await
}

/// The signed-in user's own security events (failed sign-ins, refresh-token
/// reuse, password resets, sign-outs), newest first.
#[utoipa::path(
    get,
    path = "/v1/me/audit",
    tag = "identity",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, body = Envelope<Vec<AuditEventView>>),
        (status = 400, description = "The cursor or limit is invalid", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_my_audit(
    State(state): State<IdentityState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<AuditEventView>>> {
    trail_page(&state, AuditScope::User(principal.user_id), &page).await
}

async fn trail_page(
    state: &IdentityState,
    scope: AuditScope,
    page: &PageParams,
) -> ApiResult<ApiResponse<Vec<AuditEventView>>> {
    let events = audit::list(&state.store, &scope, page.limit(), page.cursor()).await?;
    let views = events.items.into_iter().map(AuditEventView::from).collect();
    Ok(ApiResponse::ok(views).paginated(events.next_cursor, page.limit()))
}
