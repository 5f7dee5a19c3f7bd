//! API keys: create → use → revoke → rejected, and the ways a key is refused.

use axum::http::{Method, StatusCode};
use bodega_tests::{Auth, spawn_app, unique_email};
use serde_json::json;

#[tokio::test]
async fn api_key_create_use_revoke_rejected_journey() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let org = app.new_org(&owner, "seller").await;

    let created = app
        .create_api_key(
            &owner,
            &org,
            &json!({"name": " ERP ", "permissions": ["member:read", "org:read", "member:read"]}),
        )
        .await;
    let data = created.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(created.headers["cache-control"], "no-store");
    let key = data["key"].as_str().unwrap().to_owned();
    let prefix = data["prefix"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("bdg_{prefix}_")), "{key}");
    assert_eq!(key.len(), 4 + 12 + 1 + 64);
    assert_eq!(data["name"], "ERP");
    assert_eq!(data["permissions"], json!(["org:read", "member:read"]));

    // Only a hash is stored: no attribute of the item holds the secret.
    let item = app
        .stored_item(&format!("APIKEY#{prefix}"), "APIKEY")
        .await
        .expect("the key is stored under its prefix");
    let secret = key.rsplit('_').next().unwrap();
    assert!(!format!("{item:?}").contains(secret));
    assert_eq!(
        item["secretHash"].as_s().unwrap(),
        &shared::crypto::hash_secret(&key)
    );

    // The key works with either header, for what it holds only.
    app.get_org(&key, &org).await.assert_ok(StatusCode::OK);
    app.request(
        Method::GET,
        &format!("/v1/orgs/{org}/members"),
        Auth::ApiKeyHeader(&key),
        None,
        &[],
    )
    .await
    .assert_ok(StatusCode::OK);
    app.update_org(&key, &org, &json!({"name": "Key Was Here"}), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // User-only endpoints do not take keys.
    app.me(&key)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    // The list shows the key without any secret, with its last use.
    let listed = app.api_keys(&owner, &org).await;
    let keys = listed.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["prefix"], prefix.as_str());
    assert_eq!(keys[0]["name"], "ERP");
    assert!(keys[0]["lastUsedAt"].is_string(), "{}", keys[0]);
    assert!(keys[0].get("key").is_none() && keys[0].get("secretHash").is_none());
    assert!(!listed.body.to_string().contains(secret));

    let revoked = app.revoke_api_key(&owner, &org, &prefix).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    for auth in [Auth::Bearer(&key), Auth::ApiKeyHeader(&key)] {
        app.request(Method::GET, &format!("/v1/orgs/{org}"), auth, None, &[])
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
    app.revoke_api_key(&owner, &org, &prefix)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let listed = app.api_keys(&owner, &org).await;
    assert!(listed.assert_ok(StatusCode::OK)[0]["revokedAt"].is_string());

    let audit = app.org_audit(&owner, &org, "").await;
    let events = audit.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(events[0]["action"], "apikey.revoked");
    assert_eq!(events[1]["action"], "apikey.created");
    assert_eq!(events[1]["target"], format!("apikey:{prefix}"));
    assert!(!audit.body.to_string().contains(secret));
}

#[tokio::test]
async fn an_expired_key_is_401() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let org = app.new_org(&owner, "buyer").await;
    let expires_at = shared::domain::epoch_to_rfc3339(app.clock.now_epoch() + 2);
    let created = app
        .create_api_key(
            &owner,
            &org,
            &json!({"name": "short-lived", "permissions": ["org:read"], "expiresAt": expires_at}),
        )
        .await;
    let key = created.assert_ok(StatusCode::CREATED)["key"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get_org(&key, &org).await.assert_ok(StatusCode::OK);
    app.clock.advance(std::time::Duration::from_secs(3));
    app.get_org(&key, &org)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
}

#[tokio::test]
async fn forged_and_malformed_keys_are_401() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let org = app.new_org(&owner, "buyer").await;
    let (key, prefix) = app.new_api_key(&owner, &org, &["org:read"]).await;
    let last = key.chars().last().unwrap();
    let tampered = format!(
        "{}{}",
        &key[..key.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let guessed = format!("bdg_{prefix}_{}", "0".repeat(64));
    for bad in [tampered.as_str(), guessed.as_str(), "bdg_nope", "bdg_"] {
        let response = app
            .request(
                Method::GET,
                &format!("/v1/orgs/{org}"),
                Auth::ApiKeyHeader(bad),
                None,
                &[],
            )
            .await;
        response.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
    app.get_org(&tampered, &org)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.get_org(&key, &org).await.assert_ok(StatusCode::OK);
}

#[tokio::test]
async fn a_key_never_holds_more_than_its_creator_and_never_mints_keys() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let org = app.new_org(&owner, "seller").await;
    let (admin, _) = app
        .joins_org(&owner, &org, &unique_email("ada"), "admin", &[])
        .await;

    // An admin without the seller role cannot hand out product:write.
    let response = app
        .create_api_key(
            &admin,
            &org,
            &json!({"name": "", "permissions": ["product:write", "bogus:thing"], "expiresAt": "2001-01-01T00:00:00Z"}),
        )
        .await;
    response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = &response.body["error"]["fields"];
    assert_eq!(
        fields["permissions"].as_array().unwrap().len(),
        2,
        "{fields}"
    );
    assert!(
        fields["name"].is_array() && fields["expiresAt"].is_array(),
        "{fields}"
    );
    // A seller-side permission does not exist in a buyer org, even for its owner.
    let buyer_org = app.new_org(&owner, "buyer").await;
    app.create_api_key(
        &owner,
        &buyer_org,
        &json!({"name": "x", "permissions": ["product:write"]}),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    let (key, _) = app
        .new_api_key(&admin, &org, &["apikey:manage", "org:read"])
        .await;
    app.create_api_key(
        &key,
        &org,
        &json!({"name": "child", "permissions": ["org:read"]}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // It may list keys, as it holds apikey:manage.
    let listed = app.api_keys(&key, &org).await;
    assert_eq!(
        listed.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn each_api_key_is_rate_limited_on_its_own() {
    let app = bodega_tests::spawn_app_with(|config| config.api_key_rate_limit = 3).await;
    let owner = app.signed_in_as("owner@example.com").await;
    let org = app.new_org(&owner, "seller").await;
    let (busy, _) = app.new_api_key(&owner, &org, &["org:read"]).await;
    let (quiet, _) = app.new_api_key(&owner, &org, &["org:read"]).await;
    app.freeze_clock_at_next_window(app.services.config.rate_limit_window);
    for _ in 0..3 {
        app.get_org(&busy, &org).await.assert_ok(StatusCode::OK);
    }
    let limited = app.get_org(&busy, &org).await;
    limited.assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert!(limited.headers.contains_key("retry-after"));
    app.get_org(&quiet, &org).await.assert_ok(StatusCode::OK);
    // Users are not counted against the keys.
    app.get_org(&owner, &org).await.assert_ok(StatusCode::OK);
}
