//! The one error type every handler returns, and its place in the envelope.
//!
//! Each context keeps its own error enums for its operations and converts them
//! into `ApiError`; this is where a code meets its HTTP status. A 5xx never
//! shows its cause to the client: the cause is logged with the request id.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::envelope::Meta;

/// Machine-readable error codes of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationFailed,
    Unauthenticated,
    Forbidden,
    /// 403: the organization requires its owners and admins to sign in with
    /// a second factor, and this access token's sign-in took none.
    MfaRequired,
    NotFound,
    MethodNotAllowed,
    Conflict,
    /// 402: the payment provider refused the payment (a declined card).
    PaymentFailed,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Unavailable,
    Internal,
}

/// Field name → messages, for validation errors the client can show per input.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    fields: FieldErrors,
    details: Option<serde_json::Value>,
    retry_after_secs: Option<u64>,
    /// The cause of a 5xx, for the log only.
    source: Option<anyhow::Error>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

pub type ApiResult<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: FieldErrors::new(),
            details: None,
            retry_after_secs: None,
            source: None,
        }
    }

    /// 400: the request cannot be read at all (malformed JSON, bad cursor).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ValidationFailed,
            message,
        )
    }

    /// 422: the request was read but its values break the rules.
    pub fn validation(message: impl Into<String>, fields: impl Into<FieldErrors>) -> Self {
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            message,
        );
        err.fields = fields.into();
        err
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let fields = FieldErrors::from([(field.to_owned(), vec![message.clone()])]);
        Self::validation(format!("{field}: {message}"), fields)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            message,
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    /// 403 `MFA_REQUIRED`: sign in again with a second factor.
    pub fn mfa_required(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::MfaRequired, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            message,
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
    }

    /// 409 that names the field in conflict (a taken email, a duplicate SKU).
    pub fn conflict_on(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut err = Self::conflict(message.clone());
        err.fields.insert(field.to_owned(), vec![message]);
        err
    }

    /// 402: the payment provider refused; `message` is the provider's,
    /// meant for the customer ("Your card was declined.").
    pub fn payment_failed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYMENT_REQUIRED,
            ErrorCode::PaymentFailed,
            message,
        )
    }

    pub fn precondition_failed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            ErrorCode::PreconditionFailed,
            message,
        )
    }

    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            message,
        )
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            message,
        )
    }

    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            message,
        );
        err.retry_after_secs = Some(retry_after_secs);
        err
    }

    /// 503: a dependency did not answer; the client may retry.
    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "the service is temporarily unavailable, please retry shortly",
        );
        err.retry_after_secs = Some(1);
        err.source = Some(source.into());
        err
    }

    /// 500: something we did not expect. The client sees only the request id.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error",
        );
        err.source = Some(source.into());
        err
    }

    /// Names the step that failed, for the log line of a 5xx (`"reserving
    /// stock: <cause>"`); a 4xx is the client's and is left as it is.
    pub fn context(mut self, step: &'static str) -> Self {
        if let Some(source) = self.source.take() {
            self.source = Some(source.context(step));
        }
        self
    }

    /// Structured details a client may use (e.g. which dependency is down).
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn fields(&self) -> &FieldErrors {
        &self.fields
    }
}

/// The error part of the envelope, as the client sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// Per-field messages, present on validation errors and field conflicts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: FieldErrors,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// `{"success": false, "error": {...}, "meta": {...}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always false.
    pub success: bool,
    pub error: ErrorBody,
    pub meta: Meta,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(source) => {
                    tracing::error!(status = self.status.as_u16(), error = ?source, "request failed")
                }
                None => {
                    tracing::error!(status = self.status.as_u16(), message = %self.message, "request failed")
                }
            }
        }
        let body = ErrorEnvelope {
            success: false,
            error: ErrorBody {
                code: self.code,
                message: self.message,
                fields: self.fields,
                details: self.details,
            },
            meta: Meta::now(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The store knows nothing of HTTP: its errors become API errors here.
impl From<crate::store::QueryError> for ApiError {
    fn from(err: crate::store::QueryError) -> Self {
        match err {
            crate::store::QueryError::InvalidCursor(e) => ApiError::bad_request(e.to_string()),
            crate::store::QueryError::Store(e) => e.into(),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match err {
            StoreError::ConditionFailed => {
                Self::conflict("the resource was changed by another request")
            }
            StoreError::TransactionCanceled(reasons)
                if reasons.iter().any(|r| r.is_throttled()) =>
            {
                Self::unavailable(anyhow::anyhow!("transaction throttled: {reasons:?}"))
            }
            StoreError::TransactionCanceled(_) => {
                Self::conflict("the resource was changed by another request")
            }
            StoreError::Unavailable(source) => Self::unavailable(source),
            StoreError::Corrupt(source) | StoreError::Other(source) => Self::internal(source),
        }
    }
}

/// `.context("step")` on any result whose error becomes an [`ApiError`]: the
/// log line of a 5xx then says which step of a multi-step handler failed.
pub trait StepContext<T> {
    fn context(self, step: &'static str) -> ApiResult<T>;
}

impl<T, E: Into<ApiError>> StepContext<T> for Result<T, E> {
    fn context(self, step: &'static str) -> ApiResult<T> {
        self.map_err(|err| err.into().context(step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn validation_error_lists_fields_in_the_envelope() {
        let response = ApiError::invalid_field("email", "is not an email address").into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = body_json(response).await;
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["code"], "VALIDATION_FAILED");
        assert_eq!(
            body["error"]["fields"]["email"][0],
            "is not an email address"
        );
        assert!(body["meta"]["timestamp"].is_string());
    }

    #[tokio::test]
    async fn internal_error_hides_its_cause() {
        let response = ApiError::internal(anyhow::anyhow!("secret table name")).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = body_json(response).await.to_string();
        assert!(!text.contains("secret table name"), "{text}");
        assert!(text.contains("INTERNAL"));
    }

    #[tokio::test]
    async fn rate_limited_and_unavailable_carry_retry_after() {
        let response = ApiError::rate_limited("slow down", 42).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
        let response = ApiError::unavailable(anyhow::anyhow!("down")).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn context_names_the_step_of_a_5xx_and_leaves_a_4xx_alone() {
        let failed: Result<(), ApiError> = Err(ApiError::internal(anyhow::anyhow!("timed out")));
        let err = failed.context("reserving stock").unwrap_err();
        let source = format!("{:#}", err.source.as_ref().unwrap());
        assert_eq!(source, "reserving stock: timed out");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let refused: Result<(), ApiError> = Err(ApiError::conflict("taken"));
        let err = refused.context("reserving stock").unwrap_err();
        assert!(err.source.is_none());
        assert_eq!(err.message(), "taken");
    }
}
