//! Two-factor sign-in: one method per endpoint, and an authenticator app
//! computed in the test (RFC 6238 over HMAC-SHA1, independent of the
//! identity crate's own).

use aws_lc_rs::hmac;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{PASSWORD, TestApp, TestResponse};

/// An authenticator app holding one base32 secret.
#[derive(Debug, Clone)]
pub struct Authenticator {
    secret: Vec<u8>,
}

impl Authenticator {
    pub fn from_base32(secret: &str) -> Self {
        Self {
            secret: base32_decode(secret).expect("the secret is base32"),
        }
    }

    /// The secret's bytes.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The 6-digit code at `epoch_secs` (RFC 6238: 30-second steps from the
    /// epoch, RFC 4226 dynamic truncation).
    pub fn code_at(&self, epoch_secs: i64) -> String {
        format!("{:06}", totp(&self.secret, epoch_secs, 6))
    }
}

/// TOTP with HMAC-SHA1 and `digits` digits.
pub fn totp(secret: &[u8], epoch_secs: i64, digits: u32) -> u32 {
    let counter = (epoch_secs / 30) as u64;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = (mac[19] & 0xf) as usize;
    let value = ((u32::from(mac[offset]) & 0x7f) << 24)
        | (u32::from(mac[offset + 1]) << 16)
        | (u32::from(mac[offset + 2]) << 8)
        | u32::from(mac[offset + 3]);
    value % 10u32.pow(digits)
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u64, 0u32, Vec::new());
    for c in text.trim_end_matches('=').chars() {
        buffer = (buffer << 5) | ALPHABET.find(c.to_ascii_uppercase())? as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// An account with two-factor sign-in on.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub email: String,
    /// The token of the password-only sign-in it enrolled with.
    pub token: String,
    pub authenticator: Authenticator,
    pub recovery_codes: Vec<String>,
}

impl TestApp {
    pub async fn mfa_status(&self, token: &str) -> TestResponse {
        self.call(Method::GET, "/v1/me/mfa", Some(token), None)
            .await
    }

    pub async fn start_totp(&self, token: &str, password: &str) -> TestResponse {
        let body = json!({ "password": password });
        self.call(Method::POST, "/v1/me/mfa/totp", Some(token), Some(&body))
            .await
    }

    pub async fn confirm_totp(&self, token: &str, code: &str) -> TestResponse {
        let body = json!({ "code": code });
        self.call(
            Method::POST,
            "/v1/me/mfa/totp/confirm",
            Some(token),
            Some(&body),
        )
        .await
    }

    pub async fn regenerate_recovery_codes(&self, token: &str, code: &str) -> TestResponse {
        let body = json!({ "code": code });
        self.call(
            Method::POST,
            "/v1/me/mfa/recovery-codes",
            Some(token),
            Some(&body),
        )
        .await
    }

    pub async fn remove_mfa(&self, token: &str, body: &Value) -> TestResponse {
        self.call(Method::DELETE, "/v1/me/mfa", Some(token), Some(body))
            .await
    }

    /// `POST /v1/auth/login/mfa` with `{"challenge", <factor>}`.
    pub async fn complete_sign_in(&self, challenge: &str, factor: Value) -> TestResponse {
        let mut body = factor;
        body["challenge"] = Value::String(challenge.to_owned());
        self.call(Method::POST, "/v1/auth/login/mfa", None, Some(&body))
            .await
    }

    /// The newest 20 events of the signed-in person's trail.
    pub async fn audit_trail(&self, token: &str) -> TestResponse {
        self.call(Method::GET, "/v1/me/audit?limit=20", Some(token), None)
            .await
    }

    /// The code the authenticator shows now, on this app's clock.
    pub fn code_now(&self, authenticator: &Authenticator) -> String {
        authenticator.code_at(self.clock.now_epoch())
    }

    /// Registers `email` and turns two-factor sign-in on with a code of now.
    pub async fn enrolled(&self, email: &str) -> Enrolled {
        let token = self.signed_in_as(email).await;
        let started = self.start_totp(&token, PASSWORD).await;
        let secret = started.assert_ok(StatusCode::CREATED)["secret"]
            .as_str()
            .expect("the secret")
            .to_owned();
        let authenticator = Authenticator::from_base32(&secret);
        let confirmed = self
            .confirm_totp(&token, &self.code_now(&authenticator))
            .await;
        let codes = confirmed.assert_ok(StatusCode::OK)["recoveryCodes"]
            .as_array()
            .expect("recovery codes")
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        Enrolled {
            email: email.to_owned(),
            token,
            authenticator,
            recovery_codes: codes,
        }
    }

    /// The challenge a right password answers for an enrolled account.
    pub async fn mfa_challenge(&self, email: &str) -> String {
        let answer = self.login(email, PASSWORD).await;
        let data = answer.assert_ok(StatusCode::OK);
        assert_eq!(data["mfaRequired"], true, "{data}");
        assert!(
            data.get("accessToken").is_none(),
            "no token before the second factor: {data}"
        );
        data["challenge"].as_str().expect("a challenge").to_owned()
    }

    /// Signs an enrolled account in with the authenticator's code; moves
    /// the clock a step on first, so the code is one not used yet.
    pub async fn signed_in_with_mfa(&self, account: &Enrolled) -> String {
        self.clock.advance(std::time::Duration::from_secs(30));
        let challenge = self.mfa_challenge(&account.email).await;
        let code = self.code_now(&account.authenticator);
        let signed_in = self
            .complete_sign_in(&challenge, json!({ "code": code }))
            .await;
        signed_in.assert_ok(StatusCode::OK)["accessToken"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }
}
