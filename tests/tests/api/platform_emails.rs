//! The platform's own emails go through the platform email queue: the
//! contexts queue them (`shared::outbox`), and the mail context's outbox
//! worker (`mail::outbox`, the `mail-outbox` Lambda) renders and sends
//! each once, giving back what SES did not take so SQS delivers it again.

use axum::http::StatusCode;
use bodega_tests::{FaultProxy, Faults, TestApp, spawn_app, spawn_app_with, unique_email};
use mail::outbox::{CLAIM_LEASE_SECS, OutboxWorker, handle_batch, outbox_key};
use shared::outbox::{PlatformEmail, QueuedEmail};
use shared::sqs::{SqsEvent, SqsMessage};
use shared::store::Value as Attr;

fn password_changed() -> PlatformEmail {
    PlatformEmail::PasswordChanged { name: "Ada".into() }
}

/// One SQS event holding `bodies`, as Lambda would deliver them.
fn event_of(bodies: &[String]) -> SqsEvent {
    SqsEvent {
        records: bodies
            .iter()
            .enumerate()
            .map(|(i, body)| SqsMessage {
                message_id: format!("m-{i}"),
                receipt_handle: String::new(),
                body: body.clone(),
            })
            .collect(),
    }
}

fn status_of(item: &std::collections::HashMap<String, Attr>) -> String {
    item["status"].as_s().cloned().unwrap_or_default()
}

async fn claim(app: &TestApp, id: &str) -> Option<std::collections::HashMap<String, Attr>> {
    let (pk, sk) = outbox_key(id);
    app.stored_item(&pk, sk).await
}

#[tokio::test]
async fn a_queued_email_is_rendered_and_sent_once_however_often_sqs_delivers_it() {
    let app = spawn_app().await;
    let to = unique_email("outbox-twice");
    let id = app
        .services
        .outbox()
        .send(&to, &password_changed())
        .await
        .unwrap();

    let worker = OutboxWorker::new(&app.services);
    let sqs = aws_sdk_sqs::Client::new(&app.services.sdk);
    let url = app
        .services
        .config
        .platform_email_queue_url
        .clone()
        .unwrap();
    let batches = devserver::pumps::drain_outbox_queue(&worker, &sqs, &url)
        .await
        .unwrap();
    assert_eq!(batches.len(), 1);
    // SQS delivers the same message again (and a copy beside it).
    let body = batches[0].records[0].body.clone();
    let again = handle_batch(&worker, event_of(&[body.clone(), body])).await;
    assert!(again.batch_item_failures.is_empty(), "{again:?}");

    let sent = app.emails_to(&to).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].subject, "Your password was changed");
    assert!(sent[0].body.contains("Ada"), "{}", sent[0].body);
    let record = claim(&app, &id).await.expect("the email's record is kept");
    assert_eq!(status_of(&record), "sent");
    assert_eq!(record["template"].as_s().unwrap(), "password_changed");
    assert!(record["sesMessageId"].as_s().is_ok_and(|m| !m.is_empty()));
    assert!(
        !record.contains_key("to") && !record.values().any(|v| v.as_s().is_ok_and(|s| *s == to)),
        "the record holds no address: {record:?}"
    );
}

