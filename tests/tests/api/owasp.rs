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
//! - API3 broken object property level authorization (mass assignment):
//!   every request schema of the document is closed
//!   (`additionalProperties: false`; the maps of the caller's own data
//!   inside them are listed in `OPEN_PROPERTIES`), and every write with a JSON body,
//!   sent as its sample by an authorized caller with one more field the
//!   caller may not set (`role`, `ownerId`, `status`, a price, ...) that its
//!   schema does not document, is refused with a 4xx naming that field.
//!   The fields a caller may set on one route and must not abuse there
//!   have their own checks: a member's own role and a design owner's
//!   moderation fields below; a checkout's prices in `orders.rs`
//!   (`checkout_prices_on_the_server_...`), a user's role and email
//!   verification in `account.rs` and `identity.rs`, an organization's
//!   verification in `orgs.rs`, a proposal's status and award in
//!   `sourcing.rs` (`a_supplier_cannot_set_its_proposals_status_...`), a
//!   fulfilment's status in `orders.rs` (`sellers_ship_and_deliver_...`).
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

fn document() -> Value {
    let text = std::fs::read_to_string(bodega_tests::repo_root().join("docs/openapi.json"))
        .expect("docs/openapi.json");
    serde_json::from_str(&text).expect("the document is JSON")
}

fn operations() -> Vec<Operation> {
    let doc = document();
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

async fn platform_admin(app: &TestApp) -> String {
    let email = bodega_tests::unique_email("owasp-admin");
    app.signed_in_as(&email).await;
    app.promote_to_platform_admin(&email).await
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
    let admin = platform_admin(&app).await;
    let moderator_email = bodega_tests::unique_email("owasp-moderator");
    let token = app.signed_in_as(&moderator_email).await;
    let moderator_id = app.user_id(&token).await;
    app.grant_moderator(&admin, &moderator_id)
        .await
        .assert_ok(StatusCode::OK);
    let moderator = app.signed_in_as_existing(&moderator_email).await;
    let ops = operations();
    let doc = document();
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

/// Fields a caller may not set, with a value of the type an attacker would
/// send: each is added to every write's sample body unless the operation's
/// request schema documents it.
fn privileged_fields() -> Vec<(&'static str, Value)> {
    vec![
        ("role", json!("admin")),
        ("platformRole", json!("admin")),
        ("ownerId", json!("01JZZZZZZZZZZZZZZZZZZZZZZZ")),
        ("orgId", json!("01JZZZZZZZZZZZZZZZZZZZZZZZ")),
        ("userId", json!("01JZZZZZZZZZZZZZZZZZZZZZZZ")),
        ("status", json!("approved")),
        ("verified", json!(true)),
        ("emailVerified", json!(true)),
        ("verification", json!({"businessVerified": true})),
        ("price", json!({"amount": 1, "currency": "EUR"})),
        ("unitPrice", json!(1)),
        ("total", json!(1)),
        ("version", json!(99)),
        ("createdAt", json!("2020-01-01T00:00:00Z")),
        ("id", json!("01JZZZZZZZZZZZZZZZZZZZZZZZ")),
    ]
}

/// Writes with a body that may hold fields the API does not know: a third
/// party's payload, read as text and authenticated by its signature.
const OPEN_BODIES: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/v1/payments/webhook",
        "Stripe's event, signed (Stripe-Signature) and read as text: Stripe adds fields at will",
    ),
    (
        "POST",
        "/v1/manufacturing/webhooks/{provider}",
        "the print partner's event, signed and read as text: the partner adds fields at will",
    ),
];

fn is_open_body(op: &Operation) -> bool {
    OPEN_BODIES
        .iter()
        .any(|(m, p, _)| op.method.as_str() == *m && op.path == *p)
}

/// The component schema an operation's JSON body is (through a `$ref`, or
/// a `oneOf` of `null` and a `$ref` for an optional body), by name.
fn request_schema(doc: &Value, op: &Operation) -> Option<(String, Value)> {
    let body = &doc["paths"][&op.path][op.method.as_str().to_lowercase()]["requestBody"]["content"]
        ["application/json"]["schema"];
    let reference = body["$ref"].as_str().or_else(|| {
        body["oneOf"]
            .as_array()?
            .iter()
            .find_map(|s| s["$ref"].as_str())
    })?;
    let name = reference.trim_start_matches("#/components/schemas/");
    Some((name.to_owned(), doc["components"]["schemas"][name].clone()))
}

/// Every component schema a request body reaches (nested ones included).
fn request_schemas(doc: &Value) -> BTreeMap<String, Value> {
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value.as_str()) {
                        ("$ref", Some(r)) => {
                            out.push(r.trim_start_matches("#/components/schemas/").to_owned())
                        }
                        _ => refs(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("a path item").values() {
            refs(&op["requestBody"], &mut pending);
        }
    }
    let mut seen = BTreeMap::new();
    while let Some(name) = pending.pop() {
        if seen.contains_key(&name) {
            continue;
        }
        let schema = doc["components"]["schemas"][&name].clone();
        refs(&schema, &mut pending);
        seen.insert(name, schema);
    }
    seen
}

