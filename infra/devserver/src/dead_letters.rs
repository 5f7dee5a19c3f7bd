//! Where the devserver's event sources put what the function kept failing,
//! as Lambda does in AWS: the retry counts and destinations of
//! template.yaml's event sources, and the on-failure records Lambda sends
//! there (same JSON, so `replay` reads both alike).
//!
//! - The table's stream (`StreamFunction.Events.TableChanges`):
//!   `MaximumRetryAttempts`, then a record naming the shard and the
//!   sequence range (`DDBStreamBatchInfo`) goes to `StreamDeadLetterQueue`.
//! - Upload notifications (`AssetsIngestFunction.EventInvokeConfig`): the
//!   asynchronous invocation's `MaximumRetryAttempts`, then the invocation
//!   record with the S3 event as `requestPayload` goes to
//!   `AssetsIngestDeadLetterQueue`.
//!
//! Locally the queues are moto's, named by `STREAM_DEAD_LETTER_QUEUE_URL`
//! and `ASSETS_INGEST_DEAD_LETTER_QUEUE_URL` (infra/stack.sh); the
//! devserver's `--setup` creates them.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

/// The stream's dead-letter queue (template.yaml's `StreamDeadLetterQueue`).
pub const STREAM_QUEUE_ENV: &str = "STREAM_DEAD_LETTER_QUEUE_URL";
/// The upload trigger's (template.yaml's `AssetsIngestDeadLetterQueue`).
pub const INGEST_QUEUE_ENV: &str = "ASSETS_INGEST_DEAD_LETTER_QUEUE_URL";

/// The queue an on-failure record is sent to.
#[derive(Clone, Debug)]
pub struct Destination {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

impl Destination {
    /// The queue the environment variable names, if it is set.
    pub fn from_env(sqs: &aws_sdk_sqs::Client, variable: &str) -> Option<Self> {
        std::env::var(variable)
            .ok()
            .filter(|url| !url.is_empty())
            .map(|url| Self {
                sqs: sqs.clone(),
                url,
            })
    }

    /// Sends one on-failure record.
    pub async fn send(&self, record: &impl Serialize) -> anyhow::Result<()> {
        let body = serde_json::to_string(record)?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .with_context(|| format!("sending an on-failure record to {}", self.url))?;
        Ok(())
    }
}

/// How often an event source calls the function again after a failure,
/// and where the work goes after the last try.
#[derive(Clone, Debug)]
pub struct FailurePolicy {
    /// Retries after the first failed invocation (template.yaml's
    /// `MaximumRetryAttempts`).
    pub maximum_retry_attempts: u32,
    /// None: the work is logged and dropped, as Lambda does without a
    /// destination.
    pub on_failure: Option<Destination>,
}

impl FailurePolicy {
    /// The table stream's mapping, retries from template.yaml, destination
    /// from the environment.
    pub fn stream_from_env(sqs: &aws_sdk_sqs::Client) -> Self {
        Self {
            maximum_retry_attempts: template_retries(STREAM_RETRIES_AT).expect(
                "template.yaml says how often the stream is retried (a unit test checks it)",
            ),
            on_failure: Destination::from_env(sqs, STREAM_QUEUE_ENV),
        }
    }

    /// The upload trigger's asynchronous invocation, the same way.
    pub fn ingest_from_env(sqs: &aws_sdk_sqs::Client) -> Self {
        Self {
            maximum_retry_attempts: template_retries(INGEST_RETRIES_AT).expect(
                "template.yaml says how often an upload event is retried (a unit test checks it)",
            ),
            on_failure: Destination::from_env(sqs, INGEST_QUEUE_ENV),
        }
    }
}

/// Where template.yaml says how often Lambda retries the table's stream.
pub const STREAM_RETRIES_AT: &[&str] = &[
    "Resources",
    "StreamFunction",
    "Properties",
    "Events",
    "TableChanges",
    "Properties",
    "MaximumRetryAttempts",
];

/// Where it says how often Lambda retries an upload notification.
pub const INGEST_RETRIES_AT: &[&str] = &[
    "Resources",
    "AssetsIngestFunction",
    "Properties",
    "EventInvokeConfig",
    "MaximumRetryAttempts",
];

/// A retry count of template.yaml (compiled in).
pub fn template_retries(path: &[&str]) -> anyhow::Result<u32> {
    let template: Value = serde_yaml_ng::from_str(crate::cors::TEMPLATE_YAML)?;
    let value = path.iter().fold(&template, |node, key| &node[*key]);
    let retries = value
        .as_u64()
        .with_context(|| format!("template.yaml has no number at {}", path.join(".")))?;
    Ok(u32::try_from(retries)?)
}

/// What Lambda sends to a stream mapping's on-failure destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamFailureRecord {
    #[serde(rename = "requestContext")]
    pub request_context: RequestContext,
    #[serde(rename = "responseContext")]
    pub response_context: ResponseContext,
    pub version: String,
    pub timestamp: String,
    #[serde(rename = "DDBStreamBatchInfo")]
    pub batch: StreamBatchInfo,
}

