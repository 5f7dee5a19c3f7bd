//! `GET /docs`: the interactive API reference (Swagger UI) over
//! `/v1/openapi.json`.
//!
//! Swagger UI's script and style sheet are compiled into the binary (taken
//! by build.rs out of the release archive that utoipa-swagger-ui-vendored
//! packages), so the page works with no internet access and loads nothing
//! from a CDN. The page and its start script are ours: relative URLs (the
//! API may sit behind a path prefix), no inline script, so the page's
//! policy can forbid inline code.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use shared::http::ApiError;

/// The page's policy: its own scripts and styles (Swagger UI styles elements
/// inline), requests to this API only, never framed.
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Bodega API reference</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/start.js"></script>
</body>
</html>
"#;

/// Starts Swagger UI on the document next to this page. No validator badge
/// (it would call a third party), no token kept in the browser's storage.
const START_JS: &str = r##""use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("v1/openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
"##;

/// The Swagger UI files the page uses, the only ones build.rs embeds.
const SWAGGER_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui.css"));
const SWAGGER_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui-bundle.js"));

/// The interactive API reference.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "platform",
    responses((status = 200, description = "The API reference page (Swagger UI)", content_type = "text/html", body = String)),
)]
pub async fn docs_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                DOCS_CONTENT_SECURITY_POLICY,
            ),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        PAGE,
    )
        .into_response()
}

/// A script or style sheet of the API reference page.
#[utoipa::path(
    get,
    path = "/docs/{file}",
    tag = "platform",
    params(("file" = String, Path, description = "`start.js`, `swagger-ui.css` or `swagger-ui-bundle.js`")),
    responses(
        (status = 200, description = "The file", content((String = "text/javascript"), (String = "text/css"))),
        (status = 404, description = "No such file", body = shared::http::ErrorEnvelope),
    ),
)]
pub async fn docs_file(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (content_type, bytes): (&str, &'static [u8]) = match file.as_str() {
        "start.js" => ("text/javascript; charset=utf-8", START_JS.as_bytes()),
        "swagger-ui-bundle.js" => ("text/javascript; charset=utf-8", SWAGGER_JS),
        "swagger-ui.css" => ("text/css; charset=utf-8", SWAGGER_CSS),
        _ => {
            return Err(ApiError::not_found(format!(
                "the API reference has no file {file:?}"
            )));
        }
    };
    Ok(static_file(content_type, bytes))
}

/// Assets change only with a deploy: a day in any cache.
fn static_file(content_type: &'static str, bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
        .into_response()
}
