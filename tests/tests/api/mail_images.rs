//! Template images: an organization's template assets, published at stable
//! URLs and linked into its emails (`asset:<id>`).

use axum::http::{Method, StatusCode};
use bodega_tests::{TestApp, http_request, spawn_app, unique_email};
use serde_json::{Value, json};

use crate::assets::png;
use crate::mail::{MailApi, create, order_template, send, team, template_path};

/// Uploads a PNG as a template image of `org` and runs the upload trigger:
/// (asset id, the PNG's bytes).
async fn template_image(app: &TestApp, token: &str, org: &str) -> (String, Vec<u8>) {
    let bytes = png(120, 40);
    let grant = app
        .request_upload(
            token,
            &json!({"purpose": "template_asset", "contentType": "image/png", "size": bytes.len(), "orgId": org, "fileName": "logo été.png"}),
        )
        .await
        .assert_ok(StatusCode::CREATED)
        .clone();
    assert_eq!(app.upload_with(&grant, &bytes).await, 200);
    let asset_id = grant["assetId"].as_str().unwrap().to_owned();
    app.ingest(&asset_id).await;
    (asset_id, bytes)
}

fn with_image(asset_id: &str) -> Value {
    let mut body = order_template();
    body["body"] = json!(format!(
        "<mjml><mj-body><mj-section><mj-column>\
         <mj-image src=\"asset:{asset_id}\" alt=\"Our logo\" width=\"120px\" />\
         <mj-text>Hello {{{{ firstName }}}}, order {{{{ orderNumber }}}}.</mj-text>\
         </mj-column></mj-section></mj-body></mjml>"
    ));
    body["text"] = json!(format!(
        "Hello {{{{ firstName }}}}, order {{{{ orderNumber }}}}.\nLogo: asset:{asset_id}"
    ));
    body["variables"] = json!([
        { "name": "firstName", "type": "string", "required": true },
        { "name": "orderNumber", "type": "string", "required": true }
    ]);
    body
}

async fn preview(app: &TestApp, token: &str, org: &str, id: &str) -> Value {
    app.mail(
        Method::POST,
        token,
        &format!("{}/preview", template_path(org, id)),
        Some(&json!({})),
    )
    .await
    .assert_ok(StatusCode::OK)
    .clone()
}

#[tokio::test]
async fn template_images_are_published_at_stable_urls_and_linked_into_emails() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let (asset_id, bytes) = template_image(&app, &t.editor, &t.org).await;
    let asset = app
        .asset(&t.editor, &asset_id)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(asset["status"], "ready", "{asset}");
    let url = asset["publicUrl"]
        .as_str()
        .expect("a public URL")
        .to_owned();
    assert!(url.ends_with("/logo%20%C3%A9t%C3%A9.png"), "{url}");
    // Anyone can fetch it, without a signature, and it is the file uploaded.
    let (status, fetched) = http_request("GET", &url, &[], &[]).await;
    assert_eq!((status, fetched == bytes), (200, true), "{url}");

    let id = create(&app, &t.editor, &t.org, &with_image(&asset_id)).await;
    let previewed = preview(&app, &t.editor, &t.org, &id).await;
    let html = previewed["rendered"]["html"].as_str().expect("renders");
    assert!(html.contains(&format!("src=\"{url}\"")), "{html}");
    assert!(!html.contains("asset:"), "{html}");

    // The version freezes the URL; the send links it.
    let version = app
        .mail(
            Method::POST,
            &t.editor,
            &format!("{}/submit", template_path(&t.org, &id)),
            None,
        )
        .await
        .assert_ok(StatusCode::CREATED)
        .clone();
    assert_eq!(version["assets"][&asset_id], url, "{version}");
    let to = unique_email("buyer");
    send(
        &app,
        &t.approver1,
        &t.org,
        &id,
        &json!({ "to": to, "data": { "firstName": "Ada", "orderNumber": "9" } }),
    )
    .await
    .assert_ok(StatusCode::OK);
    let sent = app.emails_to(&to).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.contains(&url), "{}", sent[0].body);

    // Deleting the image unpublishes it.
    assert_eq!(
        app.delete_asset(&t.editor, &asset_id).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(http_request("GET", &url, &[], &[]).await.0, 404);
}

#[tokio::test]
async fn another_orgs_image_or_an_unknown_one_never_renders() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let stranger = app.signed_in_as(&unique_email("stranger")).await;
    let other_org = app.new_org(&stranger, "buyer").await;
    let (theirs, _) = template_image(&app, &stranger, &other_org).await;
    for asset_id in [theirs.as_str(), "01JDC0NOSUCHASSET000000000"] {
        let id = create(&app, &t.editor, &t.org, &with_image(asset_id)).await;
        let previewed = preview(&app, &t.editor, &t.org, &id).await;
        assert!(previewed["rendered"].is_null(), "{previewed}");
        let problem = &previewed["errors"][0];
        assert_eq!(problem["part"], "body", "{previewed}");
        assert_eq!(problem["line"], 1, "{previewed}");
        assert!(
            problem["message"].as_str().unwrap().contains(asset_id),
            "{previewed}"
        );
        let refused = app
            .mail(
                Method::POST,
                &t.editor,
                &format!("{}/submit", template_path(&t.org, &id)),
                None,
            )
            .await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        let fields = &refused.body["error"]["fields"];
        assert!(
            fields["body"][0].as_str().unwrap().contains(asset_id),
            "{}",
            refused.body
        );
        assert!(fields["text"][0].as_str().is_some(), "{}", refused.body);
    }
}
