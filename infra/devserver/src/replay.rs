//! Replays the on-failure records of the stream and of the upload trigger
//! (`cargo run -p devserver --bin replay`): these dead letters are not
//! units of work a queue worker reads again (`redrive` moves those), but
//! Lambda's note of what failed, so the work is done here, in-process, by
//! the function's own handler.
//!
//! - A stream record (`DDBStreamBatchInfo`) names a shard and a sequence
//!   range: the records are read again from the stream (`GetShardIterator`
//!   `AT_SEQUENCE_NUMBER`, `GetRecords`) and handed to
//!   `stream::handle_batch`. The stream keeps records 24 hours; a range it
//!   no longer holds is an error naming the shard and the sequence numbers.
//! - An upload record carries the S3 event (`requestPayload`): it is handed
//!   to `assets::ingest::handle_event` again.
//!
//! A message is deleted only when every record in it was handled; one that
//! fails stays in the queue (visible again at once) and is reported. Every
//! reaction is idempotent, so a record replayed twice has one effect.

use anyhow::Context as _;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;

use crate::dead_letters::{InvocationFailureRecord, StreamBatchInfo, StreamFailureRecord};

/// What a replay reads and whose handlers it runs.
pub struct Replayer {
    pub sqs: aws_sdk_sqs::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub region: String,
    pub stream: stream::StreamState,
    pub ingest: assets::AssetsState,
}

/// What a replay did.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Messages whose records were all handled, deleted from the queue.
    pub replayed: usize,
    /// Messages left in the queue: (message id, why).
    pub kept: Vec<(String, String)>,
}

