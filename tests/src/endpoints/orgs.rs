//! Organizations, members, invitations, API keys and the audit trail.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Auth, TestApp, TestResponse};

/// Organizations, members, invitations, API keys and the audit trail: one
/// method per endpoint (the `token` may be an access token or an API key),
/// plus a few journey steps.
impl TestApp {
    pub async fn create_org(&self, token: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, "/v1/orgs", Some(token), Some(body))
            .await
    }

    /// Creates an organization of `kind` owned by the caller; returns its id.
    pub async fn new_org(&self, token: &str, kind: &str) -> String {
        let body = json!({ "kind": kind, "name": "Acme Supplies", "legalName": "Acme Supplies GmbH", "taxId": "DE123456789", "country": "DE" });
        self.create_org(token, &body)
            .await
            .assert_ok(StatusCode::CREATED)["id"]
            .as_str()
            .expect("an org id")
            .to_owned()
    }

    pub async fn my_orgs(&self, token: &str) -> TestResponse {
        self.call(Method::GET, "/v1/orgs", Some(token), None).await
    }

    pub async fn get_org(&self, token: &str, org: &str) -> TestResponse {
        self.call(Method::GET, &format!("/v1/orgs/{org}"), Some(token), None)
            .await
    }

    pub async fn update_org(
        &self,
        token: &str,
        org: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> TestResponse {
        let headers: Vec<(&str, &str)> =
            if_match.map(|tag| ("if-match", tag)).into_iter().collect();
        self.request(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Auth::Bearer(token),
            Some(body),
            &headers,
        )
        .await
    }

    pub async fn set_verification(&self, token: &str, org: &str, body: &Value) -> TestResponse {
        self.call(
            Method::PUT,
            &format!("/v1/orgs/{org}/verification"),
            Some(token),
            Some(body),
        )
        .await
    }

    pub async fn invite(
        &self,
        token: &str,
        org: &str,
        email: &str,
        org_role: &str,
        capabilities: &[&str],
    ) -> TestResponse {
        let body = json!({ "email": email, "orgRole": org_role, "capabilities": capabilities });
        self.call(
            Method::POST,
            &format!("/v1/orgs/{org}/invitations"),
            Some(token),
            Some(&body),
        )
        .await
    }

    pub async fn accept_invitation(&self, token: &str, invitation_token: &str) -> TestResponse {
        let body = json!({ "token": invitation_token });
        self.call(
            Method::POST,
            "/v1/invitations/accept",
            Some(token),
            Some(&body),
        )
        .await
    }

    pub async fn members(&self, token: &str, org: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/v1/orgs/{org}/members"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn update_member(
        &self,
        token: &str,
        org: &str,
        user: &str,
        body: &Value,
    ) -> TestResponse {
        self.call(
            Method::PATCH,
            &format!("/v1/orgs/{org}/members/{user}"),
            Some(token),
            Some(body),
        )
        .await
    }

    pub async fn remove_member(&self, token: &str, org: &str, user: &str) -> TestResponse {
        self.call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/members/{user}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn create_api_key(&self, token: &str, org: &str, body: &Value) -> TestResponse {
        self.call(
            Method::POST,
            &format!("/v1/orgs/{org}/api-keys"),
            Some(token),
            Some(body),
        )
        .await
    }

    /// Creates a key with `permissions`; returns (key, prefix).
    pub async fn new_api_key(
        &self,
        token: &str,
        org: &str,
        permissions: &[&str],
    ) -> (String, String) {
        let body = json!({ "name": "integration", "permissions": permissions });
        let created = self.create_api_key(token, org, &body).await;
        let data = created.assert_ok(StatusCode::CREATED);
        (
            data["key"].as_str().expect("the key").to_owned(),
            data["prefix"].as_str().expect("the prefix").to_owned(),
        )
    }

    pub async fn api_keys(&self, token: &str, org: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/v1/orgs/{org}/api-keys"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn revoke_api_key(&self, token: &str, org: &str, prefix: &str) -> TestResponse {
        self.call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/api-keys/{prefix}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn org_audit(&self, token: &str, org: &str, query: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/v1/orgs/{org}/audit{query}"),
            Some(token),
            None,
        )
        .await
    }

    /// The invitation code of the one invitation email moto holds for `email`.
    pub async fn invitation_token_for(&self, email: &str) -> String {
        let body = self.only_email_to(email, "Your invitation to").await.body;
        body.split_whitespace()
            .find(|word| word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit()))
            .unwrap_or_else(|| panic!("no invitation code in the email to {email}: {body}"))
            .to_owned()
    }

    /// Registers `email`, has `inviter` invite it into `org` with the roles,
    /// and accepts with the code from the email. Returns (token, user id).
    pub async fn joins_org(
        &self,
        inviter: &str,
        org: &str,
        email: &str,
        org_role: &str,
        capabilities: &[&str],
    ) -> (String, String) {
        let token = self.signed_in_as(email).await;
        self.invite(inviter, org, email, org_role, capabilities)
            .await
            .assert_ok(StatusCode::CREATED);
        let code = self.invitation_token_for(email).await;
        let joined = self.accept_invitation(&token, &code).await;
        let user_id = joined.assert_ok(StatusCode::OK)["userId"]
            .as_str()
            .expect("the member's user id")
            .to_owned();
        (token, user_id)
    }
}
