//! The SQS event a queue worker Lambda receives and the partial batch
//! failures it answers with (`ReportBatchItemFailures`), shared by every
//! queue worker (mail's bulk sends, studio's generations) and the
//! devserver's queue pumps.

use serde::{Deserialize, Serialize};

/// The SQS event Lambda delivers (the fields the workers read).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SqsMessage>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsMessage {
    pub message_id: String,
    #[serde(default)]
    pub receipt_handle: String,
    pub body: String,
}

/// Partial batch failures: the messages SQS must deliver again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    /// Whether the message is reported failed (SQS delivers it again).
    pub fn failed(&self, message_id: &str) -> bool {
        self.batch_item_failures
            .iter()
            .any(|f| f.item_identifier == message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sqs_event_and_writes_the_failures_lambda_expects() {
        let event: SqsEvent = serde_json::from_value(serde_json::json!({
            "Records": [{
                "messageId": "m-1", "receiptHandle": "r", "body": "{}",
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "md5OfBody": "x", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"
            }]
        }))
        .unwrap();
        assert_eq!(event.records[0].message_id, "m-1");
        let response = BatchResponse {
            batch_item_failures: vec![ItemFailure {
                item_identifier: "m-1".into(),
            }],
        };
        assert!(response.failed("m-1") && !response.failed("m-2"));
        assert_eq!(
            serde_json::to_value(response).unwrap(),
            serde_json::json!({ "batchItemFailures": [{ "itemIdentifier": "m-1" }] })
        );
    }
}
