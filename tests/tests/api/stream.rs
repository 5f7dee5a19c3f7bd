//! The stream function: its handler on the sample event, and the whole path
//! from an API write through the DynamoDB stream (read as the devserver's
//! pump reads it) to the notification email.

use aws_lambda_events::event::dynamodb::Event;
use axum::http::StatusCode;
use bodega_tests::{PASSWORD, sample_events, spawn_app, unique_email};

async fn emails_with_subject(app: &bodega_tests::TestApp, to: &str, subject: &str) -> usize {
    app.emails_to(to)
        .await
        .iter()
        .filter(|m| m.subject == subject)
        .count()
}

/// The sample event, addressed to `to` so concurrent tests do not count
/// each other's emails.
fn sample(to: &str) -> Event {
    let mut json = sample_events()
        .remove("stream/password-changed.json")
        .expect("the stream sample exists");
    for image in ["NewImage", "OldImage"] {
        json["Records"][0]["dynamodb"][image]["email"]["S"] = to.into();
    }
    serde_json::from_value(json).expect("a DynamoDB stream event")
}

#[tokio::test]
async fn the_sample_event_sends_one_email_however_often_it_is_delivered() {
    let app = spawn_app().await;
    let state = stream::StreamState::new(&app.services);
    let to = unique_email("stream-sample");
    let subject = "Your password was changed";

    for _ in 0..3 {
        let response = stream::handle_batch(&state, sample(&to)).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    assert_eq!(emails_with_subject(&app, &to, subject).await, 1);
}

#[tokio::test]
async fn a_failed_send_is_reported_and_sent_on_retry() {
    let app = spawn_app().await;
    // A platform email queue that does not exist: queueing fails.
    let mut broken = stream::StreamState::new(&app.services);
    broken.outbox = crate::dead_letters::missing_queue(&app);
    let to = unique_email("stream-retry");
    let response = stream::handle_batch(&broken, sample(&to)).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some("111100000000012345678901"),
        "the failed record's sequence number"
    );

    let subject = "Your password was changed";
    assert_eq!(emails_with_subject(&app, &to, subject).await, 0);
    let working = stream::StreamState::new(&app.services);
    let response = stream::handle_batch(&working, sample(&to)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(
        emails_with_subject(&app, &to, subject).await,
        1,
        "the retry sends it"
    );
}

#[tokio::test]
async fn a_password_reset_reaches_the_user_through_the_stream() {
    let app = spawn_app().await;
    let email = unique_email("stream");
    app.register(&email, PASSWORD, "Streamed")
        .await
        .assert_ok(StatusCode::CREATED);
    app.request_password_reset(&email).await;
    let code = app.only_email_to(&email, "Reset").await.code();
    app.reset_password(&code, "a brand new passphrase")
        .await
        .assert_ok(StatusCode::OK);

    assert_eq!(
        emails_with_subject(&app, &email, "Your password was changed").await,
        0,
        "the stream sends it, not the request"
    );
    app.drain_stream().await;
    assert_eq!(
        emails_with_subject(&app, &email, "Your password was changed").await,
        1
    );
}

#[tokio::test]
async fn refresh_token_reuse_warns_the_user_through_the_stream() {
    let app = spawn_app().await;
    let email = unique_email("reuse");
    app.register(&email, PASSWORD, "Reused")
        .await
        .assert_ok(StatusCode::CREATED);
    let first = app
        .login(&email, PASSWORD)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    let token = first["refreshToken"].as_str().unwrap();
    app.refresh(token).await.assert_ok(StatusCode::OK);
    app.refresh(token)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    app.drain_stream().await;
    assert_eq!(
        emails_with_subject(&app, &email, "We signed out one of your sessions").await,
        1
    );
}

/// DynamoDB Local's stream renders an empty map as `{}`, which the SDK
/// refuses: the pump still reads the page and hands the record on, so an
/// item holding an empty map stalls nothing.
#[tokio::test]
async fn an_item_holding_an_empty_map_passes_through_the_stream() {
    use shared::store::Value;
    let app = spawn_app().await;
    let item = std::collections::HashMap::from([
        ("PK".to_owned(), Value::S("PROBE#empty-map".into())),
        ("SK".to_owned(), Value::S("PROBE".into())),
        ("type".to_owned(), Value::S("PROBE".into())),
        ("settings".to_owned(), Value::M(Default::default())),
        (
            "nested".to_owned(),
            Value::L(vec![Value::M(Default::default())]),
        ),
    ]);
    app.put_raw_item(item).await;
    // The record reaches the stream function, and the next write still
    // flows behind it.
    assert_eq!(app.drain_stream().await, 1);
    app.register(&unique_email("after-empty-map"), PASSWORD, "Ada")
        .await
        .assert_ok(StatusCode::CREATED);
    assert!(app.drain_stream().await >= 1);
}

/// A record that can never be read (an order item of the wrong shape) is
/// reported by its sequence number; the record before it is handled. Lambda
/// retries from the poison record (at most `MaximumRetryAttempts`, halving
/// the batch each time), then sends its position to the stream's
/// dead-letter queue and goes on with the shard.
#[tokio::test]
async fn a_poison_record_is_reported_and_the_one_before_it_is_handled() {
    let app = spawn_app().await;
    let state = stream::StreamState::new(&app.services);
    let to = unique_email("before-poison");
    let good: serde_json::Value =
        serde_json::to_value(sample(&to)).expect("the sample serializes")["Records"][0].clone();
    let mut poison = good.clone();
    poison["eventID"] = "poison-event".into();
    poison["dynamodb"]["SequenceNumber"] = "999000000000000000001".into();
    poison["dynamodb"]["OldImage"] = serde_json::json!({});
    poison["dynamodb"]["NewImage"] = serde_json::json!({
        "PK": {"S": "ORDER#poison"}, "SK": {"S": "ORDER"}, "type": {"S": "ORDER"},
        "status": {"N": "12"}
    });
    let event: Event =
        serde_json::from_value(serde_json::json!({ "Records": [good, poison] })).unwrap();
    let response = stream::handle_batch(&state, event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, vec![Some("999000000000000000001".to_owned())]);
    assert_eq!(
        emails_with_subject(&app, &to, "Your password was changed").await,
        1
    );
}
