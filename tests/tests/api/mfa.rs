//! Two-factor sign-in (TOTP, RFC 6238) with recovery codes: enrolment,
//! the sign-in challenge, single use of codes, limits, removal, and
//! organizations that require it of their owners and admins. The codes
//! come from the tests' own authenticator (`bodega_tests::totp`).

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::StatusCode;
use bodega_tests::{Authenticator, PASSWORD, TestApp, kept_secret, spawn_app, unique_email};
use serde_json::{Value, json};

/// The claims of an access token, as the API verifies them.
fn amr(app: &TestApp, token: &str) -> Vec<String> {
    app.services
        .tokens
        .verify_access_token(token)
        .expect("a valid token")
        .amr
}

fn data(response: &bodega_tests::TestResponse) -> Value {
    response.assert_ok(StatusCode::OK).clone()
}

#[test]
fn the_tests_authenticator_matches_the_rfc_6238_vectors() {
    // RFC 6238 appendix B, SHA-1 rows, at 8 digits.
    let secret = b"12345678901234567890";
    for (time, expected) in [
        (59, 94287082),
        (1111111109, 7081804),
        (1111111111, 14050471),
        (1234567890, 89005924),
        (2000000000, 69279037),
        (20000000000, 65353130),
    ] {
        assert_eq!(bodega_tests::totp(secret, time, 8), expected, "T = {time}");
    }
    let app = Authenticator::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assert_eq!(app.code_at(59), "287082");
}

#[tokio::test]
async fn enrolment_turns_on_a_second_step_whose_codes_work_once() {
    let app = spawn_app().await;
    let email = unique_email("mfa-ada");
    let token = app.signed_in_as(&email).await;
    let bystander_email = unique_email("mfa-bystander");
    let bystander = app.signed_in_as(&bystander_email).await;

    let status = data(&app.mfa_status(&token).await);
    assert_eq!(status["enabled"], false, "{status}");
    app.start_totp(&token, "not my password at all")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    // Nothing waits for a code yet.
    app.confirm_totp(&token, "123456")
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");

    // Started twice: the second secret replaces the first.
    let first = app.start_totp(&token, PASSWORD).await;
    let first = first.assert_ok(StatusCode::CREATED)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = app.start_totp(&token, PASSWORD).await;
    let started = started.assert_ok(StatusCode::CREATED).clone();
    let secret = started["secret"].as_str().unwrap();
    assert_ne!(secret, first);
    assert_eq!(secret.len(), 32, "160 bits, base32: {started}");
    let uri = started["otpauthUri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Bodega:")
            && uri.contains(&format!("secret={secret}"))
            && uri.contains("issuer=Bodega&algorithm=SHA1&digits=6&period=30"),
        "{uri}"
    );
    assert_eq!(data(&app.mfa_status(&token).await)["pending"], true);
    let authenticator = Authenticator::from_base32(secret);
    let stale = Authenticator::from_base32(&first);
    app.confirm_totp(&token, &app.code_now(&stale))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(data(&app.me(&token).await)["mfaEnabled"], false);

    let confirmed = app
        .confirm_totp(&token, &app.code_now(&authenticator))
        .await;
    let confirmed = data(&confirmed);
    let codes = confirmed["recoveryCodes"].as_array().unwrap();
    assert_eq!(codes.len(), 10, "{confirmed}");
    let status = data(&app.mfa_status(&token).await);
    assert_eq!(status["enabled"], true, "{status}");
    assert_eq!(status["recoveryCodesLeft"], 10, "{status}");
    assert!(status["enrolledAt"].is_string(), "{status}");
    assert_eq!(data(&app.me(&token).await)["mfaEnabled"], true);
    // Already on: a new set-up would replace the secret.
    app.start_totp(&token, PASSWORD)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");

    // The password alone no longer signs in: a challenge, no token.
    let challenge = app.mfa_challenge(&email).await;
    // The code that confirmed the set-up was used (same time step).
    let used = app.code_now(&authenticator);
    app.complete_sign_in(&challenge, json!({ "code": used }))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.complete_sign_in("not-a-challenge", json!({ "code": used }))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.complete_sign_in(
        &challenge,
        json!({ "code": used, "recoveryCode": codes[0] }),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    // Thirty seconds on, the new code signs in; the tokens say how.
    app.clock.advance(Duration::from_secs(30));
    let code = app.code_now(&authenticator);
    let signed_in = app
        .complete_sign_in(&challenge, json!({ "code": code }))
        .await;
    let signed_in = data(&signed_in);
    let access = signed_in["accessToken"].as_str().unwrap();
    assert_eq!(amr(&app, access), ["pwd", "otp", "mfa"]);
    assert_eq!(
        amr(&app, &token),
        ["pwd"],
        "the earlier sign-in took one factor"
    );
    // The challenge worked once.
    app.clock.advance(Duration::from_secs(30));
    app.complete_sign_in(&challenge, json!({ "code": app.code_now(&authenticator) }))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    // A code works once, even with a new challenge.
    let again = app.mfa_challenge(&email).await;
    let code = app.code_now(&authenticator);
    data(&app.complete_sign_in(&again, json!({ "code": code })).await);
    let replay = app.mfa_challenge(&email).await;
    let refused = app.complete_sign_in(&replay, json!({ "code": code })).await;
    refused.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    // A refresh keeps the factors of its sign-in.
    let refreshed = app
        .refresh(signed_in["refreshToken"].as_str().unwrap())
        .await;
    let refreshed = data(&refreshed);
    assert_eq!(
        amr(&app, refreshed["accessToken"].as_str().unwrap()),
        ["pwd", "otp", "mfa"]
    );

    // Someone else's account is as it was.
    let other = data(&app.login(&bystander_email, PASSWORD).await);
    assert!(other["accessToken"].is_string(), "{other}");
    assert_eq!(data(&app.mfa_status(&bystander).await)["enabled"], false);
}

