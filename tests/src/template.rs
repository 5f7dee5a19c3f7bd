//! template.yaml and the routes it and the OpenAPI document declare.

use std::collections::{BTreeMap, BTreeSet};

use crate::repo_root;

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
