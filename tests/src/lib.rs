//! Test harness: each test gets the whole API on a fresh table of the local
//! stack, and a `TestApp` with one method per endpoint, so tests read like
//! journeys. `make test` starts the stack and exports its endpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use shared::Services;
use shared::config::Config;

pub const PASSWORD: &str = "correct horse battery staple";

/// The repository root (tests/ is one level below it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn require_stack() {
    if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
        panic!(
            "these tests run against the local stack: run `make test`, or `source .local/run/stack.env` \
             after `infra/stack.sh start`"
        );
    }
}

/// The stack's configuration with a table of our own.
pub fn stack_config(table: &str) -> Config {
    require_stack();
    let mut config = Config::from_env().expect("the local stack environment is complete");
    config.table_name = table.to_owned();
    config
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer <access token or API key>`.
    Bearer(&'a str),
    /// `X-Api-Key: <API key>`.
    ApiKeyHeader(&'a str),
}

pub struct TestApp {
    pub router: Router,
    pub services: Services,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The `error.code` of an error envelope.
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts the envelope of a failure, and returns self for more checks.
    pub fn assert_error(&self, status: StatusCode, code: &str) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.body["success"], false, "{}", self.body);
        assert_eq!(self.error_code(), code, "{}", self.body);
        assert!(
            self.body["meta"]["requestId"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{}",
            self.body
        );
        self
    }

    pub fn assert_ok(&self, status: StatusCode) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.body["success"], true, "{}", self.body);
        &self.body["data"]
    }
}

impl From<devserver::client::Reply> for TestResponse {
    fn from(reply: devserver::client::Reply) -> Self {
        Self {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
        }
    }
}

/// A fresh table on the local stack and the whole API over it.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with the configuration adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        shared::telemetry::init();
    }
    let table = format!("test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let sdk = shared::services::load_sdk_config().await;
    let mut config = stack_config(&table);
    adjust(&mut config);
    let services = Services::build(config, &sdk).await.expect("services build");
    devserver::resources::ensure_all(&services)
        .await
        .expect("local resources are created");
    TestApp::new(services)
}

impl TestApp {
    pub fn new(services: Services) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            shared::telemetry::init();
        }
        Self {
            router: devserver::app(&services),
            services,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let reply = devserver::client::Api::over(self.router.clone())
            .send(request)
            .await
            .expect("the router answers");
        reply.into()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> TestResponse {
        let auth = token.map_or(Auth::None, Auth::Bearer);
        self.request(method, path, auth, body, &[]).await
    }

    /// A request with any credential and extra headers.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let (token, mut all_headers) = match auth {
            Auth::None => (None, Vec::new()),
            Auth::Bearer(token) => (Some(token), Vec::new()),
            Auth::ApiKeyHeader(key) => (None, vec![("x-api-key", key)]),
        };
        all_headers.extend_from_slice(headers);
        let reply = devserver::client::Api::over(self.router.clone())
            .call(method, path, token, body, &all_headers)
            .await
            .expect("the router answers");
        reply.into()
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut request = Request::post(path);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        self.send(request.body(body.into()).expect("a valid request"))
            .await
    }

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

    pub async fn request_upload(&self, token: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, "/v1/uploads", Some(token), Some(body))
            .await
    }

    pub async fn asset(&self, token: &str, asset_id: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/v1/assets/{asset_id}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn delete_asset(&self, token: &str, asset_id: &str) -> TestResponse {
        self.call(
            Method::DELETE,
            &format!("/v1/assets/{asset_id}"),
            Some(token),
            None,
        )
        .await
    }

    /// Sends `bytes` with an upload grant, as a browser would.
    pub async fn upload_with(&self, grant: &Value, bytes: &[u8]) -> u16 {
        let headers: Vec<(String, String)> = grant["headers"]
            .as_object()
            .expect("the grant's headers")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        let url = grant["url"].as_str().expect("the grant's URL");
        http_request(
            grant["method"].as_str().unwrap_or("PUT"),
            url,
            &headers,
            bytes,
        )
        .await
        .0
    }

    /// Runs the ingest handler for the object of `asset_id`, as the S3
    /// trigger would (the key URL-encoded as in real S3 events).
    pub async fn ingest(&self, asset_id: &str) {
        devserver::pumps::ingest_asset(&self.services, asset_id)
            .await
            .expect("ingest succeeds");
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

    /// A request with an optional bearer token, `If-Match` and JSON body.
    pub async fn call_if_match(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> TestResponse {
        let auth = token.map_or(Auth::None, Auth::Bearer);
        let headers: Vec<(&str, &str)> = if_match
            .map(|etag| ("if-match", etag))
            .into_iter()
            .collect();
        self.request(method, path, auth, body, &headers).await
    }

    pub async fn list_categories(&self) -> TestResponse {
        self.call(Method::GET, "/v1/categories", None, None).await
    }

    pub async fn get_category(&self, slug: &str) -> TestResponse {
        self.call(Method::GET, &format!("/v1/categories/{slug}"), None, None)
            .await
    }

    pub async fn create_category(&self, token: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, "/v1/categories", Some(token), Some(body))
            .await
    }

    pub async fn update_category(
        &self,
        token: &str,
        slug: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/categories/{slug}");
        self.call_if_match(Method::PATCH, &path, Some(token), if_match, Some(body))
            .await
    }

    /// Creates a category as `admin_token`; returns its id.
    pub async fn category(&self, admin_token: &str, slug: &str) -> String {
        let body = json!({ "slug": slug, "name": slug });
        self.create_category(admin_token, &body)
            .await
            .assert_ok(StatusCode::CREATED)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `GET /v1/products?<query>`
    pub async fn list_products(&self, query: &str) -> TestResponse {
        self.call(Method::GET, &format!("/v1/products?{query}"), None, None)
            .await
    }

    pub async fn create_product(&self, token: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, "/v1/products", Some(token), Some(body))
            .await
    }

    /// Creates a product that must succeed; returns its id.
    pub async fn new_product(&self, token: &str, body: &Value) -> String {
        self.create_product(token, body)
            .await
            .assert_ok(StatusCode::CREATED)["id"]
            .as_str()
            .expect("a product id")
            .to_owned()
    }

    pub async fn bulk_create_products(&self, token: &str, products: &[Value]) -> TestResponse {
        let body = json!({ "products": products });
        self.call(Method::POST, "/v1/products/bulk", Some(token), Some(&body))
            .await
    }

    /// `PATCH /v1/products/bulk`: each item is `{"id", "ifMatch"?, ...changes}`.
    pub async fn bulk_update_products(&self, token: &str, products: &[Value]) -> TestResponse {
        let body = json!({ "products": products });
        self.call(Method::PATCH, "/v1/products/bulk", Some(token), Some(&body))
            .await
    }

    pub async fn get_product(&self, id: &str) -> TestResponse {
        self.call(Method::GET, &format!("/v1/products/{id}"), None, None)
            .await
    }

    pub async fn update_product(
        &self,
        token: &str,
        id: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/products/{id}");
        self.call_if_match(Method::PATCH, &path, Some(token), if_match, Some(body))
            .await
    }

    pub async fn archive_product(&self, token: &str, id: &str) -> TestResponse {
        self.call(
            Method::DELETE,
            &format!("/v1/products/{id}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn adjust_stock(&self, token: &str, id: &str, delta: i64) -> TestResponse {
        let body = json!({ "delta": delta });
        self.call(
            Method::POST,
            &format!("/v1/products/{id}/stock"),
            Some(token),
            Some(&body),
        )
        .await
    }

    /// A stock adjustment with an `Idempotency-Key`.
    pub async fn adjust_stock_once(
        &self,
        token: &str,
        id: &str,
        delta: i64,
        key: &str,
    ) -> TestResponse {
        let body = json!({ "delta": delta });
        let path = format!("/v1/products/{id}/stock");
        self.request(
            Method::POST,
            &path,
            Auth::Bearer(token),
            Some(&body),
            &[("idempotency-key", key)],
        )
        .await
    }

    /// `GET /v1/search?<query>`
    pub async fn search(&self, query: &str) -> TestResponse {
        self.call(Method::GET, &format!("/v1/search?{query}"), None, None)
            .await
    }

    pub async fn suggest(&self, prefix: &str) -> TestResponse {
        let path = format!("/v1/search/suggest?prefix={prefix}");
        self.call(Method::GET, &path, None, None).await
    }

    /// `GET /v1/search/queries?<query>`
    pub async fn search_queries(&self, token: &str, query: &str) -> TestResponse {
        let path = format!("/v1/search/queries?{query}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn list_reviews(&self, product_id: &str, query: &str) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews?{query}");
        self.call(Method::GET, &path, None, None).await
    }

    pub async fn create_review(&self, token: &str, product_id: &str, body: &Value) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews");
        self.call(Method::POST, &path, Some(token), Some(body))
            .await
    }

    pub async fn update_my_review(
        &self,
        token: &str,
        product_id: &str,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews/mine");
        self.call(Method::PATCH, &path, Some(token), Some(body))
            .await
    }

    pub async fn delete_my_review(&self, token: &str, product_id: &str) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews/mine");
        self.call(Method::DELETE, &path, Some(token), None).await
    }

    pub async fn hide_review(
        &self,
        token: &str,
        product_id: &str,
        author_id: &str,
    ) -> TestResponse {
        let path = format!("/v1/products/{product_id}/reviews/{author_id}/hide");
        self.call(Method::POST, &path, Some(token), None).await
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
}

/// A valid product body for `POST /v1/products`.
pub fn product_body(org: &str, sku: &str, category_id: &str, name: &str, price: i64) -> Value {
    json!({
        "sellerOrgId": org,
        "sku": sku,
        "name": name,
        "categoryId": category_id,
        "price": { "amount": price, "currency": "EUR" },
        "stock": 10,
    })
}

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

    /// The user id of a signed-in token.
    pub async fn user_id(&self, token: &str) -> String {
        self.me(token).await.assert_ok(StatusCode::OK)["id"]
            .as_str()
            .expect("a user id")
            .to_owned()
    }

    /// The raw item at (pk, sk), to check what is stored.
    pub async fn stored_item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.services
            .store
            .client()
            .get_item()
            .table_name(self.services.store.table())
            .key("PK", AttributeValue::S(pk.to_owned()))
            .key("SK", AttributeValue::S(sk.to_owned()))
            .send()
            .await
            .expect("GetItem works")
            .item
    }

    /// Sets one attribute of an existing item directly in the table, for
    /// what no API does (granting admin, ageing an item).
    pub async fn set_stored_attribute(
        &self,
        pk: &str,
        sk: &str,
        name: &str,
        value: AttributeValue,
    ) {
        self.services
            .store
            .client()
            .update_item()
            .table_name(self.services.store.table())
            .key("PK", AttributeValue::S(pk.to_owned()))
            .key("SK", AttributeValue::S(sk.to_owned()))
            .update_expression("SET #attr = :value")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#attr", name)
            .expression_attribute_values(":value", value)
            .send()
            .await
            .unwrap_or_else(|e| panic!("setting {name} on {pk}/{sk}: {e:?}"));
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

    /// The invitation code of the newest invitation email moto holds for `email`.
    pub async fn invitation_token_for(&self, email: &str) -> String {
        let body = last_email_to(email).await.body;
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

/// An address no other test uses: moto's mailbox is shared by all tests.
pub fn unique_email(name: &str) -> String {
    format!(
        "{name}.{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

/// An email the local SES accepted.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub subject: String,
    pub body: String,
}

impl SentEmail {
    /// The single-use code in the email (after "code: ").
    pub fn code(&self) -> String {
        let start = self.body.find("code: ").expect("the email has a code") + "code: ".len();
        self.body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

/// Every email sent to `to` so far, oldest first, read from moto's state.
pub async fn emails_to(to: &str) -> Vec<SentEmail> {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL_SESV2").expect("the stack names its SES endpoint");
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("moto answers");
    let request = format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {authority}\r\n\r\n");
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut response)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    let body = text.split_once("\r\n\r\n").expect("an HTTP response").1;
    let data: Value = serde_json::from_str(body).expect("moto's state is JSON");
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|to_list| to_list.iter().any(|a| a == to))
        })
        .map(|m| SentEmail {
            subject: m["subject"].as_str().unwrap_or_default().to_owned(),
            body: m["body"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// The last email sent to `to`, waiting briefly for it.
pub async fn last_email_to(to: &str) -> SentEmail {
    for _ in 0..50 {
        if let Some(email) = emails_to(to).await.pop() {
            return email;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no email reached {to}");
}

/// A plain HTTP/1.0 request to a local URL (a presigned S3 URL of moto):
/// returns the status and the body.
pub async fn http_request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("a local http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("the server answers");
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\n");
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let status_line = String::from_utf8_lossy(&response[..split])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, response[split + 4..].to_vec())
}

/// Every sample event under events/, by path relative to it.
pub fn sample_events() -> BTreeMap<String, Value> {
    fn walk(dir: PathBuf, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("events/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(path, found);
            } else if path.extension().is_some_and(|e| e == "json") {
                found.push(path);
            }
        }
    }
    let root = repo_root().join("events");
    let mut files = Vec::new();
    walk(root.clone(), &mut files);
    files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let json =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
            (name, json)
        })
        .collect()
}

/// template.yaml, parsed (CloudFormation tags such as `!Ref` stay tagged values).
pub fn template() -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(repo_root().join("template.yaml"))
        .expect("template.yaml is readable");
    serde_yaml_ng::from_str(&text).expect("template.yaml is valid YAML")
}

/// The HttpApi routes of each function in template.yaml: logical id → {(METHOD, path)}.
pub fn template_routes() -> BTreeMap<String, BTreeSet<(String, String)>> {
    let template = template();
    let resources = template["Resources"]
        .as_mapping()
        .expect("template has Resources");
    let mut routes = BTreeMap::new();
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        let function_routes: BTreeSet<(String, String)> = events
            .values()
            .filter(|event| event["Type"].as_str() == Some("HttpApi"))
            .map(|event| {
                let props = &event["Properties"];
                (
                    props["Method"]
                        .as_str()
                        .expect("route has a Method")
                        .to_uppercase(),
                    props["Path"].as_str().expect("route has a Path").to_owned(),
                )
            })
            .collect();
        routes.insert(
            name.as_str().expect("logical ids are strings").to_owned(),
            function_routes,
        );
    }
    routes
}

/// The (METHOD, path) pairs an OpenAPI document describes.
pub fn openapi_routes(doc: &utoipa::openapi::OpenApi) -> BTreeSet<(String, String)> {
    let json = serde_json::to_value(doc).expect("the document serializes");
    json["paths"]
        .as_object()
        .expect("the document has paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|method| {
                    ["get", "put", "post", "delete", "patch", "head", "options"]
                        .contains(&method.as_str())
                })
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

/// A DynamoDB Local of a test's own, to stop at will without disturbing the
/// shared stack. Killed when dropped.
pub struct PrivateDynamo {
    pub endpoint: String,
    child: tokio::process::Child,
}

impl PrivateDynamo {
    pub async fn start() -> Self {
        require_stack();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // The project's launcher binds DynamoDB Local to loopback (the jar
        // alone listens on every interface); it execs java, so killing the
        // child stops the server.
        let child = tokio::process::Command::new("bash")
            .arg(repo_root().join("infra/stack.sh"))
            .args(["dynamodb-local", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("infra/stack.sh starts DynamoDB Local");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "private DynamoDB Local did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { endpoint, child }
    }

    /// Stops the process and waits until it is gone.
    pub async fn stop(&mut self) {
        self.child.kill().await.expect("DynamoDB Local stops");
    }
}

/// Confirms a PaymentIntent with a card the way Stripe.js does in a browser:
/// a PaymentMethod from the card details, set on the intent, then confirm.
/// Returns the confirm call's JSON whatever its status: the intent
/// (`status: "succeeded"`) or, for a declined test card, Stripe's error.
pub async fn stripe_confirm_card(
    api_base: &str,
    secret_key: &str,
    intent_id: &str,
    card_number: &str,
) -> Value {
    let client = reqwest::Client::new();
    let api_base = api_base.trim_end_matches('/');
    let post = |path: &str, form: &[(&str, &str)]| {
        client
            .post(format!("{api_base}{path}"))
            .bearer_auth(secret_key)
            .form(form)
            .send()
    };
    let method: Value = post(
        "/v1/payment_methods",
        &[
            ("type", "card"),
            ("card[number]", card_number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2030"),
            ("card[cvc]", "123"),
        ],
    )
    .await
    .expect("Stripe answers")
    .error_for_status()
    .expect("the payment method is created")
    .json()
    .await
    .expect("a payment method");
    let method_id = method["id"].as_str().expect("a pm_ id");
    post(
        &format!("/v1/payment_intents/{intent_id}"),
        &[("payment_method", method_id)],
    )
    .await
    .expect("Stripe answers")
    .error_for_status()
    .expect("the payment method is set on the intent");
    post(&format!("/v1/payment_intents/{intent_id}/confirm"), &[])
        .await
        .expect("Stripe answers")
        .json()
        .await
        .expect("the confirmation is JSON")
}

/// Carts, checkout, orders, fulfilments and payments: one method per
/// endpoint. `org` is the buying org (`?orgId=`), if any.
impl TestApp {
    /// An access token for a new customer who exists only as a token: for
    /// tests that need many buyers (registration is rate limited per IP).
    pub fn new_customer_token(&self) -> (String, String) {
        let user_id = ulid::Ulid::new().to_string();
        let issued = self
            .services
            .tokens
            .issue_access_token(&user_id, "customer", None)
            .expect("a token is issued");
        (issued.token, user_id)
    }

    fn with_org(path: &str, org: Option<&str>) -> String {
        match org {
            Some(org) => format!("{path}?orgId={org}"),
            None => path.to_owned(),
        }
    }

    pub async fn cart(&self, token: &str, org: Option<&str>) -> TestResponse {
        let path = Self::with_org("/v1/cart", org);
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn clear_cart(&self, token: &str, org: Option<&str>) -> TestResponse {
        let path = Self::with_org("/v1/cart", org);
        self.call(Method::DELETE, &path, Some(token), None).await
    }

    pub async fn add_to_cart(
        &self,
        token: &str,
        org: Option<&str>,
        product_id: &str,
        quantity: i64,
    ) -> TestResponse {
        let path = Self::with_org("/v1/cart/items", org);
        let body = json!({ "productId": product_id, "quantity": quantity });
        self.call(Method::POST, &path, Some(token), Some(&body))
            .await
    }

    pub async fn set_cart_quantity(
        &self,
        token: &str,
        product_id: &str,
        quantity: i64,
    ) -> TestResponse {
        let path = format!("/v1/cart/items/{product_id}");
        let body = json!({ "quantity": quantity });
        self.call(Method::PUT, &path, Some(token), Some(&body))
            .await
    }

    pub async fn remove_from_cart(&self, token: &str, product_id: &str) -> TestResponse {
        let path = format!("/v1/cart/items/{product_id}");
        self.call(Method::DELETE, &path, Some(token), None).await
    }

    /// `POST /v1/checkout` with an Idempotency-Key (`None`: without one).
    pub async fn checkout(
        &self,
        token: &str,
        org: Option<&str>,
        key: Option<&str>,
        body: &Value,
    ) -> TestResponse {
        let path = Self::with_org("/v1/checkout", org);
        let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
        self.request(
            Method::POST,
            &path,
            Auth::Bearer(token),
            Some(body),
            &headers,
        )
        .await
    }

    /// Puts `quantity` of the product in the cart and checks out by card to
    /// Germany; returns the order.
    pub async fn buy(&self, token: &str, product_id: &str, quantity: i64) -> Value {
        self.add_to_cart(token, None, product_id, quantity)
            .await
            .assert_ok(StatusCode::OK);
        let key = ulid::Ulid::new().to_string();
        self.checkout(token, None, Some(&key), &checkout_body("card"))
            .await
            .assert_ok(StatusCode::CREATED)
            .clone()
    }

    pub async fn orders(&self, token: &str, query: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/v1/orders?{query}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn order(&self, token: &str, order_id: &str) -> TestResponse {
        let path = format!("/v1/orders/{order_id}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn cancel_order(&self, token: &str, order_id: &str) -> TestResponse {
        let path = format!("/v1/orders/{order_id}/cancel");
        self.call(Method::POST, &path, Some(token), None).await
    }

    pub async fn fulfilments(&self, token: &str, org: &str, query: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/fulfilments?{query}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn fulfilment(&self, token: &str, org: &str, order_id: &str) -> TestResponse {
        let path = format!("/v1/orgs/{org}/fulfilments/{order_id}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn advance_fulfilment(
        &self,
        token: &str,
        org: &str,
        order_id: &str,
        body: &Value,
    ) -> TestResponse {
        let path = format!("/v1/orgs/{org}/fulfilments/{order_id}/status");
        self.call(Method::POST, &path, Some(token), Some(body))
            .await
    }

    pub async fn admin_orders(&self, token: &str, query: &str) -> TestResponse {
        let path = format!("/v1/admin/orders?{query}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    pub async fn mark_invoice_paid(&self, token: &str, order_id: &str) -> TestResponse {
        let path = format!("/v1/admin/orders/{order_id}/invoice-payment");
        self.call(Method::POST, &path, Some(token), None).await
    }

    pub async fn refund_order(&self, token: &str, order_id: &str) -> TestResponse {
        let path = format!("/v1/admin/orders/{order_id}/refund");
        self.call(Method::POST, &path, Some(token), None).await
    }

    pub async fn order_stats(&self, token: &str, query: &str) -> TestResponse {
        let path = format!("/v1/admin/stats?{query}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    /// Delivers a Stripe event signed with `secret` (now), as Stripe would.
    pub async fn stripe_webhook(&self, event: &Value, secret: &str) -> TestResponse {
        let payload = event.to_string();
        let now = shared::domain::now_epoch();
        let signature = shared::payments::webhook::sign(payload.as_bytes(), secret, now);
        self.send_webhook(&payload, &signature).await
    }

    /// Posts a raw webhook body with the given Stripe-Signature header.
    pub async fn send_webhook(&self, payload: &str, signature: &str) -> TestResponse {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v1/payments/webhook")
            .header(header::CONTENT_TYPE, "application/json")
            .header("stripe-signature", signature)
            .body(Body::from(payload.to_owned()))
            .expect("a valid request");
        self.send(request).await
    }
}

/// A valid checkout body shipping to Germany, paid by `method`.
pub fn checkout_body(method: &str) -> Value {
    json!({
        "shippingAddress": {
            "name": "Erika Mustermann",
            "line1": "Hauptstraße 5",
            "postalCode": "10115",
            "city": "Berlin",
            "country": "DE",
        },
        "paymentMethod": method,
    })
}

impl TestApp {
    /// Serves the app on a free loopback port (for callers outside the
    /// process, such as localstripe delivering webhooks); returns its base URL.
    /// The server runs until the test's runtime ends.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("a bound address");
        let app = self
            .router
            .clone()
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        format!("http://{address}")
    }
}

/// A PaymentIntent as Stripe has it now.
pub async fn stripe_intent(api_base: &str, secret_key: &str, intent_id: &str) -> Value {
    reqwest::Client::new()
        .get(format!(
            "{}/v1/payment_intents/{intent_id}",
            api_base.trim_end_matches('/')
        ))
        .bearer_auth(secret_key)
        .send()
        .await
        .expect("Stripe answers")
        .json()
        .await
        .expect("the intent is JSON")
}

/// Asks `probe` until it answers `Some` (at most `tries` times, `every`
/// apart), for what happens asynchronously: a webhook, a stream pump, an
/// email. Panics naming `what` if it never does.
pub async fn eventually<T, F, Fut>(what: &str, tries: usize, every: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..tries {
        if let Some(found) = probe().await {
            return found;
        }
        tokio::time::sleep(every).await;
    }
    panic!("{what}: not within {tries} tries, {every:?} apart");
}

/// The lines that differ between `old` and `new`, as `-`/`+` lines after the
/// line number where they start, at most `max_lines` of them; `None` when the
/// texts are equal. Common leading and trailing lines are skipped; what is
/// left is aligned by longest common subsequence when it is small enough.
pub fn line_diff(old: &str, new: &str, max_lines: usize) -> Option<String> {
    if old == new {
        return None;
    }
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old_mid, new_mid) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let mut out = vec![format!("@@ line {} @@", prefix + 1)];
    if old_mid.len().saturating_mul(new_mid.len()) <= 4_000_000 {
        // lcs[i][j]: the longest common subsequence of old_mid[i..], new_mid[j..].
        let (n, m) = (old_mid.len(), new_mid.len());
        let mut lcs = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i][j] = if old_mid[i] == new_mid[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && old_mid[i] == new_mid[j] {
                out.push(format!(" {}", old_mid[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
                out.push(format!("-{}", old_mid[i]));
                i += 1;
            } else {
                out.push(format!("+{}", new_mid[j]));
                j += 1;
            }
        }
    } else {
        out.extend(old_mid.iter().map(|line| format!("-{line}")));
        out.extend(new_mid.iter().map(|line| format!("+{line}")));
    }
    let total = out.len();
    out.truncate(max_lines + 1);
    if total > out.len() {
        out.push(format!("... and {} more lines", total - out.len()));
    }
    Some(out.join("\n"))
}