impl Replayer {
    /// The handlers the stream and ingest functions run, over `services`,
    /// with the clients of `sdk`.
    pub fn new(services: &shared::Services, sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            streams: aws_sdk_dynamodbstreams::Client::new(sdk),
            region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            stream: stream::StreamState::new(services),
            ingest: assets::AssetsState::new(services),
        }
    }

    /// Replays up to `max` messages of the dead-letter queue at `url`.
    pub async fn replay(&self, url: &str, max: usize) -> anyhow::Result<Replayed> {
        let mut outcome = Replayed::default();
        let mut kept_receipts = Vec::new();
        let mut tried = 0;
        while tried < max {
            let received = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages((max - tried).min(10) as i32)
                .visibility_timeout(300)
                .send()
                .await
                .with_context(|| format!("receiving from {url}"))?;
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                tried += 1;
                let id = message.message_id.unwrap_or_default();
                let receipt = message.receipt_handle.unwrap_or_default();
                match self
                    .replay_message(message.body.as_deref().unwrap_or(""))
                    .await
                {
                    Ok(()) => {
                        self.sqs
                            .delete_message()
                            .queue_url(url)
                            .receipt_handle(receipt)
                            .send()
                            .await
                            .with_context(|| format!("deleting the replayed message {id}"))?;
                        outcome.replayed += 1;
                    }
                    Err(err) => {
                        tracing::warn!(message_id = id, error = %format!("{err:#}"), "a dead letter could not be replayed; it stays in the queue");
                        outcome.kept.push((id, format!("{err:#}")));
                        kept_receipts.push(receipt);
                    }
                }
            }
        }
        // What could not be replayed is visible again at once, for the next try.
        for receipt in kept_receipts {
            self.sqs
                .change_message_visibility()
                .queue_url(url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await
                .context("returning a message that could not be replayed")?;
        }
        Ok(outcome)
    }

    /// Does the work one on-failure record names.
    pub async fn replay_message(&self, body: &str) -> anyhow::Result<()> {
        let json: serde_json::Value =
            serde_json::from_str(body).context("the message is not JSON")?;
        if json.get("DDBStreamBatchInfo").is_some() {
            let record: StreamFailureRecord =
                serde_json::from_value(json).context("reading the stream's on-failure record")?;
            return self.replay_stream_batch(&record.batch).await;
        }
        if json.get("requestPayload").is_some() {
            let record: InvocationFailureRecord = serde_json::from_value(json)
                .context("reading the upload trigger's on-failure record")?;
            let event: aws_lambda_events::event::s3::S3Event =
                serde_json::from_value(record.request_payload)
                    .context("the record's requestPayload is not an S3 event")?;
            return assets::ingest::handle_event(&self.ingest, event)
                .await
                .context("the ingest function failed the upload again");
        }
        anyhow::bail!(
            "not an on-failure record of the stream (DDBStreamBatchInfo) or the upload trigger (requestPayload)"
        )
    }

    /// Reads a failed batch's records from the stream again and hands
    /// them to the stream function.
    async fn replay_stream_batch(&self, batch: &StreamBatchInfo) -> anyhow::Result<()> {
        let records = self.read_range(batch).await?;
        let mut event = Event::default();
        event.records = records;
        let response = stream::handle_batch(&self.stream, event).await;
        if let Some(failed) = response.batch_item_failures.first() {
            anyhow::bail!(
                "the stream function failed record {} of shard {} again",
                failed.item_identifier.as_deref().unwrap_or("?"),
                batch.shard_id
            );
        }
        Ok(())
    }

    /// The records of a batch, from its first sequence number to its last,
    /// or an error naming them when the stream no longer holds them.
    pub async fn read_range(&self, batch: &StreamBatchInfo) -> anyhow::Result<Vec<EventRecord>> {
        let range = format!(
            "records {} to {} of shard {} of {}",
            batch.start_sequence_number,
            batch.end_sequence_number,
            batch.shard_id,
            batch.stream_arn
        );
        let gone = || {
            format!(
                "the {range} are no longer in the stream (it keeps records 24 hours; the first arrived {}): apply the change by hand from the item's current state",
                batch.approximate_arrival_of_first_record
            )
        };
        let mut iterator = self
            .streams
            .get_shard_iterator()
            .stream_arn(&batch.stream_arn)
            .shard_id(&batch.shard_id)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(&batch.start_sequence_number)
            .send()
            .await
            .map_err(|err| anyhow::Error::new(err).context(gone()))?
            .shard_iterator;
        let mut records: Vec<EventRecord> = Vec::new();
        let mut empty_pages = 0;
        'pages: while let Some(current) = iterator {
            let (page, next) = crate::pumps::read_page(
                self.streams
                    .get_records()
                    .shard_iterator(current)
                    .limit(1000)
                    .send()
                    .await,
                &batch.stream_arn,
                &self.region,
            )
            .with_context(|| format!("reading the {range}"))?;
            iterator = next;
            if page.is_empty() {
                // An open shard answers empty pages past its newest record.
                empty_pages += 1;
                if empty_pages == 3 {
                    break;
                }
                continue;
            }
            for record in page {
                let number = record.change.sequence_number.clone().unwrap_or_default();
                if later(&number, &batch.end_sequence_number) {
                    break 'pages;
                }
                records.push(record);
                if number == batch.end_sequence_number {
                    break 'pages;
                }
            }
        }
        let first = records
            .first()
            .and_then(|r| r.change.sequence_number.as_deref());
        let last = records
            .last()
            .and_then(|r| r.change.sequence_number.as_deref());
        if first != Some(batch.start_sequence_number.as_str())
            || last != Some(batch.end_sequence_number.as_str())
        {
            anyhow::bail!(gone());
        }
        Ok(records)
    }
}

/// Whether sequence number `a` comes after `b` (decimal strings of any length).
fn later(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    (a.len(), a) > (b.len(), b)
}

#[cfg(test)]
mod tests {
    use super::later;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(later("1000", "999"));
        assert!(later("000000000000000000021", "20"));
        assert!(!later("20", "000000000000000000021"));
        assert!(!later("42", "42"));
    }
}
