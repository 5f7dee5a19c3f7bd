//! GET /v1/health against the running stack.

use axum::http::{Method, StatusCode};
use bodega_tests::spawn_app;

#[tokio::test]
async fn reports_every_dependency_up_and_the_version() {
    let app = spawn_app().await;
    let response = app.call(Method::GET, "/v1/health", None, None).await;
    let data = response.assert_ok(StatusCode::OK);
    assert_eq!(data["status"], "ok");
    assert_eq!(data["version"], app.services.config.version.as_str());
    for dependency in ["dynamodb", "s3", "ses"] {
        assert_eq!(
            data["checks"][dependency]["ok"], true,
            "{dependency}: {data}"
        );
    }
}

#[tokio::test]
async fn reports_a_missing_bucket_as_unavailable() {
    let mut app = spawn_app().await;
    let mut config = (*app.services.config).clone();
    config.bucket_name = "bucket-that-was-never-created".into();
    app.services.config = std::sync::Arc::new(config);
    let app = bodega_tests::TestApp::new(app.services);
    let response = app.call(Method::GET, "/v1/health", None, None).await;
    response.assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
    let checks = &response.body["error"]["details"]["checks"];
    assert_eq!(checks["s3"]["ok"], false, "{checks}");
    assert_eq!(checks["dynamodb"]["ok"], true, "{checks}");
}
