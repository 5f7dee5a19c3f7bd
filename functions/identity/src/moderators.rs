//! Platform admins make people moderators and take the role back
//! (`PUT|DELETE /v1/moderators/{userId}`). The role lives on the account
//! item; moderation checks read it there (`shared::moderation`), so a
//! revoked moderator loses the power at once, whatever their access token
//! says. Each change is audited in the person's own trail.

use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::json;
use shared::audit::{Actor, AuditAction, AuditEvent, AuditScope};
use shared::auth::{PlatformRole, Principal};
use shared::domain::now_rfc3339;
use shared::http::{ApiError, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{Transaction, Update, n, s};
use utoipa::ToSchema;

use crate::IdentityState;
use crate::user::{UserRecord, user_key};

/// A person's platform role after the change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformRoleView {
    #[schema(example = "01JD8Y0A1B2C3D4E5F6G7H8J9K")]
    pub user_id: String,
    pub role: PlatformRole,
}

fn require_platform_admin(principal: &Principal) -> ApiResult<()> {
    if principal.role == PlatformRole::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only a platform admin grants or revokes roles",
        ))
    }
}

/// Makes a person a moderator: they may hide and restore reviews and
/// designs and read the report queue, and nothing else. Idempotent.
#[utoipa::path(
    put,
    path = "/v1/moderators/{userId}",
    tag = "identity",
    security(("bearer" = [])),
    params(("userId" = String, Path, description = "The person's user id")),
    responses(
        (status = 200, description = "The person is a moderator", body = Envelope<PlatformRoleView>),
        (status = 403, description = "The caller is not a platform admin", body = ErrorEnvelope),
        (status = 404, description = "No such user", body = ErrorEnvelope),
        (status = 409, description = "The person is a platform admin, or the account changed meanwhile", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn grant_moderator(
    State(state): State<IdentityState>,
    principal: Principal,
    Path(user_id): Path<String>,
) -> ApiResult<ApiResponse<PlatformRoleView>> {
    require_platform_admin(&principal)?;
    change_role(&state, &principal, &user_id, PlatformRole::Moderator).await
}

/// Takes the moderator role back: the person is a customer again, and
/// their next moderation request is a 403. Idempotent.
#[utoipa::path(
    delete,
    path = "/v1/moderators/{userId}",
    tag = "identity",
    security(("bearer" = [])),
    params(("userId" = String, Path, description = "The person's user id")),
    responses(
        (status = 200, description = "The person is a customer", body = Envelope<PlatformRoleView>),
        (status = 403, description = "The caller is not a platform admin", body = ErrorEnvelope),
        (status = 404, description = "No such user", body = ErrorEnvelope),
        (status = 409, description = "The person is a platform admin, or the account changed meanwhile", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn revoke_moderator(
    State(state): State<IdentityState>,
    principal: Principal,
    Path(user_id): Path<String>,
) -> ApiResult<ApiResponse<PlatformRoleView>> {
    require_platform_admin(&principal)?;
    change_role(&state, &principal, &user_id, PlatformRole::Customer).await
}

async fn change_role(
    state: &IdentityState,
    admin: &Principal,
    user_id: &str,
    to: PlatformRole,
) -> ApiResult<ApiResponse<PlatformRoleView>> {
    let (pk, sk) = user_key(user_id);
    let user = state
        .store
        .get::<UserRecord>(&pk, sk)
        .await?
        .filter(UserRecord::is_active)
        .ok_or_else(|| ApiError::not_found("no such user"))?;
    let view = || PlatformRoleView {
        user_id: user.id.clone(),
        role: to,
    };
    if user.role == to {
        return Ok(ApiResponse::ok(view()));
    }
    if user.role == PlatformRole::Admin {
        return Err(ApiError::conflict(
            "a platform admin already moderates; their role is not changed here",
        ));
    }
    let update = Update::new(
        &pk,
        sk,
        "SET #role = :to, updatedAt = :now ADD version :one",
    )
    .condition("version = :version AND #role = :from")
    .name("#role", "role")
    .value(":to", s(to.as_str()))
    .value(":from", s(user.role.as_str()))
    .value(":now", s(now_rfc3339()))
    .value(":one", n(1))
    .value(":version", n(user.version as i64));
    let action = if to == PlatformRole::Moderator {
        AuditAction::PlatformRoleGranted
    } else {
        AuditAction::PlatformRoleRevoked
    };
    let event = AuditEvent::new(
        &AuditScope::User(user.id.clone()),
        &Actor::User(admin.user_id.clone()),
        action,
    )
    .target(format!("user:{}", user.id))
    .details(json!({ "from": user.role.as_str(), "to": to.as_str() }));
    let mut tx = Transaction::new();
    tx.push(state.store.transact_update(update)?).named("user");
    tx.push(event.transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("user") => {
            return Err(ApiError::conflict(
                "the account changed meanwhile; try again",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(user_id = %user.id, role = to.as_str(), "platform role changed");
    Ok(ApiResponse::ok(view()))
}
