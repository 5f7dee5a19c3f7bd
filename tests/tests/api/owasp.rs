//! The OWASP API Security Top 10 (2023) as a matrix over the OpenAPI
//! document: each check walks every operation of `docs/openapi.json` (which
//! `openapi::the_committed_document_is_the_generated_one` keeps equal to the
//! code), so a new route is covered the day it lands. An operation a check
//! cannot cover is listed here with the reason.
//!
//! - API1 broken object level authorization: every `/v1/orgs/{orgId}/...`
//!   operation, called by the owner of another organization, is a 404.
//! - API2 broken authentication: every operation that needs a credential is
//!   a 401 without one, with an expired access token, with a token signed by
//!   another key and (where API keys are accepted) with an unknown key.
//! - API4 unrestricted resource consumption: every list documents and
//!   enforces a page size of at most 100; every JSON body is refused past
//!   the body limit (413).
//! - API5 broken function level authorization: every platform-admin
//!   operation is a 403 for a customer and for an organization's owner (a
//!   404 for a customer on an organization's route, as API1 wants).

use axum::http::{Method, StatusCode};
use std::collections::BTreeMap;

use bodega_tests::{Auth, TestApp, sample_events, spawn_app};
use serde_json::{Value, json};

/// What an operation's sample event under events/ sends: a body, a query
/// and the headers that gate a write (If-Match, Idempotency-Key), so the
/// request reaches the check under test rather than failing validation.
#[derive(Clone, Default)]
struct Sample {
    body: Option<Value>,
    query: String,
    headers: Vec<(String, String)>,
}

fn samples() -> BTreeMap<String, Sample> {
    let mut by_route = BTreeMap::new();
    for event in sample_events().into_values() {
        let Some(route) = event["routeKey"].as_str() else {
            continue;
        };
        let body = event["body"]
            .as_str()
            .and_then(|b| serde_json::from_str::<Value>(b).ok());
        let headers = ["if-match", "idempotency-key"]
            .iter()
            .filter_map(|h| {
                event["headers"][*h]
                    .as_str()
                    .map(|v| ((*h).to_owned(), v.to_owned()))
            })
            .collect();
        by_route.entry(route.to_owned()).or_insert(Sample {
            body,
            query: event["rawQueryString"].as_str().unwrap_or("").to_owned(),
            headers,
        });
    }
    by_route
}

/// One operation of the document.
struct Operation {
    method: Method,
    path: String,
    /// The operation names a security requirement and no anonymous one.
    needs_credential: bool,
    accepts_api_key: bool,
    has_json_body: bool,
    /// The `limit` query parameter's schema, if the operation has one.
    limit: Option<Value>,
    sample: Sample,
}

impl Operation {
    fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

fn operations() -> Vec<Operation> {
    let text = std::fs::read_to_string(bodega_tests::repo_root().join("docs/openapi.json"))
        .expect("docs/openapi.json");
    let doc: Value = serde_json::from_str(&text).expect("the document is JSON");
    let samples = samples();
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            if !matches!(
                method,
                Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE
            ) {
                continue;
            }
            let security = op["security"].as_array().cloned().unwrap_or_default();
            let anonymous_allowed = security
                .iter()
                .any(|s| s.as_object().is_some_and(|o| o.is_empty()));
            let limit = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "limit" && p["in"] == "query")
                .map(|p| p["schema"].clone());
            let sample = samples
                .get(&format!("{method} {path}"))
                .cloned()
                .unwrap_or_default();
            all.push(Operation {
                method,
                path: path.clone(),
                needs_credential: !security.is_empty() && !anonymous_allowed,
                accepts_api_key: security.iter().any(|s| s.get("apiKey").is_some()),
                has_json_body: op["requestBody"]["content"]["application/json"].is_object(),
                limit,
                sample,
            });
        }
    }
    assert!(all.len() > 100, "the document lists every operation");
    all
}

