//! Business metrics as CloudWatch embedded metric format (EMF): one JSON
//! log line per data point, which CloudWatch Logs turns into a metric in
//! the `Bodega` namespace, by function (`Service` dimension). No API call,
//! no extra latency, nothing to configure.
//!
//! Only inside Lambda (where `AWS_LAMBDA_FUNCTION_NAME` is set) is the line
//! printed on stdout; elsewhere the point goes to the debug log, so the
//! devserver's and the tests' output stays readable.

use serde_json::{Value, json};

pub const NAMESPACE: &str = "Bodega";

/// Adds `value` to the counter `metric`.
pub fn count(metric: &'static str, value: u64) {
    if value == 0 {
        return;
    }
    let service = std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok();
    let now = time::OffsetDateTime::now_utc();
    let millis = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    match service {
        Some(service) => println!("{}", line(metric, value, &service, millis)),
        None => tracing::debug!(metric, value, "metric"),
    }
}

/// The EMF document of one counter point.
pub fn line(metric: &str, value: u64, service: &str, timestamp_millis: i64) -> Value {
    let mut document = json!({
        "_aws": {
            "Timestamp": timestamp_millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Service"]],
                "Metrics": [{ "Name": metric, "Unit": "Count" }],
            }],
        },
        "Service": service,
    });
    document[metric] = json!(value);
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_an_emf_document_cloudwatch_can_read() {
        let doc = line("OrdersPlaced", 3, "bodega-prod-orders", 1_700_000_000_000);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert_eq!(directive["Namespace"], "Bodega");
        assert_eq!(directive["Metrics"][0]["Name"], "OrdersPlaced");
        assert_eq!(directive["Metrics"][0]["Unit"], "Count");
        // Every dimension and metric named in the directive is a root member.
        assert_eq!(directive["Dimensions"][0][0], "Service");
        assert_eq!(doc["Service"], "bodega-prod-orders");
        assert_eq!(doc["OrdersPlaced"], 3);
    }
}