#[tokio::test]
async fn a_password_reset_does_not_skip_the_second_factor() {
    let app = spawn_app().await;
    let account = app.enrolled(&unique_email("mfa-reset")).await;
    app.request_password_reset(&account.email)
        .await
        .assert_ok(StatusCode::ACCEPTED);
    let code = app
        .only_email_to(&account.email, "Reset your password")
        .await
        .code();
    let new_password = "a brand new passphrase for this";
    data(&app.reset_password(&code, new_password).await);
    let answer = data(&app.login(&account.email, new_password).await);
    assert_eq!(answer["mfaRequired"], true, "{answer}");
    assert!(answer.get("accessToken").is_none(), "{answer}");
}

#[tokio::test]
async fn a_set_up_not_confirmed_within_15_minutes_lapses() {
    let app = spawn_app().await;
    let token = app.signed_in_as(&unique_email("mfa-late")).await;
    let started = app.start_totp(&token, PASSWORD).await;
    let authenticator = Authenticator::from_base32(
        started.assert_ok(StatusCode::CREATED)["secret"]
            .as_str()
            .unwrap(),
    );
    app.clock.advance(Duration::from_secs(15 * 60 + 1));
    app.confirm_totp(&token, &app.code_now(&authenticator))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    let status = data(&app.mfa_status(&token).await);
    assert_eq!(
        (status["enabled"].clone(), status["pending"].clone()),
        (json!(false), json!(false))
    );
}

#[tokio::test]
async fn without_a_key_set_two_factor_sign_in_is_unavailable() {
    let app = bodega_tests::spawn_app_with(|config| config.mfa_keys = None).await;
    let token = app.signed_in_as(&unique_email("mfa-nokeys")).await;
    let refused = app.start_totp(&token, PASSWORD).await;
    refused.assert_error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE");
    assert!(refused.headers.contains_key("retry-after"));
    // Sign-in without it is unaffected.
    data(&app.mfa_status(&token).await);
}