/// A well-formed value for each path parameter: ids that exist nowhere,
/// unless `org` names an organization for `{orgId}`.
fn concrete(path: &str, org: Option<&str>) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed parameter") + start;
        let name = &rest[start + 1..end];
        out.push_str(match name {
            "orgId" => org.unwrap_or("01JZZZZZZZZZZZZZZZZZZZZZZZ"),
            "slug" => "no-such-category",
            "file" => "no-such-file.js",
            "token" => "no-such-token",
            "prefix" => "0123456789ab",
            "n" => "1",
            _ => "01JZZZZZZZZZZZZZZZZZZZZZZZ",
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Calls `op` as its sample does, on `path`, with `auth`.
async fn send(
    app: &TestApp,
    op: &Operation,
    path: &str,
    auth: Auth<'_>,
) -> bodega_tests::TestResponse {
    let body = op
        .sample
        .body
        .clone()
        .or_else(|| op.has_json_body.then(|| json!({})));
    let uri = if op.sample.query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", op.sample.query)
    };
    let headers: Vec<(&str, &str)> = op
        .sample
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.request(op.method.clone(), &uri, auth, body.as_ref(), &headers)
        .await
}

/// Platform-admin operations: `/v1/admin/...`, and the few elsewhere whose
/// document says "admins only" (checked below, so the list cannot go stale).
const ADMIN_ONLY: &[(&str, &str)] = &[
    ("POST", "/v1/categories"),
    ("PATCH", "/v1/categories/{slug}"),
    ("PUT", "/v1/orgs/{orgId}/verification"),
    ("GET", "/v1/search/queries"),
    ("POST", "/v1/products/{productId}/reviews/{authorId}/hide"),
    (
        "POST",
        "/v1/products/{productId}/reviews/{authorId}/restore",
    ),
    ("GET", "/v1/moderation/reports"),
    ("POST", "/v1/designs/{designId}/hide"),
    ("POST", "/v1/designs/{designId}/clear"),
    ("PUT", "/v1/moderators/{userId}"),
    ("DELETE", "/v1/moderators/{userId}"),
];

/// Of those, what platform moderators may do as well: everything else in
/// the list is a 403 to them (orders, payments, categories, verification,
/// granting roles).
const MODERATION: &[(&str, &str)] = &[
    ("POST", "/v1/products/{productId}/reviews/{authorId}/hide"),
    (
        "POST",
        "/v1/products/{productId}/reviews/{authorId}/restore",
    ),
    ("GET", "/v1/moderation/reports"),
    ("POST", "/v1/designs/{designId}/hide"),
    ("POST", "/v1/designs/{designId}/clear"),
];

fn is_moderation(op: &Operation) -> bool {
    MODERATION
        .iter()
        .any(|(m, p)| op.method.as_str() == *m && op.path == *p)
}

fn is_admin_only(op: &Operation) -> bool {
    op.path.starts_with("/v1/admin/")
        || ADMIN_ONLY
            .iter()
            .any(|(m, p)| op.method.as_str() == *m && op.path == *p)
}

/// A customer (no organization) and the owner of an organization of its own.
async fn callers(app: &TestApp) -> (String, String, String) {
    let customer = app
        .signed_in_as(&bodega_tests::unique_email("owasp-customer"))
        .await;
    let owner = app
        .signed_in_as(&bodega_tests::unique_email("owasp-owner"))
        .await;
    let org = app.new_org(&owner, "seller").await;
    (customer, owner, org)
}

#[tokio::test]
async fn api2_every_operation_that_needs_a_credential_refuses_missing_expired_and_forged_ones() {
    let app = spawn_app().await;
    let (customer, _, _) = callers(&app).await;
    let expired = app.expired_token_like(&customer);
    // The customer's own token with its signature bytes changed.
    let (signed, signature) = customer.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{}", signature.chars().rev().collect::<String>());
    let unknown_key = "bdg_0123456789ab_notakeyofanyorganizationatall0000";

    let mut checked = 0;
    let mut failures = Vec::new();
    for op in operations().iter().filter(|op| op.needs_credential) {
        let path = concrete(&op.path, None);
        let mut attempts = vec![
            ("no credential", Auth::None),
            ("an expired token", Auth::Bearer(&expired)),
            ("a forged token", Auth::Bearer(&forged)),
        ];
        if op.accepts_api_key {
            attempts.push(("an unknown API key", Auth::ApiKeyHeader(unknown_key)));
        }
        for (what, auth) in attempts {
            let response = send(&app, op, &path, auth).await;
            if response.status != StatusCode::UNAUTHORIZED
                || response.error_code() != "UNAUTHENTICATED"
            {
                failures.push(format!(
                    "{} with {what}: {} {}",
                    op.label(),
                    response.status,
                    response.body
                ));
            }
        }
        checked += 1;
    }
    assert!(checked > 80, "only {checked} operations need a credential");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn api5_platform_admin_operations_refuse_customers_and_organization_owners() {
    let app = spawn_app().await;
    let (customer, owner, org) = callers(&app).await;
    // A platform moderator: moderation, and nothing else of the admins'.
    let admin_email = bodega_tests::unique_email("owasp-admin");
    app.signed_in_as(&admin_email).await;
    let admin = app.promote_to_platform_admin(&admin_email).await;
    let moderator_email = bodega_tests::unique_email("owasp-moderator");
    let token = app.signed_in_as(&moderator_email).await;
    let moderator_id = app.user_id(&token).await;
    app.grant_moderator(&admin, &moderator_id)
        .await
        .assert_ok(StatusCode::OK);
    let moderator = app.signed_in_as_existing(&moderator_email).await;
    let ops = operations();
    let text =
        std::fs::read_to_string(bodega_tests::repo_root().join("docs/openapi.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    // Every operation whose summary says it is for admins only is listed.
    for op in &ops {
        let summary = doc["paths"][&op.path][op.method.as_str().to_lowercase()]["summary"]
            .as_str()
            .unwrap_or_default();
        if summary.contains("(admins only)") {
            assert!(
                is_admin_only(op),
                "{} is for admins only but not in ADMIN_ONLY",
                op.label()
            );
        }
    }
    let mut failures = Vec::new();
    let admin_ops: Vec<&Operation> = ops.iter().filter(|op| is_admin_only(op)).collect();
    assert!(admin_ops.len() >= 8, "{} admin operations", admin_ops.len());
    for op in admin_ops {
        // On an organization's own route, one who is not its member learns
        // nothing of it (API1: 404); its owner is refused (403).
        let outsider = if op.path.contains("{orgId}") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::FORBIDDEN
        };
        let mut refused = vec![
            ("a customer", &customer, outsider),
            ("the org's owner", &owner, StatusCode::FORBIDDEN),
        ];
        if !is_moderation(op) {
            refused.push(("a moderator", &moderator, outsider));
        }
        for (who, token, expected) in refused {
            let path = concrete(&op.path, Some(&org));
            let response = send(&app, op, &path, Auth::Bearer(token)).await;
            if response.status != expected {
                failures.push(format!(
                    "{} as {who}: {} {}",
                    op.label(),
                    response.status,
                    response.body
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Organization operations that are not a member's: a 404 would be wrong.
const NOT_MEMBER_SCOPED: &[(&str, &str, &str)] = &[(
    "PUT",
    "/v1/orgs/{orgId}/verification",
    "platform admins set any organization's verification: a 403 for everyone else (API5)",
)];

#[tokio::test]
async fn api1_organization_operations_are_a_404_to_another_organizations_owner() {
    let app = spawn_app().await;
    let (_, owner, _) = callers(&app).await;
    let stranger = app
        .signed_in_as(&bodega_tests::unique_email("owasp-stranger"))
        .await;
    let theirs = app.new_org(&stranger, "buyer").await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for op in operations()
        .iter()
        .filter(|op| op.path.starts_with("/v1/orgs/{orgId}"))
    {
        if NOT_MEMBER_SCOPED
            .iter()
            .any(|(m, p, _)| op.method.as_str() == *m && op.path == *p)
        {
            continue;
        }
        let path = concrete(&op.path, Some(&theirs));
        let response = send(&app, op, &path, Auth::Bearer(&owner)).await;
        if response.status != StatusCode::NOT_FOUND {
            failures.push(format!(
                "{}: {} {}",
                op.label(),
                response.status,
                response.body
            ));
        }
        checked += 1;
    }
    assert!(checked > 30, "only {checked} organization operations");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn api4_every_list_documents_and_enforces_a_bounded_page() {
    let app = spawn_app().await;
    let (_, owner, org) = callers(&app).await;
    let mut failures = Vec::new();
    let mut lists = 0;
    for op in operations().iter().filter(|op| op.limit.is_some()) {
        lists += 1;
        let schema = op.limit.as_ref().unwrap();
        let maximum = schema["maximum"].as_u64();
        if !matches!(maximum, Some(1..=100)) || schema["minimum"].as_u64() != Some(1) {
            failures.push(format!("{}: limit is documented as {schema}", op.label()));
            continue;
        }
        let path = concrete(&op.path, Some(&org));
        for limit in [0, maximum.unwrap() + 1] {
            let response = app
                .call(
                    op.method.clone(),
                    &format!("{path}?limit={limit}"),
                    Some(&owner),
                    None,
                )
                .await;
            if !matches!(
                response.status,
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
            ) {
                failures.push(format!(
                    "{} with limit={limit}: {} {}",
                    op.label(),
                    response.status,
                    response.body
                ));
            }
        }
    }
    assert!(lists > 15, "only {lists} lists");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn api4_every_json_body_is_refused_past_the_body_limit() {
    let app = spawn_app().await;
    let (_, owner, org) = callers(&app).await;
    // A valid JSON object one byte past the limit.
    let filler = "x".repeat(shared::http::MAX_JSON_BODY_BYTES);
    let huge = json!({ "filler": filler });
    let mut failures = Vec::new();
    let mut bodies = 0;
    for op in operations().iter().filter(|op| op.has_json_body) {
        bodies += 1;
        let path = concrete(&op.path, Some(&org));
        let response = app
            .call(op.method.clone(), &path, Some(&owner), Some(&huge))
            .await;
        if response.status != StatusCode::PAYLOAD_TOO_LARGE {
            failures.push(format!(
                "{}: {} {}",
                op.label(),
                response.status,
                response.body
            ));
        }
    }
    assert!(bodies > 40, "only {bodies} operations take a JSON body");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
