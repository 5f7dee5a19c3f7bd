//! Every sample event in events/ goes through the real handler, the way the
//! Lambda runtime calls it, so a broken sample fails CI.

use std::collections::BTreeMap;

use bodega_tests::{TestApp, spawn_app};
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, LambdaEvent, Service};
use serde_json::Value;

/// The API Gateway samples (stream and S3 samples have their own tests).
fn sample_events() -> BTreeMap<String, Value> {
    let mut events = bodega_tests::sample_events();
    events.retain(|_, event| event.get("routeKey").is_some());
    events
}

/// Runs an API Gateway event through the Lambda adapter; returns the status
/// and the parsed body of the Lambda response.
async fn invoke(app: &TestApp, event: &Value) -> (u16, Value) {
    let request: LambdaRequest =
        serde_json::from_value(event.clone()).expect("an API Gateway event");
    let mut adapter = lambda_http::Adapter::from(app.router.clone());
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .expect("the handler is infallible");
    let response = serde_json::to_value(&response).unwrap();
    let status = response["statusCode"].as_u64().expect("a status code") as u16;
    let body = response["body"]
        .as_str()
        .map(|b| serde_json::from_str(b).expect("a JSON body"))
        .unwrap_or(Value::Null);
    (status, body)
}

/// What each sample is expected to answer on a fresh table, in the order
/// they run (register before login). The org and orders samples carry a
/// placeholder token, so they stop at authentication.
const EXPECTED: &[(&str, u16)] = &[
    ("identity/register.json", 201),
    ("identity/login.json", 200),
    ("identity/me.json", 401),
    ("identity/refresh.json", 401),
    ("identity/logout.json", 200),
    ("identity/logout-all.json", 401),
    ("identity/verify-email.json", 422),
    ("identity/verify-email-resend.json", 401),
    ("identity/password-reset-request.json", 202),
    ("identity/password-reset.json", 422),
    ("identity/update-me.json", 401),
    ("identity/delete-me.json", 401),
    ("identity/sessions.json", 401),
    ("identity/revoke-session.json", 401),
    ("identity/my-audit.json", 401),
    ("identity/jwks.json", 200),
    ("identity/org-create.json", 401),
    ("identity/org-list.json", 401),
    ("identity/org-get.json", 401),
    ("identity/org-update.json", 401),
    ("identity/org-verification.json", 401),
    ("identity/invitation-create.json", 401),
    ("identity/invitation-accept.json", 401),
    ("identity/members-list.json", 401),
    ("identity/member-update.json", 401),
    ("identity/member-remove.json", 401),
    ("identity/api-key-create.json", 401),
    ("identity/api-keys-list.json", 401),
    ("identity/api-key-revoke.json", 401),
    ("identity/org-audit.json", 401),
    ("catalog/list-categories.json", 200),
    ("catalog/get-category.json", 404),
    ("catalog/create-category.json", 401),
    ("catalog/update-category.json", 401),
    ("catalog/list-products.json", 200),
    ("catalog/create-product.json", 401),
    ("catalog/bulk-create-products.json", 401),
    ("catalog/bulk-update-products.json", 401),
    ("catalog/get-product.json", 404),
    ("catalog/update-product.json", 401),
    ("catalog/archive-product.json", 401),
    ("catalog/adjust-stock.json", 401),
    ("catalog/search.json", 200),
    ("catalog/search-suggest.json", 200),
    ("catalog/search-queries.json", 401),
    ("catalog/list-reviews.json", 200),
    ("catalog/create-review.json", 401),
    ("catalog/update-my-review.json", 401),
    ("catalog/delete-my-review.json", 401),
    ("catalog/hide-review.json", 401),
    ("assets/create-upload.json", 401),
    ("assets/get-asset.json", 401),
    ("assets/delete-asset.json", 401),
    ("platform/health.json", 200),
    ("platform/openapi.json", 200),
    ("orders/cart-get.json", 401),
    ("orders/cart-clear.json", 401),
    ("orders/cart-add-item.json", 401),
    ("orders/cart-set-quantity.json", 401),
    ("orders/cart-remove-item.json", 401),
    ("orders/checkout.json", 401),
    ("orders/orders-list.json", 401),
    ("orders/order-get.json", 401),
    ("orders/order-cancel.json", 401),
    ("orders/fulfilments-list.json", 401),
    ("orders/fulfilment-get.json", 401),
    ("orders/fulfilment-status.json", 401),
    ("orders/admin-orders.json", 401),
    ("orders/admin-invoice-payment.json", 401),
    ("orders/admin-refund.json", 401),
    ("orders/admin-stats.json", 401),
    ("mail/templates-list.json", 401),
    ("mail/template-create.json", 401),
    ("mail/template-get.json", 401),
    ("mail/template-update.json", 401),
    ("mail/template-archive.json", 401),
    ("mail/template-preview.json", 401),
    ("mail/template-submit.json", 401),
    ("mail/template-versions.json", 401),
    ("mail/template-version-get.json", 401),
    ("mail/template-version-approve.json", 401),
    ("mail/template-version-reject.json", 401),
    ("mail/template-version-withdraw.json", 401),
    ("mail/template-version-activate.json", 401),
    ("mail/approvals-inbox.json", 401),
    ("mail/approval-policy-get.json", 401),
    ("mail/approval-policy-put.json", 401),
    ("mail/template-send.json", 401),
    ("mail/template-test-send.json", 401),
    ("mail/messages-list.json", 401),
    ("mail/suppressions-list.json", 401),
    ("mail/suppression-remove.json", 401),
    ("mail/unsubscribe.json", 400),
    ("mail/sends-create.json", 401),
    ("mail/send-get.json", 401),
    // Signed with another endpoint's secret: refused before it is read.
    ("orders/payment-webhook.json", 400),
];

