//! Mail delivery: suppressions and one-click unsubscribe, bulk sends
//! through the queue and its worker, and SES's bounce and complaint events.

use axum::http::{Method, StatusCode};
use bodega_tests::{TestApp, spawn_app_with, unique_email};
use serde_json::{Value, json};

use crate::mail::{MailApi, Team, create, order_template, send, team, template_path};

const PUBLIC_API: &str = "https://api.bodega.test";

/// An app whose emails link to `PUBLIC_API`.
async fn app() -> TestApp {
    spawn_app_with(|config| config.public_api_url = Some(PUBLIC_API.to_owned())).await
}

/// A marketing template, submitted and (with no approval steps) active.
pub(crate) async fn active_newsletter(app: &TestApp, t: &Team) -> String {
    let mut body = order_template();
    body["category"] = json!("marketing");
    let id = create(app, &t.editor, &t.org, &body).await;
    app.mail(
        Method::POST,
        &t.editor,
        &format!("{}/submit", template_path(&t.org, &id)),
        None,
    )
    .await
    .assert_ok(StatusCode::CREATED);
    id
}

fn data() -> Value {
    json!({ "firstName": "Ada", "orderNumber": "N-1" })
}

fn suppressions(org: &str) -> String {
    format!("/v1/orgs/{org}/suppressions")
}

