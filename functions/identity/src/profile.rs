//! The signed-in user's own account: read, update, erase.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems, StepContext,
};
use shared::store::{StoreError, Transaction, Update, n, s};
use utoipa::ToSchema;

use crate::IdentityState;
use crate::password;
use crate::user::{Preferences, UserRecord, UserView, email_key, user_key};

const MAX_NAME_CHARS: usize = 100;

/// The signed-in user's account; 401 if it was erased after the token was issued.
pub(crate) async fn current_user(
    state: &IdentityState,
    principal: &Principal,
) -> ApiResult<UserRecord> {
    let (pk, sk) = user_key(&principal.user_id);
    state
        .store
        .get::<UserRecord>(&pk, sk)
        .await?
        // A valid token for an account that no longer exists.
        .filter(UserRecord::is_active)
        .ok_or_else(|| {
            ApiError::unauthenticated("the account of this access token no longer exists")
        })
}

fn with_etag(user: UserRecord) -> ApiResponse<UserView> {
    let etag = HeaderValue::from_str(&user.etag()).expect("an ETag is ASCII");
    ApiResponse::ok(UserView::from(user)).header(header::ETAG, etag)
}

/// The account of the user the access token belongs to.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account; the ETag header is its version", body = Envelope<UserView>),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn me(
    State(state): State<IdentityState>,
    principal: Principal,
) -> ApiResult<ApiResponse<UserView>> {
    Ok(with_etag(current_user(&state, &principal).await?))
}

/// Only these fields can change here: `email`, `role` or `emailVerified`
/// in the body is a 422 naming it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateProfile {
    #[schema(
        example = "Ada King",
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?\s*$"
    )]
    name: Option<String>,
    /// E.164, e.g. `+351912345678` (spaces and dashes are ignored); `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^[ -]*\+[ -]*[1-9]([ -]*[0-9]){7,14}[ -]*$")]
    phone: Option<Option<String>>,
    preferences: Option<Preferences>,
}

/// Tells a missing field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

struct ProfileChange {
    name: Option<String>,
    phone: Option<Option<String>>,
    preferences: Option<Preferences>,
}

fn valid_phone(raw: &str) -> bool {
    let digits = raw.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

fn valid_language(tag: &str) -> bool {
    (2..=35).contains(&tag.len())
        && tag.split('-').all(|part| {
            !part.is_empty() && part.len() <= 8 && part.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

impl TryFrom<UpdateProfile> for ProfileChange {
    type Error = ApiError;

    fn try_from(request: UpdateProfile) -> Result<Self, ApiError> {
        let mut fields = Problems::default();
        let mut fail = |field: &str, message: &str| fields.add(field, message);
        let name = request.name.map(|n| n.trim().to_owned());
        if let Some(name) = &name
            && (name.is_empty()
                || name.chars().count() > MAX_NAME_CHARS
                || name.chars().any(char::is_control))
        {
            fail(
                "name",
                "must be 1 to 100 characters, without control characters",
            );
        }
        let phone = request.phone.map(|p| p.map(|p| p.replace([' ', '-'], "")));
        if let Some(Some(phone)) = &phone
            && !valid_phone(phone)
        {
            fail(
                "phone",
                "must be an international number such as +351912345678",
            );
        }
        if let Some(preferences) = &request.preferences {
            if preferences
                .language
                .as_deref()
                .is_some_and(|l| !valid_language(l))
            {
                fail(
                    "preferences.language",
                    "must be a language tag such as en or pt-BR",
                );
            }
            if preferences
                .currency
                .as_deref()
                .is_some_and(|c| c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()))
            {
                fail(
                    "preferences.currency",
                    "must be an ISO 4217 code such as EUR",
                );
            }
        }
        if !fields.is_empty() {
            return Err(ApiError::validation(
                "the profile has invalid fields",
                fields,
            ));
        }
        Ok(Self {
            name,
            phone,
            preferences: request.preferences,
        })
    }
}

/// The `If-Match` version, if the client sent one.
fn if_match_version(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .strip_prefix('v')
        })
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::bad_request("If-Match must be an ETag returned by GET /v1/me"))
}

