//! Public creator profiles: handles, privacy, redirects from old handles,
//! validation and erasure.

use axum::http::{Method, StatusCode};
use bodega_tests::{PASSWORD, TestApp, TestResponse, spawn_app, unique_email};
use serde_json::{Value, json};

const MY_PROFILE: &str = "/v1/me/profile";

async fn patch_profile(
    app: &TestApp,
    token: &str,
    if_match: Option<&str>,
    body: &Value,
) -> TestResponse {
    app.call_if_match(Method::PATCH, MY_PROFILE, Some(token), if_match, Some(body))
        .await
}

async fn public_profile(app: &TestApp, handle: &str) -> TestResponse {
    app.call(Method::GET, &format!("/v1/profiles/{handle}"), None, None)
        .await
}

fn etag_of(response: &TestResponse) -> String {
    response.headers["etag"].to_str().unwrap().to_owned()
}

/// A ready image `token`'s holder uploaded; returns its asset id.
async fn own_image(app: &TestApp, token: &str) -> String {
    let svg =
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><circle r="5"/></svg>"#;
    let grant = app
        .request_upload(
            token,
            &json!({"purpose": "design_artwork", "contentType": "image/svg+xml", "size": svg.len(), "fileName": "avatar.svg"}),
        )
        .await;
    let grant = grant.assert_ok(StatusCode::CREATED).clone();
    let asset_id = grant["assetId"].as_str().unwrap().to_owned();
    assert_eq!(app.upload_with(&grant, svg.as_bytes()).await, 200);
    app.ingest(&asset_id).await;
    asset_id
}

#[tokio::test]
async fn a_public_profile_resolves_by_handle_and_follows_a_change_of_handle() {
    let app = spawn_app().await;
    let email = unique_email("ada");
    let ada = app.signed_in_as(&email).await;

    // Private by default: nothing to see, even with a handle.
    let mine = app.call(Method::GET, MY_PROFILE, Some(&ada), None).await;
    assert_eq!(etag_of(&mine), "\"0\"");
    assert_eq!(mine.assert_ok(StatusCode::OK)["isPublic"], false);
    let saved = patch_profile(
        &app,
        &ada,
        Some("\"0\""),
        &json!({"handle": "@Ada-Prints", "displayName": "Ada's <b>Prints</b>"}),
    )
    .await;
    assert_eq!(etag_of(&saved), "\"1\"");
    let saved = saved.assert_ok(StatusCode::OK);
    assert_eq!(saved["handle"], "ada-prints");
    assert_eq!(saved["displayName"], "Ada's Prints");
    public_profile(&app, "ada-prints")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Public: the profile, without anything of the account.
    let avatar = own_image(&app, &ada).await;
    let public = patch_profile(
        &app,
        &ada,
        Some("\"1\""),
        &json!({
            "isPublic": true,
            "avatarAssetId": avatar,
            "bio": "Patterns from <script>alert(1)</script>the Lisbon tiles.\nMade to order.",
            "website": "https://ada.example.com",
            "socialLinks": ["https://instagram.example.com/ada"],
        }),
    )
    .await;
    public.assert_ok(StatusCode::OK);
    let shown = public_profile(&app, "ADA-prints").await;
    let body = shown.assert_ok(StatusCode::OK).clone();
    assert_eq!(body["handle"], "ada-prints");
    assert_eq!(body["displayName"], "Ada's Prints");
    assert_eq!(body["avatarAssetId"], avatar.as_str());
    assert_eq!(
        body["bio"],
        "Patterns from alert(1)the Lisbon tiles.\nMade to order."
    );
    assert_eq!(
        body["socialLinks"],
        json!(["https://instagram.example.com/ada"])
    );
    let text = body.to_string();
    assert!(!text.contains(&email) && !text.contains("email") && !text.contains("phone"));
    assert!(body.get("isPublic").is_none() && body.get("userId").is_none());

    // A taken handle is 409, whoever asks.
    let grace = app.signed_in_as(&unique_email("grace")).await;
    let taken = patch_profile(&app, &grace, None, &json!({"handle": "ada-prints"})).await;
    taken.assert_error(StatusCode::CONFLICT, "CONFLICT");
    assert!(taken.body["error"]["fields"]["handle"].is_array());

    // Ada moves to a new handle: the old one answers with the new one.
    let stale = patch_profile(&app, &ada, Some("\"1\""), &json!({"handle": "ada-tiles"})).await;
    stale.assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    let moved = patch_profile(&app, &ada, Some("\"2\""), &json!({"handle": "ada-tiles"})).await;
    let moved = moved.assert_ok(StatusCode::OK).clone();
    assert_eq!(moved["handle"], "ada-tiles");
    assert_eq!(moved["previousHandles"][0]["handle"], "ada-prints");
    let old = public_profile(&app, "ada-prints").await;
    assert_eq!(old.headers["content-location"], "/v1/profiles/ada-tiles");
    assert_eq!(old.assert_ok(StatusCode::OK)["handle"], "ada-tiles");
    let new = public_profile(&app, "ada-tiles").await;
    assert_eq!(new.assert_ok(StatusCode::OK)["displayName"], "Ada's Prints");
    // The old handle stays hers for 30 days.
    patch_profile(&app, &grace, None, &json!({"handle": "ada-prints"}))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    // After the 30 days it answers no more, and anyone may take it.
    app.clock
        .freeze_at(app.clock.now_epoch() + 30 * 24 * 3600 + 60);
    public_profile(&app, "ada-prints")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let taken_over = patch_profile(&app, &grace, None, &json!({"handle": "ada-prints"})).await;
    assert_eq!(taken_over.assert_ok(StatusCode::OK)["handle"], "ada-prints");

    // Private again: 404 at once.
    patch_profile(&app, &ada, None, &json!({"isPublic": false}))
        .await
        .assert_ok(StatusCode::OK);
    public_profile(&app, "ada-tiles")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Erased with the account: the handle is free again.
    patch_profile(&app, &ada, None, &json!({"isPublic": true}))
        .await
        .assert_ok(StatusCode::OK);
    app.delete_me(&ada, PASSWORD)
        .await
        .assert_ok(StatusCode::OK);
    public_profile(&app, "ada-tiles")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let freed = patch_profile(&app, &grace, None, &json!({"handle": "ada-tiles"})).await;
    assert_eq!(freed.assert_ok(StatusCode::OK)["handle"], "ada-tiles");
}