#[tokio::test]
async fn one_click_unsubscribe_suppresses_the_address_and_the_next_send_is_skipped() {
    let app = app().await;
    let t = team(&app).await;
    let id = active_newsletter(&app, &t).await;
    let to = unique_email("reader");
    let first = send(
        &app,
        &t.owner,
        &t.org,
        &id,
        &json!({ "to": to, "data": data() }),
    )
    .await;
    assert_eq!(first.assert_ok(StatusCode::OK)["status"], "sent");

    // The URL the List-Unsubscribe header carries; the client POSTs to it.
    let url = mail::suppressions::unsubscribe_url(&app.services.signing, PUBLIC_API, &t.org, &to);
    let path = url.strip_prefix(PUBLIC_API).unwrap().to_owned();
    let form = "List-Unsubscribe=One-Click";
    let content_type = Some("application/x-www-form-urlencoded");
    let answer = app.post_raw(&path, content_type, form).await;
    assert_eq!(answer.assert_ok(StatusCode::OK)["unsubscribed"], true);
    // Twice is fine, and a forged or garbled token is refused.
    app.post_raw(&path, content_type, form)
        .await
        .assert_ok(StatusCode::OK);
    let mut forged = path.clone();
    forged.pop();
    forged.push(if path.ends_with('A') { 'B' } else { 'A' });
    app.post_raw(&forged, content_type, form)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    app.post_raw("/v1/unsubscribe/garbage", content_type, form)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");

    // The next send is recorded as suppressed, and SES never sees it.
    let second = send(
        &app,
        &t.owner,
        &t.org,
        &id,
        &json!({ "to": to, "data": data() }),
    )
    .await;
    assert_eq!(second.assert_ok(StatusCode::OK)["status"], "suppressed");
    assert_eq!(app.emails_to(&to).await.len(), 1);

    // The list shows it to readers; only managers may remove it.
    let list = app
        .mail(Method::GET, &t.viewer, &suppressions(&t.org), None)
        .await;
    let listed = list.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["email"], to.as_str());
    assert_eq!(listed[0]["reason"], "unsubscribed");
    let remove = format!("{}?email={}", suppressions(&t.org), to.replace('@', "%40"));
    app.mail(Method::DELETE, &t.viewer, &remove, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let stranger = app.signed_in_as(&unique_email("stranger")).await;
    for (method, path) in [
        (Method::GET, suppressions(&t.org)),
        (Method::DELETE, remove.clone()),
    ] {
        app.mail(method, &stranger, &path, None)
            .await
            .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    app.mail(Method::DELETE, &t.manager, &remove, None)
        .await
        .assert_ok(StatusCode::OK);
    app.mail(Method::DELETE, &t.manager, &remove, None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let third = send(
        &app,
        &t.owner,
        &t.org,
        &id,
        &json!({ "to": to, "data": data() }),
    )
    .await;
    assert_eq!(third.assert_ok(StatusCode::OK)["status"], "sent");
    assert_eq!(app.emails_to(&to).await.len(), 2);

    // Both changes are in the org's audit trail.
    let audit = app.org_audit(&t.owner, &t.org, "").await;
    let actions: Vec<String> = audit
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        actions.contains(&"suppression.added".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"suppression.removed".to_owned()),
        "{actions:?}"
    );
}

/// An app with a send queue of its own (moto's SQS is shared by every
/// test) and a send rate that keeps the test quick.
pub(crate) async fn app_with_queue() -> TestApp {
    let sqs = std::env::var("AWS_ENDPOINT_URL_SQS").expect("the stack names its SQS endpoint");
    let queue = format!(
        "{}/123456789012/mail-sends-{}",
        sqs.trim_end_matches('/'),
        ulid::Ulid::new().to_string().to_lowercase()
    );
    spawn_app_with(|config| {
        config.public_api_url = Some(PUBLIC_API.to_owned());
        config.mail_send_queue_url = Some(queue);
        config.mail_send_rate = 2000.0;
    })
    .await
}

async fn unsubscribe(app: &TestApp, org: &str, email: &str) {
    let url = mail::suppressions::unsubscribe_url(&app.services.signing, PUBLIC_API, org, email);
    app.post_raw(
        url.strip_prefix(PUBLIC_API).unwrap(),
        Some("application/x-www-form-urlencoded"),
        "List-Unsubscribe=One-Click",
    )
    .await
    .assert_ok(StatusCode::OK);
}

#[tokio::test]
async fn a_bulk_send_is_checked_then_sent_once_per_recipient_even_when_a_batch_comes_twice() {
    let app = app_with_queue().await;
    let t = team(&app).await;
    let id = active_newsletter(&app, &t).await;
    let emails: Vec<String> = (0..200).map(|i| unique_email(&format!("r{i}"))).collect();
    let (bad_row, suppressed) = (57, [10, 150]);
    for i in suppressed {
        unsubscribe(&app, &t.org, &emails[i]).await;
    }
    let recipients: Vec<Value> = emails
        .iter()
        .enumerate()
        .map(|(i, email)| {
            let data = if i == bad_row {
                json!({ "orderNumber": "N-57" })
            } else {
                json!({ "firstName": format!("Reader {i}"), "orderNumber": format!("N-{i}") })
            };
            json!({ "email": email, "data": data })
        })
        .collect();
    let sends = format!("/v1/orgs/{}/sends", t.org);
    let state = mail::MailState::new(&app.services, app.services.signing.clone());

    // The dry run names the bad row and the suppressed ones, and queues nothing.
    let body = json!({ "templateId": id, "recipients": recipients, "dryRun": true });
    let dry = app.mail(Method::POST, &t.owner, &sends, Some(&body)).await;
    let report = dry.assert_ok(StatusCode::OK);
    assert_eq!(
        (&report["valid"], &report["invalid"], &report["suppressed"]),
        (&json!(197), &json!(1), &json!(2))
    );
    assert_eq!(report["recipients"][bad_row]["status"], "invalid");
    assert!(
        report["recipients"][bad_row]["errors"]["data.firstName"].is_array(),
        "{report}"
    );
    assert_eq!(report["recipients"][150]["status"], "suppressed");
    assert!(
        devserver::pumps::drain_send_queue(&state)
            .await
            .unwrap()
            .is_empty()
    );

    // Viewers and strangers cannot send.
    let body = json!({ "templateId": id, "recipients": recipients });
    app.mail(Method::POST, &t.viewer, &sends, Some(&body))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let stranger = app.signed_in_as(&unique_email("stranger")).await;
    app.mail(Method::POST, &stranger, &sends, Some(&body))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // The real run: 202, then the worker drains the queue.
    let key = [("idempotency-key", "campaign-1")];
    let accepted = app
        .request(
            Method::POST,
            &sends,
            bodega_tests::Auth::Bearer(&t.owner),
            Some(&body),
            &key,
        )
        .await;
    let send_id = accepted.assert_ok(StatusCode::ACCEPTED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(accepted.body["data"]["status"], "queued");
    let batches = devserver::pumps::drain_send_queue(&state).await.unwrap();
    assert_eq!(batches.len(), 2, "20 queue messages, 10 a batch");
    // SQS delivers a batch again: nothing is sent or counted twice.
    let again = mail::worker::handle_batch(&state, batches[0].clone(), None).await;
    assert!(again.batch_item_failures.is_empty());
    // A retried request with the same key is the same send and queues nothing.
    let retried = app
        .request(
            Method::POST,
            &sends,
            bodega_tests::Auth::Bearer(&t.owner),
            Some(&body),
            &key,
        )
        .await;
    assert_eq!(
        retried.assert_ok(StatusCode::ACCEPTED)["id"],
        send_id.as_str()
    );
    assert_eq!(retried.headers["idempotent-replayed"], "true");
    assert!(
        devserver::pumps::drain_send_queue(&state)
            .await
            .unwrap()
            .is_empty()
    );

    let progress = app
        .mail(
            Method::GET,
            &t.viewer,
            &format!("{sends}/{send_id}?limit=100"),
            None,
        )
        .await;
    let send = progress.assert_ok(StatusCode::OK);
    assert_eq!(
        (
            &send["sent"],
            &send["suppressed"],
            &send["failed"],
            &send["pending"]
        ),
        (&json!(197), &json!(2), &json!(1), &json!(0)),
        "{send}"
    );
    assert_eq!(send["status"], "completed");
    let page = send["recipients"].as_array().unwrap();
    assert_eq!(page.len(), 100);
    assert_eq!(page[bad_row]["status"], "failed");
    assert!(page[bad_row]["errors"]["data.firstName"].is_array());
    assert_eq!(page[10]["status"], "suppressed");
    assert_eq!(page[11]["status"], "sent");
    let cursor = progress.body["pagination"]["nextCursor"].as_str().unwrap();
    let rest = app
        .mail(
            Method::GET,
            &t.viewer,
            &format!("{sends}/{send_id}?limit=100&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(
        rest.assert_ok(StatusCode::OK)["recipients"][50]["status"],
        "suppressed"
    );

    // Each recipient got one email; the suppressed ones none.
    assert_eq!(app.emails_to(&emails[11]).await.len(), 1);
    assert_eq!(app.emails_to(&emails[199]).await.len(), 1);
    assert!(app.emails_to(&emails[150]).await.is_empty());
    assert!(app.emails_to(&emails[bad_row]).await.is_empty());
    // 197 sent and 2 suppressed messages, each recorded once.
    let messages = format!("/v1/orgs/{}/messages?limit=100", t.org);
    let first = app.mail(Method::GET, &t.viewer, &messages, None).await;
    let mut count = first.assert_ok(StatusCode::OK).as_array().unwrap().len();
    let mut cursor = first.body["pagination"]["nextCursor"]
        .as_str()
        .map(str::to_owned);
    while let Some(next) = cursor {
        let page = app
            .mail(
                Method::GET,
                &t.viewer,
                &format!("{messages}&cursor={next}"),
                None,
            )
            .await;
        count += page.assert_ok(StatusCode::OK).as_array().unwrap().len();
        cursor = page.body["pagination"]["nextCursor"]
            .as_str()
            .map(str::to_owned);
    }
    assert_eq!(count, 199);

    // Another org's member sees no such send.
    app.mail(Method::GET, &stranger, &format!("{sends}/{send_id}"), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let other_org = app.new_org(&stranger, "both").await;
    app.mail(
        Method::GET,
        &stranger,
        &format!("/v1/orgs/{other_org}/sends/{send_id}"),
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

/// A sample SES event from events/mail/, about `message` sent to `to` by `org`.
fn ses_event(
    sample: &str,
    org: &str,
    message: &Value,
    to: &str,
) -> mail::ses_events::SesEventBridgeEvent {
    let mut event = bodega_tests::sample_events()[sample].clone();
    let detail = &mut event["detail"];
    detail["mail"]["tags"]["org"] = json!([org]);
    detail["mail"]["tags"]["message"] = json!([message["id"]]);
    detail["mail"]["messageId"] = message["sesMessageId"].clone();
    detail["mail"]["destination"] = json!([to]);
    for (part, list) in [
        ("bounce", "bouncedRecipients"),
        ("complaint", "complainedRecipients"),
    ] {
        if let Some(all) = detail
            .get_mut(part)
            .and_then(|p| p.get_mut(list))
            .and_then(Value::as_array_mut)
        {
            for r in all {
                r["emailAddress"] = json!(to);
            }
        }
    }
    serde_json::from_value(event).expect("an SES event from EventBridge")
}

#[tokio::test]
async fn a_hard_bounce_and_a_complaint_suppress_the_address_and_mark_the_message() {
    let app = app().await;
    let t = team(&app).await;
    let mut body = order_template();
    body["name"] = json!("Receipt");
    let id = create(&app, &t.editor, &t.org, &body).await;
    app.mail(
        Method::POST,
        &t.editor,
        &format!("{}/submit", template_path(&t.org, &id)),
        None,
    )
    .await
    .assert_ok(StatusCode::CREATED);
    for (sample, reason, status) in [
        ("mail/ses-bounce.json", "bounced", "bounced"),
        ("mail/ses-complaint.json", "complained", "complained"),
    ] {
        let to = unique_email(reason);
        let sent = send(
            &app,
            &t.owner,
            &t.org,
            &id,
            &json!({ "to": to, "data": data() }),
        )
        .await;
        let message = sent.assert_ok(StatusCode::OK).clone();
        let event = ses_event(sample, &t.org, &message, &to);
        // Delivered twice, applied once.
        for _ in 0..2 {
            mail::ses_events::handle_event(&app.services.store, &event.detail)
                .await
                .unwrap();
        }
        let list = app
            .mail(Method::GET, &t.viewer, &suppressions(&t.org), None)
            .await;
        let entry = list
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["email"] == to.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{to} is not suppressed: {}", list.body));
        assert_eq!(entry["reason"], reason);
        assert_eq!(entry["messageId"], message["id"]);
        let messages = app
            .mail(
                Method::GET,
                &t.viewer,
                &format!("/v1/orgs/{}/messages", t.org),
                None,
            )
            .await;
        let recorded = messages
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == message["id"])
            .cloned()
            .unwrap();
        assert_eq!(recorded["status"], status);
        // The next send to the address is skipped.
        let next = send(
            &app,
            &t.owner,
            &t.org,
            &id,
            &json!({ "to": to, "data": data() }),
        )
        .await;
        assert_eq!(next.assert_ok(StatusCode::OK)["status"], "suppressed");
        assert_eq!(app.emails_to(&to).await.len(), 1);
    }
    // A soft bounce changes nothing.
    let to = unique_email("soft");
    let sent = send(
        &app,
        &t.owner,
        &t.org,
        &id,
        &json!({ "to": to, "data": data() }),
    )
    .await;
    let message = sent.assert_ok(StatusCode::OK).clone();
    let mut soft = ses_event("mail/ses-bounce.json", &t.org, &message, &to);
    soft.detail.bounce.as_mut().unwrap().bounce_type = "Transient".into();
    mail::ses_events::handle_event(&app.services.store, &soft.detail)
        .await
        .unwrap();
    let again = send(
        &app,
        &t.owner,
        &t.org,
        &id,
        &json!({ "to": to, "data": data() }),
    )
    .await;
    assert_eq!(again.assert_ok(StatusCode::OK)["status"], "sent");
}
