//! What an API request costs in AWS, from measured figures and
//! template.yaml: the cost table `make bench` prints
//! (infra/devserver/benches/api.rs).
//!
//! For each operation the bench calls through the router: the DynamoDB
//! read request units it consumed (as each call reports them in
//! ConsumedCapacity) and its write request units as DynamoDB's pricing
//! counts them, indexes included (`crate::write_units`: DynamoDB Local's
//! own figure for a transaction is one lump, not a bill), the Lambda billed
//! duration (its measured p50 rounded up to the millisecond, as Lambda
//! rounds) at the memory and architecture template.yaml gives the function
//! whose route matches (its own `MemorySize`, else `Globals`), and one HTTP
//! API request. Nothing here is a result: every figure is this run's.
//!
//! Left out: the stream function's reactions to the writes (invoked per
//! batch of records, not per request), Stripe, data transfer, CloudWatch.
//! The duration is the in-process router's on this machine against
//! DynamoDB Local, not a Lambda's in AWS: a design change shows its cost,
//! the absolute figure is an estimate.

use anyhow::Context as _;
use axum::http::Method;
use serde_yaml_ng::Value;

/// On-demand list prices in us-east-1 (first tier of each), in dollars.
/// Checked 2025-07: DynamoDB after AWS halved on-demand throughput prices
/// on 2024-11-01; Lambda and API Gateway unchanged since 2021/2020.
pub struct Prices {
    pub as_of: &'static str,
    /// One write request unit (1 KB written; 2 in a transaction).
    pub dynamodb_write_unit: f64,
    /// One read request unit (4 KB strongly consistent; half eventually).
    pub dynamodb_read_unit: f64,
    /// One GB-second of duration, Graviton (first 7.5 billion a month).
    pub lambda_arm64_gb_second: f64,
    /// One GB-second of duration, x86-64 (first 6 billion a month).
    pub lambda_x86_gb_second: f64,
    /// One invocation, either architecture.
    pub lambda_request: f64,
    /// One HTTP API request of up to 512 KB (first 300 million a month).
    pub http_api_request: f64,
}

pub const PRICES: Prices = Prices {
    as_of: "us-east-1 on-demand list prices, checked 2025-07",
    dynamodb_write_unit: 0.625 / 1e6,
    dynamodb_read_unit: 0.125 / 1e6,
    lambda_arm64_gb_second: 0.000_013_333_4,
    lambda_x86_gb_second: 0.000_016_666_7,
    lambda_request: 0.20 / 1e6,
    http_api_request: 1.00 / 1e6,
};

/// A function of template.yaml: its memory, architecture and HTTP routes.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    pub memory_mb: u64,
    pub arm64: bool,
    /// (METHOD, path template) of each HttpApi event.
    pub routes: Vec<(String, String)>,
}

/// Every function of the template, with the Globals it inherits.
pub fn functions(template_yaml: &str) -> anyhow::Result<Vec<Function>> {
    let template: Value =
        serde_yaml_ng::from_str(template_yaml).context("template.yaml is not YAML")?;
    let globals = &template["Globals"]["Function"];
    let default_memory = globals["MemorySize"].as_u64().unwrap_or(128);
    let arm64 = |architectures: &Value| {
        architectures
            .as_sequence()
            .is_some_and(|list| list.iter().any(|a| a.as_str() == Some("arm64")))
    };
    let default_arm64 = arm64(&globals["Architectures"]);
    let resources = template["Resources"]
        .as_mapping()
        .context("template.yaml has no Resources")?;
    let mut functions = Vec::new();
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let properties = &resource["Properties"];
        let routes = properties["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, event)| event["Type"].as_str() == Some("HttpApi"))
            .filter_map(|(_, event)| {
                let method = event["Properties"]["Method"].as_str()?;
                let path = event["Properties"]["Path"].as_str()?;
                Some((method.to_uppercase(), path.to_owned()))
            })
            .collect();
        functions.push(Function {
            name: name.as_str().unwrap_or_default().to_owned(),
            memory_mb: properties["MemorySize"].as_u64().unwrap_or(default_memory),
            arm64: if properties["Architectures"].is_sequence() {
                arm64(&properties["Architectures"])
            } else {
                default_arm64
            },
            routes,
        });
    }
    Ok(functions)
}

/// Whether a request path (its query ignored) fits a route's path template:
/// `{name}` takes one segment, `{name+}` the rest.
fn fits(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let mut wanted = template.trim_matches('/').split('/');
    let mut given = path.trim_matches('/').split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), Some(_)) if w.starts_with('{') && w.ends_with("+}") => return true,
            (Some(w), Some(g)) if (w.starts_with('{') && w.ends_with('}')) || w == g => {}
            _ => return false,
        }
    }
}

/// The function that serves `method path`, as API Gateway would route it.
pub fn serving<'a>(functions: &'a [Function], method: &Method, path: &str) -> Option<&'a Function> {
    functions.iter().find(|f| {
        f.routes
            .iter()
            .any(|(m, template)| (m == method.as_str() || m == "ANY") && fits(template, path))
    })
}

