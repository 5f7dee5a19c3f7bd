//! The envelope and status codes for requests that never reach a handler's
//! logic: unknown routes, bad bodies, request ids.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bodega_tests::spawn_app;

#[tokio::test]
async fn an_unknown_route_is_a_404_envelope() {
    let app = spawn_app().await;
    let response = app.call(Method::GET, "/v1/nothing-here", None, None).await;
    response.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert!(
        response.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/nothing-here")
    );
}

#[tokio::test]
async fn a_wrong_method_is_a_405_envelope() {
    let app = spawn_app().await;
    app.call(Method::DELETE, "/v1/auth/login", None, None)
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = spawn_app().await;
    let response = app
        .post_raw(
            "/v1/auth/register",
            Some("application/json"),
            r#"{"email": "ada@example.com","#,
        )
        .await;
    response.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_a_422() {
    let app = spawn_app().await;
    let response = app
        .post_raw(
            "/v1/auth/register",
            Some("application/json"),
            r#"{"email": 42}"#,
        )
        .await;
    response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = spawn_app().await;
    app.post_raw("/v1/auth/login", Some("text/plain"), "email=ada")
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
    app.post_raw("/v1/auth/login", None, "{}")
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn an_oversized_body_is_a_413_and_writes_nothing() {
    let app = spawn_app().await;
    let huge = format!(
        r#"{{"email":"big@example.com","password":"correct horse battery staple","name":"{}"}}"#,
        "x".repeat(shared::http::MAX_JSON_BODY_BYTES)
    );
    app.post_raw("/v1/auth/register", Some("application/json"), huge)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    app.login("big@example.com", "correct horse battery staple")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_callers_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = spawn_app().await;
    let request = Request::get("/v1/nothing")
        .header("x-request-id", "trace-123")
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.headers["x-request-id"], "trace-123");
    assert_eq!(response.body["meta"]["requestId"], "trace-123");

    let request = Request::get("/v1/nothing")
        .header("x-request-id", "bad id\twith tab")
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    let id = response.headers["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(id, "bad id\twith tab");
    assert_eq!(id.len(), 26, "a fresh ULID");
    assert_eq!(response.body["meta"]["requestId"], id.as_str());
}

/// Every body is an object: serde would read an array as a struct whose
/// fields are all optional, so `[null, null]` once changed nothing and
/// answered 200 (found by schemathesis).
#[tokio::test]
async fn a_body_that_is_not_an_object_is_a_422_and_changes_nothing() {
    let app = spawn_app().await;
    let token = app.signed_in_as("shape@example.com").await;
    let before = app.call(Method::GET, "/v1/me", Some(&token), None).await;
    let version = before.headers["etag"].clone();
    for body in ["[null, null]", "[]", "\"name\"", "42", "null", "true"] {
        let request = Request::builder()
            .method(Method::PATCH)
            .uri("/v1/me")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let response = app.send(request).await;
        response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert!(
            response.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("JSON object"),
            "{body}: {}",
            response.body
        );
    }
    app.post_raw("/v1/auth/login", Some("application/json"), r#"["a", "b"]"#)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let after = app.call(Method::GET, "/v1/me", Some(&token), None).await;
    assert_eq!(after.headers["etag"], version, "the profile did not change");
}
