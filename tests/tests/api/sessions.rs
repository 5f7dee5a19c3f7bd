//! Refresh-token rotation, reuse detection, sign-out and the sessions list.

use axum::http::StatusCode;
use bodega_tests::{PASSWORD, TestApp, spawn_app};
use serde_json::Value;

/// Registers `email` and signs in; returns the whole sign-in data.
async fn sign_in(app: &TestApp, email: &str) -> Value {
    app.register(email, PASSWORD, "Session User").await;
    app.login(email, PASSWORD)
        .await
        .assert_ok(StatusCode::OK)
        .clone()
}

fn refresh_token(signed_in: &Value) -> String {
    signed_in["refreshToken"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_signs_the_session_out() {
    let app = spawn_app().await;
    let first = sign_in(&app, "ada@example.com").await;
    assert!(first["refreshExpiresIn"].as_u64().unwrap() > 29 * 24 * 3600);

    let second = app
        .refresh(&refresh_token(&first))
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_ne!(
        refresh_token(&second),
        refresh_token(&first),
        "the refresh token rotates"
    );
    app.me(second["accessToken"].as_str().unwrap())
        .await
        .assert_ok(StatusCode::OK);
    let third = app
        .refresh(&refresh_token(&second))
        .await
        .assert_ok(StatusCode::OK)
        .clone();

    // The first token again: theft. The whole family is signed out...
    let reuse = app.refresh(&refresh_token(&first)).await;
    reuse.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert!(
        reuse.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    // ...including the newest token the legitimate holder has.
    app.refresh(&refresh_token(&third))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    // Signing in again works.
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_ok(StatusCode::OK);
}

#[tokio::test]
async fn concurrent_use_of_one_refresh_token_rotates_at_most_once() {
    let app = spawn_app().await;
    let first = sign_in(&app, "ada@example.com").await;
    let token = refresh_token(&first);
    let attempts = futures::future::join_all((0..4).map(|_| app.refresh(&token))).await;
    let rotated = attempts
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert!(
        rotated <= 1,
        "{:?}",
        attempts.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for attempt in attempts.iter().filter(|r| r.status != StatusCode::OK) {
        attempt.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn garbage_and_forged_refresh_tokens_are_refused() {
    let app = spawn_app().await;
    let signed_in = sign_in(&app, "ada@example.com").await;
    let (session_id, _) = refresh_token(&signed_in)
        .split_once('.')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    for bad in [
        "",
        "nonsense",
        &format!("{session_id}.guessed-secret"),
        "01M80SC4PTQK2Z601CGYYXPAHZ.x",
    ] {
        app.refresh(bad)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
    // A wrong guess does not hurt the real session.
    app.refresh(&refresh_token(&signed_in))
        .await
        .assert_ok(StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_one_session_and_logout_all_ends_every_one() {
    let app = spawn_app().await;
    let phone = sign_in(&app, "ada@example.com").await;
    let laptop = app
        .login("ada@example.com", PASSWORD)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    let tablet = app
        .login("ada@example.com", PASSWORD)
        .await
        .assert_ok(StatusCode::OK)
        .clone();

    app.logout(&refresh_token(&phone))
        .await
        .assert_ok(StatusCode::OK);
    app.refresh(&refresh_token(&phone))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let laptop = app
        .refresh(&refresh_token(&laptop))
        .await
        .assert_ok(StatusCode::OK)
        .clone();

    app.logout_all(laptop["accessToken"].as_str().unwrap())
        .await
        .assert_ok(StatusCode::OK);
    for device in [&laptop, &tablet] {
        app.refresh(&refresh_token(device))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
    // Logging out with a token that is not valid says nothing either way.
    app.logout("01M80SC4PTQK2Z601CGYYXPAHZ.nope")
        .await
        .assert_ok(StatusCode::OK);
}

#[tokio::test]
async fn sessions_are_listed_and_one_can_be_revoked() {
    let app = spawn_app().await;
    let phone = sign_in(&app, "ada@example.com").await;
    let laptop = app
        .login("ada@example.com", PASSWORD)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    let laptop_token = laptop["accessToken"].as_str().unwrap();

    let list = app
        .sessions(laptop_token)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    let sessions = list.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{list}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let phone_session = refresh_token(&phone).split_once('.').unwrap().0.to_owned();
    assert_ne!(current[0]["id"], phone_session.as_str());

    app.revoke_session(laptop_token, &phone_session)
        .await
        .assert_ok(StatusCode::OK);
    app.refresh(&refresh_token(&phone))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let list = app
        .sessions(laptop_token)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Someone else's session is not yours to see or end.
    let mallory = sign_in(&app, "mallory@example.com").await;
    let laptop_session = refresh_token(&laptop).split_once('.').unwrap().0.to_owned();
    app.revoke_session(mallory["accessToken"].as_str().unwrap(), &laptop_session)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.refresh(&refresh_token(&laptop))
        .await
        .assert_ok(StatusCode::OK);
}
