//! Request ids: API Gateway's, else the caller's `X-Request-ID`, else a new
//! ULID. The id is echoed in the `x-request-id` response header, written in
//! `meta.requestId`, and carried by the span of every log line of the request.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use tracing::Instrument;

pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request this task is serving, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// A caller-supplied id is used only if it is short and printable, so it
/// cannot forge log lines or bloat them.
fn acceptable(candidate: &str) -> bool {
    (1..=128).contains(&candidate.len())
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:=".contains(&b))
}

fn request_id_of(request: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref()
        && let Some(id) = context.request_id.as_deref().filter(|id| acceptable(id))
    {
        return id.to_owned();
    }
    request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .unwrap_or_else(|| ulid::Ulid::new().to_string())
}

/// Middleware: sets the request id for the request's task and span, logs one
/// access line per request, and echoes the id in the response.
pub async fn middleware(request: Request, next: Next) -> Response {
    let id = request_id_of(&request);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
        user_id = tracing::field::Empty,
        org_id = tracing::field::Empty,
        api_key = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span.clone()))
        .await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            "request completed"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(REQUEST_ID_HEADER.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids_and_refuses_log_forgery() {
        assert!(acceptable("Root=1-abc_def.42:x"));
        assert!(!acceptable(""));
        assert!(!acceptable("id\nlevel=ERROR"));
        assert!(!acceptable(&"a".repeat(129)));
    }
}
