//! What every response and every browser sees before any business logic:
//! security headers, the devserver's CORS (API Gateway's, from
//! template.yaml) and the API reference page.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use bodega_tests::{TestApp, spawn_app};
use serde_json::json;
use shared::http::security_headers::{JSON_CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY};

fn assert_security_headers(headers: &HeaderMap, what: &str) {
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(
        headers["strict-transport-security"], STRICT_TRANSPORT_SECURITY,
        "{what}"
    );
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert!(headers.contains_key("content-security-policy"), "{what}");
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let token = app.signed_in_as("headers@example.com").await;
    let cases = [
        ("public read", app.call(Method::GET, "/v1/categories", None, None).await),
        ("personal read", app.call(Method::GET, "/v1/me", Some(&token), None).await),
        (
            "a write",
            app.call(
                Method::POST,
                "/v1/orgs",
                Some(&token),
                Some(&json!({"kind": "buyer", "name": "Headers Ltd", "legalName": "Headers Ltd", "country": "DE"})),
            )
            .await,
        ),
        ("401", app.call(Method::GET, "/v1/me", None, None).await),
        ("unknown route", app.call(Method::GET, "/v1/nothing-here", None, None).await),
        ("405", app.call(Method::DELETE, "/v1/auth/login", None, None).await),
        ("health", app.call(Method::GET, "/v1/health", None, None).await),
    ];
    for (what, response) in &cases {
        assert_security_headers(&response.headers, what);
        assert_eq!(
            response.headers["content-security-policy"], JSON_CONTENT_SECURITY_POLICY,
            "{what}: JSON gets the strictest policy"
        );
        assert_eq!(
            response.headers["cache-control"], "no-store",
            "{what}: {}",
            response.status
        );
    }
    // The OpenAPI document says it may be cached, and keeps saying so.
    let document = app.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_security_headers(&document.headers, "openapi.json");
    assert_eq!(document.headers["cache-control"], "public, max-age=300");
}

async fn preflight(app: &TestApp, origin: &str, method: &str) -> HeaderMap {
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("/v1/products")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, method)
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type,idempotency-key",
        )
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert!(response.status.is_success(), "{}", response.status);
    response.headers
}

#[tokio::test]
async fn a_frontend_dev_server_passes_the_preflight_as_template_yaml_allows() {
    let app = spawn_app().await;
    let headers = preflight(&app, "http://localhost:5173", "POST").await;
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:5173"
    );
    let methods = headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap();
    for name in [
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert_eq!(headers[header::ACCESS_CONTROL_MAX_AGE], "600");

    // Any loopback port: React on 3000, Angular on 4200, ...
    let headers = preflight(&app, "http://127.0.0.1:4200", "PATCH").await;
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://127.0.0.1:4200"
    );
}

#[tokio::test]
async fn another_origin_gets_no_cors_grant() {
    let app = spawn_app().await;
    for origin in [
        "https://evil.example",
        "http://localhost:5173.evil.example",
        "http://127.0.0.2:5173",
    ] {
        let headers = preflight(&app, origin, "POST").await;
        assert!(
            !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "{origin}: {headers:?}"
        );
    }
}

#[tokio::test]
async fn an_allowed_origin_can_read_the_exposed_headers_of_an_answer() {
    let app = spawn_app().await;
    let request = Request::builder()
        .uri("/v1/health")
        .header(header::ORIGIN, "http://localhost:5173")
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(
        response.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:5173"
    );
    let exposed = response.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap();
    for name in ["etag", "x-request-id", "retry-after"] {
        assert!(exposed.contains(name), "{exposed}");
    }
}

#[tokio::test]
async fn the_api_reference_page_ships_its_own_scripts_under_its_own_policy() {
    let app = spawn_app().await;
    let page = app.call(Method::GET, "/docs", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(
        page.headers["content-security-policy"],
        platform::DOCS_CONTENT_SECURITY_POLICY
    );
    assert_security_headers(&page.headers, "/docs");
    let html = page.body.as_str().expect("the page is text");
    for script in ["docs/swagger-ui-bundle.js", "docs/start.js"] {
        assert!(
            html.contains(&format!("<script src=\"{script}\">")),
            "{html}"
        );
    }
    assert!(!html.contains("https://"), "no CDN: {html}");

    for (file, content_type, marker) in [
        ("start.js", "text/javascript", "v1/openapi.json"),
        ("swagger-ui-bundle.js", "text/javascript", "SwaggerUIBundle"),
        ("swagger-ui.css", "text/css", ".swagger-ui"),
    ] {
        let response = app
            .call(Method::GET, &format!("/docs/{file}"), None, None)
            .await;
        assert_eq!(response.status, StatusCode::OK, "{file}");
        assert!(
            response.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{file}: {:?}",
            response.headers["content-type"]
        );
        let text = response.body.as_str().expect("text");
        assert!(text.contains(marker), "{file} lacks {marker}");
    }
}

#[tokio::test]
async fn the_api_reference_serves_no_other_file() {
    let app = spawn_app().await;
    for file in [
        "index.html",
        "swagger-initializer.js",
        "..%2FCargo.toml",
        "oauth2-redirect.html",
    ] {
        app.call(Method::GET, &format!("/docs/{file}"), None, None)
            .await
            .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
}
