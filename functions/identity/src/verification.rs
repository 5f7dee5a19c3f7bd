//! Email verification: a single-use code mailed at registration (and on
//! request), which marks the address verified.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, ClientInfo, Envelope, ErrorEnvelope,
};
use shared::store::{Transaction, Update, s};
use utoipa::ToSchema;

use crate::one_time::{self, Purpose};
use crate::user::{UserRecord, user_key};
use crate::{IdentityState, emails};

/// Queues a verification code to `user`; a failure to queue is logged,
/// not returned, so registration never fails on a mail hiccup (the user
/// asks for another code).
pub async fn send_code(state: &IdentityState, user: &UserRecord) -> ApiResult<()> {
    let token = one_time::issue(&state.store, Purpose::VerifyEmail, &user.id, &user.email).await?;
    let email = emails::verify_email(&user.name, state.public_app_url.as_deref(), &token);
    if let Err(err) = state.outbox.send(&user.email, &email).await {
        tracing::error!(user_id = %user.id, error = ?err, "the verification email was not sent");
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The code from the email.
    token: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailVerified {
    email_verified: bool,
}

/// Confirms an email address with the code that was mailed to it.
#[utoipa::path(
    post,
    path = "/v1/auth/verify-email",
    tag = "identity",
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "The address is verified", body = Envelope<EmailVerified>),
        (status = 422, description = "The code is invalid, used or expired", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn verify_email(
    State(state): State<IdentityState>,
    client: ClientInfo,
    ApiJson(request): ApiJson<VerifyEmailRequest>,
) -> ApiResult<ApiResponse<EmailVerified>> {
    let code_failures = state.limits.code_failures_per_ip;
    state
        .rate_limiter
        .check(code_failures, client.ip_or_unknown())
        .await?;
    let invalid = || ApiError::invalid_field("token", "is invalid, already used or expired");
    let Some(token) =
        one_time::find(&state.store, Purpose::VerifyEmail, request.token.trim()).await?
    else {
        state
            .rate_limiter
            .failed(code_failures, client.ip_or_unknown())
            .await?;
        return Err(invalid());
    };
    let (pk, sk) = user_key(&token.user_id);
    let mark_verified = Update::new(pk, sk, "SET emailVerified = :true, updatedAt = :now")
        // Only while the account still has the address the code was sent to.
        .condition("email = :email AND attribute_not_exists(deletedAt)")
        .value(":true", AttributeValue::Bool(true))
        .value(":now", s(shared::domain::now_rfc3339()))
        .value(":email", s(&token.email));
    let mut tx = Transaction::new();
    tx.push(one_time::spend(&state.store, &token)?)
        .named("code");
    tx.push(state.store.transact_update(mark_verified)?)
        .named("user");
    match state.store.transact(tx).await {
        Ok(()) => Ok(ApiResponse::ok(EmailVerified {
            email_verified: true,
        })),
        Err(err) if err.condition_failed("code") || err.condition_failed("user") => Err(invalid()),
        Err(err) => Err(err.into()),
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CodeSent {
    sent: bool,
}

/// Mails a new verification code to the signed-in user's address.
#[utoipa::path(
    post,
    path = "/v1/auth/verify-email/resend",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new code is on its way", body = Envelope<CodeSent>),
        (status = 409, description = "The address is already verified", body = ErrorEnvelope),
        (status = 429, description = "Too many requests; see Retry-After", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn resend(
    State(state): State<IdentityState>,
    principal: Principal,
) -> ApiResult<ApiResponse<CodeSent>> {
    let user = crate::profile::current_user(&state, &principal).await?;
    if user.email_verified {
        return Err(ApiError::conflict("the email address is already verified"));
    }
    state
        .rate_limiter
        .hit(state.limits.verify_resends_per_email, &user.email)
        .await?;
    send_code(&state, &user).await?;
    Ok(ApiResponse::ok(CodeSent { sent: true }).with_status(StatusCode::ACCEPTED))
}
