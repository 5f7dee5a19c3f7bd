//! The OpenAPI document served at /v1/openapi.json, and its committed copy
//! docs/openapi.json.

use axum::http::{Method, StatusCode};
use bodega_tests::spawn_app;

/// The committed document is what the code describes. `make openapi`
/// (`BODEGA_WRITE_OPENAPI=1` for this test) rewrites it.
#[test]
fn the_committed_document_is_the_generated_one() {
    let path = bodega_tests::repo_root().join("docs/openapi.json");
    let generated = devserver::openapi::document()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
        + "\n";
    if std::env::var_os("BODEGA_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("docs/openapi.json is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if let Some(diff) = bodega_tests::line_diff(&committed, &generated, 40) {
        panic!(
            "docs/openapi.json is not the document the code describes; run `make openapi` \
             and commit it.\n--- docs/openapi.json\n+++ devserver::openapi::document()\n{diff}"
        );
    }
}

#[tokio::test]
async fn the_served_document_describes_every_route_with_error_schemas() {
    let app = spawn_app().await;
    let response = app.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(response.status, StatusCode::OK);
    let doc = &response.body;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );

    // The platform function serves the committed file, byte for byte.
    let committed = std::fs::read_to_string(bodega_tests::repo_root().join("docs/openapi.json"))
        .expect("docs/openapi.json is readable");
    assert_eq!(platform::DOCUMENT, committed);
    assert_eq!(
        doc,
        &serde_json::from_str::<serde_json::Value>(&committed).unwrap()
    );

    let served = bodega_tests::openapi_routes(&devserver::openapi::document());
    let in_template: std::collections::BTreeSet<_> = bodega_tests::template_routes()
        .into_values()
        .flatten()
        .collect();
    assert_eq!(
        served, in_template,
        "the document and template.yaml must list the same routes"
    );

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                !responses.is_empty(),
                "{method} {path} documents no responses"
            );
            if path.starts_with("/v1/auth") || path == "/v1/me" {
                let errors: Vec<_> = responses
                    .keys()
                    .filter(|code| code.starts_with('4'))
                    .collect();
                assert!(!errors.is_empty(), "{method} {path} documents no errors");
            }
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "ErrorEnvelope",
        "ErrorCode",
        "RegisterRequest",
        "LoginRequest",
        "UserView",
    ] {
        assert!(schemas.contains_key(schema), "missing schema {schema}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// Enums whose names a macro writes: utoipa reads a `#[serde(rename)]` from a
/// macro only when the name reaches it as a plain token (`tt`), so the
/// schema's values are checked against what serde sends.
#[test]
fn enum_schemas_list_the_values_the_api_sends() {
    fn sent<T: serde::Serialize>(all: &[T]) -> Vec<serde_json::Value> {
        all.iter()
            .map(|value| serde_json::to_value(value).unwrap())
            .collect()
    }
    let doc = serde_json::to_value(devserver::openapi::document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    use orders::model::{FulfilmentStatus, OrderStatus, PaymentMethod, PaymentState, RefundState};
    use shared::auth::{CapabilityRole, OrgKind, OrgRole, Permission};
    for (name, values) in [
        ("Permission", sent(Permission::ALL)),
        ("OrgKind", sent(OrgKind::ALL)),
        ("OrgRole", sent(OrgRole::ALL)),
        ("CapabilityRole", sent(CapabilityRole::ALL)),
        ("OrderStatus", sent(OrderStatus::ALL)),
        ("FulfilmentStatus", sent(FulfilmentStatus::ALL)),
        ("PaymentMethod", sent(PaymentMethod::ALL)),
        ("PaymentState", sent(PaymentState::ALL)),
        ("RefundState", sent(RefundState::ALL)),
    ] {
        assert_eq!(
            schemas[name]["enum"],
            serde_json::Value::Array(values),
            "the {name} schema"
        );
    }
}

/// A link names an operation that exists, and exactly the path parameters
/// that operation takes.
#[test]
fn links_lead_to_operations_with_those_parameters() {
    let doc = serde_json::to_value(devserver::openapi::document()).unwrap();
    let mut path_parameters = std::collections::BTreeMap::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let names: std::collections::BTreeSet<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            path_parameters.insert(operation["operationId"].as_str().unwrap().to_owned(), names);
        }
    }
    let mut links = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            for response in operation["responses"].as_object().unwrap().values() {
                for (name, link) in response["links"].as_object().into_iter().flatten() {
                    let target = link["operationId"].as_str().unwrap();
                    let expected = path_parameters
                        .get(target)
                        .unwrap_or_else(|| panic!("link {name} leads to no operation {target}"));
                    let given: std::collections::BTreeSet<String> = link["parameters"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .cloned()
                        .collect();
                    assert_eq!(&given, expected, "link {name} to {target}");
                    links += 1;
                }
            }
        }
    }
    assert!(links >= 30, "only {links} links");
}

/// Every `$ref` names a component the document has (a parameter's
/// `value_type` is not collected unless inlined).
#[test]
fn every_reference_resolves() {
    fn check(value: &serde_json::Value, doc: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(|r| r.as_str()) {
                    let pointer = reference.trim_start_matches('#');
                    assert!(
                        doc.pointer(pointer).is_some(),
                        "{reference} does not resolve"
                    );
                }
                map.values().for_each(|v| check(v, doc));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| check(v, doc)),
            _ => {}
        }
    }
    let doc = serde_json::to_value(devserver::openapi::document()).unwrap();
    check(&doc, &doc);
}
