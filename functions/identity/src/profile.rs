//! `GET /v1/me`: the signed-in user's own account.

use axum::extract::State;
use shared::auth::Principal;
use shared::http::{ApiError, ApiResponse, ApiResult, Envelope, ErrorEnvelope};

use crate::IdentityState;
use crate::user::{UserRecord, UserView, user_key};

/// The account of the user the access token belongs to.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<UserView>),
        (status = 401, description = "Missing, expired or invalid access token", body = ErrorEnvelope),
        (status = 503, description = "A dependency is unavailable; retry", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn me(
    State(state): State<IdentityState>,
    principal: Principal,
) -> ApiResult<ApiResponse<UserView>> {
    let (pk, sk) = user_key(&principal.user_id);
    let user: UserRecord = state
        .store
        .get(&pk, sk)
        .await?
        // A valid token for an account that no longer exists.
        .ok_or_else(|| {
            ApiError::unauthenticated("the account of this access token no longer exists")
        })?;
    Ok(ApiResponse::ok(user.into()))
}