/// Changes name, phone or preferences. With `If-Match`, only if the profile
/// is still at that version (else 412).
#[utoipa::path(
    patch,
    path = "/v1/me",
    tag = "identity",
    security(("bearer" = [])),
    request_body = UpdateProfile,
    params(("If-Match" = Option<String>, Header, description = "The ETag from GET /v1/me", pattern = r#"^(W/)?"?v[0-9]{1,19}"?$"#)),
    responses(
        (status = 200, description = "The updated account, with its new ETag", body = Envelope<UserView>),
        (status = 400, description = "Invalid JSON or If-Match", body = ErrorEnvelope),
        (status = 412, description = "The profile changed since that ETag", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn update_me(
    State(state): State<IdentityState>,
    principal: Principal,
    headers: HeaderMap,
    ApiJson(request): ApiJson<UpdateProfile>,
) -> ApiResult<ApiResponse<UserView>> {
    let change = ProfileChange::try_from(request)?;
    let expected_version = if_match_version(&headers)?;
    let (pk, sk) = user_key(&principal.user_id);

    let mut sets = vec!["updatedAt = :now"];
    let mut removes = Vec::new();
    let mut values = vec![
        (":now", AttributeValue::S(shared::domain::now_rfc3339())),
        (":one", AttributeValue::N("1".into())),
    ];
    let mut names = Vec::new();
    if let Some(name) = change.name {
        sets.push("#name = :name");
        names.push(("#name", "name"));
        values.push((":name", AttributeValue::S(name)));
    }
    match change.phone {
        Some(Some(phone)) => {
            sets.push("phone = :phone");
            values.push((":phone", AttributeValue::S(phone)));
        }
        Some(None) => removes.push("phone"),
        None => {}
    }
    if let Some(preferences) = change.preferences {
        sets.push("preferences = :preferences");
        let item = serde_dynamo::to_attribute_value(&preferences).map_err(ApiError::internal)?;
        values.push((":preferences", item));
    }
    let mut expression = format!("SET {} ADD version :one", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    let mut condition = "attribute_exists(PK) AND attribute_not_exists(deletedAt)".to_owned();
    if let Some(version) = expected_version {
        condition.push_str(" AND version = :expected");
        values.push((":expected", AttributeValue::N(version.to_string())));
    }
    let mut update = Update::new(pk, sk, expression).condition(condition);
    for (placeholder, attribute) in names {
        update = update.name(placeholder, attribute);
    }
    for (placeholder, value) in values {
        update = update.value(placeholder, value);
    }
    match state.store.update::<UserRecord>(update).await {
        Ok(user) => Ok(with_etag(user)),
        Err(StoreError::ConditionFailed) => {
            // Tell a stale ETag from a vanished account.
            current_user(&state, &principal).await?;
            Err(ApiError::precondition_failed(
                "the profile changed since that ETag; fetch it again",
            ))
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    /// The current password, to confirm.
    #[schema(format = Password)]
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccountDeleted {
    deleted: bool,
}

/// Erases the account: personal data is removed and the email is freed;
/// records others depend on (orders, reviews) keep the anonymous user id.
#[utoipa::path(
    delete,
    path = "/v1/me",
    tag = "identity",
    security(("bearer" = [])),
    request_body = DeleteAccount,
    responses(
        (status = 200, description = "The account is erased and signed out everywhere", body = Envelope<AccountDeleted>),
        (status = 401, description = "Missing/invalid access token or wrong password", body = ErrorEnvelope),
        (status = 409, description = "The last owner of an organization, or the account changed meanwhile", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn delete_me(
    State(state): State<IdentityState>,
    principal: Principal,
    ApiJson(request): ApiJson<DeleteAccount>,
) -> ApiResult<ApiResponse<AccountDeleted>> {
    let user = current_user(&state, &principal).await?;
    if !password::verify(request.password, Some(user.password_hash.clone()))
        .await
        .map_err(ApiError::internal)?
    {
        return Err(ApiError::unauthenticated("the password is wrong"));
    }
    // Memberships keep the member's name and email: leave every org first.
    crate::members::leave_all_orgs(&state, &user.id).await?;
    let (pk, sk) = user_key(&user.id);
    let erase = Update::new(
        pk,
        sk,
        "SET email = :empty, #name = :deleted, passwordHash = :empty, emailVerified = :false, \
         mfaEnabled = :false, deletedAt = :now, updatedAt = :now \
         ADD tokenEpoch :one, version :one REMOVE phone, preferences",
    )
    .condition("version = :version")
    .name("#name", "name")
    .value(":empty", s(""))
    .value(":deleted", s("Deleted user"))
    .value(":false", AttributeValue::Bool(false))
    .value(":now", s(shared::domain::now_rfc3339()))
    .value(":one", n(1))
    .value(":version", n(user.version as i64));
    let (marker_pk, marker_sk) = email_key(&user.email);
    let mut tx = Transaction::new();
    tx.push(state.store.transact_update(erase)?).named("user");
    tx.push(state.store.transact_delete(
        &marker_pk,
        marker_sk,
        Some("userId = :user"),
        &[(":user", s(&user.id))],
    )?)
    .named("email");
    crate::addresses::erase_user_book(&state.store, &mut tx, &user.id)
        .await
        .context("erasing the address book")?;
    crate::public_profile::erase_profile(&state.store, &mut tx, &user.id)
        .await
        .context("erasing the public profile")?;
    // The TOTP secret and recovery codes go with the account.
    let (mfa_pk, mfa_sk) = crate::mfa::mfa_key(&user.id);
    tx.push(state.store.transact_delete(&mfa_pk, mfa_sk, None, &[])?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("user") || err.condition_failed("email") => {
            return Err(ApiError::conflict(
                "the account changed meanwhile; try again",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(user_id = %user.id, "account erased");
    Ok(ApiResponse::ok(AccountDeleted { deleted: true }))
}