/// What one request of an operation costs, in dollars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestCost {
    pub billed_ms: u64,
    pub dynamodb: f64,
    pub lambda: f64,
    pub api: f64,
}

/// An operation as measured: its median latency and the request units one
/// request consumed on average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub p50_ms: f64,
    pub read_units: f64,
    pub write_units: f64,
}

impl RequestCost {
    pub fn of(measured: Measured, function: &Function, prices: &Prices) -> Self {
        // Lambda bills whole milliseconds, rounded up.
        let billed_ms = measured.p50_ms.ceil().max(1.0) as u64;
        let gb_seconds = function.memory_mb as f64 / 1024.0 * billed_ms as f64 / 1000.0;
        let gb_second = if function.arm64 {
            prices.lambda_arm64_gb_second
        } else {
            prices.lambda_x86_gb_second
        };
        Self {
            billed_ms,
            dynamodb: measured.read_units * prices.dynamodb_read_unit
                + measured.write_units * prices.dynamodb_write_unit,
            lambda: gb_seconds * gb_second + prices.lambda_request,
            api: prices.http_api_request,
        }
    }

    pub fn total(&self) -> f64 {
        self.dynamodb + self.lambda + self.api
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Globals:
  Function:
    Architectures: [arm64]
    MemorySize: 256
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  CatalogFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        GetProduct:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: GET
            Path: /v1/products/{productId}
        Stream:
          Type: DynamoDB
  BigFunction:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: 1024
      Architectures: [x86_64]
      Events:
        Everything:
          Type: HttpApi
          Properties:
            Method: ANY
            Path: /v1/files/{proxy+}
"#;

    #[test]
    fn functions_take_their_memory_and_architecture_or_the_globals() {
        let functions = functions(TEMPLATE).unwrap();
        assert_eq!(functions.len(), 2);
        assert_eq!(functions[0].name, "CatalogFunction");
        assert_eq!((functions[0].memory_mb, functions[0].arm64), (256, true));
        assert_eq!(
            functions[0].routes,
            vec![("GET".to_owned(), "/v1/products/{productId}".to_owned())]
        );
        assert_eq!((functions[1].memory_mb, functions[1].arm64), (1024, false));
    }

    #[test]
    fn a_request_goes_to_the_function_whose_route_fits() {
        let functions = functions(TEMPLATE).unwrap();
        let name = |method: Method, path: &str| serving(&functions, &method, path).map(|f| &f.name);
        assert_eq!(
            name(Method::GET, "/v1/products/01ABC?x=1").unwrap(),
            "CatalogFunction"
        );
        assert_eq!(name(Method::POST, "/v1/products/01ABC"), None);
        assert_eq!(name(Method::GET, "/v1/products"), None);
        assert_eq!(name(Method::GET, "/v1/products/01ABC/reviews"), None);
        assert_eq!(
            name(Method::DELETE, "/v1/files/a/b/c").unwrap(),
            "BigFunction"
        );
    }

    #[test]
    fn the_real_template_routes_the_benchmarked_operations_to_their_functions() {
        let functions = functions(crate::cors::TEMPLATE_YAML).unwrap();
        let serves = |method: Method, path: &str| {
            let f = serving(&functions, &method, path).expect("a function serves it");
            (f.name.as_str(), f.arm64)
        };
        assert_eq!(
            serves(Method::GET, "/v1/products/01X"),
            ("CatalogFunction", true)
        );
        assert_eq!(
            serves(Method::GET, "/v1/products?categoryId=c"),
            ("CatalogFunction", true)
        );
        assert_eq!(
            serves(Method::GET, "/v1/search?q=a"),
            ("CatalogFunction", true)
        );
        assert_eq!(
            serves(Method::POST, "/v1/checkout"),
            ("OrdersFunction", true)
        );
        assert!(functions.iter().all(|f| f.memory_mb >= 128));
    }

    #[test]
    fn a_request_costs_its_units_its_billed_milliseconds_and_one_api_call() {
        let measured = Measured {
            p50_ms: 2.2,
            read_units: 1.0,
            write_units: 26.0,
        };
        let function = Function {
            name: "F".to_owned(),
            memory_mb: 256,
            arm64: true,
            routes: vec![],
        };
        let prices = Prices {
            as_of: "test",
            dynamodb_write_unit: 1.0,
            dynamodb_read_unit: 0.5,
            lambda_arm64_gb_second: 1000.0,
            lambda_x86_gb_second: 2000.0,
            lambda_request: 0.25,
            http_api_request: 3.0,
        };
        let cost = RequestCost::of(measured, &function, &prices);
        assert_eq!(cost.billed_ms, 3, "rounded up to the millisecond");
        assert_eq!(cost.dynamodb, 0.5 + 26.0);
        // 0.25 GB for 3 ms = 0.00075 GB-s, at 1000 a GB-s, plus the request.
        assert!(
            (cost.lambda - (0.75 + 0.25)).abs() < 1e-9,
            "{}",
            cost.lambda
        );
        assert_eq!(cost.api, 3.0);
        assert!((cost.total() - (26.5 + 1.0 + 3.0)).abs() < 1e-9);
    }
}
