//! The signed-in person's two-factor sign-in: status, set-up (start, then
//! confirm with a first code), new recovery codes, and turning it off.
//! Each change that matters is audited in its own transaction; the stream
//! emails the person from the event.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::audit::{Actor, AuditAction, AuditEvent, AuditScope};
use shared::auth::Principal;
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{StoreError, Transaction, Update, Value as AttributeValue, n, s};
use utoipa::ToSchema;

use super::{MfaRecord, MfaState, MfaStatusView, PENDING_SECS, mfa_key, totp};
use crate::user::{UserRecord, user_key};
use crate::{IdentityState, password, profile};

/// The state of the caller's two-factor sign-in.
#[utoipa::path(
    get,
    path = "/v1/me/mfa",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Whether sign-in takes a second factor, since when, and how many recovery codes are left", body = Envelope<MfaStatusView>),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn mfa_status(
    State(state): State<IdentityState>,
    principal: Principal,
) -> ApiResult<ApiResponse<MfaStatusView>> {
    let user = profile::current_user(&state, &principal).await?;
    let record = super::find(&state, &user.id).await?;
    Ok(ApiResponse::ok(MfaStatusView::of(record.as_ref())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartTotpRequest {
    /// The current password: a stolen access token alone cannot tie the
    /// account to someone else's authenticator.
    #[schema(format = Password)]
    password: String,
}

/// What the authenticator app needs; shown once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// The shared secret, base32 (for typing into the app by hand).
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    secret: String,
    /// The same as an `otpauth://` URI, for a QR code.
    #[schema(
        example = "otpauth://totp/Bodega:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Bodega&algorithm=SHA1&digits=6&period=30"
    )]
    otpauth_uri: String,
    /// Seconds left to confirm with a first code.
    #[schema(example = 900)]
    expires_in: i64,
}

/// The password, checked like a sign-in: wrong ones count against the
/// account's sign-in failures.
async fn check_password(state: &IdentityState, user: &UserRecord, given: String) -> ApiResult<()> {
    let limit = state.limits.login_failures_per_email;
    state.rate_limiter.check(limit, &user.email).await?;
    let right = password::verify(given, Some(user.password_hash.clone()))
        .await
        .map_err(ApiError::internal)?;
    if !right {
        state.rate_limiter.failed(limit, &user.email).await?;
        return Err(ApiError::unauthenticated("the password is wrong"));
    }
    Ok(())
}