/// Properties of request schemas that are maps or values by design: the
/// keys are the caller's data, not fields of ours. Each is checked where
/// it is read.
const OPEN_PROPERTIES: &[(&str, &str, &str)] = &[
    (
        "NewProductRequest",
        "attributes",
        "a seller's own product attributes (text to text)",
    ),
    (
        "UpdateProductRequest",
        "attributes",
        "a seller's own product attributes (text to text)",
    ),
    (
        "BulkUpdateItem",
        "attributes",
        "a seller's own product attributes (text to text)",
    ),
    (
        "ComplianceInput",
        "nutrition",
        "nutrient name to amount per 100 g",
    ),
    (
        "SendRequest",
        "data",
        "the template's variables, checked against its own variable schema (422 per variable)",
    ),
    (
        "TestSendRequest",
        "data",
        "the template's variables, checked against its own variable schema",
    ),
    (
        "PreviewRequest",
        "data",
        "the template's variables, checked against its own variable schema",
    ),
    (
        "BulkRecipient",
        "data",
        "the template's variables, checked against its own variable schema",
    ),
    (
        "Variable",
        "default",
        "a variable's default value, of the variable's own type",
    ),
];

/// Whether a property's schema takes keys of the caller's choosing: an
/// object without `additionalProperties: false`, or any value at all.
fn is_open(property: &Value) -> bool {
    if property.get("$ref").is_some() {
        return false;
    }
    if let Some(choices) = property["oneOf"].as_array() {
        return choices.iter().any(is_open);
    }
    if let Some(items) = property.get("items") {
        return is_open(items);
    }
    let types = match &property["type"] {
        Value::Null => return property.get("enum").is_none() && property.get("const").is_none(),
        Value::Array(types) => types.clone(),
        one => vec![one.clone()],
    };
    types.contains(&json!("object")) && property["additionalProperties"] != false
}

#[test]
fn api3_every_request_schema_is_documented_as_closed() {
    let doc = document();
    let schemas = request_schemas(&doc);
    let objects: Vec<(&String, &Value)> = schemas
        .iter()
        .filter(|(_, s)| s["type"] == "object" || s.get("allOf").is_some())
        .collect();
    let open: Vec<String> = objects
        .iter()
        .filter(|(_, s)| s["additionalProperties"] != false)
        .map(|(name, _)| name.to_string())
        .collect();
    assert!(objects.len() > 70, "only {} request schemas", objects.len());
    assert!(
        open.is_empty(),
        "request schemas that do not say additionalProperties: false (deny_unknown_fields): {open:?}"
    );
    // Maps inside them are listed, with the reason.
    let mut maps = Vec::new();
    for (name, schema) in &objects {
        for (property, value) in schema["properties"].as_object().into_iter().flatten() {
            if is_open(value) {
                maps.push(((*name).clone(), property.clone()));
            }
        }
    }
    let listed: Vec<(String, String)> = OPEN_PROPERTIES
        .iter()
        .map(|(schema, property, _)| ((*schema).to_owned(), (*property).to_owned()))
        .collect();
    maps.sort();
    let mut expected = listed.clone();
    expected.sort();
    assert_eq!(
        maps, expected,
        "open properties of request schemas vs OPEN_PROPERTIES"
    );
}