#[tokio::test]
async fn the_secret_is_sealed_for_its_user_and_recovery_codes_are_hashes() {
    let app = spawn_app().await;
    let account = app.enrolled(&unique_email("mfa-sealed")).await;
    let user_id = app.user_id(&account.token).await;
    let item = app
        .stored_item(&format!("USER#{user_id}"), "MFA")
        .await
        .expect("the MFA item");
    let text = format!("{item:?}");
    let started_secret = {
        // The base32 secret is what the app holds; neither it nor its bytes
        // (in any encoding the item might use) are stored.
        let raw = base32_to_bytes(&account);
        vec![
            base64_of(&raw),
            raw.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        ]
    };
    for plain in started_secret {
        assert!(!text.contains(&plain), "the plain secret is stored: {text}");
    }
    for code in &account.recovery_codes {
        assert!(
            !text.contains(code.as_str()),
            "a recovery code is stored in clear"
        );
        assert!(!text.contains(&code.replace('-', "")));
    }
    let Some(AttributeValue::S(sealed)) = item.get("secretCiphertext") else {
        panic!("no ciphertext: {text}");
    };
    let Some(AttributeValue::S(kid)) = item.get("secretKeyId") else {
        panic!("no key id: {text}");
    };
    let Some(AttributeValue::Ss(hashes)) = item.get("recoveryCodes") else {
        panic!("the recovery codes are not a string set: {text}");
    };
    assert_eq!(hashes.len(), 10);
    // With the deployment's key, it opens for its user only.
    let Some(shared::config::SecretSource::Inline(json)) = app.services.config.mfa_keys.clone()
    else {
        panic!("the stack sets MFA_ENCRYPTION_KEYS");
    };
    let keys = identity::mfa::cipher::MfaKeys::from_json(&json).unwrap();
    let sealed = identity::mfa::cipher::Sealed {
        kid: kid.clone(),
        data: sealed.clone(),
    };
    assert_eq!(
        keys.open(&user_id, &sealed),
        Some(base32_to_bytes(&account))
    );
    assert_eq!(keys.open("someone-else", &sealed), None);
}

