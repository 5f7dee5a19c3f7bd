//! The second step of signing in to an account with two-factor sign-in.
//!
//! A right password answers with a challenge instead of tokens: a random
//! secret (only its SHA-256 is stored, as `MFA_CHALLENGE#<hash> /
//! CHALLENGE`) that is good for 5 minutes and for nothing but
//! `POST /v1/auth/login/mfa`. There, with the authenticator's code or a
//! recovery code, one transaction spends the challenge, spends the factor
//! (the code's step, or the recovery code) and starts the session, so
//! neither the challenge nor the factor works twice, even for requests
//! racing each other. Wrong codes count against the account
//! (`AUTH_LIMIT_MFA_FAILURES_PER_USER`, 5 per window) and the client's IP
//! (`AUTH_LIMIT_CODE_FAILURES_PER_IP`); over either, 429.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::audit::{self, Actor, AuditAction};
use shared::auth::tokens::{AMR_MFA, AMR_OTP, AMR_PASSWORD};
use shared::crypto::{hash_secret, new_secret};
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, ClientInfo, Envelope, ErrorEnvelope,
};
use shared::store::Transaction;
use utoipa::ToSchema;

use super::routes::{Factor, Spent, audit, check_factor};
use super::{MfaRecord, mfa_key};
use crate::IdentityState;
use crate::session::{self, SignedIn};
use crate::user::{UserRecord, user_key};

/// How long a challenge waits for its code.
pub const CHALLENGE_SECS: i64 = 5 * 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChallengeRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    user_id: String,
    expires_at: i64,
    ttl: i64,
}

fn challenge_key(secret: &str) -> (String, &'static str) {
    (
        format!("MFA_CHALLENGE#{}", hash_secret(secret)),
        "CHALLENGE",
    )
}

/// What a right password answers for an account with two-factor sign-in:
/// no tokens yet.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaChallenge {
    /// Always true: send `challenge` and a code to POST /v1/auth/login/mfa.
    pub mfa_required: bool,
    /// Single use, and only for POST /v1/auth/login/mfa.
    pub challenge: String,
    /// Seconds left to send the code.
    #[schema(example = 300)]
    pub challenge_expires_in: i64,
    /// What the second step accepts.
    #[schema(example = json!(["totp", "recovery_code"]))]
    pub methods: Vec<&'static str>,
}

