//! `GET /v1/orgs/{orgId}/audit`: the organization's security events, newest
//! first (the trail itself is `shared::audit`).

use axum::extract::{Path, State};
use shared::audit::{self, AuditEventView, AuditScope};
use shared::auth::{Caller, Permission};
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
        (status = 401, description = "Missing, expired or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Without audit:read", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
        (status = 503, description = "A dependency is unavailable; retry", body = ErrorEnvelope),
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
    let events = audit::list(
        &state.store,
        &AuditScope::Org(org_id),
        page.limit(),
        page.cursor(),
    )
    .await?;
    let views = events.items.into_iter().map(AuditEventView::from).collect();
    Ok(ApiResponse::ok(views).paginated(events.next_cursor, page.limit()))
}
