//! Mail delivery: suppressions and one-click unsubscribe, bulk sends
//! through the queue and its worker, and SES's bounce and complaint events.

use axum::http::{Method, StatusCode};
use bodega_tests::{TestApp, emails_to, spawn_app_with, unique_email};
use serde_json::{Value, json};

use crate::mail::{MailApi, Team, create, order_template, send, team, template_path};

const PUBLIC_API: &str = "https://api.bodega.test";

/// An app whose emails link to `PUBLIC_API`.
async fn app() -> TestApp {
    spawn_app_with(|config| config.public_api_url = Some(PUBLIC_API.to_owned())).await
}

/// A marketing template, submitted and (with no approval steps) active.
async fn active_newsletter(app: &TestApp, t: &Team) -> String {
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
    let url = mail::suppressions::unsubscribe_url(&app.services.tokens, PUBLIC_API, &t.org, &to);
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
    assert_eq!(emails_to(&to).await.len(), 1);

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
    assert_eq!(emails_to(&to).await.len(), 2);

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
