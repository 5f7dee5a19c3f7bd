//! Register → login → me, and every way each can fail.

use axum::http::{Method, StatusCode};
use bodega_tests::{PASSWORD, spawn_app};
use serde_json::json;

#[tokio::test]
async fn register_login_me_journey() {
    let app = spawn_app().await;
    let created = app
        .register("Ada@Example.com", PASSWORD, "  Ada Lovelace ")
        .await;
    let user = created.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["role"], "customer");
    assert!(user.get("passwordHash").is_none(), "{user}");

    let session = app.login("ADA@example.com", PASSWORD).await;
    let data = session.assert_ok(StatusCode::OK);
    assert_eq!(data["tokenType"], "Bearer");
    assert_eq!(data["expiresIn"], 900);
    assert_eq!(data["user"]["id"], user["id"]);
    let token = data["accessToken"].as_str().unwrap();

    let me = app.me(token).await;
    assert_eq!(me.assert_ok(StatusCode::OK)["id"], user["id"]);
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_on_the_email_field() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD, "Ada")
        .await
        .assert_ok(StatusCode::CREATED);
    let again = app
        .register("  ADA@example.COM", "another good passphrase", "Impostor")
        .await;
    again.assert_error(StatusCode::CONFLICT, "CONFLICT");
    assert!(
        again.body["error"]["fields"]["email"].is_array(),
        "{}",
        again.body
    );

    // The first account is untouched: its password still works.
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_ok(StatusCode::OK);
    app.login("ada@example.com", "another good passphrase")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_one_account() {
    let app = spawn_app().await;
    // Five: the per-email registration limit.
    let attempts = (0..5).map(|i| {
        let app = &app;
        async move {
            app.register("race@example.com", PASSWORD, &format!("Racer {i}"))
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 4), "{statuses:?}");
}

#[tokio::test]
async fn invalid_fields_are_all_reported_at_once() {
    let app = spawn_app().await;
    let response = app.register("not-an-email", "short", "").await;
    response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = &response.body["error"]["fields"];
    for field in ["email", "password", "name"] {
        assert!(fields[field].is_array(), "{field} missing in {fields}");
    }
    let common = app.register("ada@example.com", "password123", "Ada").await;
    common.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        common.body["error"]["fields"]["password"][0]
            .as_str()
            .unwrap()
            .contains("common")
    );
}

#[tokio::test]
async fn sending_a_role_on_register_is_refused_by_name() {
    let app = spawn_app().await;
    for (field, value) in [("role", json!("admin")), ("id", json!("chosen"))] {
        let mut body =
            json!({ "email": "mallory@example.com", "password": PASSWORD, "name": "Mallory" });
        body[field] = value;
        let refused = app
            .call(Method::POST, "/v1/auth/register", None, Some(&body))
            .await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert_eq!(
            refused.body["error"]["fields"][field][0], "is not a field of this request",
            "{}",
            refused.body
        );
    }
    // Nothing was registered: the address is still free.
    let created = app
        .register("mallory@example.com", PASSWORD, "Mallory")
        .await;
    let user = created.assert_ok(StatusCode::CREATED);
    assert_eq!(user["role"], "customer");
    assert_ne!(user["id"], "chosen");
    let token = app.signed_in_as_existing("mallory@example.com").await;
    assert_eq!(
        app.me(&token).await.assert_ok(StatusCode::OK)["role"],
        "customer"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_look_the_same() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD, "Ada")
        .await
        .assert_ok(StatusCode::CREATED);
    let wrong_password = app.login("ada@example.com", "not the right password").await;
    let unknown_email = app.login("nobody@example.com", PASSWORD).await;
    let malformed_email = app.login("nobody", PASSWORD).await;
    for response in [&wrong_password, &unknown_email, &malformed_email] {
        response.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
        assert_eq!(
            response.body["error"]["message"],
            wrong_password.body["error"]["message"]
        );
        assert!(response.body["error"].get("fields").is_none());
    }
}

#[tokio::test]
async fn me_refuses_missing_and_malformed_credentials() {
    let app = spawn_app().await;
    app.call(Method::GET, "/v1/me", None, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.me("garbage")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let basic = axum::http::Request::get("/v1/me")
        .header("authorization", "Basic YWRhOnB3")
        .body(axum::body::Body::empty())
        .unwrap();
    app.send(basic)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
}

#[tokio::test]
async fn me_refuses_forged_expired_and_unsigned_tokens() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let app = spawn_app().await;
    let token = app.signed_in_as("ada@example.com").await;
    let parts: Vec<&str> = token.split('.').collect();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let b64 = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());

    // alg: none, no signature.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": header["kid"]})),
        parts[1]
    );
    // Claims changed after signing.
    claims["role"] = "admin".into();
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    // Signed by a key that is not ours, under our kid.
    let kid = header["kid"].as_str().unwrap();
    let stranger = shared::auth::SigningKeys::from_json(
        &shared::auth::tokens::generate_key_set_json(kid),
        app.services.tokens.issuer(),
        std::time::Duration::from_secs(900),
    )
    .unwrap();
    let forged = stranger
        .issue_access_token(claims["sub"].as_str().unwrap(), "admin", None)
        .unwrap()
        .token;
    // HS256 "signed" with our public key as the HMAC secret: the classic
    // algorithm-confusion forgery. Valid claims, admin role.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let admin_claims = json!({"sub": claims["sub"], "role": "admin", "iss": claims["iss"], "iat": now, "exp": now + 600, "jti": "x", "typ": "access"});
    let jwks = app
        .call(Method::GET, "/.well-known/jwks.json", None, None)
        .await
        .body;
    let public_x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let mut jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jwt_header.kid = Some(kid.to_owned());
    let hs256 = jsonwebtoken::encode(
        &jwt_header,
        &admin_claims,
        &jsonwebtoken::EncodingKey::from_secret(public_x.as_bytes()),
    )
    .unwrap();

    // Our own signature, but a kid that is not in the key set.
    let unknown_kid = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "EdDSA", "typ": "JWT", "kid": "retired-2020"})),
        parts[1],
        parts[2]
    );
    for (what, bad) in [
        ("alg none", none),
        ("tampered", tampered),
        ("foreign key", forged),
        ("hs256", hs256),
        ("unknown kid", unknown_kid),
    ] {
        let response = app.me(&bad).await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            response.body
        );
        response.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn me_refuses_an_expired_token() {
    let app = spawn_app().await;
    let token = app.signed_in_as("ada@example.com").await;
    let expired = app.expired_token_like(&token);
    let response = app.me(&expired).await;
    response.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert!(
        response.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{}",
        response.body
    );
}
