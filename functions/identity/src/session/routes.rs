//! The session endpoints: refresh, sign out, sign out everywhere
//! (`/v1/auth/...`), list and revoke (`/v1/me/sessions`).

use axum::extract::{Path, State};
use serde::Serialize;
use shared::audit::{self, Actor, AuditAction};
use shared::auth::Principal;
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{Index, PartitionQuery, Update, n};
use utoipa::ToSchema;

use crate::IdentityState;
use crate::session::{self, RefreshRequest, SessionRecord, SignedIn, session_key};
use crate::user::user_key;

/// Exchanges a refresh token for a new access token and refresh token.
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "identity",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is spent", body = Envelope<SignedIn>),
        (status = 401, description = "Invalid, expired or revoked; a spent token also signs the session out", body = ErrorEnvelope),
        (status = 422, description = "refreshToken is missing", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn refresh(
    State(state): State<IdentityState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> ApiResult<ApiResponse<SignedIn>> {
    Ok(ApiResponse::ok(
        session::refresh(&state, &request.refresh_token).await?,
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedOut {
    signed_out: bool,
}

/// Signs out the session of a refresh token. Always succeeds, so it tells
/// nothing about tokens that are not the caller's.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "identity",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Signed out", body = Envelope<SignedOut>),
        (status = 422, description = "refreshToken is missing", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn logout(
    State(state): State<IdentityState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> ApiResult<ApiResponse<SignedOut>> {
    session::sign_out(&state, &request.refresh_token).await?;
    Ok(ApiResponse::ok(SignedOut { signed_out: true }))
}

/// Ends every session of the signed-in user, on every device.
#[utoipa::path(
    post,
    path = "/v1/auth/logout-all",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every session is over; access tokens lapse within 15 minutes", body = Envelope<SignedOut>),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn logout_all(
    State(state): State<IdentityState>,
    principal: Principal,
) -> ApiResult<ApiResponse<SignedOut>> {
    bump_token_epoch(&state, &principal.user_id).await?;
    tracing::info!(user_id = %principal.user_id, "signed out everywhere");
    let actor = Actor::User(principal.user_id.clone());
    audit::record_user_event(
        &state.store,
        &principal.user_id,
        &actor,
        AuditAction::SignedOutEverywhere,
        None,
    )
    .await;
    Ok(ApiResponse::ok(SignedOut { signed_out: true }))
}

/// Kills every session of `user_id` by moving its token epoch.
pub async fn bump_token_epoch(state: &IdentityState, user_id: &str) -> ApiResult<()> {
    let (pk, sk) = user_key(user_id);
    let bump = Update::new(pk, sk, "ADD tokenEpoch :one")
        .condition("attribute_exists(PK)")
        .value(":one", n(1));
    state.store.apply_update(bump).await?;
    Ok(())
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    id: String,
    created_at: String,
    last_used_at: String,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<String>,
    /// The session of the access token making this request.
    current: bool,
}

/// Maximum sessions listed; older ones beyond it are still valid until they expire.
const SESSIONS_LISTED: u32 = 100;

/// The signed-in user's live sessions, newest first.
#[utoipa::path(
    get,
    path = "/v1/me/sessions",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<Vec<SessionView>>),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_sessions(
    State(state): State<IdentityState>,
    principal: Principal,
) -> ApiResult<ApiResponse<Vec<SessionView>>> {
    let user = crate::profile::current_user(&state, &principal).await?;
    let (pk, _) = user_key(&user.id);
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: pk,
        sort_prefix: Some("SESSION#".into()),
        ascending: false,
    };
    let page = state
        .store
        .query_page::<SessionRecord>(&query, SESSIONS_LISTED, None)
        .await?;
    let sessions = page
        .items
        .into_iter()
        .filter(|s| s.is_live(&user))
        .map(|s| SessionView {
            current: principal.session_id.as_deref() == Some(s.session_id.as_str()),
            id: s.session_id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(ApiResponse::ok(sessions))
}

/// Signs out one of the signed-in user's sessions (e.g. a lost phone).
#[utoipa::path(
    delete,
    path = "/v1/me/sessions/{sessionId}",
    tag = "identity",
    security(("bearer" = [])),
    params(("sessionId" = String, Path, description = "A session id from GET /v1/me/sessions")),
    responses(
        (status = 200, description = "The session is signed out", body = Envelope<SignedOut>),
        (status = 404, description = "No such session of yours", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn revoke_session(
    State(state): State<IdentityState>,
    principal: Principal,
    Path(session_id): Path<String>,
) -> ApiResult<ApiResponse<SignedOut>> {
    let not_found = || ApiError::not_found("no such session");
    if session_id.len() > 64 {
        return Err(not_found());
    }
    let (pk, sk) = session_key(&session_id);
    let session = state
        .store
        .get::<SessionRecord>(&pk, sk)
        .await?
        .filter(|s| s.user_id == principal.user_id)
        .ok_or_else(not_found)?;
    session::revoke(&state, &session, "revoked_by_user").await?;
    let actor = Actor::User(principal.user_id.clone());
    let details = serde_json::json!({ "sessionId": session.session_id });
    audit::record_user_event(
        &state.store,
        &principal.user_id,
        &actor,
        AuditAction::SessionRevoked,
        Some(details),
    )
    .await;
    Ok(ApiResponse::ok(SignedOut { signed_out: true }))
}
