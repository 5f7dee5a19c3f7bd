//! The HTTP side every context shares: the envelope, errors, request ids, the
//! JSON body extractor and the layers that wrap a context's routes.

pub mod client;
pub mod envelope;
pub mod error;
pub mod precondition;
pub mod problems;
pub mod request_id;
pub mod routing;
pub mod security_headers;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::{Method, Uri};
use serde::de::DeserializeOwned;

pub use client::ClientInfo;
pub use envelope::{ApiResponse, Envelope, Meta, Pagination};
pub use error::{
    ApiError, ApiResult, ErrorBody, ErrorCode, ErrorEnvelope, FieldErrors, StepContext,
};
pub use precondition::{etag, if_match};
pub use problems::Problems;
pub use routing::RouteSink;

/// The largest JSON body any endpoint accepts. Uploads go straight to S3 with
/// presigned URLs, so nothing legitimate comes close.
pub const MAX_JSON_BODY_BYTES: usize = 256 * 1024;

/// Wraps the routes of one or more contexts into the service Lambda (or the
/// devserver) runs: envelope 404/405 for unknown routes, the body limit,
/// request ids with an access log line, the security headers, and the
/// request's deadline ([`crate::deadline`]): work that runs past it stops
/// and the answer is a 503 with `Retry-After`.
///
/// Context crates return bare routes so the devserver can merge them before
/// this is applied once.
pub fn service(routes: Router) -> Router {
    routes
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES))
        .layer(axum::middleware::from_fn(request_deadline))
        .layer(axum::middleware::from_fn(request_id::middleware))
        .layer(axum::middleware::from_fn(security_headers::middleware))
}

/// Sets the request's deadline from the Lambda invocation's (the default
/// budget outside Lambda). The store stops DynamoDB calls at it and names
/// the call; anything else still running a moment later (S3, a payment
/// provider) is stopped here, and the answer is a 503 all the same.
async fn request_deadline(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use lambda_http::RequestExt;
    // A context without a deadline (0: a sample event invoked by hand, not
    // by Lambda) has the default budget, like a request outside Lambda.
    let remaining = request
        .lambda_context_ref()
        .filter(|c| c.deadline > 0)
        .map(|context| {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            std::time::Duration::from_millis(context.deadline.saturating_sub(now_ms))
        });
    let budget = crate::deadline::budget(remaining);
    let deadline = tokio::time::Instant::now() + budget;
    let work = crate::deadline::within(deadline, next.run(request));
    let backstop = deadline + crate::deadline::ANSWER_MARGIN / 2;
    match tokio::time::timeout_at(backstop, work).await {
        Ok(response) => response,
        Err(_) => ApiError::unavailable(anyhow::anyhow!(
            "the request ran past its deadline ({} ms) outside a DynamoDB call",
            budget.as_millis()
        ))
        .into_response(),
    }
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::method_not_allowed(format!("{method} is not allowed on {}", uri.path()))
}

/// Query parameters whose failures come back in the envelope as 400.
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// `?limit=&cursor=` of a list endpoint.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "page_limit")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `pagination.nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;

    pub fn limit(&self) -> u32 {
        self.limit
            .unwrap_or(Self::DEFAULT_LIMIT)
            .clamp(1, Self::MAX_LIMIT)
    }

    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }
}

/// Reads `?limit=` of a list: a whole number from 1 to
/// [`PageParams::MAX_LIMIT`], or absent. Anything else is refused (400
/// through [`ApiQuery`]) rather than clamped, so a client asking for 1,000
/// items learns that a page holds at most 100. For every list's own
/// parameters: `#[serde(default, deserialize_with = "shared::http::page_limit")]`.
pub fn page_limit<'de, D>(deserializer: D) -> Result<Option<u32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    let Some(raw) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=PageParams::MAX_LIMIT).contains(&n) => Ok(Some(n)),
        _ => Err(serde::de::Error::custom(format!(
            "limit must be a whole number from 1 to {} (got {raw:?})",
            PageParams::MAX_LIMIT
        ))),
    }
}

/// A JSON request body whose failures come back in the envelope:
/// no JSON content type → 415, unreadable JSON → 400, too large → 413, and
/// 422 for JSON of the wrong shape, including anything but an object: every
/// body is an object, and serde would otherwise read an array such as
/// `[null, null]` as a struct whose fields are all optional.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(body) = axum::Json::<serde_json::Value>::from_request(request, state)
            .await
            .map_err(json_rejection)?;
        if !body.is_object() {
            return Err(ApiError::validation(
                "the request body must be a JSON object",
                FieldErrors::new(),
            ));
        }
        from_json(body, "the request body").map(Self)
    }
}

/// Reads `value` as `T`: JSON of the wrong shape is a 422 whose `fields`
/// name where, as the other validation errors do. A field the request does
/// not have (every request body refuses unknown fields, so a client cannot
/// set `role`, `status` or a price it has no say in) is named with its
/// path (`lines[0].unitPrice`); so is a value of the wrong type, and a
/// missing required field. `what` begins the message ("the request body").
///
/// Unknown fields are refused here, at any depth, whether or not the type
/// says `deny_unknown_fields`: types that are also read back from stored
/// items (a price tier, an approval step, a saved preference) must not, so
/// that an item written by a newer version of a function still reads in an
/// older one during a deploy or after a rollback.
pub fn from_json<T: DeserializeOwned>(value: serde_json::Value, what: &str) -> ApiResult<T> {
    let mut ignored = Vec::new();
    let mut skipped = |path: serde_ignored::Path<'_>| ignored.push(field_path(&path));
    let read: Result<T, _> =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut skipped));
    let read = read.map_err(|err| {
        let (field, message) = shape_problem(&err.path().to_string(), &err.inner().to_string());
        let mut fields = FieldErrors::new();
        if let Some(field) = field {
            fields.insert(field, vec![message]);
        }
        ApiError::validation(
            format!("{what} does not have the expected shape: {}", err.inner()),
            fields,
        )
    })?;
    if ignored.is_empty() {
        return Ok(read);
    }
    let mut fields = FieldErrors::new();
    for field in &ignored {
        fields.insert(
            field.clone(),
            vec!["is not a field of this request".to_owned()],
        );
    }
    Err(ApiError::validation(
        format!(
            "{what} does not have the expected shape: unknown field `{}`",
            ignored.join("`, `")
        ),
        fields,
    ))
}