fn base32_to_bytes(account: &bodega_tests::Enrolled) -> Vec<u8> {
    account.authenticator.secret().to_vec()
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn wrong_codes_are_refused_then_limited_per_account() {
    let app = spawn_app().await;
    app.freeze_clock_at_next_window(app.services.config.rate_limit_window);
    let account = app.enrolled(&unique_email("mfa-guess")).await;
    let other = app.enrolled(&unique_email("mfa-other")).await;
    app.clock.advance(Duration::from_secs(30));
    let challenge = app.mfa_challenge(&account.email).await;
    let right = app.code_now(&account.authenticator);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..5 {
        app.complete_sign_in(&challenge, json!({ "code": wrong }))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
    // The sixth attempt is refused before it is checked, right or not, and
    // a new challenge does not reset the count.
    let limited = app
        .complete_sign_in(&challenge, json!({ "code": right }))
        .await;
    limited.assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let fresh = app.mfa_challenge(&account.email).await;
    app.complete_sign_in(&fresh, json!({ "code": right }))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    // Another account is not held back.
    app.signed_in_with_mfa(&other).await;
    // Each wrong code is in the account's trail.
    let trail = app.my_audit(&account.token, None).await;
    let newest = &data(&trail)[0];
    assert_eq!(newest["action"], "login.failed", "{newest}");
    assert_eq!(newest["details"]["factor"], "totp", "{newest}");

    // The window over, the right code signs in.
    app.clock.advance(app.services.config.rate_limit_window);
    let challenge = app.mfa_challenge(&account.email).await;
    let code = app.code_now(&account.authenticator);
    data(
        &app.complete_sign_in(&challenge, json!({ "code": code }))
            .await,
    );
}

#[tokio::test]
async fn a_recovery_code_works_once_even_when_raced() {
    let app = spawn_app().await;
    let account = app.enrolled(&unique_email("mfa-recover")).await;
    let code = account.recovery_codes[0].clone();
    let challenge = app.mfa_challenge(&account.email).await;
    // Typed in capitals without dashes, it still counts.
    let typed = code.to_uppercase().replace('-', "");
    let signed_in = app
        .complete_sign_in(&challenge, json!({ "recoveryCode": typed }))
        .await;
    let signed_in = data(&signed_in);
    assert_eq!(
        amr(&app, signed_in["accessToken"].as_str().unwrap()),
        ["pwd", "mfa"]
    );
    let again = app.mfa_challenge(&account.email).await;
    app.complete_sign_in(&again, json!({ "recoveryCode": code }))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert_eq!(
        data(&app.mfa_status(&account.token).await)["recoveryCodesLeft"],
        9
    );

    // Two sign-ins racing with one code: one gets through.
    let (a, b) = (
        app.mfa_challenge(&account.email).await,
        app.mfa_challenge(&account.email).await,
    );
    let code = account.recovery_codes[1].clone();
    let (first, second) = tokio::join!(
        app.complete_sign_in(&a, json!({ "recoveryCode": code })),
        app.complete_sign_in(&b, json!({ "recoveryCode": code })),
    );
    let statuses = [first.status, second.status];
    assert!(
        statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::UNAUTHORIZED),
        "{statuses:?}: {} {}",
        first.body,
        second.body
    );
    assert_eq!(
        data(&app.mfa_status(&account.token).await)["recoveryCodesLeft"],
        8
    );

    // Audited and emailed.
    app.drain_stream().await;
    let trail = data(&app.audit_trail(&account.token).await);
    let used: Vec<&Value> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "mfa.recovery_code_used")
        .collect();
    assert_eq!(used.len(), 2, "{trail}");
    assert_eq!(used[0]["details"]["recoveryCodesLeft"], 8, "{trail}");
    // The racer that lost is a failed sign-in.
    assert_eq!(trail[0]["action"], "login.failed", "{trail}");
    let mails: Vec<_> = app
        .emails_to(&account.email)
        .await
        .into_iter()
        .filter(|m| m.subject == "Your two-factor sign-in changed")
        .collect();
    assert!(
        mails.iter().any(|m| m.body.contains("8 are left")),
        "{mails:?}"
    );
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_ones() {
    let app = spawn_app().await;
    let account = app.enrolled(&unique_email("mfa-regen")).await;
    // The code that confirmed the set-up is spent.
    app.regenerate_recovery_codes(&account.token, &app.code_now(&account.authenticator))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.clock.advance(Duration::from_secs(30));
    let fresh = app
        .regenerate_recovery_codes(&account.token, &app.code_now(&account.authenticator))
        .await;
    let fresh = data(&fresh);
    let codes = fresh["recoveryCodes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let old = app.mfa_challenge(&account.email).await;
    app.complete_sign_in(&old, json!({ "recoveryCode": account.recovery_codes[0] }))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let new = app.mfa_challenge(&account.email).await;
    data(
        &app.complete_sign_in(&new, json!({ "recoveryCode": codes[0] }))
            .await,
    );
    app.drain_stream().await;
    let trail = data(&app.my_audit(&account.token, None).await);
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["mfa.recovery_code_used", "login.failed"],
        "newest first"
    );
    let all = data(&app.audit_trail(&account.token).await);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "mfa.recovery_codes_regenerated"),
        "{all}"
    );
    let subjects = app.emails_to(&account.email).await;
    assert!(
        subjects
            .iter()
            .any(|m| m.body.contains("New recovery codes were made")),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn turning_it_off_takes_the_password_and_a_second_factor() {
    let app = spawn_app().await;
    let account = app.enrolled(&unique_email("mfa-off")).await;
    let user_id = app.user_id(&account.token).await;
    app.clock.advance(Duration::from_secs(30));
    let code = app.code_now(&account.authenticator);
    app.remove_mfa(
        &account.token,
        &json!({ "password": "wrong password here", "code": code }),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.remove_mfa(&account.token, &json!({ "password": PASSWORD }))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.remove_mfa(
        &account.token,
        &json!({ "password": PASSWORD, "recoveryCode": "0000-0000-0000-0000" }),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let off = app
        .remove_mfa(
            &account.token,
            &json!({ "password": PASSWORD, "code": code }),
        )
        .await;
    assert_eq!(data(&off)["enabled"], false);
    assert!(
        app.stored_item(&format!("USER#{user_id}"), "MFA")
            .await
            .is_none(),
        "the secret and the recovery codes are deleted"
    );
    let status = data(&app.mfa_status(&account.token).await);
    assert_eq!(status["enabled"], false, "{status}");
    app.remove_mfa(
        &account.token,
        &json!({ "password": PASSWORD, "code": code }),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "CONFLICT");
    // The password alone signs in again.
    let signed_in = data(&app.login(&account.email, PASSWORD).await);
    assert_eq!(
        amr(&app, signed_in["accessToken"].as_str().unwrap()),
        ["pwd"]
    );

    // Turned on and off is audited and emailed.
    app.drain_stream().await;
    let trail = data(&app.audit_trail(&account.token).await);
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.first(), Some(&"mfa.disabled"), "{actions:?}");
    assert!(actions.contains(&"mfa.enabled"), "{actions:?}");
    let bodies: Vec<String> = app
        .emails_to(&account.email)
        .await
        .into_iter()
        .filter(|m| m.subject == "Your two-factor sign-in changed")
        .map(|m| m.body)
        .collect();
    assert!(
        bodies.iter().any(|b| b.contains("was turned on")),
        "{bodies:?}"
    );
    assert!(
        bodies.iter().any(|b| b.contains("was turned off")),
        "{bodies:?}"
    );

    // With a recovery code instead of the authenticator.
    let again = app.enrolled(&unique_email("mfa-off-recovery")).await;
    let off = app
        .remove_mfa(
            &again.token,
            &json!({ "password": PASSWORD, "recoveryCode": again.recovery_codes[9] }),
        )
        .await;
    assert_eq!(data(&off)["enabled"], false);
    app.drain_stream().await;
    let bodies: Vec<String> = app
        .emails_to(&again.email)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("recovery codes was used to turn two-factor sign-in off")),
        "{bodies:?}"
    );
}

