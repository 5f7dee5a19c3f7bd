//! Password reset by email. The request answers the same whether or not the
//! address has an account; the reset signs the account out everywhere.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::audit::{self, Actor, AuditAction};
use shared::domain::Email;
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, ClientInfo, Envelope, ErrorEnvelope, StepContext,
};
use shared::store::{Transaction, Update, n, s};
use utoipa::ToSchema;

use crate::one_time::{self, Purpose};
use crate::password::{self, NewPassword};
use crate::user::{EmailMarker, UserRecord, email_key, user_key};
use crate::{IdentityState, emails};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(value_type = shared::domain::Email)]
    email: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResetRequested {
    /// Always the same text, whether or not the address has an account.
    message: &'static str,
}

const REQUESTED: &str = "if an account has this address, a reset code is on its way";

/// Mails a password-reset code if the address has an account.
#[utoipa::path(
    post,
    path = "/v1/auth/password-reset/request",
    tag = "identity",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "Accepted (the same for unknown addresses)", body = Envelope<ResetRequested>),
        (status = 422, description = "email is not an email address", body = ErrorEnvelope),
        (status = 429, description = "Too many requests; see Retry-After", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn request_reset(
    State(state): State<IdentityState>,
    client: ClientInfo,
    ApiJson(request): ApiJson<ResetRequest>,
) -> ApiResult<ApiResponse<ResetRequested>> {
    let email = Email::parse(&request.email)
        .map_err(|e| ApiError::invalid_field("email", e.to_string()))?;
    state
        .rate_limiter
        .hit(state.limits.reset_requests_per_ip, client.ip_or_unknown())
        .await?;
    state
        .rate_limiter
        .hit(state.limits.resets_per_email, email.as_str())
        .await
        .context("counting reset requests per email")?;
    let (pk, sk) = email_key(email.as_str());
    if let Some(marker) = state
        .store
        .get::<EmailMarker>(&pk, sk)
        .await
        .context("finding the account of the email")?
    {
        let (pk, sk) = user_key(&marker.user_id);
        if let Some(user) = state
            .store
            .get::<UserRecord>(&pk, sk)
            .await?
            .filter(UserRecord::is_active)
        {
            let token =
                one_time::issue(&state.store, Purpose::ResetPassword, &user.id, &user.email)
                    .await
                    .context("issuing the reset code")?;
            let message =
                emails::reset_password(&user.name, state.public_app_url.as_deref(), &token);
            if let Err(err) = state.outbox.send(&user.email, &message).await {
                tracing::error!(user_id = %user.id, error = ?err, "the password reset email was not sent");
            }
        }
    }
    Ok(ApiResponse::ok(ResetRequested { message: REQUESTED }).with_status(StatusCode::ACCEPTED))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetPassword {
    /// The code from the email.
    token: String,
    #[schema(format = Password, min_length = 10, max_length = 256)]
    new_password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChanged {
    password_changed: bool,
}

/// Sets a new password with a reset code, and signs out every session.
#[utoipa::path(
    post,
    path = "/v1/auth/password-reset",
    tag = "identity",
    request_body = ResetPassword,
    responses(
        (status = 200, description = "The password is changed; sign in with it", body = Envelope<PasswordChanged>),
        (status = 422, description = "The code is invalid/used/expired, or the password breaks the rules", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn reset_password(
    State(state): State<IdentityState>,
    client: ClientInfo,
    ApiJson(request): ApiJson<ResetPassword>,
) -> ApiResult<ApiResponse<PasswordChanged>> {
    let code_failures = state.limits.code_failures_per_ip;
    state
        .rate_limiter
        .check(code_failures, client.ip_or_unknown())
        .await?;
    let invalid = || ApiError::invalid_field("token", "is invalid, already used or expired");
    let Some(token) = one_time::find(&state.store, Purpose::ResetPassword, request.token.trim())
        .await
        .context("finding the reset code")?
    else {
        state
            .rate_limiter
            .failed(code_failures, client.ip_or_unknown())
            .await?;
        return Err(invalid());
    };
    let new_password = NewPassword::parse(&request.new_password, Some(&token.email))
        .map_err(|e| ApiError::invalid_field("newPassword", e))?;
    let hash = password::hash(new_password)
        .await
        .map_err(ApiError::internal)?;

    let (pk, sk) = user_key(&token.user_id);
    let change = Update::new(
        pk,
        sk,
        "SET passwordHash = :hash, updatedAt = :now, emailVerified = :true ADD tokenEpoch :one, version :one",
    )
    .condition("email = :email AND attribute_not_exists(deletedAt)")
    .value(":hash", s(hash))
    .value(":now", s(shared::domain::now_rfc3339()))
    // Receiving the code proves the address.
    .value(":true", AttributeValue::Bool(true))
    .value(":one", n(1))
    .value(":email", s(&token.email));
    let mut tx = Transaction::new();
    tx.push(one_time::spend(&state.store, &token)?)
        .named("code");
    tx.push(state.store.transact_update(change)?).named("user");
    match state.store.transact(tx).await {
        Ok(()) => {
            tracing::info!(user_id = %token.user_id, "password reset; all sessions ended");
            let details = serde_json::json!({ "ip": client.ip, "userAgent": client.user_agent });
            audit::record_user_event(
                &state.store,
                &token.user_id,
                &Actor::Anonymous,
                AuditAction::PasswordReset,
                Some(details),
            )
            .await;
            Ok(ApiResponse::ok(PasswordChanged {
                password_changed: true,
            }))
        }
        Err(err) if err.condition_failed("code") || err.condition_failed("user") => Err(invalid()),
        Err(err) => Err(err.into()),
    }
}