/// The failed batch's place in the stream: the records themselves stay in
/// the stream (24 hours), only their position is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamBatchInfo {
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    pub approximate_arrival_of_first_record: String,
    pub approximate_arrival_of_last_record: String,
    pub batch_size: u32,
    pub stream_arn: String,
}

/// What Lambda sends to an asynchronous invocation's on-failure
/// destination: the event itself, and the last error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvocationFailureRecord {
    pub version: String,
    pub timestamp: String,
    #[serde(rename = "requestContext")]
    pub request_context: RequestContext,
    #[serde(rename = "requestPayload")]
    pub request_payload: serde_json::Value,
    #[serde(rename = "responseContext")]
    pub response_context: ResponseContext,
    #[serde(rename = "responsePayload")]
    pub response_payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    pub request_id: String,
    pub function_arn: String,
    /// `RetryAttemptsExhausted` (streams), `RetriesExhausted` (asynchronous).
    pub condition: String,
    pub approximate_invoke_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseContext {
    pub status_code: u16,
    pub executed_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_error: Option<String>,
}

impl RequestContext {
    fn local(function: &str, condition: &str, invocations: u32) -> Self {
        Self {
            request_id: ulid::Ulid::new().to_string().to_lowercase(),
            function_arn: format!("arn:aws:lambda:local:000000000000:function:{function}"),
            condition: condition.to_owned(),
            approximate_invoke_count: invocations,
        }
    }
}

impl ResponseContext {
    /// A function error, as Lambda reports a failed invocation.
    fn function_error() -> Self {
        Self {
            status_code: 200,
            executed_version: "$LATEST".to_owned(),
            function_error: Some("Unhandled".to_owned()),
        }
    }
}

impl StreamFailureRecord {
    /// The record of a batch the stream function failed `invocations` times.
    pub fn exhausted(batch: StreamBatchInfo, invocations: u32) -> Self {
        Self {
            request_context: RequestContext::local("stream", "RetryAttemptsExhausted", invocations),
            response_context: ResponseContext::function_error(),
            version: "1.0".to_owned(),
            timestamp: now(),
            batch,
        }
    }
}

impl InvocationFailureRecord {
    /// The record of an event the ingest function failed `invocations`
    /// times, the last time with `error`.
    pub fn exhausted(
        event: &aws_lambda_events::event::s3::S3Event,
        invocations: u32,
        error: &anyhow::Error,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            version: "1.0".to_owned(),
            timestamp: now(),
            request_context: RequestContext::local(
                "assets-ingest",
                "RetriesExhausted",
                invocations,
            ),
            request_payload: serde_json::to_value(event)?,
            response_context: ResponseContext::function_error(),
            response_payload: serde_json::json!({
                "errorMessage": format!("{error:#}"),
                "errorType": "Error",
            }),
        })
    }
}

/// Now, to the millisecond, as Lambda writes its records' `timestamp`.
fn now() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_counts_are_template_yamls() {
        assert_eq!(template_retries(STREAM_RETRIES_AT).unwrap(), 10);
        assert_eq!(template_retries(INGEST_RETRIES_AT).unwrap(), 2);
    }

    /// The shape of the example in Lambda's documentation of stream
    /// on-failure destinations reads, and writes back the same.
    #[test]
    fn a_stream_failure_record_has_lambdas_shape() {
        let example = serde_json::json!({
            "requestContext": {
                "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
                "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 1
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled"
            },
            "version": "1.0",
            "timestamp": "2019-11-14T00:13:49.717Z",
            "DDBStreamBatchInfo": {
                "shardId": "shardId-00000001573689847184-864758bb",
                "startSequenceNumber": "800000000003126276362",
                "endSequenceNumber": "800000000003126276362",
                "approximateArrivalOfFirstRecord": "2019-11-14T00:13:19Z",
                "approximateArrivalOfLastRecord": "2019-11-14T00:13:19Z",
                "batchSize": 1,
                "streamArn": "arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388"
            }
        });
        let record: StreamFailureRecord = serde_json::from_value(example.clone()).unwrap();
        assert_eq!(record.batch.batch_size, 1);
        assert_eq!(serde_json::to_value(&record).unwrap(), example);
    }
}