#[tokio::test]
async fn an_org_that_requires_mfa_refuses_its_owners_and_admins_without_it() {
    let app = spawn_app().await;
    let owner = app.enrolled(&unique_email("mfa-owner")).await;
    let org = app.new_org(&owner.token, "seller").await;
    let (admin, _) = app
        .joins_org(&owner.token, &org, &unique_email("mfa-admin"), "admin", &[])
        .await;
    let (member, _) = app
        .joins_org(
            &owner.token,
            &org,
            &unique_email("mfa-member"),
            "member",
            &["viewer"],
        )
        .await;
    let require = json!({ "requireMfa": true });
    // Only an owner sets it, and only after signing in with a second factor.
    app.update_org(&admin, &org, &require, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.update_org(&owner.token, &org, &require, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "MFA_REQUIRED");
    let owner_mfa = app.signed_in_with_mfa(&owner).await;
    let changed = app.update_org(&owner_mfa, &org, &require, None).await;
    assert_eq!(data(&changed)["requireMfa"], true);

    // Owners and admins without the factor: 403 on every route of the org.
    for token in [&owner.token, &admin] {
        app.get_org(token, &org)
            .await
            .assert_error(StatusCode::FORBIDDEN, "MFA_REQUIRED");
        app.members(token, &org)
            .await
            .assert_error(StatusCode::FORBIDDEN, "MFA_REQUIRED");
    }
    // In every context: the mail templates of the org too.
    let templates = format!("/v1/orgs/{org}/templates");
    app.call(axum::http::Method::GET, &templates, Some(&admin), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "MFA_REQUIRED");
    // Members of other roles, and the owner signed in with it, are not held.
    data(&app.get_org(&member, &org).await);
    data(&app.members(&owner_mfa, &org).await);
    data(
        &app.call(axum::http::Method::GET, &templates, Some(&owner_mfa), None)
            .await,
    );
    // Nor are the organization's API keys (no person signs in with them).
    let (key, _) = app.new_api_key(&owner_mfa, &org, &["org:read"]).await;
    let by_key = app
        .request(
            axum::http::Method::GET,
            &format!("/v1/orgs/{org}"),
            bodega_tests::Auth::ApiKeyHeader(&key),
            None,
            &[],
        )
        .await;
    data(&by_key);
    // The admin's other organization does not require it.
    let own = app.new_org(&admin, "buyer").await;
    data(&app.get_org(&admin, &own).await);

    // The admin sets up an authenticator and signs in with it: let in.
    let admin_email = {
        let me = data(&app.me(&admin).await);
        me["email"].as_str().unwrap().to_owned()
    };
    let started = app.start_totp(&admin, PASSWORD).await;
    let authenticator = Authenticator::from_base32(
        started.assert_ok(StatusCode::CREATED)["secret"]
            .as_str()
            .unwrap(),
    );
    data(
        &app.confirm_totp(&admin, &app.code_now(&authenticator))
            .await,
    );
    app.get_org(&admin, &org)
        .await
        .assert_error(StatusCode::FORBIDDEN, "MFA_REQUIRED");
    let enrolled_admin = bodega_tests::Enrolled {
        email: admin_email,
        token: admin.clone(),
        authenticator,
        recovery_codes: Vec::new(),
    };
    let admin_mfa = app.signed_in_with_mfa(&enrolled_admin).await;
    data(&app.members(&admin_mfa, &org).await);

    // The change is in the organization's trail.
    let trail = data(&app.org_audit(&owner_mfa, &org, "").await);
    assert!(
        trail
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "org.updated" && e["details"]["requireMfa"] == true),
        "{trail}"
    );
    // And the owner may lift it again.
    let lifted = app
        .update_org(&owner_mfa, &org, &json!({ "requireMfa": false }), None)
        .await;
    assert_eq!(data(&lifted)["requireMfa"], false);
    data(&app.get_org(&owner.token, &org).await);
}

