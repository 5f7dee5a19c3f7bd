//! `POST /v1/auth/register`: create an account.

use axum::extract::State;
use serde::Deserialize;
use shared::domain::{Email, new_id};
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, ClientInfo, Envelope, ErrorEnvelope, Problems,
    StepContext,
};
use shared::store::Transaction;
use utoipa::ToSchema;

use crate::password::{self, NewPassword};
use crate::user::{EmailMarker, UserRecord, UserView};
use crate::{IdentityState, verification};

const MAX_NAME_CHARS: usize = 100;

/// Only these fields: anything else in the body (`role`, `id`, ...) is a
/// 422 naming it, so a client cannot assign itself privileges.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(value_type = shared::domain::Email)]
    email: String,
    /// 10 to 256 characters, not a common password, not the email.
    #[schema(example = "correct horse battery staple", format = Password, min_length = 10, max_length = 256)]
    password: String,
    #[schema(
        example = "Ada Lovelace",
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?\s*$"
    )]
    name: String,
}

/// A registration whose every field is valid.
struct Registration {
    email: Email,
    password: NewPassword,
    name: String,
}

impl TryFrom<RegisterRequest> for Registration {
    type Error = ApiError;

    fn try_from(request: RegisterRequest) -> Result<Self, Self::Error> {
        let mut fields = Problems::default();
        let email = Email::parse(&request.email)
            .map_err(|e| fields.add("email", e.to_string()))
            .ok();
        let password = NewPassword::parse(&request.password, Some(request.email.trim()))
            .map_err(|e| fields.add("password", e))
            .ok();
        let name = request.name.trim().to_owned();
        if name.is_empty() {
            fields.add("name", "is required");
        } else if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            fields.add(
                "name",
                "must be at most 100 characters, without control characters",
            );
        }
        match (email, password) {
            (Some(email), Some(password)) if fields.is_empty() => Ok(Self {
                email,
                password,
                name,
            }),
            _ => Err(ApiError::validation(
                "the registration has invalid fields",
                fields,
            )),
        }
    }
}

/// Creates a customer account and mails a code to verify the address.
/// The email must not be registered yet.
#[utoipa::path(
    post,
    path = "/v1/auth/register",
    tag = "identity",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The account was created", body = Envelope<UserView>),
        (status = 409, description = "The email is already registered", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
        (status = 429, description = "Too many registrations from this client or for this email; see Retry-After", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn register(
    State(state): State<IdentityState>,
    client: ClientInfo,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> ApiResult<ApiResponse<UserView>> {
    state
        .rate_limiter
        .hit(state.limits.registrations_per_ip, client.ip_or_unknown())
        .await
        .context("counting registrations per IP")?;
    let registration = Registration::try_from(request)?;
    state
        .rate_limiter
        .hit(
            state.limits.registrations_per_email,
            registration.email.as_str(),
        )
        .await
        .context("counting registrations per email")?;
    let password_hash = password::hash(registration.password)
        .await
        .map_err(ApiError::internal)?;
    let user = UserRecord::new(
        new_id(),
        registration.email.to_string(),
        registration.name,
        password_hash,
    );
    let marker = EmailMarker::new(&user.email, &user.id);

    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put(&user, Some("attribute_not_exists(PK)"))?,
    );
    tx.push(
        state
            .store
            .transact_put(&marker, Some("attribute_not_exists(PK)"))?,
    )
    .named("email");
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("email") => {
            return Err(ApiError::conflict_on(
                "email",
                "an account with this email already exists",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(user_id = %user.id, "account registered");
    verification::send_code(&state, &user)
        .await
        .context("sending the verification code")?;
    Ok(ApiResponse::created(user.into()))
}