#[tokio::test]
async fn every_sample_event_runs_through_its_handler() {
    let app = spawn_app().await;
    let events = sample_events();
    let listed: Vec<&str> = EXPECTED.iter().map(|(name, _)| *name).collect();
    for name in events.keys() {
        assert!(
            listed.contains(&name.as_str()),
            "{name} has no expectation in tests/tests/api/events.rs"
        );
    }
    for (name, status) in EXPECTED {
        let event = events
            .get(*name)
            .unwrap_or_else(|| panic!("events/{name} is missing"));
        let (got, body) = invoke(&app, event).await;
        assert_eq!(got, *status, "events/{name}: {body}");
        if let Some(meta) = body.get("meta") {
            assert_eq!(
                meta["requestId"], event["requestContext"]["requestId"],
                "events/{name}: API Gateway's request id"
            );
        }
    }
}

#[tokio::test]
async fn the_me_sample_succeeds_with_a_real_token() {
    let app = spawn_app().await;
    let token = app.signed_in_as("ada@example.com").await;
    let mut event = sample_events().remove("identity/me.json").unwrap();
    event["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
    let (status, body) = invoke(&app, &event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["email"], "ada@example.com");
}

#[tokio::test]
async fn the_expiry_schedule_sample_runs_the_sweep() {
    let app = spawn_app().await;
    let event = bodega_tests::sample_events()
        .remove("orders/expiry-schedule.json")
        .expect("events/orders/expiry-schedule.json");
    // What the orders-expiry binary receives: a `LambdaEvent<Value>` holding
    // EventBridge's scheduled event, which it does not need to look into.
    let invocation: LambdaEvent<Value> = LambdaEvent::new(
        serde_json::from_value(event).expect("the expiry binary's input"),
        Context::default(),
    );
    assert_eq!(invocation.payload["detail-type"], "Scheduled Event");
    assert_eq!(invocation.payload["source"], "aws.events");
    let report = orders::expiry::sweep(
        &app.services.store,
        &app.services.payments,
        shared::domain::now_epoch(),
    )
    .await
    .expect("the sweep runs on a fresh table");
    assert_eq!(report.due, 0, "{report:?}");
}

#[tokio::test]
async fn the_send_queue_sample_reaches_the_mail_worker() {
    let app = spawn_app().await;
    let event: mail::worker::SqsEvent = serde_json::from_value(
        bodega_tests::sample_events()["mail/worker-send-batch.json"].clone(),
    )
    .expect("the sample is an SQS event");
    let state = mail::MailState::new(&app.services);
    // Its send's template does not exist on a fresh table: the message is
    // reported failed, for SQS to deliver again, and nothing is sent.
    let response = mail::worker::handle_batch(&state, event.clone(), None).await;
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        event.records[0].message_id
    );
}

#[tokio::test]
async fn the_ses_event_samples_reach_the_mail_events_handler() {
    let app = spawn_app().await;
    for sample in ["mail/ses-bounce.json", "mail/ses-complaint.json"] {
        let event: mail::ses_events::SesEventBridgeEvent =
            serde_json::from_value(bodega_tests::sample_events()[sample].clone())
                .expect("the sample is an SES event from EventBridge");
        mail::ses_events::handle_event(&app.services.store, &event.detail)
            .await
            .unwrap_or_else(|err| panic!("{sample}: {err:?}"));
    }
}
