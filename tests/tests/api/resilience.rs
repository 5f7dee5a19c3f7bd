//! When DynamoDB stops answering mid-run, requests fail fast with a 503
//! envelope: no panic, no hang.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use bodega_tests::{PASSWORD, PrivateDynamo, TestApp, stack_config};
use shared::FullServices;
use shared::store::Store;

#[tokio::test]
async fn dynamodb_stopped_mid_run_is_a_503_envelope() {
    let mut dynamo = PrivateDynamo::start().await;
    let sdk = shared::services::load_sdk_config().await;
    let services = FullServices::build(stack_config("resilience"), &sdk)
        .await
        .unwrap();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(&dynamo.endpoint)
            .build(),
    );
    devserver::resources::ensure_table(&client, "resilience")
        .await
        .unwrap();
    let app = TestApp::new(services.with_store(Store::new(client, "resilience")));

    app.register("ada@example.com", PASSWORD, "Ada")
        .await
        .assert_ok(StatusCode::CREATED);
    let token = app.signed_in_as_existing("ada@example.com").await;

    dynamo.stop().await;

    let bounded = Duration::from_secs(20);
    let responses = tokio::time::timeout(bounded, async {
        vec![
            app.register("grace@example.com", PASSWORD, "Grace").await,
            app.login("ada@example.com", PASSWORD).await,
            app.me(&token).await,
        ]
    })
    .await
    .expect("requests answer within 20 s while DynamoDB is down");
    for response in &responses {
        response.assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
        assert!(response.headers.contains_key("retry-after"));
        let text = response.body.to_string();
        assert!(
            !text.contains("127.0.0.1") && !text.contains("dispatch"),
            "no internals: {text}"
        );
    }
    let health = tokio::time::timeout(bounded, app.call(Method::GET, "/v1/health", None, None))
        .await
        .unwrap();
    health.assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
    assert_eq!(
        health.body["error"]["details"]["checks"]["dynamodb"]["ok"],
        false
    );
}
