//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of the whole API, as
//! committed in docs/openapi.json (assembled from every context by
//! `make openapi`; a test fails while it differs from the code), so this
//! function links no other context.

use axum::http::header;
use axum::response::IntoResponse;

/// The committed document, compiled in.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// This document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "platform",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)),
)]
pub async fn openapi_json() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        DOCUMENT,
    )
}