#[tokio::test]
async fn an_email_ses_fails_is_given_back_for_redelivery_and_sent_once_when_ses_is_back() {
    let app = spawn_app().await;
    let proxy = FaultProxy::moto(31).await;
    let to = unique_email("outbox-ses-down");
    let queued = QueuedEmail::new(&to, password_changed());
    let body = serde_json::to_string(&queued).unwrap();

    let faulty = OutboxWorker {
        store: app.services.store.clone(),
        mailer: crate::faults::through_moto(&app.services, &proxy).1,
    };
    proxy.set(Faults::fail(100).only(&["/outbound-emails"]));
    let response = handle_batch(&faulty, event_of(std::slice::from_ref(&body))).await;
    assert!(response.failed("m-0"), "{response:?}");
    assert!(app.emails_to(&to).await.is_empty());
    assert!(
        claim(&app, &queued.id).await.is_none(),
        "the claim is given back, so the redelivery takes it at once"
    );

    // SES is back: the redelivered message is sent, once.
    proxy.heal();
    let healthy = OutboxWorker::new(&app.services);
    for _ in 0..2 {
        let response = handle_batch(&healthy, event_of(std::slice::from_ref(&body))).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    assert_eq!(app.emails_to(&to).await.len(), 1);
}

#[tokio::test]
async fn a_live_claim_sends_the_delivery_back_and_a_dead_workers_claim_is_taken_over() {
    let app = spawn_app().await;
    let to = unique_email("outbox-claim");
    let queued = QueuedEmail::new(&to, password_changed());
    let body = serde_json::to_string(&queued).unwrap();
    let (pk, sk) = outbox_key(&queued.id);
    let claimed_at = |at: i64| {
        std::collections::HashMap::from([
            ("PK".to_owned(), Attr::S(pk.clone())),
            ("SK".to_owned(), Attr::S(sk.to_owned())),
            ("type".to_owned(), Attr::S("OUTBOX_EMAIL".into())),
            ("status".to_owned(), Attr::S("sending".into())),
            ("claim".to_owned(), Attr::S("another-worker".into())),
            ("claimedAt".to_owned(), Attr::N(at.to_string())),
        ])
    };
    let worker = OutboxWorker::new(&app.services);
    let now = shared::domain::now_epoch();

    // Another delivery is sending it right now: this one comes back later.
    app.put_raw_item(claimed_at(now - 5)).await;
    let response = handle_batch(&worker, event_of(std::slice::from_ref(&body))).await;
    assert!(response.failed("m-0"), "{response:?}");
    assert!(app.emails_to(&to).await.is_empty());

    // That worker died: after the lease the email is sent.
    app.put_raw_item(claimed_at(now - CLAIM_LEASE_SECS - 1))
        .await;
    let response = handle_batch(&worker, event_of(std::slice::from_ref(&body))).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(app.emails_to(&to).await.len(), 1);
    assert_eq!(status_of(&claim(&app, &queued.id).await.unwrap()), "sent");
}

#[tokio::test]
async fn an_unreadable_message_goes_back_to_the_queue_and_a_bad_address_is_recorded_not_retried() {
    let app = spawn_app().await;
    let to = unique_email("outbox-beside");
    let good = QueuedEmail::new(&to, password_changed());
    let bad_address = QueuedEmail::new("ada-at-example", password_changed());
    let worker = OutboxWorker::new(&app.services);
    let response = handle_batch(
        &worker,
        event_of(&[
            r#"{"id": "x", "to": "a@example.com", "email": {"template": "no_such_email", "data": {}}}"#
                .to_owned(),
            serde_json::to_string(&bad_address).unwrap(),
            serde_json::to_string(&good).unwrap(),
        ]),
    )
    .await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    // The unreadable one is retried (and then dead-lettered); the bad
    // address would fail every time, so it is recorded and dropped.
    assert_eq!(failed, vec!["m-0"]);
    let refused = claim(&app, &bad_address.id).await.unwrap();
    assert_eq!(status_of(&refused), "rejected");
    let reason = refused["reason"].as_s().unwrap();
    assert!(reason.contains("address"), "{refused:?}");
    assert!(
        !reason.contains("ada-at-example"),
        "no address kept: {reason}"
    );
    assert_eq!(app.emails_to(&to).await.len(), 1, "the batch goes on");
}

#[tokio::test]
async fn without_a_platform_email_queue_registration_still_succeeds_and_an_invitation_is_a_503() {
    let app = spawn_app_with(|config| config.platform_email_queue_url = None).await;
    let email = unique_email("no-outbox");
    app.register(&email, bodega_tests::PASSWORD, "Ada")
        .await
        .assert_ok(StatusCode::CREATED);
    let owner = app.signed_in_as(&unique_email("no-outbox-owner")).await;
    let org = app.new_org(&owner, "buyer").await;
    app.invite(&owner, &org, &unique_email("invitee"), "member", &[])
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
}