/// A skipped field's path as `fields` names it: `lines[0].unitPrice`.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// The field a serde error is about and what to say of it. `path` is where
/// the deserializer was (`.` at the top); serde names an unknown or missing
/// field only in its message, and at the top level when the struct has a
/// `#[serde(flatten)]` field.
fn shape_problem(path: &str, error: &str) -> (Option<String>, String) {
    let named = |prefix: &str| {
        let rest = error.strip_prefix(prefix)?;
        let name = &rest[..rest.find('`')?];
        Some(name.to_owned())
    };
    let join = |parent: &str, name: String| match parent {
        "" | "." => name,
        parent if parent.ends_with(&format!(".{name}")) || parent == name => parent.to_owned(),
        parent => format!("{parent}.{name}"),
    };
    if let Some(name) = named("unknown field `") {
        return (
            Some(join(path, name)),
            "is not a field of this request".to_owned(),
        );
    }
    if let Some(name) = named("missing field `") {
        return (Some(join(path, name)), "is required".to_owned());
    }
    let field = (!matches!(path, "" | ".")).then(|| path.to_owned());
    (field, error.to_owned())
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::unsupported_media_type(
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(err) => ApiError::bad_request(format!(
            "the request body is not valid JSON: {}",
            err.body_text()
        )),
        JsonRejection::BytesRejection(err)
            if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::payload_too_large(format!(
                "the request body is larger than {MAX_JSON_BODY_BYTES} bytes"
            ))
        }
        other => ApiError::bad_request(other.body_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Line {
        #[allow(dead_code)]
        quantity: i64,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Order {
        #[allow(dead_code)]
        lines: Vec<Line>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Details {
        #[allow(dead_code)]
        name: Option<String>,
    }

    /// `#[serde(flatten)]` leaves serde to name an unknown field only at the end.
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Flattened {
        #[allow(dead_code)]
        sku: String,
        #[serde(flatten)]
        #[allow(dead_code)]
        details: Details,
    }

    fn fields<T: DeserializeOwned + std::fmt::Debug>(body: serde_json::Value) -> FieldErrors {
        let err = from_json::<T>(body, "the request body").unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        err.fields().clone()
    }

    #[test]
    fn an_unknown_field_is_named_with_its_path() {
        let top = fields::<Order>(json!({"lines": [], "role": "admin"}));
        assert_eq!(top["role"], ["is not a field of this request"]);
        let nested = fields::<Order>(json!({"lines": [{"quantity": 1, "unitPrice": 1}]}));
        assert_eq!(
            nested["lines[0].unitPrice"],
            ["is not a field of this request"]
        );
        let flattened = fields::<Flattened>(json!({"sku": "a", "name": "b", "ownerId": "x"}));
        assert_eq!(flattened["ownerId"], ["is not a field of this request"]);
        assert!(from_json::<Flattened>(json!({"sku": "a", "name": "b"}), "it").is_ok());
    }

    /// Read back from stored items too, so it does not deny unknown fields.
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Tier {
        #[allow(dead_code)]
        min_quantity: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Priced {
        #[allow(dead_code)]
        tiers: Vec<Tier>,
        #[allow(dead_code)]
        note: Option<Tier>,
    }

    #[test]
    fn a_request_refuses_unknown_fields_of_parts_that_storage_reads_leniently() {
        let tiers = fields::<Priced>(
            json!({"tiers": [{"minQuantity": 1}, {"minQuantity": 5, "unitPrice": 1}]}),
        );
        assert_eq!(
            tiers["tiers[1].unitPrice"],
            ["is not a field of this request"]
        );
        assert_eq!(tiers.len(), 1);
        let optional =
            fields::<Priced>(json!({"tiers": [], "note": {"minQuantity": 1, "a": 1, "b": 2}}));
        assert_eq!(optional["note.a"], ["is not a field of this request"]);
        assert_eq!(optional["note.b"], ["is not a field of this request"]);
        assert!(from_json::<Priced>(json!({"tiers": [{"minQuantity": 1}]}), "it").is_ok());
        // The same part, written by a newer version with a field this one
        // does not know, still reads from a stored item.
        let stored: Tier =
            serde_json::from_value(json!({"minQuantity": 3, "currency": "EUR"})).unwrap();
        assert_eq!(stored.min_quantity, 3);
    }

    #[test]
    fn a_missing_or_mistyped_field_is_named_too() {
        let missing = fields::<Order>(json!({"lines": [{}]}));
        assert_eq!(missing["lines[0].quantity"], ["is required"]);
        let mistyped = fields::<Order>(json!({"lines": [{"quantity": "x"}]}));
        assert!(mistyped["lines[0].quantity"][0].contains("invalid type"));
    }
}
