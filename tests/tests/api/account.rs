//! Email verification, password reset, profile changes, erasure, abuse limits.

use std::time::Duration;

use axum::http::StatusCode;
use bodega_tests::{PASSWORD, spawn_app, spawn_app_with, unique_email};
use serde_json::json;

#[tokio::test]
async fn registration_mails_a_code_that_verifies_the_address_once() {
    let app = spawn_app().await;
    let email = unique_email("verify");
    app.register(&email, PASSWORD, "Vera")
        .await
        .assert_ok(StatusCode::CREATED);
    let token = app.signed_in_as_existing(&email).await;
    assert_eq!(
        app.me(&token).await.assert_ok(StatusCode::OK)["emailVerified"],
        false
    );

    let mails = app.emails_to(&email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(mail.subject.contains("Confirm"), "{mail:?}");
    let code = mail.code();
    app.verify_email(&code).await.assert_ok(StatusCode::OK);
    assert_eq!(
        app.me(&token).await.assert_ok(StatusCode::OK)["emailVerified"],
        true
    );

    app.verify_email(&code)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.verify_email("made-up")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.resend_verification(&token)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
}

#[tokio::test]
async fn a_resent_code_works_too() {
    let app = spawn_app().await;
    let email = unique_email("resend");
    let token = app.signed_in_as(&email).await;
    let sent = app.resend_verification(&token).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    let mails = app.emails_to(&email).await;
    assert_eq!(mails.len(), 2);
    app.verify_email(&mails[1].code())
        .await
        .assert_ok(StatusCode::OK);
}

#[tokio::test]
async fn password_reset_changes_the_password_and_ends_every_session() {
    let app = spawn_app().await;
    let email = unique_email("reset");
    app.register(&email, PASSWORD, "Rita")
        .await
        .assert_ok(StatusCode::CREATED);
    let session = app
        .login(&email, PASSWORD)
        .await
        .assert_ok(StatusCode::OK)
        .clone();

    let requested = app.request_password_reset(&email).await;
    assert_eq!(requested.status, StatusCode::ACCEPTED);
    let unknown = unique_email("nobody");
    let unknown_response = app.request_password_reset(&unknown).await;
    assert_eq!(unknown_response.status, StatusCode::ACCEPTED);
    assert_eq!(
        unknown_response.body["data"], requested.body["data"],
        "no hint whether the address is registered"
    );
    assert!(app.emails_to(&unknown).await.is_empty());

    let mails = app.emails_to(&email).await;
    assert_eq!(
        mails.len(),
        2,
        "the verification, then the reset: {mails:?}"
    );
    let mail = &mails[1];
    assert!(mail.subject.contains("Reset"), "{mail:?}");
    let code = mail.code();
    // A weak password is refused and the code stays usable.
    let weak = app.reset_password(&code, "password123").await;
    weak.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(weak.body["error"]["fields"]["newPassword"].is_array());

    app.reset_password(&code, "a brand new passphrase")
        .await
        .assert_ok(StatusCode::OK);
    app.reset_password(&code, "yet another passphrase")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.refresh(session["refreshToken"].as_str().unwrap())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.login(&email, PASSWORD)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let after = app
        .login(&email, "a brand new passphrase")
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(
        after["user"]["emailVerified"], true,
        "receiving the code proves the address"
    );
}

#[tokio::test]
async fn profile_updates_validate_and_respect_if_match() {
    let app = spawn_app().await;
    let token = app.signed_in_as("ada@example.com").await;
    let before = app.me(&token).await;
    let etag = before.headers["etag"].to_str().unwrap().to_owned();

    // Email, role and verification are not the profile's to change: each is
    // refused by name, and nothing of the request is stored.
    for (field, value) in [
        ("role", json!("admin")),
        ("email", json!("evil@example.com")),
        ("emailVerified", json!(true)),
    ] {
        let mut sneaky = json!({"name": "Mallory"});
        sneaky[field] = value;
        let refused = app.update_me(&token, Some(&etag), &sneaky).await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert!(
            refused.body["error"]["fields"].get(field).is_some(),
            "{}",
            refused.body
        );
    }
    let unchanged = app.me(&token).await;
    assert_eq!(unchanged.headers["etag"], before.headers["etag"]);
    assert_eq!(unchanged.body["data"], before.body["data"]);

    let change = json!({"name": "Ada King", "phone": "+351 912 345 678", "preferences": {"language": "pt-BR", "currency": "EUR", "marketingEmails": true}});
    let updated = app.update_me(&token, Some(&etag), &change).await;
    let user = updated.assert_ok(StatusCode::OK).clone();
    assert_eq!(user["name"], "Ada King");
    assert_eq!(user["phone"], "+351912345678");
    assert_eq!(user["preferences"]["currency"], "EUR");
    assert_eq!(user["role"], "customer");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["emailVerified"], false);
    assert_ne!(updated.headers["etag"].to_str().unwrap(), etag);

    // The old ETag is stale now.
    app.update_me(&token, Some(&etag), &json!({"name": "Lost Update"}))
        .await
        .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    // Removing the phone with an explicit null; no If-Match means last write wins.
    let cleared = app
        .update_me(&token, None, &json!({"phone": null}))
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert!(cleared.get("phone").is_none(), "{cleared}");
    assert_eq!(cleared["name"], "Ada King");

    let invalid = app
        .update_me(
            &token,
            None,
            &json!({"name": "", "phone": "12", "preferences": {"currency": "euro"}}),
        )
        .await;
    invalid.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    for field in ["name", "phone", "preferences.currency"] {
        assert!(
            invalid.body["error"]["fields"][field].is_array(),
            "{field}: {}",
            invalid.body
        );
    }
    app.update_me(&token, Some("garbage"), &json!({}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
}

#[tokio::test]
async fn erasing_the_account_removes_personal_data_and_frees_the_email() {
    let app = spawn_app().await;
    let token = app.signed_in_as("ada@example.com").await;
    let id = app.me(&token).await.assert_ok(StatusCode::OK)["id"].clone();

    app.delete_me(&token, "not my password")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.delete_me(&token, PASSWORD)
        .await
        .assert_ok(StatusCode::OK);

    app.me(&token)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let stored: serde_json::Value = app
        .services
        .store
        .get(&format!("USER#{}", id.as_str().unwrap()), "PROFILE")
        .await
        .unwrap()
        .expect("the anonymous user item stays for records that refer to it");
    assert_eq!(stored["email"], "");
    assert_eq!(stored["passwordHash"], "");
    assert_ne!(stored["name"], "Test User");
    assert!(stored.get("phone").is_none());

    let again = app.register("ada@example.com", PASSWORD, "Ada Again").await;
    assert_ne!(again.assert_ok(StatusCode::CREATED)["id"], id);
}

#[tokio::test]
async fn login_attempts_are_limited_per_email_and_the_limit_resets() {
    let app = spawn_app_with(|config| config.rate_limit_window = Duration::from_secs(3)).await;
    app.register("ada@example.com", PASSWORD, "Ada")
        .await
        .assert_ok(StatusCode::CREATED);
    app.register("grace@example.com", PASSWORD, "Grace")
        .await
        .assert_ok(StatusCode::CREATED);

    // All attempts fall in one window.
    app.freeze_clock_at_next_window(Duration::from_secs(3));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.login("ada@example.com", "wrong password guess").await);
    }
    let limited = statuses
        .iter()
        .find(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .expect("the sixth attempt in a window is limited");
    limited.assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry_after = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    // Even the right password waits; another account does not.
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    app.login("grace@example.com", PASSWORD)
        .await
        .assert_ok(StatusCode::OK);

    app.clock.advance(Duration::from_secs(retry_after));
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_ok(StatusCode::OK);
}

#[tokio::test]
async fn the_personal_audit_trail_records_security_events_newest_first() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD, "Ada")
        .await
        .assert_ok(StatusCode::CREATED);
    app.login("ada@example.com", "a wrong password guess").await;
    let session = app
        .login("ada@example.com", PASSWORD)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    let refresh = session["refreshToken"].as_str().unwrap();
    app.refresh(refresh).await.assert_ok(StatusCode::OK);
    app.refresh(refresh)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let token = app.signed_in_as_existing("ada@example.com").await;
    app.logout_all(&token).await.assert_ok(StatusCode::OK);

    let first = app.my_audit(&token, None).await;
    let page = first.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    let actions: Vec<&str> = page.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["sessions.signed_out_everywhere", "refresh_token.reused"]
    );
    let cursor = first.body["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app.my_audit(&token, Some(&cursor)).await;
    let older = second.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(older[0]["action"], "login.failed");
    assert_eq!(older[0]["actor"], "anonymous");

    // Another user's trail is not reachable with this user's cursor.
    let grace = app.signed_in_as("grace@example.com").await;
    app.my_audit(&grace, Some(&cursor))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert!(
        app.my_audit(&grace, None)
            .await
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn erasure_leaves_every_org_but_not_as_the_last_owner() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("owner@example.com").await;
    let org = app.new_org(&owner, "buyer").await;
    let (member, member_id) = app
        .joins_org(&owner, &org, &unique_email("member"), "owner", &[])
        .await;

    // The first owner cannot go while... there are two owners, so they can.
    app.delete_me(&owner, PASSWORD)
        .await
        .assert_ok(StatusCode::OK);
    let members = app.members(&member, &org).await;
    let listed = members
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["userId"], member_id.as_str());

    // The remaining owner is the last one: erasure is refused and nothing changes.
    let refused = app.delete_me(&member, PASSWORD).await;
    refused.assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.me(&member).await.assert_ok(StatusCode::OK);
    assert_eq!(
        app.members(&member, &org)
            .await
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// A request from the client IP `ip`, as the devserver sees a TCP peer.
async fn post_from(
    app: &bodega_tests::TestApp,
    ip: &str,
    path: &str,
    body: serde_json::Value,
) -> bodega_tests::TestResponse {
    let peer: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
    let request = axum::http::Request::post(path)
        .header("content-type", "application/json")
        .extension(axum::extract::ConnectInfo(peer))
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

async fn login_from(
    app: &bodega_tests::TestApp,
    ip: &str,
    email: &str,
    password: &str,
) -> bodega_tests::TestResponse {
    post_from(
        app,
        ip,
        "/v1/auth/login",
        json!({ "email": email, "password": password }),
    )
    .await
}

#[tokio::test]
async fn an_office_behind_one_ip_signs_in_freely_and_only_failures_count_per_ip() {
    let app = spawn_app_with(|config| {
        config.rate_limit_window = Duration::from_secs(60);
        config.auth_limits.login_failures_per_ip = 3;
    })
    .await;
    let office = "203.0.113.7";
    let people: Vec<String> = (0..4).map(|i| unique_email(&format!("staff{i}"))).collect();
    for email in &people {
        app.register(email, PASSWORD, "Staff")
            .await
            .assert_ok(StatusCode::CREATED);
    }
    app.freeze_clock_at_next_window(Duration::from_secs(60));
    // Far more successful sign-ins than the failure limit, one account
    // several times: none counts.
    for _ in 0..3 {
        for email in &people {
            login_from(&app, office, email, PASSWORD)
                .await
                .assert_ok(StatusCode::OK);
        }
    }
    // Failures count, for known and unknown accounts alike.
    for (email, password) in [
        (people[0].as_str(), "not the password"),
        ("nobody@example.com", "whatever it is"),
        (people[1].as_str(), "not the password"),
    ] {
        login_from(&app, office, email, password)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
    let limited = login_from(&app, office, &people[2], PASSWORD).await;
    limited.assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Another address is not affected; the office is again after the window.
    login_from(&app, "198.51.100.20", &people[2], PASSWORD)
        .await
        .assert_ok(StatusCode::OK);
    app.clock.advance(Duration::from_secs(retry_after));
    login_from(&app, office, &people[2], PASSWORD)
        .await
        .assert_ok(StatusCode::OK);
}

#[tokio::test]
async fn bad_codes_from_one_ip_are_limited_but_good_ones_never_count() {
    let app = spawn_app_with(|config| {
        config.rate_limit_window = Duration::from_secs(60);
        config.auth_limits.code_failures_per_ip = 2;
    })
    .await;
    app.freeze_clock_at_next_window(Duration::from_secs(60));
    let ip = "203.0.113.9";
    for (path, body) in [
        ("/v1/auth/verify-email", json!({ "token": "not-a-code" })),
        (
            "/v1/auth/password-reset",
            json!({ "token": "not-a-code", "newPassword": "a long new password 1" }),
        ),
    ] {
        post_from(&app, ip, path, body)
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    }
    // The limit holds for any code now, a real one too; another IP passes.
    let email = unique_email("coder");
    app.register(&email, PASSWORD, "Coder")
        .await
        .assert_ok(StatusCode::CREATED);
    let code = app.only_email_to(&email, "Confirm your email").await.code();
    post_from(&app, ip, "/v1/auth/verify-email", json!({ "token": code }))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    post_from(
        &app,
        "198.51.100.21",
        "/v1/auth/verify-email",
        json!({ "token": code }),
    )
    .await
    .assert_ok(StatusCode::OK);
}
