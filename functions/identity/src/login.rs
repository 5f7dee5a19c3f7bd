//! `POST /v1/auth/login`: exchange email and password for an access token,
//! or, for an account with two-factor sign-in, for a challenge that
//! `POST /v1/auth/login/mfa` completes with a code (crate::mfa::sign_in).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::audit::{self, Actor, AuditAction};
use shared::domain::Email;
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, ClientInfo, Envelope, ErrorEnvelope,
};
use utoipa::ToSchema;

use crate::mfa::sign_in::MfaChallenge;
use crate::session::{self, SignedIn};
use crate::user::{EmailMarker, UserRecord, email_key, user_key};
use crate::{IdentityState, password};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "ada@example.com")]
    email: String,
    #[schema(example = "correct horse battery staple", format = Password)]
    password: String,
}

/// What a right password answers: tokens, or, when the account has
/// two-factor sign-in, a challenge for the second step (no token yet).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum SignInResult {
    Tokens(Box<SignedIn>),
    MfaChallenge(MfaChallenge),
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
        (status = 200, description = "Signed in: an access token and a refresh token; or, when the account has two-factor sign-in, `mfaRequired` and a challenge for POST /v1/auth/login/mfa (no token yet)", body = Envelope<SignInResult>),
        (status = 401, description = "The email or password is wrong", body = ErrorEnvelope),
        (status = 422, description = "A field is missing", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts for this email or client; see Retry-After", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<IdentityState>,
    client: ClientInfo,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<ApiResponse<SignInResult>> {
    let limits = state.limits;
    let ip = client.ip_or_unknown();
    state
        .rate_limiter
        .check(limits.login_failures_per_ip, ip)
        .await?;
    // A malformed email cannot belong to an account: same answer as a wrong
    // one, after the same work.
    let email = Email::parse(&request.email).ok();
    let user = match &email {
        Some(email) => {
            state
                .rate_limiter
                .check(limits.login_failures_per_email, email.as_str())
                .await?;
            find_user(&state, email).await?
        }
        None => None,
    };
    // Known or unknown account, a failure counts the same, so the answer
    // takes the same time either way.
    let count_failure = async || -> ApiResult<()> {
        state
            .rate_limiter
            .failed(limits.login_failures_per_ip, ip)
            .await?;
        if let Some(email) = &email {
            state
                .rate_limiter
                .failed(limits.login_failures_per_email, email.as_str())
                .await?;
        }
        Ok(())
    };
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = password::verify(request.password, stored_hash)
        .await
        .map_err(ApiError::internal)?;
    let user = match user {
        Some(user) if verified => user,
        Some(user) => {
            tracing::info!(user_id = %user.id, "sign-in refused: wrong password");
            let details = serde_json::json!({ "ip": client.ip, "userAgent": client.user_agent });
            audit::record_user_event(
                &state.store,
                &user.id,
                &Actor::Anonymous,
                AuditAction::LoginFailed,
                Some(details),
            )
            .await;
            count_failure().await?;
            return Err(wrong_credentials());
        }
        None => {
            tracing::info!("sign-in refused: no such account");
            count_failure().await?;
            return Err(wrong_credentials());
        }
    };
    if user.mfa_enabled {
        let challenge = crate::mfa::sign_in::issue(&state, &user).await?;
        tracing::info!(user_id = %user.id, "password right; second factor asked for");
        return Ok(ApiResponse::ok(SignInResult::MfaChallenge(challenge)));
    }
    let signed_in = session::start(&state, user, &client).await?;
    tracing::info!(user_id = %signed_in.user.id, "signed in");
    Ok(ApiResponse::ok(SignInResult::Tokens(Box::new(signed_in))))
}

async fn find_user(state: &IdentityState, email: &Email) -> ApiResult<Option<UserRecord>> {
    let (pk, sk) = email_key(email.as_str());
    let Some(marker) = state.store.get::<EmailMarker>(&pk, sk).await? else {
        return Ok(None);
    };
    let (pk, sk) = user_key(&marker.user_id);
    Ok(state
        .store
        .get::<UserRecord>(&pk, sk)
        .await?
        .filter(UserRecord::is_active))
}