#[tokio::test]
async fn api3_every_write_refuses_fields_its_schema_does_not_document() {
    let app = spawn_app().await;
    let (_, owner, org) = callers(&app).await;
    // Authorized: a platform admin for the admins' operations, else the
    // organization's owner (who may call every other write).
    let admin = platform_admin(&app).await;
    let doc = document();
    let mut failures = Vec::new();
    let mut covered = 0;
    for op in operations().iter().filter(|op| {
        op.has_json_body && matches!(op.method, Method::POST | Method::PUT | Method::PATCH)
    }) {
        if is_open_body(op) {
            continue;
        }
        let Some((name, schema)) = request_schema(&doc, op) else {
            failures.push(format!("{}: the body is not a named schema", op.label()));
            continue;
        };
        let documented = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let sample = match op.sample.body.clone() {
            Some(Value::Object(sample)) => sample,
            _ => serde_json::Map::new(),
        };
        let path = concrete(&op.path, Some(&org));
        let mut tried = 0;
        for (field, value) in privileged_fields() {
            if documented.contains_key(field) {
                continue;
            }
            tried += 1;
            let mut body = sample.clone();
            body.insert(field.to_owned(), value);
            let with_field = Operation {
                method: op.method.clone(),
                path: op.path.clone(),
                needs_credential: op.needs_credential,
                accepts_api_key: op.accepts_api_key,
                has_json_body: true,
                limit: None,
                sample: Sample {
                    body: Some(Value::Object(body)),
                    ..op.sample.clone()
                },
            };
            let caller = if is_admin_only(op) { &admin } else { &owner };
            let response = send(&app, &with_field, &path, Auth::Bearer(caller)).await;
            let named = response.body["error"]["fields"].get(field).is_some();
            if !response.status.is_client_error() || !named {
                failures.push(format!(
                    "{} ({name}) with `{field}`: {} {}",
                    op.label(),
                    response.status,
                    response.body
                ));
            }
        }
        if tried == 0 {
            failures.push(format!(
                "{}: its schema documents every privileged field",
                op.label()
            ));
        }
        covered += 1;
    }
    assert!(covered > 60, "only {covered} writes with a JSON body");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// API3 behaviour: the role on a member is the organization's owners' and
/// admins' to set. A member cannot raise their own; an admin cannot make
/// themselves (or anyone) an owner; the stored roles stay as they were.
#[tokio::test]
async fn api3_a_member_cannot_raise_their_own_role() {
    let app = spawn_app().await;
    let owner = app
        .signed_in_as(&bodega_tests::unique_email("api3-owner"))
        .await;
    let org = app.new_org(&owner, "seller").await;
    let (member, member_id) = app
        .joins_org(
            &owner,
            &org,
            &bodega_tests::unique_email("api3-member"),
            "member",
            &["seller"],
        )
        .await;
    let (admin, admin_id) = app
        .joins_org(
            &owner,
            &org,
            &bodega_tests::unique_email("api3-admin"),
            "admin",
            &["seller"],
        )
        .await;
    let roles = |members: &Value| -> BTreeMap<String, Value> {
        members
            .as_array()
            .expect("members")
            .iter()
            .map(|m| {
                let id = m["userId"].as_str().unwrap().to_owned();
                (id, json!([m["orgRole"], m["capabilities"]]))
            })
            .collect()
    };
    let before = roles(app.members(&owner, &org).await.assert_ok(StatusCode::OK));

    for role in ["admin", "owner"] {
        app.update_member(&member, &org, &member_id, &json!({"orgRole": role}))
            .await
            .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    app.update_member(
        &member,
        &org,
        &member_id,
        &json!({"capabilities": ["seller", "approver"]}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.update_member(&admin, &org, &admin_id, &json!({"orgRole": "owner"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.update_member(&admin, &org, &member_id, &json!({"orgRole": "owner"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // Nor by the back door of an invitation to a second account.
    app.invite(
        &admin,
        &org,
        &bodega_tests::unique_email("api3-sock"),
        "owner",
        &["seller"],
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    let after = roles(app.members(&owner, &org).await.assert_ok(StatusCode::OK));
    assert_eq!(after, before);
    assert_eq!(after[&member_id][0], "member");
    assert_eq!(after[&admin_id][0], "admin");
}

/// API3 behaviour: a moderator's hold on a design is not its owner's to
/// lift. The owner cannot send the moderation fields, and making the design
/// public again leaves it held and out of the gallery.
#[tokio::test]
async fn api3_a_design_owner_cannot_lift_a_moderators_hold() {
    let app = spawn_app().await;
    let admin = platform_admin(&app).await;
    let owner = app
        .signed_in_as(&bodega_tests::unique_email("api3-designer"))
        .await;
    let design = app
        .ready_design(&owner, &bodega_tests::design_body("Held"))
        .await;
    let id = design["id"].as_str().unwrap().to_owned();
    let held = app
        .call(
            Method::POST,
            &format!("/v1/designs/{id}/hide"),
            Some(&admin),
            Some(&json!({"reason": "Trademark"})),
        )
        .await;
    assert_eq!(held.assert_ok(StatusCode::OK)["heldForReview"], true);
    let before = app.get_design(Some(&owner), &id).await;
    let before = before.assert_ok(StatusCode::OK).clone();

    for (field, value) in [
        ("heldForReview", json!(false)),
        ("status", json!("ready")),
        ("statusReason", Value::Null),
        ("ownerId", json!("01JZZZZZZZZZZZZZZZZZZZZZZZ")),
        ("likes", json!(1_000)),
    ] {
        let mut body = json!({"title": "Not held"});
        body[field] = value;
        let refused = app.update_design(&owner, &id, &body, None).await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert!(
            refused.body["error"]["fields"].get(field).is_some(),
            "{}",
            refused.body
        );
    }
    let after = app.get_design(Some(&owner), &id).await;
    let after = after.assert_ok(StatusCode::OK);
    for field in [
        "heldForReview",
        "status",
        "statusReason",
        "ownerId",
        "likes",
        "title",
        "version",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }

    // What the owner may set, they set; the hold stays.
    let public = app
        .update_design(&owner, &id, &json!({"isPublic": true}), None)
        .await;
    let public = public.assert_ok(StatusCode::OK);
    assert_eq!(public["heldForReview"], true);
    assert_eq!(public["title"], before["title"]);
    let gallery = app.gallery("").await;
    assert!(
        !gallery.assert_ok(StatusCode::OK).to_string().contains(&id),
        "a held design stays out of the gallery"
    );
}
