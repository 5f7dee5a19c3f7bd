//! Uploads against moto's S3: grant → PUT through the presigned URL → the S3
//! trigger's checks → ready (or rejected and deleted).

use std::io::Cursor;

use axum::http::StatusCode;
use bodega_tests::{TestApp, http_request, spawn_app};
use serde_json::{Value, json};

pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A seller org owned by a fresh user: (owner token, org id).
async fn seller(app: &TestApp, email: &str) -> (String, String) {
    let token = app.signed_in_as(email).await;
    let org = app.new_org(&token, "seller").await;
    (token, org)
}

async fn grant(app: &TestApp, token: &str, body: Value) -> Value {
    app.request_upload(token, &body)
        .await
        .assert_ok(StatusCode::CREATED)
        .clone()
}

/// Grants an upload of `bytes` as a product image of `org` and sends the
/// file; returns the asset id.
async fn upload_product_png(app: &TestApp, owner: &str, org: &str, bytes: &[u8]) -> String {
    let body = json!({"purpose": "product_image", "contentType": "image/png", "size": bytes.len(), "orgId": org, "fileName": "tomates été 1.png"});
    let grant = grant(app, owner, body).await;
    assert_eq!(app.upload_with(&grant, bytes).await, 200);
    grant["assetId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_png_uploaded_through_the_presigned_url_becomes_ready_with_a_thumbnail() {
    let app = spawn_app().await;
    let (owner, org) = seller(&app, "olga@example.com").await;
    let bytes = png(800, 600);
    let grant = grant(
        &app,
        &owner,
        json!({"purpose": "product_image", "contentType": "image/png", "size": bytes.len(), "orgId": org, "fileName": "tomates été 1.png"}),
    )
    .await;
    let asset_id = grant["assetId"].as_str().unwrap().to_owned();
    assert_eq!(
        app.asset(&owner, &asset_id).await.assert_ok(StatusCode::OK)["status"],
        "pending"
    );

    assert_eq!(app.upload_with(&grant, &bytes).await, 200);
    app.ingest(&asset_id).await;

    let asset = app
        .asset(&owner, &asset_id)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(asset["status"], "ready", "{asset}");
    assert_eq!(
        (asset["width"].as_u64(), asset["height"].as_u64()),
        (Some(800), Some(600))
    );
    assert_eq!(asset["size"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(asset["fileName"], "tomates été 1.png");

    let (status, original) =
        http_request("GET", asset["downloadUrl"].as_str().unwrap(), &[], b"").await;
    assert_eq!((status, original.len()), (200, bytes.len()));
    let (status, thumbnail) =
        http_request("GET", asset["thumbnailUrl"].as_str().unwrap(), &[], b"").await;
    assert_eq!(status, 200);
    let thumbnail = image::load_from_memory(&thumbnail).unwrap();
    assert_eq!((thumbnail.width(), thumbnail.height()), (256, 192));

    // The same event again changes nothing.
    app.ingest(&asset_id).await;
    assert_eq!(
        app.asset(&owner, &asset_id).await.assert_ok(StatusCode::OK)["updatedAt"],
        asset["updatedAt"]
    );
}

#[tokio::test]
async fn a_png_declared_as_pdf_is_rejected_and_deleted() {
    let app = spawn_app().await;
    let (owner, org) = seller(&app, "olga@example.com").await;
    let bytes = png(32, 32);
    let grant = grant(
        &app,
        &owner,
        json!({"purpose": "compliance_document", "contentType": "application/pdf", "size": bytes.len(), "orgId": org}),
    )
    .await;
    let asset_id = grant["assetId"].as_str().unwrap().to_owned();
    app.upload_with(&grant, &bytes).await;
    app.ingest(&asset_id).await;

    let asset = app
        .asset(&owner, &asset_id)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(asset["status"], "rejected");
    assert!(
        asset["rejectReason"]
            .as_str()
            .unwrap()
            .contains("image/png"),
        "{asset}"
    );
    assert!(asset.get("downloadUrl").is_none());
    let stored: Value = app
        .services
        .store
        .get(&format!("ASSET#{asset_id}"), "ASSET")
        .await
        .unwrap()
        .unwrap();
    let gone = app
        .services
        .s3
        .head_object()
        .bucket(&app.services.config.bucket_name)
        .key(stored["objectKey"].as_str().unwrap())
        .send()
        .await;
    assert!(gone.is_err(), "the object is deleted");
}

#[tokio::test]
async fn oversize_files_are_refused_before_and_after_the_upload() {
    let app = spawn_app().await;
    let (owner, org) = seller(&app, "olga@example.com").await;
    let too_big = app
        .request_upload(&owner, &json!({"purpose": "product_image", "contentType": "image/png", "size": 10 * 1024 * 1024 + 1, "orgId": org}))
        .await;
    too_big.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");

    // Declared small, sent large: the trigger measures the real object.
    let bytes = png(300, 300);
    let grant = grant(
        &app,
        &owner,
        json!({"purpose": "product_image", "contentType": "image/png", "size": 100, "orgId": org}),
    )
    .await;
    let asset_id = grant["assetId"].as_str().unwrap().to_owned();
    app.upload_with(&grant, &bytes).await;
    app.ingest(&asset_id).await;
    let asset = app
        .asset(&owner, &asset_id)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(asset["status"], "rejected");
    assert!(
        asset["rejectReason"].as_str().unwrap().contains("declared"),
        "{asset}"
    );
}

#[tokio::test]
async fn types_a_purpose_does_not_accept_are_415() {
    let app = spawn_app().await;
    let (owner, org) = seller(&app, "olga@example.com").await;
    for (purpose, content_type) in [
        ("product_image", "image/gif"),
        ("product_image", "image/svg+xml"),
        ("compliance_document", "image/png"),
    ] {
        app.request_upload(
            &owner,
            &json!({"purpose": purpose, "contentType": content_type, "size": 10, "orgId": org}),
        )
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
    }
    app.request_upload(
        &owner,
        &json!({"purpose": "product_image", "contentType": "image/png", "size": 10}),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
}

#[tokio::test]
async fn svg_artwork_with_a_script_is_rejected_and_clean_artwork_accepted() {
    let app = spawn_app().await;
    let designer = app.signed_in_as("dana@example.com").await;
    let cases = [
        (
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><script>alert(1)</script></svg>"#,
            "rejected",
        ),
        (
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 150"><circle r="5"/></svg>"#,
            "ready",
        ),
    ];
    for (svg, expected) in cases {
        let grant = grant(&app, &designer, json!({"purpose": "design_artwork", "contentType": "image/svg+xml", "size": svg.len(), "fileName": "art.svg"})).await;
        let asset_id = grant["assetId"].as_str().unwrap().to_owned();
        app.upload_with(&grant, svg.as_bytes()).await;
        app.ingest(&asset_id).await;
        let asset = app
            .asset(&designer, &asset_id)
            .await
            .assert_ok(StatusCode::OK)
            .clone();
        assert_eq!(asset["status"], expected, "{asset}");
        if expected == "ready" {
            assert_eq!(
                (asset["width"].as_u64(), asset["height"].as_u64()),
                (Some(300), Some(150))
            );
        } else {
            assert!(asset["rejectReason"].as_str().unwrap().contains("script"));
        }
    }
}

#[tokio::test]
async fn assets_of_others_are_404_and_members_without_permission_403() {
    let app = spawn_app().await;
    let (owner, org) = seller(&app, "olga@example.com").await;
    let grant = grant(
        &app,
        &owner,
        json!({"purpose": "product_image", "contentType": "image/png", "size": 10, "orgId": org}),
    )
    .await;
    let asset_id = grant["assetId"].as_str().unwrap().to_owned();

    let (rival, rival_org) = seller(&app, "rita@example.com").await;
    app.asset(&rival, &asset_id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.delete_asset(&rival, &asset_id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    // Nor can a rival upload into the org.
    app.request_upload(
        &rival,
        &json!({"purpose": "product_image", "contentType": "image/png", "size": 10, "orgId": org}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let _ = rival_org;

    let (member, _) = app
        .joins_org(
            &owner,
            &org,
            &bodega_tests::unique_email("plain"),
            "member",
            &[],
        )
        .await;
    app.asset(&member, &asset_id)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    let designer = app.signed_in_as("dana@example.com").await;
    let artwork = grant_artwork(&app, &designer).await;
    app.asset(&owner, &artwork)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.asset(&designer, &artwork)
        .await
        .assert_ok(StatusCode::OK);
    app.asset(&designer, "does-not-exist")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn grant_artwork(app: &TestApp, token: &str) -> String {
    let grant = grant(
        app,
        token,
        json!({"purpose": "design_artwork", "contentType": "image/png", "size": 10}),
    )
    .await;
    grant["assetId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn deleting_an_asset_removes_the_file_and_the_item() {
    let app = spawn_app().await;
    let designer = app.signed_in_as("dana@example.com").await;
    let bytes = png(64, 64);
    let grant = grant(
        &app,
        &designer,
        json!({"purpose": "design_artwork", "contentType": "image/png", "size": bytes.len()}),
    )
    .await;
    let asset_id = grant["assetId"].as_str().unwrap().to_owned();
    app.upload_with(&grant, &bytes).await;
    app.ingest(&asset_id).await;
    let asset = app
        .asset(&designer, &asset_id)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(asset["status"], "ready");

    let deleted = app.delete_asset(&designer, &asset_id).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.asset(&designer, &asset_id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let (status, _) = http_request("GET", asset["downloadUrl"].as_str().unwrap(), &[], b"").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_devserver_pump_ingests_new_uploads() {
    let app = spawn_app().await;
    let mut notifications = devserver::pumps::UploadNotifications::new(&app.services);
    let designer = app.signed_in_as("dana@example.com").await;
    let bytes = png(120, 90);
    let grant = grant(&app, &designer, json!({"purpose": "design_artwork", "contentType": "image/png", "size": bytes.len(), "fileName": "mood board ✓.png"})).await;
    let asset_id = grant["assetId"].as_str().unwrap().to_owned();
    app.upload_with(&grant, &bytes).await;
    let pending = app.asset(&designer, &asset_id).await;
    assert_eq!(pending.body["data"]["status"], "pending");

    notifications.pass().await.expect("the bucket lists");
    let ingested = app.asset(&designer, &asset_id).await;
    assert_eq!(
        ingested.body["data"]["status"], "ready",
        "{}",
        ingested.body
    );
}

#[tokio::test]
async fn the_s3_sample_event_with_an_encoded_key_runs_through_the_ingest_handler() {
    let app = spawn_app().await;
    let (owner, org) = seller(&app, "olga@example.com").await;
    let asset_id = upload_product_png(&app, &owner, &org, &png(200, 100)).await;

    // The sample, pointed at this upload: same encoding, this bucket and ids.
    let mut event = bodega_tests::sample_events()
        .remove("assets/s3-object-created.json")
        .unwrap();
    let object = &mut event["Records"][0]["s3"]["object"];
    let sample_key = object["key"].as_str().unwrap().to_owned();
    assert!(
        sample_key.contains('+') && sample_key.contains("%C3%A9"),
        "the sample shows S3's encoding"
    );
    object["key"] = sample_key
        .replace("01JD8X3Q4Z5Y6W7V8T9S0R1P2N", &org)
        .replace("01JD8X4A5B6C7D8E9F0G1H2J3K", &asset_id)
        .into();
    event["Records"][0]["s3"]["bucket"]["name"] = app.services.config.bucket_name.clone().into();
    let event: aws_lambda_events::event::s3::S3Event = serde_json::from_value(event).unwrap();
    assets::ingest::handle_event(&assets::AssetsState::new(&app.services), event)
        .await
        .unwrap();

    let asset = app
        .asset(&owner, &asset_id)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(asset["status"], "ready", "{asset}");
}