/// Starts setting up an authenticator app: a new secret, shown once, that
/// a first code confirms (`POST /v1/me/mfa/totp/confirm`) within 15
/// minutes. Starting again replaces a set-up not yet confirmed.
#[utoipa::path(
    post,
    path = "/v1/me/mfa/totp",
    tag = "identity",
    security(("bearer" = [])),
    request_body = StartTotpRequest,
    responses(
        (status = 201, description = "The secret and its otpauth:// URI; nothing changes until a code confirms it", body = Envelope<TotpEnrolment>),
        (status = 401, description = "The password is wrong", body = ErrorEnvelope),
        (status = 409, description = "Two-factor sign-in is already on", body = ErrorEnvelope),
        (status = 429, description = "Too many wrong passwords; see Retry-After", body = ErrorEnvelope),
        (status = 503, description = "Two-factor sign-in is not configured on this deployment", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn start_totp_enrolment(
    State(state): State<IdentityState>,
    principal: Principal,
    ApiJson(request): ApiJson<StartTotpRequest>,
) -> ApiResult<ApiResponse<TotpEnrolment>> {
    let keys = super::keys(&state)?;
    let user = profile::current_user(&state, &principal).await?;
    check_password(&state, &user, request.password).await?;
    let secret = totp::new_secret();
    let sealed = keys.seal(&user.id, &secret);
    let expires_at = shared::domain::now_epoch() + PENDING_SECS;
    let (pk, sk) = mfa_key(&user.id);
    let record = MfaRecord {
        pk,
        sk: sk.to_owned(),
        item_type: super::MFA_TYPE.to_owned(),
        user_id: user.id.clone(),
        status: MfaState::Pending,
        secret_key_id: sealed.kid,
        secret_ciphertext: sealed.data,
        last_used_step: 0,
        recovery_codes: Vec::new(),
        created_at: shared::domain::now_rfc3339(),
        enrolled_at: None,
        expires_at: Some(expires_at),
        ttl: Some(expires_at),
    };
    // Replaces a pending set-up; an enabled one has `enrolledAt`.
    match state
        .store
        .put(&record, Some("attribute_not_exists(enrolledAt)"))
        .await
    {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => {
            return Err(ApiError::conflict(
                "two-factor sign-in is already on; turn it off first (DELETE /v1/me/mfa)",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(user_id = %user.id, "TOTP set-up started");
    Ok(ApiResponse::ok(TotpEnrolment {
        otpauth_uri: totp::otpauth_uri(super::ISSUER, &user.email, &secret),
        secret: totp::base32(&secret),
        expires_in: PENDING_SECS,
    })
    .with_status(StatusCode::CREATED))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCodeRequest {
    /// The 6-digit code the authenticator app shows now.
    #[schema(example = "123456", pattern = r"^\s*[0-9](\s*[0-9]){5}\s*$")]
    code: String,
}

/// The recovery codes: shown once, stored only as hashes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    /// Sign-in takes a second factor.
    enabled: bool,
    #[schema(example = "2026-11-27T01:10:00Z")]
    enrolled_at: String,
    /// Each works once, in place of a code, when the authenticator is lost.
    #[schema(example = json!(["7k2m-q9xd-4hfp-a1c8"]))]
    recovery_codes: Vec<String>,
}

fn wrong_code() -> ApiError {
    ApiError::invalid_field(
        "code",
        "is not the authenticator's current code, or was used already",
    )
}

/// A wrong code: counted against the account, audited, 422.
async fn refuse_code(state: &IdentityState, user_id: &str, factor: &str) -> ApiResult<ApiError> {
    state
        .rate_limiter
        .failed(state.limits.mfa_failures_per_user, user_id)
        .await?;
    tracing::info!(user_id, factor, "wrong second-factor code");
    Ok(wrong_code())
}

fn string_set(values: Vec<String>) -> AttributeValue {
    AttributeValue::Ss(values)
}

/// Turns two-factor sign-in on with a first code from the app, and answers
/// with ten recovery codes (shown once).
#[utoipa::path(
    post,
    path = "/v1/me/mfa/totp/confirm",
    tag = "identity",
    security(("bearer" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 200, description = "Two-factor sign-in is on; the recovery codes are shown this once", body = Envelope<RecoveryCodes>),
        (status = 409, description = "No set-up waits for a code (none started, expired, or already confirmed)", body = ErrorEnvelope),
        (status = 422, description = "The code is not the app's current one", body = ErrorEnvelope),
        (status = 429, description = "Too many wrong codes; see Retry-After", body = ErrorEnvelope),
        (status = 503, description = "Two-factor sign-in is not configured on this deployment", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn confirm_totp_enrolment(
    State(state): State<IdentityState>,
    principal: Principal,
    ApiJson(request): ApiJson<TotpCodeRequest>,
) -> ApiResult<ApiResponse<RecoveryCodes>> {
    let keys = super::keys(&state)?;
    let user = profile::current_user(&state, &principal).await?;
    let limit = state.limits.mfa_failures_per_user;
    state.rate_limiter.check(limit, &user.id).await?;
    let record = super::find(&state, &user.id)
        .await?
        .filter(MfaRecord::is_live_pending)
        .ok_or_else(|| {
            ApiError::conflict("no set-up waits for a code: start one with POST /v1/me/mfa/totp")
        })?;
    let secret = super::open_secret(keys, &record)?;
    let Some(step) = super::accepted_step(&secret, &record, &request.code) else {
        return Err(refuse_code(&state, &user.id, "totp").await?);
    };
    let (codes, hashes) = super::new_recovery_codes(&user.id);
    let now = shared::domain::now_rfc3339();
    let (pk, sk) = mfa_key(&user.id);
    let enable = Update::new(
        pk,
        sk,
        "SET #status = :enabled, enrolledAt = :now, lastUsedStep = :step, recoveryCodes = :codes \
         REMOVE expiresAt, #ttl",
    )
    // A set-up started again meanwhile has another secret: this code is not its.
    .condition("attribute_not_exists(enrolledAt) AND secretCiphertext = :sealed")
    .name("#status", "status")
    .name("#ttl", "ttl")
    .value(":enabled", s("enabled"))
    .value(":now", s(&now))
    .value(":step", n(step))
    .value(":codes", string_set(hashes))
    .value(":sealed", s(&record.secret_ciphertext));
    let mut tx = Transaction::new();
    tx.push(state.store.transact_update(enable)?).named("mfa");
    tx.push(
        state
            .store
            .transact_update(set_mfa_enabled(&user.id, true))?,
    )
    .named("user");
    tx.push(audit(&user.id, AuditAction::MfaEnabled, None).transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("mfa") || err.condition_failed("user") => {
            return Err(ApiError::conflict(
                "the set-up changed meanwhile: start again with POST /v1/me/mfa/totp",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(user_id = %user.id, "two-factor sign-in turned on");
    Ok(ApiResponse::ok(RecoveryCodes {
        enabled: true,
        enrolled_at: now,
        recovery_codes: codes,
    }))
}

/// `SET mfaEnabled` on the user, while the account exists.
pub(crate) fn set_mfa_enabled(user_id: &str, enabled: bool) -> Update {
    let (pk, sk) = user_key(user_id);
    Update::new(pk, sk, "SET mfaEnabled = :enabled")
        .condition("attribute_exists(PK) AND attribute_not_exists(deletedAt)")
        .value(":enabled", AttributeValue::Bool(enabled))
}

/// An event of the person's own trail, by themselves.
pub(crate) fn audit(
    user_id: &str,
    action: AuditAction,
    details: Option<serde_json::Value>,
) -> AuditEvent {
    let mut event = AuditEvent::new(
        &AuditScope::User(user_id.to_owned()),
        &Actor::User(user_id.to_owned()),
        action,
    )
    .target(format!("user:{user_id}"));
    event.details = details;
    event
}

/// The enabled MFA item of `user`, or 409.
async fn enabled_record(state: &IdentityState, user_id: &str) -> ApiResult<MfaRecord> {
    super::find(state, user_id)
        .await?
        .filter(MfaRecord::is_enabled)
        .ok_or_else(|| ApiError::conflict("two-factor sign-in is not on"))
}

/// Replaces the recovery codes with ten new ones (shown once); the old ones
/// stop working. Takes the authenticator's current code.
#[utoipa::path(
    post,
    path = "/v1/me/mfa/recovery-codes",
    tag = "identity",
    security(("bearer" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 200, description = "New recovery codes, shown this once; the old ones no longer work", body = Envelope<RecoveryCodes>),
        (status = 409, description = "Two-factor sign-in is not on", body = ErrorEnvelope),
        (status = 422, description = "The code is not the app's current one, or was used already", body = ErrorEnvelope),
        (status = 429, description = "Too many wrong codes; see Retry-After", body = ErrorEnvelope),
        (status = 503, description = "Two-factor sign-in is not configured on this deployment", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn regenerate_recovery_codes(
    State(state): State<IdentityState>,
    principal: Principal,
    ApiJson(request): ApiJson<TotpCodeRequest>,
) -> ApiResult<ApiResponse<RecoveryCodes>> {
    let keys = super::keys(&state)?;
    let user = profile::current_user(&state, &principal).await?;
    state
        .rate_limiter
        .check(state.limits.mfa_failures_per_user, &user.id)
        .await?;
    let record = enabled_record(&state, &user.id).await?;
    let secret = super::open_secret(keys, &record)?;
    let Some(step) = super::accepted_step(&secret, &record, &request.code) else {
        return Err(refuse_code(&state, &user.id, "totp").await?);
    };
    let (codes, hashes) = super::new_recovery_codes(&user.id);
    let (pk, sk) = mfa_key(&user.id);
    let replace = Update::new(pk, sk, "SET recoveryCodes = :codes, lastUsedStep = :step")
        .condition("attribute_exists(enrolledAt) AND lastUsedStep < :step")
        .value(":step", n(step))
        .value(":codes", string_set(hashes));
    let mut tx = Transaction::new();
    tx.push(state.store.transact_update(replace)?).named("mfa");
    tx.push(
        audit(&user.id, AuditAction::MfaRecoveryCodesRegenerated, None)
            .transact_item(&state.store)?,
    );
    match state.store.transact(tx).await {
        Ok(()) => {}
        // The same code, accepted by a concurrent request a moment ago.
        Err(err) if err.condition_failed("mfa") => {
            return Err(refuse_code(&state, &user.id, "totp").await?);
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(user_id = %user.id, "recovery codes replaced");
    Ok(ApiResponse::ok(RecoveryCodes {
        enabled: true,
        enrolled_at: record.enrolled_at.unwrap_or_default(),
        recovery_codes: codes,
    }))
}

/// Turning two-factor sign-in off: the password and one second factor.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveMfaRequest {
    #[schema(format = Password)]
    password: String,
    /// The authenticator's current code; or send `recoveryCode` instead.
    #[schema(example = "123456")]
    code: Option<String>,
    /// One unused recovery code, when the authenticator is lost.
    #[schema(example = "7k2m-q9xd-4hfp-a1c8")]
    recovery_code: Option<String>,
}

/// The second factor a request presents: exactly one of a code and a
/// recovery code.
pub(crate) enum Factor {
    Code(String),
    RecoveryCode(String),
}

impl Factor {
    pub(crate) fn one_of(code: Option<String>, recovery_code: Option<String>) -> ApiResult<Self> {
        match (code, recovery_code) {
            (Some(code), None) => Ok(Factor::Code(code)),
            (None, Some(recovery)) => Ok(Factor::RecoveryCode(recovery)),
            _ => Err(ApiError::validation(
                "send either code or recoveryCode",
                shared::http::FieldErrors::from([(
                    "code".to_owned(),
                    vec!["send either code or recoveryCode, not both or neither".to_owned()],
                )]),
            )),
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Factor::Code(_) => "totp",
            Factor::RecoveryCode(_) => "recovery_code",
        }
    }
}

/// A second factor that checked out, before it is spent: the write that
/// spends it holds only while it is unspent, so of two requests racing
/// with one code (or one recovery code) only one gets through.
pub(crate) enum Spent {
    /// An authenticator code of this step: `lastUsedStep` moves to it.
    Step(i64),
    /// A recovery code with this hash: it leaves the set.
    RecoveryCode { hash: String, left: usize },
}

impl Spent {
    /// The condition on the enabled MFA item under which the factor is
    /// still unspent, and its values.
    pub(crate) fn condition(&self) -> (&'static str, Vec<(&'static str, AttributeValue)>) {
        match self {
            Spent::Step(step) => (
                "attribute_exists(enrolledAt) AND lastUsedStep < :step",
                vec![(":step", n(*step))],
            ),
            Spent::RecoveryCode { hash, .. } => (
                "attribute_exists(enrolledAt) AND contains(recoveryCodes, :hash)",
                vec![(":hash", s(hash))],
            ),
        }
    }

    /// The update that spends it on the MFA item; a code's may also store
    /// the secret sealed anew (`reseal`, after a key rotation).
    pub(crate) fn update(&self, user_id: &str, reseal: Option<&super::cipher::Sealed>) -> Update {
        let (pk, sk) = mfa_key(user_id);
        let (condition, values) = self.condition();
        let mut update = match self {
            Spent::Step(_) => match reseal {
                Some(sealed) => Update::new(
                    pk,
                    sk,
                    "SET lastUsedStep = :step, secretKeyId = :kid, secretCiphertext = :sealed",
                )
                .value(":kid", s(&sealed.kid))
                .value(":sealed", s(&sealed.data)),
                None => Update::new(pk, sk, "SET lastUsedStep = :step"),
            },
            Spent::RecoveryCode { hash, .. } => Update::new(pk, sk, "DELETE recoveryCodes :spent")
                .value(":spent", string_set(vec![hash.clone()])),
        }
        .condition(condition);
        for (placeholder, value) in values {
            update = update.value(placeholder, value);
        }
        update
    }
}

/// Checks `factor` against `record`; `None` when it is wrong or spent.
pub(crate) fn check_factor(
    secret: Option<&[u8]>,
    record: &MfaRecord,
    factor: &Factor,
) -> Option<Spent> {
    match factor {
        Factor::Code(code) => super::accepted_step(secret?, record, code).map(Spent::Step),
        Factor::RecoveryCode(code) => {
            record
                .recovery_code_hash(code)
                .map(|hash| Spent::RecoveryCode {
                    hash,
                    left: record.recovery_codes.len().saturating_sub(1),
                })
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaRemoved {
    /// Always false: sign-in takes the password only.
    enabled: bool,
}

/// Turns two-factor sign-in off. Takes the password and the authenticator's
/// current code or an unused recovery code.
#[utoipa::path(
    delete,
    path = "/v1/me/mfa",
    tag = "identity",
    security(("bearer" = [])),
    request_body = RemoveMfaRequest,
    responses(
        (status = 200, description = "Two-factor sign-in is off; its secret and recovery codes are deleted", body = Envelope<MfaRemoved>),
        (status = 401, description = "The password is wrong", body = ErrorEnvelope),
        (status = 409, description = "Two-factor sign-in is not on", body = ErrorEnvelope),
        (status = 422, description = "Neither or both of code and recoveryCode, or the one sent is wrong or used", body = ErrorEnvelope),
        (status = 429, description = "Too many wrong passwords or codes; see Retry-After", body = ErrorEnvelope),
        (status = 503, description = "Two-factor sign-in is not configured on this deployment", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn remove_mfa(
    State(state): State<IdentityState>,
    principal: Principal,
    ApiJson(request): ApiJson<RemoveMfaRequest>,
) -> ApiResult<ApiResponse<MfaRemoved>> {
    let factor = Factor::one_of(request.code, request.recovery_code)?;
    let keys = super::keys(&state)?;
    let user = profile::current_user(&state, &principal).await?;
    check_password(&state, &user, request.password).await?;
    state
        .rate_limiter
        .check(state.limits.mfa_failures_per_user, &user.id)
        .await?;
    let record = enabled_record(&state, &user.id).await?;
    let secret = match factor {
        Factor::Code(_) => Some(super::open_secret(keys, &record)?),
        Factor::RecoveryCode(_) => None,
    };
    let Some(spent) = check_factor(secret.as_deref(), &record, &factor) else {
        return Err(refuse_code(&state, &user.id, factor.name()).await?);
    };
    let (pk, sk) = mfa_key(&user.id);
    let (condition, values) = spent.condition();
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_delete(&pk, sk, Some(condition), &values)?,
    )
    .named("mfa");
    tx.push(
        state
            .store
            .transact_update(set_mfa_enabled(&user.id, false))?,
    )
    .named("user");
    if matches!(spent, Spent::RecoveryCode { .. }) {
        let details = serde_json::json!({ "purpose": "turn_off" });
        tx.push(
            audit(&user.id, AuditAction::MfaRecoveryCodeUsed, Some(details))
                .transact_item(&state.store)?,
        );
    }
    let details = serde_json::json!({ "factor": factor.name() });
    tx.push(audit(&user.id, AuditAction::MfaDisabled, Some(details)).transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("mfa") => {
            return Err(refuse_code(&state, &user.id, factor.name()).await?);
        }
        Err(err) if err.condition_failed("user") => {
            return Err(ApiError::unauthenticated(
                "the account of this access token no longer exists",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(user_id = %user.id, "two-factor sign-in turned off");
    Ok(ApiResponse::ok(MfaRemoved { enabled: false }))
}