/// The same API over the same table, with another MFA key set.
fn with_mfa_keys(app: &TestApp, json: &str) -> TestApp {
    let mut services = app.services.clone();
    let mut config = (*services.config).clone();
    config.mfa_keys = Some(shared::config::SecretSource::Inline(json.to_owned()));
    services.config = std::sync::Arc::new(config);
    TestApp::new(services)
}

#[tokio::test]
async fn a_rotated_key_set_reseals_each_secret_at_its_next_sign_in() {
    let app = spawn_app().await;
    let account = app.enrolled(&unique_email("mfa-rotate")).await;
    let user_id = app.user_id(&account.token).await;
    let Some(shared::config::SecretSource::Inline(old)) = app.services.config.mfa_keys.clone()
    else {
        panic!("the stack sets MFA_ENCRYPTION_KEYS");
    };
    let old: Value = serde_json::from_str(&old).unwrap();
    let new: Value =
        serde_json::from_str(&identity::mfa::cipher::generate_key_set_json("rotated")).unwrap();
    let rotated = json!({ "activeKid": "rotated", "keys": [new["keys"][0], old["keys"][0]] });
    let stored_kid = |app: &TestApp| {
        let app_table = app.services.store.clone();
        let user_id = user_id.clone();
        async move {
            let item = app_table
                .get_raw(&format!("USER#{user_id}"), "MFA")
                .await
                .unwrap()
                .unwrap();
            match item.get("secretKeyId") {
                Some(AttributeValue::S(kid)) => kid.clone(),
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(stored_kid(&app).await, old["activeKid"].as_str().unwrap());

    // Both keys: the old secret opens, and is sealed anew with the new key.
    let both = with_mfa_keys(&app, &rotated.to_string());
    both.clock.advance(Duration::from_secs(30));
    both.signed_in_with_mfa(&account).await;
    assert_eq!(stored_kid(&both).await, "rotated");
    // The old key retired: sign-in still works.
    let only_new = with_mfa_keys(&app, &new.to_string());
    only_new.clock.advance(Duration::from_secs(60));
    only_new.signed_in_with_mfa(&account).await;
}

#[tokio::test]
async fn the_lambda_reads_its_signing_and_mfa_key_sets_from_secrets_manager() {
    use shared::config::SecretSource;
    let app = spawn_app().await;
    let config = &app.services.config;
    let Some(SecretSource::Inline(signing_json)) = &config.signing_keys else {
        panic!("the local stack sets the signing key set inline");
    };
    let Some(SecretSource::Inline(mfa_json)) = &config.mfa_keys else {
        panic!("the local stack sets the MFA key set inline");
    };
    let signing = kept_secret("signing", signing_json).await;
    let with_secrets = |mfa: &str| {
        let mut services = app.services.services.clone();
        let mut config = (*services.config).clone();
        config.signing_keys = Some(SecretSource::Secret(signing.clone()));
        config.mfa_keys = Some(SecretSource::Secret(mfa.to_owned()));
        services.config = std::sync::Arc::new(config);
        services
    };
    let mfa = kept_secret("mfa", mfa_json).await;
    let state = identity::IdentityState::init(&with_secrets(&mfa))
        .await
        .expect("both key sets load");
    assert!(state.mfa_keys.is_some());
    // A key set that does not load stops the start, and says which.
    let broken = kept_secret("mfa-broken", "{\"activeKid\": \"none\"}").await;
    let err = identity::IdentityState::init(&with_secrets(&broken))
        .await
        .err()
        .expect("a broken MFA key set stops the start");
    assert!(format!("{err:#}").contains("MFA key set"), "{err:#}");
}
