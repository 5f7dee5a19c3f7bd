//! A newcomer goes from a route to its handler by reading: the README's
//! route table names each route's handler, and every function crate's
//! `lib.rs` names the method and path beside each `routes!` line. These
//! tests hold both to the OpenAPI document (the code's own description).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// (METHOD, path) → operationId (the handler's function name).
fn operations() -> BTreeMap<(String, String), String> {
    let doc = serde_json::to_value(devserver::openapi::document()).unwrap();
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                out.insert((method.to_uppercase(), path.clone()), id.to_owned());
            }
        }
    }
    out
}

fn read(path: &str) -> String {
    std::fs::read_to_string(bodega_tests::repo_root().join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The file a handler path (`product::create::create_product`) names under
/// `functions/<function>/src/`.
fn handler_file(function: &str, handler: &str) -> Option<String> {
    let modules: Vec<&str> = handler.rsplit_once("::")?.0.split("::").collect();
    let base = format!("functions/{function}/src/{}", modules.join("/"));
    [format!("{base}.rs"), format!("{base}/mod.rs")]
        .into_iter()
        .find(|p| bodega_tests::repo_root().join(p).exists())
}

#[test]
fn every_readme_route_names_its_handler_and_the_file_holds_it() {
    let operations = operations();
    let readme = read("README.md");
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for line in readme.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let Some((method, path)) = cells[0]
            .trim_start_matches("| `")
            .trim_end_matches('`')
            .split_once(' ')
        else {
            continue;
        };
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) || cells.len() < 4 {
            continue;
        }
        let path = path.split('?').next().unwrap();
        let handler = cells[2].trim_matches('`');
        let key = (method.to_owned(), path.to_owned());
        let Some(operation) = operations.get(&key) else {
            problems.push(format!("{method} {path}: not in the OpenAPI document"));
            continue;
        };
        seen.insert(key);
        if handler.rsplit("::").next() != Some(operation.as_str()) {
            problems.push(format!(
                "{method} {path}: README says {handler}, the code {operation}"
            ));
            continue;
        }
        match handler_file(cells[1], handler) {
            Some(file) if read(&file).contains(&format!("pub async fn {operation}(")) => {}
            Some(file) => problems.push(format!("{method} {path}: {file} has no {operation}")),
            None => problems.push(format!("{method} {path}: no file for {handler}")),
        }
    }
    let missing: Vec<_> = operations.keys().filter(|k| !seen.contains(*k)).collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        missing.is_empty(),
        "routes without a README row: {missing:?}"
    );
}

#[test]
fn every_routes_line_is_labelled_with_its_methods_and_path() {
    let operations = operations();
    let mut labelled = 0;
    let mut problems = Vec::new();
    for crate_dir in std::fs::read_dir(bodega_tests::repo_root().join("functions")).unwrap() {
        let lib = crate_dir.unwrap().path().join("src/lib.rs");
        let Ok(source) = std::fs::read_to_string(&lib) else {
            continue;
        };
        let mut comment: Option<String> = None;
        let mut handlers: Option<String> = None;
        for line in source.lines().map(str::trim) {
            if let Some(open) = handlers.as_mut() {
                open.push_str(line);
            } else if let Some(text) = line.strip_prefix("// ") {
                comment = Some(text.to_owned());
                continue;
            } else if line.starts_with(".routes(routes!(") {
                handlers = Some(line.trim_start_matches(".routes(routes!(").to_owned());
            } else {
                comment = None;
                continue;
            }
            let text = handlers.as_ref().unwrap();
            if !text.contains("))") {
                continue;
            }
            let names: BTreeSet<String> = text
                .trim_end_matches("))")
                .split(',')
                .filter_map(|h| h.trim().rsplit("::").next().map(str::to_owned))
                .filter(|h| !h.is_empty())
                .collect();
            handlers = None;
            let Some((methods, path)) = comment.take().and_then(|c| {
                let (methods, path) = c.rsplit_once(' ')?;
                Some((methods.to_owned(), path.to_owned()))
            }) else {
                problems.push(format!(
                    "{}: routes!({names:?}) has no label",
                    lib.display()
                ));
                continue;
            };
            let documented: BTreeSet<String> = methods
                .split(", ")
                .filter_map(|m| operations.get(&(m.to_owned(), path.clone())).cloned())
                .collect();
            if documented != names || methods.split(", ").count() != names.len() {
                problems.push(format!(
                    "{}: `// {methods} {path}` labels {names:?}; the document has {documented:?} there",
                    lib.display()
                ));
            }
            labelled += 1;
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(labelled > 40, "only {labelled} routes! lines found");
}

/// A Lambda function builds its plain router from the route list; only
/// `openapi()` builds the document (`shared::http::routing`). A crate that
/// routes through utoipa-axum's own `routes!` or splits an `OpenApiRouter`
/// assembles the whole document at every cold start.
#[test]
fn every_function_builds_a_plain_router_from_its_route_list() {
    let mut problems = Vec::new();
    let mut routed = 0;
    for crate_dir in std::fs::read_dir(bodega_tests::repo_root().join("functions")).unwrap() {
        let lib = crate_dir.unwrap().path().join("src/lib.rs");
        let Ok(source) = std::fs::read_to_string(&lib) else {
            continue;
        };
        if !source.contains(".routes(routes!(") {
            continue;
        }
        routed += 1;
        if source.contains("utoipa_axum::routes") || source.contains("split_for_parts().0") {
            problems.push(format!("{}: routes through OpenApiRouter", lib.display()));
        }
        if !source.contains("use shared::routes;") || !source.contains("api(Router::new())") {
            problems.push(format!(
                "{}: no plain router built from the route list",
                lib.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        routed >= 8,
        "only {routed} function crates with routes found"
    );
}
