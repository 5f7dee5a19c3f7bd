//! `POST /v1/auth/login`: exchange email and password for an access token.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::domain::Email;
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use utoipa::ToSchema;

use crate::IdentityState;
use crate::password;
use crate::user::{EmailMarker, UserRecord, UserView, email_key, user_key};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    #[schema(example = "ada@example.com")]
    email: String,
    #[schema(example = "correct horse battery staple", format = Password)]
    password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// A JWT (EdDSA) to send as `Authorization: Bearer <accessToken>`.
    access_token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    expires_in: u64,
    user: UserView,
}

/// One message for every way sign-in can fail, so it tells nothing about
/// which emails are registered.
fn wrong_credentials() -> ApiError {
    ApiError::unauthenticated("the email or password is wrong")
}

/// Signs in with email and password.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "identity",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = Envelope<Session>),
        (status = 400, description = "The body is not valid JSON", body = ErrorEnvelope),
        (status = 401, description = "The email or password is wrong", body = ErrorEnvelope),
        (status = 415, description = "The body is not JSON", body = ErrorEnvelope),
        (status = 422, description = "A field is missing", body = ErrorEnvelope),
        (status = 503, description = "A dependency is unavailable; retry", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<IdentityState>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<ApiResponse<Session>> {
    // A malformed email cannot belong to an account: same answer as a wrong one,
    // after the same work.
    let user = match Email::parse(&request.email) {
        Ok(email) => find_user(&state, &email).await?,
        Err(_) => None,
    };
    let verified = password::verify(
        request.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await
    .map_err(ApiError::internal)?;
    let user = match user {
        Some(user) if verified => user,
        _ => {
            tracing::info!("sign-in refused");
            return Err(wrong_credentials());
        }
    };
    let issued = state
        .tokens
        .issue_access_token(&user.id, user.role.as_str())
        .map_err(ApiError::internal)?;
    tracing::info!(user_id = %user.id, "signed in");
    Ok(ApiResponse::ok(Session {
        access_token: issued.token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        user: user.into(),
    }))
}

async fn find_user(state: &IdentityState, email: &Email) -> ApiResult<Option<UserRecord>> {
    let (pk, sk) = email_key(email.as_str());
    let Some(marker) = state.store.get::<EmailMarker>(&pk, sk).await? else {
        return Ok(None);
    };
    let (pk, sk) = user_key(&marker.user_id);
    Ok(state.store.get::<UserRecord>(&pk, sk).await?)
}
