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

/// An app whose configured bucket does not exist.
async fn app_with_a_missing_bucket() -> bodega_tests::TestApp {
    let mut app = spawn_app().await;
    let mut config = (*app.services.config).clone();
    config.bucket_name = "bucket-that-was-never-created".into();
    app.services.config = std::sync::Arc::new(config);
    bodega_tests::TestApp::new(app.services)
}

#[tokio::test]
async fn reports_a_missing_bucket_as_unavailable() {
    let app = app_with_a_missing_bucket().await;
    let response = app.call(Method::GET, "/v1/health", None, None).await;
    response.assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
    let checks = &response.body["error"]["details"]["checks"];
    assert_eq!(checks["s3"]["ok"], false, "{checks}");
    assert_eq!(checks["dynamodb"]["ok"], true, "{checks}");
}

/// `checkedAt` of a health answer, whatever its status.
fn checked_at(response: &bodega_tests::TestResponse) -> String {
    let data = match response.status {
        StatusCode::OK => &response.body["data"],
        _ => &response.body["error"]["details"],
    };
    data["checkedAt"]
        .as_str()
        .unwrap_or_else(|| panic!("no checkedAt in {}", response.body))
        .to_owned()
}

#[tokio::test]
async fn a_healthy_answer_is_given_again_for_ten_seconds_without_asking_the_dependencies() {
    let app = spawn_app().await;
    let first = app.call(Method::GET, "/v1/health", None, None).await;
    first.assert_ok(StatusCode::OK);
    // Many at once, as a monitor or anyone may call: one check for all.
    let again =
        futures::future::join_all((0..20).map(|_| app.call(Method::GET, "/v1/health", None, None)))
            .await;
    for response in &again {
        assert_eq!(
            response.body["data"]["checks"],
            first.body["data"]["checks"]
        );
        assert_eq!(checked_at(response), checked_at(&first));
    }
    app.clock.advance(std::time::Duration::from_secs(8));
    let still = app.call(Method::GET, "/v1/health", None, None).await;
    assert_eq!(checked_at(&still), checked_at(&first));
    app.clock.advance(std::time::Duration::from_secs(3));
    let later = app.call(Method::GET, "/v1/health", None, None).await;
    later.assert_ok(StatusCode::OK);
    assert!(checked_at(&later) > checked_at(&first), "{}", later.body);
}

#[tokio::test]
async fn a_failed_answer_is_asked_again_after_a_second() {
    let app = app_with_a_missing_bucket().await;
    let first = app.call(Method::GET, "/v1/health", None, None).await;
    first.assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
    app.clock.advance(std::time::Duration::from_secs(2));
    let again = app.call(Method::GET, "/v1/health", None, None).await;
    again.assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
    assert!(checked_at(&again) > checked_at(&first), "{}", again.body);
}