#[tokio::test]
async fn profile_changes_refuse_bad_input_in_the_envelope() {
    let app = spawn_app().await;
    let ada = app.signed_in_as(&unique_email("ada")).await;
    let grace = app.signed_in_as(&unique_email("grace")).await;

    // Every field's problem at once.
    let invalid = patch_profile(
        &app,
        &ada,
        None,
        &json!({
            "handle": "a b",
            "displayName": "x".repeat(61),
            "bio": "y".repeat(501),
            "website": "javascript:alert(1)",
            "socialLinks": ["https://a.example.com", "ftp://b.example.com", "https://a.example.com"],
            "avatarAssetId": "not-an-id",
        }),
    )
    .await;
    invalid.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = &invalid.body["error"]["fields"];
    for field in [
        "handle",
        "displayName",
        "bio",
        "website",
        "socialLinks[1]",
        "socialLinks[2]",
        "avatarAssetId",
    ] {
        assert!(fields[field].is_array(), "{field}: {fields}");
    }
    patch_profile(&app, &ada, None, &json!({"handle": "admin"}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let links: Vec<String> = (0..6)
        .map(|i| format!("https://s{i}.example.com"))
        .collect();
    patch_profile(&app, &ada, None, &json!({"socialLinks": links}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    // A public profile needs a handle.
    let nameless = patch_profile(&app, &ada, None, &json!({"isPublic": true})).await;
    nameless.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(nameless.body["error"]["fields"]["isPublic"].is_array());
    // Wrong types and unreadable JSON.
    patch_profile(&app, &ada, None, &json!({"isPublic": "yes"}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let unreadable = app
        .request(
            Method::PATCH,
            MY_PROFILE,
            bodega_tests::Auth::Bearer(&ada),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(
        unreadable.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        unreadable.body
    );
    assert_eq!(unreadable.body["success"], false);
    // Someone else's image is not an avatar.
    let theirs = own_image(&app, &grace).await;
    let avatar = patch_profile(&app, &ada, None, &json!({"avatarAssetId": theirs})).await;
    avatar.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(avatar.body["error"]["fields"]["avatarAssetId"].is_array());
    // An If-Match that is no ETag of ours matches nothing.
    patch_profile(&app, &ada, Some("v1"), &json!({"bio": "hi"}))
        .await
        .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    // Null removes an optional field; blank text counts as removed.
    patch_profile(
        &app,
        &ada,
        None,
        &json!({"bio": "hi", "website": "https://ada.example.com"}),
    )
    .await
    .assert_ok(StatusCode::OK);
    let cleared = patch_profile(
        &app,
        &ada,
        None,
        &json!({"bio": "<i> </i>", "website": null}),
    )
    .await;
    let cleared = cleared.assert_ok(StatusCode::OK);
    assert!(
        cleared.get("bio").is_none() && cleared.get("website").is_none(),
        "{cleared}"
    );
    // Signed out: 401; an unknown or malformed handle: 404.
    app.call(Method::GET, MY_PROFILE, None, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    public_profile(&app, "nobody-here")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    public_profile(&app, "x")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}