/// Issues a challenge for `user`, whose password was right.
pub(crate) async fn issue(state: &IdentityState, user: &UserRecord) -> ApiResult<MfaChallenge> {
    let secret = new_secret();
    let (pk, sk) = challenge_key(&secret);
    let expires_at = shared::domain::now_epoch() + CHALLENGE_SECS;
    let record = ChallengeRecord {
        pk,
        sk: sk.to_owned(),
        item_type: "MFA_CHALLENGE".to_owned(),
        user_id: user.id.clone(),
        expires_at,
        ttl: expires_at,
    };
    state
        .store
        .put(&record, Some("attribute_not_exists(PK)"))
        .await?;
    Ok(MfaChallenge {
        mfa_required: true,
        challenge: secret,
        challenge_expires_in: CHALLENGE_SECS,
        methods: vec!["totp", "recovery_code"],
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteSignInRequest {
    /// The `challenge` of POST /v1/auth/login.
    challenge: String,
    /// The authenticator's current 6-digit code; or send `recoveryCode`.
    #[schema(example = "123456")]
    code: Option<String>,
    /// One unused recovery code, when the authenticator is lost.
    #[schema(example = "7k2m-q9xd-4hfp-a1c8")]
    recovery_code: Option<String>,
}

fn invalid_challenge() -> ApiError {
    ApiError::unauthenticated("the sign-in challenge is not valid or has expired; sign in again")
}

fn wrong_factor() -> ApiError {
    ApiError::unauthenticated("the code is wrong or was used already")
}

/// Completes a sign-in with the second factor: the authenticator's code or
/// a recovery code. Answers like POST /v1/auth/login without two-factor
/// sign-in, with tokens whose `amr` names both factors.
#[utoipa::path(
    post,
    path = "/v1/auth/login/mfa",
    tag = "identity",
    request_body = CompleteSignInRequest,
    responses(
        (status = 200, description = "Signed in: an access token and a refresh token", body = Envelope<SignedIn>),
        (status = 401, description = "The challenge is unknown, expired or used, or the code is wrong or was used already", body = ErrorEnvelope),
        (status = 422, description = "Neither or both of code and recoveryCode", body = ErrorEnvelope),
        (status = 429, description = "Too many wrong codes for this account or client; see Retry-After", body = ErrorEnvelope),
        (status = 503, description = "Two-factor sign-in is not configured on this deployment", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn complete_sign_in(
    State(state): State<IdentityState>,
    client: ClientInfo,
    ApiJson(request): ApiJson<CompleteSignInRequest>,
) -> ApiResult<ApiResponse<SignedIn>> {
    let factor = Factor::one_of(request.code, request.recovery_code)?;
    let keys = super::keys(&state)?;
    let limits = state.limits;
    let ip = client.ip_or_unknown();
    state
        .rate_limiter
        .check(limits.code_failures_per_ip, ip)
        .await?;
    let secret = request.challenge.trim();
    if secret.is_empty() || secret.len() > 128 {
        return Err(invalid_challenge());
    }
    let (challenge_pk, challenge_sk) = challenge_key(secret);
    let challenge = state
        .store
        .get::<ChallengeRecord>(&challenge_pk, challenge_sk)
        .await?
        .filter(|c| c.expires_at > shared::domain::now_epoch())
        .ok_or_else(invalid_challenge)?;
    let user_id = challenge.user_id.as_str();
    state
        .rate_limiter
        .check(limits.mfa_failures_per_user, user_id)
        .await?;
    let (user_pk, user_sk) = user_key(user_id);
    let (mfa_pk, mfa_sk) = mfa_key(user_id);
    let (user, record) = futures::try_join!(
        state.store.get::<UserRecord>(&user_pk, user_sk),
        state.store.get::<MfaRecord>(&mfa_pk, mfa_sk),
    )?;
    // Turned off, or the account erased, since the password step.
    let (Some(user), Some(record)) = (
        user.filter(|u| u.is_active() && u.mfa_enabled),
        record.filter(MfaRecord::is_enabled),
    ) else {
        return Err(invalid_challenge());
    };
    let totp_secret = match factor {
        Factor::Code(_) => Some(super::open_secret(keys, &record)?),
        Factor::RecoveryCode(_) => None,
    };
    let Some(spent) = check_factor(totp_secret.as_deref(), &record, &factor) else {
        return Err(refuse(&state, &client, user_id, &factor).await?);
    };

    let amr: &[&str] = match spent {
        Spent::Step(_) => &[AMR_PASSWORD, AMR_OTP, AMR_MFA],
        Spent::RecoveryCode { .. } => &[AMR_PASSWORD, AMR_MFA],
    };
    let (session, refresh_secret) = session::new_session(&state, &user, &client, amr);
    // A secret sealed under a key no longer active moves to the active one.
    let resealed = totp_secret
        .as_deref()
        .filter(|_| record.secret_key_id != keys.active_kid())
        .map(|secret| keys.seal(user_id, secret));
    let spend = spent.update(user_id, resealed.as_ref());
    let mut tx = Transaction::new();
    tx.push(state.store.transact_delete(
        &challenge_pk,
        challenge_sk,
        Some("attribute_exists(PK)"),
        &[],
    )?)
    .named("challenge");
    tx.push(state.store.transact_update(spend)?).named("factor");
    tx.push(
        state
            .store
            .transact_put(&session, Some("attribute_not_exists(PK)"))?,
    );
    if let Spent::RecoveryCode { left, .. } = &spent {
        let details = serde_json::json!({
            "recoveryCodesLeft": left, "purpose": "sign_in",
            "ip": client.ip, "userAgent": client.user_agent,
        });
        tx.push(
            audit(user_id, AuditAction::MfaRecoveryCodeUsed, Some(details))
                .transact_item(&state.store)?,
        );
    }
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("challenge") => return Err(invalid_challenge()),
        // The factor was spent a moment ago by a concurrent request.
        Err(err) if err.condition_failed("factor") => {
            return Err(refuse(&state, &client, user_id, &factor).await?);
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(
        user_id,
        factor = factor.name(),
        "signed in with a second factor"
    );
    Ok(ApiResponse::ok(session::signed_in(
        &state,
        user,
        &session,
        &refresh_secret,
    )?))
}

/// A wrong or spent code: counted against the account and the IP, in the
/// account's trail, 401.
async fn refuse(
    state: &IdentityState,
    client: &ClientInfo,
    user_id: &str,
    factor: &Factor,
) -> ApiResult<ApiError> {
    let limits = state.limits;
    state
        .rate_limiter
        .failed(limits.mfa_failures_per_user, user_id)
        .await?;
    state
        .rate_limiter
        .failed(limits.code_failures_per_ip, client.ip_or_unknown())
        .await?;
    tracing::info!(
        user_id,
        factor = factor.name(),
        "sign-in refused: wrong second factor"
    );
    let details = serde_json::json!({
        "factor": factor.name(), "ip": client.ip, "userAgent": client.user_agent,
    });
    audit::record_user_event(
        &state.store,
        user_id,
        &Actor::Anonymous,
        AuditAction::LoginFailed,
        Some(details),
    )
    .await;
    Ok(wrong_factor())
}
