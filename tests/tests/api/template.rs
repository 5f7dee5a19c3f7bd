//! template.yaml against the code: the table definition, and the routes of
//! each function, both ways.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Method, StatusCode};
use bodega_tests::{openapi_routes, spawn_app, template, template_routes};
use devserver::resources::TABLE;

/// Each function in template.yaml and the routes its crate serves.
fn routers() -> BTreeMap<&'static str, BTreeSet<(String, String)>> {
    BTreeMap::from([
        ("CatalogFunction", openapi_routes(&catalog::openapi())),
        ("IdentityFunction", openapi_routes(&identity::openapi())),
        ("AssetsFunction", openapi_routes(&assets::openapi())),
        ("PlatformFunction", openapi_routes(&platform::openapi())),
        ("OrdersFunction", openapi_routes(&orders::openapi())),
        ("MailFunction", openapi_routes(&mail::openapi())),
        ("StudioFunction", openapi_routes(&studio::openapi())),
        ("SourcingFunction", openapi_routes(&sourcing::openapi())),
    ])
}

#[test]
fn every_function_serves_exactly_its_template_routes() {
    let in_template = template_routes();
    let in_code = routers();
    let template_functions: BTreeSet<&str> = in_template
        .iter()
        .filter(|(_, routes)| !routes.is_empty())
        .map(|(name, _)| name.as_str())
        .collect();
    let code_functions: BTreeSet<&str> = in_code.keys().copied().collect();
    assert_eq!(
        template_functions, code_functions,
        "functions with HTTP routes"
    );
    for (function, routes) in &in_code {
        assert_eq!(
            &in_template[*function], routes,
            "{function}: template.yaml routes vs the crate's routes"
        );
    }
}

#[test]
fn template_functions_build_their_own_crate_binary() {
    let template = template();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap();
        // `sam build` runs `make build-<LogicalId>` at the repo root, whose
        // rule copies the binary named in BuildProperties out of one
        // workspace build (infra/lambda.sh sam-artifact).
        let metadata = &resource["Metadata"];
        assert_eq!(metadata["BuildMethod"].as_str(), Some("makefile"), "{name}");
        assert_eq!(metadata["ContextPath"].as_str(), Some("."), "{name}");
        assert_eq!(metadata["WorkingDirectory"].as_str(), Some("."), "{name}");
        assert!(
            name.ends_with("Function"),
            "{name}: the Makefile's rule is build-%Function"
        );
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let code_uri = resource["Properties"]["CodeUri"].as_str().unwrap();
        let manifest =
            std::fs::read_to_string(bodega_tests::repo_root().join(code_uri).join("Cargo.toml"))
                .unwrap_or_else(|_| panic!("{name}: CodeUri {code_uri} has no Cargo.toml"));
        assert!(
            manifest.contains(&format!("name = \"{binary}\"")),
            "{name}: {code_uri} has no binary {binary}"
        );
    }
}

#[tokio::test]
async fn the_devserver_answers_every_template_route() {
    let app = spawn_app().await;
    for (method, path) in template_routes().into_values().flatten() {
        let concrete = path.replace(['{', '}'], "");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.call(method.clone(), &concrete, None, None).await;
        let unrouted = response.status == StatusCode::METHOD_NOT_ALLOWED
            || (response.status == StatusCode::NOT_FOUND
                && response.body["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("no route"));
        assert!(
            !unrouted,
            "{method} {path} is in template.yaml but the devserver does not route it"
        );
    }
}

fn yaml_pairs(list: &serde_yaml_ng::Value, a: &str, b: &str) -> Vec<(String, String)> {
    list.as_sequence()
        .expect("a list")
        .iter()
        .map(|entry| {
            (
                entry[a].as_str().unwrap().to_owned(),
                entry[b].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_table_in_template_matches_the_code_definition() {
    let template = template();
    let props = &template["Resources"]["Table"]["Properties"];
    let expected_attrs: Vec<(String, String)> = TABLE
        .attributes
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    assert_eq!(
        yaml_pairs(
            &props["AttributeDefinitions"],
            "AttributeName",
            "AttributeType"
        ),
        expected_attrs
    );
    assert_eq!(
        yaml_pairs(&props["KeySchema"], "AttributeName", "KeyType"),
        vec![
            (TABLE.key.0.to_owned(), "HASH".to_owned()),
            (TABLE.key.1.to_owned(), "RANGE".to_owned())
        ]
    );
    let indexes = props["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(indexes.len(), TABLE.global_indexes.len());
    for (index, (name, pk, sk, projection)) in indexes.iter().zip(TABLE.global_indexes) {
        assert_eq!(index["IndexName"].as_str(), Some(*name));
        assert_eq!(
            yaml_pairs(&index["KeySchema"], "AttributeName", "KeyType"),
            vec![
                (pk.to_string(), "HASH".to_owned()),
                (sk.to_string(), "RANGE".to_owned())
            ]
        );
        assert_eq!(
            index["Projection"]["ProjectionType"].as_str(),
            Some(*projection)
        );
    }
    assert_eq!(props["BillingMode"].as_str(), Some(TABLE.billing_mode));
    assert_eq!(
        props["StreamSpecification"]["StreamViewType"].as_str(),
        Some(TABLE.stream_view_type)
    );
    assert_eq!(
        props["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(TABLE.ttl_attribute)
    );
    assert_eq!(
        props["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
}

#[tokio::test]
async fn the_local_table_is_created_as_defined() {
    let app = spawn_app().await;
    let client = app.services.store.client();
    let table = app.services.store.table();
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![("PK".into(), "HASH".into()), ("SK".into(), "RANGE".into())]
    );
    let gsis: Vec<&str> = described
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name())
        .collect();
    let expected: Vec<&str> = TABLE.global_indexes.iter().map(|g| g.0).collect();
    assert_eq!(gsis.len(), expected.len());
    for name in expected {
        assert!(gsis.contains(&name), "{name} missing in {gsis:?}");
    }
    let stream = described.stream_specification().unwrap();
    assert_eq!(
        stream.stream_view_type().map(|v| v.as_str()),
        Some(TABLE.stream_view_type)
    );
    let ttl = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|t| t.attribute_name()),
        Some(TABLE.ttl_attribute)
    );
}
