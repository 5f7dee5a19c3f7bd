//! Accounts, sessions and the personal audit trail: one method per endpoint,
//! plus the sign-in steps most journeys start with.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::{PASSWORD, TestApp, TestResponse};

impl TestApp {
    pub async fn register(&self, email: &str, password: &str, name: &str) -> TestResponse {
        let body = json!({ "email": email, "password": password, "name": name });
        self.call(Method::POST, "/v1/auth/register", None, Some(&body))
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        let body = json!({ "email": email, "password": password });
        self.call(Method::POST, "/v1/auth/login", None, Some(&body))
            .await
    }

    pub async fn me(&self, token: &str) -> TestResponse {
        self.call(Method::GET, "/v1/me", Some(token), None).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> TestResponse {
        let body = json!({ "refreshToken": refresh_token });
        self.call(Method::POST, "/v1/auth/refresh", None, Some(&body))
            .await
    }

    pub async fn logout(&self, refresh_token: &str) -> TestResponse {
        let body = json!({ "refreshToken": refresh_token });
        self.call(Method::POST, "/v1/auth/logout", None, Some(&body))
            .await
    }

    pub async fn logout_all(&self, token: &str) -> TestResponse {
        self.call(Method::POST, "/v1/auth/logout-all", Some(token), None)
            .await
    }

    pub async fn sessions(&self, token: &str) -> TestResponse {
        self.call(Method::GET, "/v1/me/sessions", Some(token), None)
            .await
    }

    pub async fn revoke_session(&self, token: &str, session_id: &str) -> TestResponse {
        self.call(
            Method::DELETE,
            &format!("/v1/me/sessions/{session_id}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn verify_email(&self, code: &str) -> TestResponse {
        let body = json!({ "token": code });
        self.call(Method::POST, "/v1/auth/verify-email", None, Some(&body))
            .await
    }

    pub async fn resend_verification(&self, token: &str) -> TestResponse {
        self.call(
            Method::POST,
            "/v1/auth/verify-email/resend",
            Some(token),
            None,
        )
        .await
    }

    pub async fn request_password_reset(&self, email: &str) -> TestResponse {
        let body = json!({ "email": email });
        self.call(
            Method::POST,
            "/v1/auth/password-reset/request",
            None,
            Some(&body),
        )
        .await
    }

    pub async fn reset_password(&self, code: &str, new_password: &str) -> TestResponse {
        let body = json!({ "token": code, "newPassword": new_password });
        self.call(Method::POST, "/v1/auth/password-reset", None, Some(&body))
            .await
    }

    pub async fn update_me(
        &self,
        token: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> TestResponse {
        let mut request = Request::patch("/v1/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(etag) = if_match {
            request = request.header(header::IF_MATCH, etag);
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    pub async fn my_audit(&self, token: &str, cursor: Option<&str>) -> TestResponse {
        let path = match cursor {
            Some(cursor) => format!("/v1/me/audit?limit=2&cursor={cursor}"),
            None => "/v1/me/audit?limit=2".to_owned(),
        };
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn delete_me(&self, token: &str, password: &str) -> TestResponse {
        let body = json!({ "password": password });
        self.call(Method::DELETE, "/v1/me", Some(token), Some(&body))
            .await
    }

    /// The entries of an address book: `book` is [`MY_ADDRESSES`] or
    /// [`org_addresses`]`(org)`.
    pub async fn addresses(&self, token: &str, book: &str) -> TestResponse {
        self.call(Method::GET, book, Some(token), None).await
    }

    pub async fn add_address(&self, token: &str, book: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, book, Some(token), Some(body)).await
    }

    /// Adds `address_body(name)` to `book`; returns the new entry.
    pub async fn new_address(&self, token: &str, book: &str, name: &str) -> Value {
        let body = json!({ "address": address_body(name) });
        self.add_address(token, book, &body)
            .await
            .assert_ok(StatusCode::CREATED)
            .clone()
    }

    pub async fn update_address(
        &self,
        token: &str,
        book: &str,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> TestResponse {
        let path = format!("{book}/{id}");
        self.call_if_match(Method::PATCH, &path, Some(token), if_match, Some(body))
            .await
    }

    pub async fn remove_address(
        &self,
        token: &str,
        book: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> TestResponse {
        let path = format!("{book}/{id}");
        self.call_if_match(Method::DELETE, &path, Some(token), if_match, None)
            .await
    }

    /// Registers `email` and signs in; returns the access token.
    pub async fn signed_in_as(&self, email: &str) -> String {
        self.register(email, PASSWORD, "Test User")
            .await
            .assert_ok(StatusCode::CREATED);
        self.signed_in_as_existing(email).await
    }

    /// Signs in an account registered with `PASSWORD`; returns the access token.
    pub async fn signed_in_as_existing(&self, email: &str) -> String {
        let session = self.login(email, PASSWORD).await;
        session.assert_ok(StatusCode::OK)["accessToken"]
            .as_str()
            .expect("login returns an access token")
            .to_owned()
    }

    /// The user id of a signed-in token.
    pub async fn user_id(&self, token: &str) -> String {
        self.me(token).await.assert_ok(StatusCode::OK)["id"]
            .as_str()
            .expect("a user id")
            .to_owned()
    }

    /// `PUT /v1/moderators/{userId}` as `admin`.
    pub async fn grant_moderator(&self, admin: &str, user_id: &str) -> TestResponse {
        let path = format!("/v1/moderators/{user_id}");
        self.call(Method::PUT, &path, Some(admin), None).await
    }

    /// `DELETE /v1/moderators/{userId}` as `admin`.
    pub async fn revoke_moderator(&self, admin: &str, user_id: &str) -> TestResponse {
        let path = format!("/v1/moderators/{user_id}");
        self.call(Method::DELETE, &path, Some(admin), None).await
    }

    /// The same customer's access token, signed with the real key but
    /// issued two hours ago: expired.
    pub fn expired_token_like(&self, token: &str) -> String {
        let claims = self.services.tokens.verify_access_token(token).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let two_hours_ago = now - 7200;
        self.services
            .signing
            .issue_access_token_at(&claims.sub, "customer", None, two_hours_ago)
            .unwrap()
            .token
    }

    /// Makes a user a platform admin directly in the table (no API grants
    /// it), and signs them in again so the token carries the role.
    pub async fn promote_to_platform_admin(&self, email: &str) -> String {
        let token = self.signed_in_as_existing(email).await;
        let (pk, sk) = identity::user::user_key(&self.user_id(&token).await);
        self.set_stored_attribute(&pk, sk, "role", AttributeValue::S("admin".into()))
            .await;
        self.signed_in_as_existing(email).await
    }
}

/// The signed-in person's address book.
pub const MY_ADDRESSES: &str = "/v1/me/addresses";

/// An organization's address book.
pub fn org_addresses(org: &str) -> String {
    format!("/v1/orgs/{org}/addresses")
}

/// A valid address in Berlin for `name`.
pub fn address_body(name: &str) -> Value {
    json!({
        "name": name,
        "line1": "Hauptstraße 5",
        "postalCode": "10115",
        "city": "Berlin",
        "country": "DE",
    })
}
