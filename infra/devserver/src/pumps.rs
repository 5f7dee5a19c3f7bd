//! Event-source pumps: the devserver's stand-in for Lambda's event-source
//! mappings. A pump reads an event source and hands batches to the same
//! handler the Lambda runtime calls, so triggers work locally as in AWS.
//!
//! - The table's DynamoDB stream → `stream::handle_batch`, in order, one
//!   shard at a time; a reported failure is re-read from that record, like
//!   Lambda's `ReportBatchItemFailures`, as often as template.yaml's
//!   mapping retries it, then dead-lettered ([`crate::dead_letters`]).
//! - New objects under `uploads/` in the assets bucket → the assets ingest
//!   handler, as S3 "ObjectCreated" events with URL-encoded keys; a failed
//!   ingest is retried, then dead-lettered, the same way.
//! - A one-minute timer → the orders expiry sweep, like its EventBridge schedule.
//! - A one-minute timer → the sourcing sweep (closes due RFQs, expires
//!   those past their award deadline, reminds invitees of RFQs closing
//!   within 48 hours), like its EventBridge schedule.
//! - The bulk-send queue (moto's SQS) → `mail::worker::handle_batch`, up to
//!   10 messages a batch; handled messages are deleted, reported failures
//!   come back after the queue's visibility timeout, like Lambda's SQS
//!   event source with `ReportBatchItemFailures`.
//! - The platform email queue (codes, invitations, notices that identity,
//!   sourcing and the stream queue) → `mail::outbox::handle_batch`, the same way.
//! - The design generation queue → `studio::worker::handle_batch`, the same way.
//! - The manufacturing queue (paid orders the stream puts there) →
//!   `studio::manufacturing::worker::handle_batch`, the same way.
//! - Orders' shipments queue (shipments a partner made for a seller) →
//!   `orders::shipments::handle_batch`, the same way.
//! - A one-minute timer → the studio's manufacturing reconciliation (its
//!   EventBridge schedule runs every 15 minutes).
//! - The RFQ matching queue → `sourcing::worker::handle_batch`, the same way.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use aws_lambda_events::event::dynamodb::{Event, EventRecord, StreamRecord};
use aws_sdk_dynamodbstreams::config::http::HttpResponse;
use aws_sdk_dynamodbstreams::error::SdkError;
use aws_sdk_dynamodbstreams::operation::get_records::{GetRecordsError, GetRecordsOutput};
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use tokio::task::JoinHandle;

/// A running pump. Dropping the handle does not stop it; `abort` does.
pub struct Pump {
    pub name: &'static str,
    pub task: JoinHandle<()>,
}

/// How often an idle shard is polled (Lambda polls about four times a second).
const POLL_INTERVAL: Duration = Duration::from_millis(250);
const BATCH_SIZE: i32 = 100;

/// Starts every pump the devserver knows. Each runs until aborted.
pub fn spawn_all(services: &shared::FullServices) -> Vec<Pump> {
    vec![
        spawn_table_stream(services),
        spawn_upload_notifications(services),
        spawn_expiry_sweep(services),
        spawn_sourcing_schedule(services),
        spawn_send_queue(services),
        spawn_outbox_queue(services),
        spawn_generation_queue(services),
        spawn_manufacturing_queue(services),
        spawn_shipment_queue(services),
        spawn_manufacturing_reconcile(services),
        spawn_matching_queue(services),
    ]
}

/// Feeds the bulk-send queue to the mail worker.
pub fn spawn_send_queue(services: &shared::FullServices) -> Pump {
    let state = mail::MailState::new(services, services.signing.clone());
    let task = tokio::spawn(async move {
        if state.queue.is_none() {
            return;
        }
        loop {
            if let Err(err) = drain_send_queue(&state).await {
                tracing::warn!(error = ?err, "the send queue pump failed; retrying");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    });
    Pump {
        name: "mail-send-queue",
        task,
    }
}

/// Hands every message visible on the send queue to the worker, batch by
/// batch, and deletes those it handled; returns the batches (a test may
/// deliver one again, as SQS can).
pub async fn drain_send_queue(
    state: &mail::MailState,
) -> anyhow::Result<Vec<shared::sqs::SqsEvent>> {
    let queue = state
        .queue
        .as_ref()
        .context("MAIL_SEND_QUEUE_URL is not set")?;
    drain_queue(&queue.sqs, &queue.url, |event| {
        mail::worker::handle_batch(state, event, None)
    })
    .await
}

/// Feeds the platform email queue to the mail context's outbox worker.
pub fn spawn_outbox_queue(services: &shared::FullServices) -> Pump {
    let worker = mail::outbox::OutboxWorker::new(services);
    let sqs = aws_sdk_sqs::Client::new(&services.sdk);
    let url = services.config.platform_email_queue_url.clone();
    let task = tokio::spawn(async move {
        let Some(url) = url else { return };
        loop {
            if let Err(err) = drain_outbox_queue(&worker, &sqs, &url).await {
                tracing::warn!(error = ?err, "the platform email queue pump failed; retrying");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    });
    Pump {
        name: "platform-email-queue",
        task,
    }
}

/// Hands every message visible on the platform email queue to the outbox
/// worker; returns the batches handed over.
pub async fn drain_outbox_queue(
    worker: &mail::outbox::OutboxWorker,
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> anyhow::Result<Vec<shared::sqs::SqsEvent>> {
    drain_queue(sqs, url, |event| mail::outbox::handle_batch(worker, event)).await
}

/// What Lambda's SQS event source does, once over what is visible now:
/// receives up to 10 messages at a time, hands them to `handle` as one
/// event, and deletes the messages it did not report failed (those come
/// back after the visibility timeout). Returns the batches handed over.
pub async fn drain_queue<F, Fut>(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    mut handle: F,
) -> anyhow::Result<Vec<shared::sqs::SqsEvent>>
where
    F: FnMut(shared::sqs::SqsEvent) -> Fut,
    Fut: std::future::Future<Output = shared::sqs::BatchResponse>,
{
    let mut handled = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .with_context(|| format!("receiving from {url}"))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(handled);
        }
        let event = shared::sqs::SqsEvent {
            records: messages
                .into_iter()
                .map(|m| shared::sqs::SqsMessage {
                    message_id: m.message_id.unwrap_or_default(),
                    receipt_handle: m.receipt_handle.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                })
                .collect(),
        };
        let response = handle(event.clone()).await;
        for record in &event.records {
            if !response.failed(&record.message_id) {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(&record.receipt_handle)
                    .send()
                    .await
                    .context("deleting a handled message")?;
            }
        }
        handled.push(event);
    }
}

/// Feeds the RFQ matching queue to the sourcing worker.
pub fn spawn_matching_queue(services: &shared::FullServices) -> Pump {
    let state = sourcing::SourcingState::new(services);
    let task = tokio::spawn(async move {
        if state.matching_queue.is_none() {
            return;
        }
        loop {
            if let Err(err) = drain_matching_queue(&state).await {
                tracing::warn!(error = ?err, "the matching queue pump failed; retrying");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    });
    Pump {
        name: "sourcing-matching-queue",
        task,
    }
}

/// Hands every message visible on the matching queue to the sourcing
/// worker and deletes those it handled; returns how many it handed over.
pub async fn drain_matching_queue(state: &sourcing::SourcingState) -> anyhow::Result<usize> {
    let queue = state
        .matching_queue
        .as_ref()
        .context("SOURCING_MATCHING_QUEUE_URL is not set")?;
    let batches = drain_queue(&queue.sqs, &queue.url, |event| {
        sourcing::worker::handle_batch(state, event)
    })
    .await?;
    Ok(batches.iter().map(|b| b.records.len()).sum())
}

/// Feeds the design generation queue to the studio worker.
pub fn spawn_generation_queue(services: &shared::FullServices) -> Pump {
    let state = studio::StudioState::from_env(services, services.signing.clone());
    let task = tokio::spawn(async move {
        if state.queue.is_none() {
            return;
        }
        loop {
            if let Err(err) = drain_generation_queue(&state).await {
                tracing::warn!(error = ?err, "the generation queue pump failed; retrying");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    });
    Pump {
        name: "studio-generation-queue",
        task,
    }
}

/// Hands every message visible on the generation queue to the studio
/// worker and deletes those it handled; returns how many it handed over.
pub async fn drain_generation_queue(state: &studio::StudioState) -> anyhow::Result<usize> {
    let queue = state
        .queue
        .as_ref()
        .context("STUDIO_QUEUE_URL is not set")?;
    let batches = drain_queue(&queue.sqs, &queue.url, |event| {
        studio::worker::handle_batch(state, event)
    })
    .await?;
    Ok(batches.iter().map(|b| b.records.len()).sum())
}

/// Feeds the manufacturing queue to the studio's manufacturing worker.
pub fn spawn_manufacturing_queue(services: &shared::FullServices) -> Pump {
    let state = studio::StudioState::from_env(services, services.signing.clone());
    let url = services.config.manufacturing_queue_url.clone();
    let sqs = aws_sdk_sqs::Client::new(&services.sdk);
    let task = tokio::spawn(async move {
        let Some(url) = url else { return };
        loop {
            if let Err(err) = drain_manufacturing_queue(&state, &sqs, &url).await {
                tracing::warn!(error = ?err, "the manufacturing queue pump failed; retrying");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    });
    Pump {
        name: "studio-manufacturing-queue",
        task,
    }
}

/// Hands every message visible on the manufacturing queue to the worker
/// and deletes those it handled; returns how many it handed over.
pub async fn drain_manufacturing_queue(
    state: &studio::StudioState,
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> anyhow::Result<usize> {
    let batches = drain_queue(sqs, url, |event| {
        studio::manufacturing::worker::handle_batch(state, event)
    })
    .await?;
    Ok(batches.iter().map(|b| b.records.len()).sum())
}

/// Runs the manufacturing reconciliation on a timer, as the scheduled
/// Lambda would.
pub fn spawn_manufacturing_reconcile(services: &shared::FullServices) -> Pump {
    let state = studio::StudioState::from_env(services, services.signing.clone());
    let task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(SWEEP_INTERVAL).await;
            let now = shared::domain::now_epoch();
            let stale_after = studio::manufacturing::reconcile::DEFAULT_STALE_AFTER_SECS;
            if let Err(err) =
                studio::manufacturing::reconcile::sweep(&state, now, stale_after).await
            {
                tracing::warn!(error = ?err, "the manufacturing reconciliation failed; trying again next time");
            }
        }
    });
    Pump {
        name: "studio-reconcile",
        task,
    }
}

/// Feeds orders' shipments queue to the orders shipments worker.
pub fn spawn_shipment_queue(services: &shared::FullServices) -> Pump {
    let store = services.store.clone();
    let url = services.config.shipment_queue_url.clone();
    let sqs = aws_sdk_sqs::Client::new(&services.sdk);
    let task = tokio::spawn(async move {
        let Some(url) = url else { return };
        loop {
            if let Err(err) = drain_shipment_queue(&store, &sqs, &url).await {
                tracing::warn!(error = ?err, "the shipments queue pump failed; retrying");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    });
    Pump {
        name: "orders-shipment-queue",
        task,
    }
}

/// Hands every message visible on orders' shipments queue to its worker
/// and deletes those it handled; returns how many it handed over.
pub async fn drain_shipment_queue(
    store: &shared::store::Store,
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> anyhow::Result<usize> {
    let batches = drain_queue(sqs, url, |event| {
        orders::shipments::handle_batch(store, event)
    })
    .await?;
    Ok(batches.iter().map(|b| b.records.len()).sum())
}

/// How often the devserver sweeps unpaid orders (EventBridge's schedule in
/// template.yaml runs the sweep once a minute too).
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Runs the orders expiry sweep on a timer, as the scheduled Lambda would.
pub fn spawn_expiry_sweep(services: &shared::FullServices) -> Pump {
    let (store, payments) = (services.store.clone(), services.payments.clone());
    let task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(SWEEP_INTERVAL).await;
            let now = shared::domain::now_epoch();
            if let Err(err) = orders::expiry::sweep(&store, &payments, now).await {
                tracing::warn!(error = ?err, "the expiry sweep failed; trying again next time");
            }
        }
    });
    Pump {
        name: "orders-expiry",
        task,
    }
}

/// Runs the sourcing sweep on a timer, as the scheduled Lambda would.
pub fn spawn_sourcing_schedule(services: &shared::FullServices) -> Pump {
    let state = sourcing::SourcingState::new(services);
    let task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(SWEEP_INTERVAL).await;
            let now = shared::domain::now_epoch();
            if let Err(err) = sourcing::closing::sweep(&state, now).await {
                tracing::warn!(error = ?err, "the sourcing sweep failed; trying again next time");
            }
        }
    });
    Pump {
        name: "sourcing-schedule",
        task,
    }
}

/// Polls the bucket for new uploads and hands each to the ingest handler,
/// as S3's notification to the ingest Lambda would.
pub fn spawn_upload_notifications(services: &shared::FullServices) -> Pump {
    let mut notifications = UploadNotifications::new(services);
    let task = tokio::spawn(async move {
        loop {
            if let Err(err) = notifications.pass().await {
                tracing::warn!(error = ?err, "the upload notification pump failed; retrying");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    });
    Pump {
        name: "s3-uploads",
        task,
    }
}

/// S3's "object created" notifications for the assets bucket, made by
/// listing it: each object under `uploads/` is handed to the ingest handler
/// once per ETag. The pump runs it on a timer; a test can run one pass.
///
/// A failed ingest is retried on the next passes as many times as Lambda
/// retries the asynchronous invocation (template.yaml's
/// `EventInvokeConfig.MaximumRetryAttempts`), then Lambda's on-failure
/// record, the S3 event as its `requestPayload`, goes to the upload
/// trigger's dead-letter queue (`ASSETS_INGEST_DEAD_LETTER_QUEUE_URL`).
pub struct UploadNotifications {
    state: assets::AssetsState,
    /// Object key → the ETag already ingested (or given up on).
    seen: HashMap<String, String>,
    /// Object key → (ETag, failed invocations) of an ingest that failed.
    failures: HashMap<String, (String, u32)>,
    policy: crate::dead_letters::FailurePolicy,
}

impl UploadNotifications {
    pub fn new(services: &shared::FullServices) -> Self {
        let sqs = aws_sdk_sqs::Client::new(&services.sdk);
        Self {
            state: assets::AssetsState::new(services),
            seen: HashMap::new(),
            failures: HashMap::new(),
            policy: crate::dead_letters::FailurePolicy::ingest_from_env(&sqs),
        }
    }

    /// The same notifications with another failure policy (tests).
    pub fn with_policy(mut self, policy: crate::dead_letters::FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The same notifications to another state of the ingest function
    /// (tests: one whose S3 calls fail).
    pub fn with_state(mut self, state: assets::AssetsState) -> Self {
        self.state = state;
        self
    }

    /// One pass: every object under `uploads/` not yet seen with this ETag.
    pub async fn pass(&mut self) -> anyhow::Result<()> {
        let mut pages = self
            .state
            .s3
            .list_objects_v2()
            .bucket(&self.state.bucket)
            .prefix("uploads/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for object in page
                .context("listing uploads")?
                .contents
                .unwrap_or_default()
            {
                let (Some(key), etag) = (object.key, object.e_tag.unwrap_or_default()) else {
                    continue;
                };
                if self.seen.get(&key) == Some(&etag) {
                    continue;
                }
                let event = s3_event(
                    &self.state.bucket,
                    &key,
                    object.size.unwrap_or_default(),
                    &etag,
                );
                match assets::ingest::handle_event(&self.state, event.clone()).await {
                    Ok(()) => {
                        self.failures.remove(&key);
                        self.seen.insert(key, etag);
                    }
                    Err(err) => self.failed(key, etag, &event, err).await?,
                }
            }
        }
        Ok(())
    }

    /// Counts a failed invocation; after the last retry, sends the
    /// on-failure record and leaves the object alone.
    async fn failed(
        &mut self,
        key: String,
        etag: String,
        event: &aws_lambda_events::event::s3::S3Event,
        err: anyhow::Error,
    ) -> anyhow::Result<()> {
        let failures = match self.failures.get(&key) {
            Some((failed_etag, n)) if *failed_etag == etag => n + 1,
            _ => 1,
        };
        if failures <= self.policy.maximum_retry_attempts {
            tracing::warn!(key, failures, error = %format!("{err:#}"), "ingesting an upload failed; will retry");
            self.failures.insert(key, (etag, failures));
            return Ok(());
        }
        tracing::error!(key, failures, error = %format!("{err:#}"), "ingesting an upload failed on every retry; it goes to the dead-letter queue");
        if let Some(destination) = &self.policy.on_failure {
            let record =
                crate::dead_letters::InvocationFailureRecord::exhausted(event, failures, &err)?;
            destination.send(&record).await?;
        }
        self.failures.remove(&key);
        self.seen.insert(key, etag);
        Ok(())
    }
}

/// Runs the ingest handler for one asset's upload now, as S3's
/// notification would a moment later: for the seed and the tests, which
/// need the asset `ready` before they go on. The upload pump seeing the
/// same object later finds it processed and leaves it alone.
pub async fn ingest_asset(services: &shared::FullServices, asset_id: &str) -> anyhow::Result<()> {
    let (pk, sk) = assets::asset::asset_key(asset_id);
    let asset: assets::asset::AssetRecord = services
        .store
        .get(&pk, sk)
        .await?
        .with_context(|| format!("no asset {asset_id}"))?;
    let event = s3_event(
        &services.config.bucket_name,
        &asset.object_key,
        asset.declared_size as i64,
        "etag",
    );
    let state = assets::AssetsState::new(services);
    assets::ingest::handle_event(&state, event).await
}

/// An S3 "ObjectCreated:Put" event for one object, keys encoded as S3 does.
pub fn s3_event(
    bucket: &str,
    key: &str,
    size: i64,
    etag: &str,
) -> aws_lambda_events::event::s3::S3Event {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b' ');
    let encoded = utf8_percent_encode(key, KEEP).to_string().replace(' ', "+");
    let json = serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": shared::domain::now_rfc3339(),
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "local"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "uploads",
                "bucket": {"name": bucket, "ownerIdentity": {"principalId": "local"}, "arn": format!("arn:aws:s3:::{bucket}")},
                "object": {"key": encoded, "size": size, "eTag": etag.trim_matches('"'), "sequencer": "0"}
            }
        }]
    });
    serde_json::from_value(json).expect("a well-formed S3 event")
}

/// Pumps the table's stream into the stream function's handler.
pub fn spawn_table_stream(services: &shared::FullServices) -> Pump {
    let services = services.clone();
    let task = tokio::spawn(async move {
        loop {
            if let Err(err) = pump_table_stream(&services).await {
                tracing::warn!(error = ?err, "the DynamoDB stream pump stopped; restarting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    Pump {
        name: "dynamodb-stream",
        task,
    }
}

async fn pump_table_stream(services: &shared::FullServices) -> anyhow::Result<()> {
    let mut stream = TableStream::open(services).await?;
    loop {
        if stream.pass().await?.failed {
            // The failed record is read again on the next pass, after a pause.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A reader of the table's stream that remembers where it is in each shard
/// and hands what it reads to the stream function's handler, as Lambda's
/// event-source mapping does. The pump runs it on a timer; the tests
/// `drain` it when they want the reactions to a write.
///
/// A record the handler fails is handled as template.yaml's mapping
/// (`BisectBatchOnFunctionError`, `MaximumRetryAttempts`, `OnFailure`)
/// has Lambda do: the shard is read again from it in batches halved until
/// it is alone, the record alone is retried `MaximumRetryAttempts` times,
/// then its position goes to the stream's dead-letter queue as Lambda's
/// on-failure record and the shard moves on past it.
pub struct TableStream {
    state: stream::StreamState,
    streams: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    region: String,
    /// Shard id → the iterator to read next (None once a closed shard is drained).
    iterators: HashMap<String, Option<String>>,
    /// Shard id → the record the handler keeps failing there.
    failing: HashMap<String, FailingRecord>,
    policy: crate::dead_letters::FailurePolicy,
}

/// A record the stream function failed, and how far its retries went.
#[derive(Debug, Clone)]
struct FailingRecord {
    sequence_number: String,
    /// How many records the next read of the shard hands over.
    batch_limit: i32,
    /// Failed invocations with the record alone in its batch.
    failures_alone: u32,
}

/// What one pass over the shards did.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamPass {
    /// Records handed to the handler.
    pub records: usize,
    /// Whether the handler reported a failure (its record is read again next pass).
    pub failed: bool,
    /// Records given up on after their retries, sent to the dead-letter queue.
    pub dead_lettered: usize,
}

/// Passes `drain` makes at most: each reaction may write items whose
/// records the next pass reads, but never in an endless chain.
const MAX_DRAIN_PASSES: usize = 20;

impl TableStream {
    /// Opens the table's stream, reading each shard from its oldest record,
    /// with the failure policy of template.yaml's mapping and the
    /// dead-letter queue of `STREAM_DEAD_LETTER_QUEUE_URL`.
    pub async fn open(services: &shared::FullServices) -> anyhow::Result<Self> {
        let stream_arn = table_stream_arn(services).await?;
        let sdk = shared::services::load_sdk_config().await;
        let policy =
            crate::dead_letters::FailurePolicy::stream_from_env(&aws_sdk_sqs::Client::new(&sdk));
        Ok(Self {
            state: stream::StreamState::new(services),
            streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
            stream_arn,
            region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            iterators: HashMap::new(),
            failing: HashMap::new(),
            policy,
        })
    }

    /// The same reader with another failure policy (tests: fewer retries,
    /// a dead-letter queue of their own).
    pub fn with_policy(mut self, policy: crate::dead_letters::FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The same reader handing its records to another state of the stream
    /// function (tests: one whose mail cannot be sent).
    pub fn with_state(mut self, state: stream::StreamState) -> Self {
        self.state = state;
        self
    }

    /// The ARN of the stream it reads.
    pub fn stream_arn(&self) -> &str {
        &self.stream_arn
    }

    /// Hands the handler every record written so far, and the records its
    /// reactions write in turn, until a pass reads nothing. Fails if the
    /// handler reports a failure (the record is read again next time) or
    /// the reactions do not settle.
    pub async fn drain(&mut self) -> anyhow::Result<usize> {
        let mut handled = 0;
        for _ in 0..MAX_DRAIN_PASSES {
            let pass = self.pass().await?;
            anyhow::ensure!(!pass.failed, "the stream function reported a failed record");
            if pass.records == 0 {
                return Ok(handled);
            }
            handled += pass.records;
        }
        anyhow::bail!("the stream did not settle in {MAX_DRAIN_PASSES} passes")
    }

    /// One read of every shard; its records go to the handler as one batch
    /// per shard. A reported failure rewinds that shard to the failed
    /// record, or, after its last retry, dead-letters it and moves on.
    pub async fn pass(&mut self) -> anyhow::Result<StreamPass> {
        self.discover_shards().await?;
        let mut outcome = StreamPass::default();
        let shards: Vec<String> = self.iterators.keys().cloned().collect();
        for shard_id in shards {
            let Some(Some(current)) = self.iterators.get(&shard_id).cloned() else {
                continue;
            };
            let limit = self
                .failing
                .get(&shard_id)
                .map_or(BATCH_SIZE, |f| f.batch_limit);
            let (records, next) = read_page(
                self.streams
                    .get_records()
                    .shard_iterator(current)
                    .limit(limit)
                    .send()
                    .await,
                &self.stream_arn,
                &self.region,
            )?;
            self.iterators.insert(shard_id.clone(), next);
            if records.is_empty() {
                continue;
            }
            outcome.records += records.len();
            let mut event = Event::default();
            event.records = records;
            let response = stream::handle_batch(&self.state, event.clone()).await;
            let Some(failed) = response
                .batch_item_failures
                .first()
                .and_then(|f| f.item_identifier.clone())
            else {
                self.failing.remove(&shard_id);
                continue;
            };
            outcome.failed = true;
            let tail = event
                .records
                .iter()
                .position(|r| r.change.sequence_number.as_deref() == Some(failed.as_str()))
                .map(|at| &event.records[at..])
                .context("the stream function reported a record that was not in its batch")?;
            let mut next = ShardIteratorType::AtSequenceNumber;
            if self.record_failure(&shard_id, &failed, tail.len()) {
                match self.dead_letter(&shard_id, &tail[0]).await {
                    Ok(()) => {
                        outcome.dead_lettered += 1;
                        next = ShardIteratorType::AfterSequenceNumber;
                    }
                    // Never lost: the shard waits on the record, retried anew.
                    Err(err) => tracing::error!(
                        shard_id,
                        error = %format!("{err:#}"),
                        "a record given up on could not be dead-lettered; the shard waits on it"
                    ),
                }
            }
            self.position(&shard_id, &failed, next).await?;
        }
        Ok(outcome)
    }

    /// Counts a failure of the batch that starts at `failed` and holds
    /// `tail` records: a batch of several is halved (that costs no retry,
    /// as with `BisectBatchOnFunctionError`), a record alone uses up one
    /// retry. True once its retries are used up.
    fn record_failure(&mut self, shard_id: &str, failed: &str, tail: usize) -> bool {
        let fresh = || FailingRecord {
            sequence_number: failed.to_owned(),
            batch_limit: BATCH_SIZE,
            failures_alone: 0,
        };
        let entry = self
            .failing
            .entry(shard_id.to_owned())
            .or_insert_with(fresh);
        if entry.sequence_number != failed {
            *entry = fresh();
        }
        if tail > 1 {
            entry.batch_limit = i32::try_from(tail.div_ceil(2)).unwrap_or(BATCH_SIZE);
            return false;
        }
        entry.batch_limit = 1;
        entry.failures_alone += 1;
        if entry.failures_alone > self.policy.maximum_retry_attempts {
            self.failing.remove(shard_id);
            return true;
        }
        false
    }

    /// Sends the on-failure record of a record given up on, as Lambda
    /// sends it to the mapping's destination.
    async fn dead_letter(&self, shard_id: &str, record: &EventRecord) -> anyhow::Result<()> {
        let sequence_number = record.change.sequence_number.clone().unwrap_or_default();
        let arrival = record
            .change
            .approximate_creation_date_time
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let batch = crate::dead_letters::StreamBatchInfo {
            shard_id: shard_id.to_owned(),
            start_sequence_number: sequence_number.clone(),
            end_sequence_number: sequence_number.clone(),
            approximate_arrival_of_first_record: arrival.clone(),
            approximate_arrival_of_last_record: arrival,
            batch_size: 1,
            stream_arn: self.stream_arn.clone(),
        };
        let invocations = self.policy.maximum_retry_attempts + 1;
        tracing::error!(
            shard_id,
            sequence_number,
            event_id = %record.event_id,
            invocations,
            "the stream function failed a record on every retry; it goes to the dead-letter queue and the shard moves on"
        );
        if let Some(destination) = &self.policy.on_failure {
            destination
                .send(&crate::dead_letters::StreamFailureRecord::exhausted(
                    batch,
                    invocations,
                ))
                .await?;
        }
        Ok(())
    }

    /// Points a shard's iterator at or after a sequence number.
    async fn position(
        &mut self,
        shard_id: &str,
        sequence_number: &str,
        at: ShardIteratorType,
    ) -> anyhow::Result<()> {
        let iterator = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard_id)
            .shard_iterator_type(at)
            .sequence_number(sequence_number)
            .send()
            .await
            .context("positioning a shard's iterator")?
            .shard_iterator;
        self.iterators.insert(shard_id.to_owned(), iterator);
        Ok(())
    }

    /// Opens an iterator at the oldest record of every shard not yet known.
    async fn discover_shards(&mut self) -> anyhow::Result<()> {
        let shards = self
            .streams
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .context("describing the stream")?
            .stream_description
            .map(|d| d.shards.unwrap_or_default())
            .unwrap_or_default();
        for shard in shards {
            let Some(shard_id) = shard.shard_id else {
                continue;
            };
            if self.iterators.contains_key(&shard_id) {
                continue;
            }
            let iterator = self
                .streams
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(&shard_id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .context("opening a shard")?
                .shard_iterator;
            self.iterators.insert(shard_id, iterator);
        }
        Ok(())
    }
}

/// The ARN of the table's stream.
pub async fn table_stream_arn(services: &shared::FullServices) -> anyhow::Result<String> {
    let described = services
        .store
        .client()
        .describe_table()
        .table_name(services.store.table())
        .send()
        .await
        .context("describing the table")?;
    described
        .table
        .and_then(|t| t.latest_stream_arn)
        .context("the table has no stream")
}

fn image(
    map: Option<HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>,
) -> serde_dynamo::Item {
    let converted: HashMap<String, serde_dynamo::AttributeValue> = map
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, value.into()))
        .collect();
    converted.into()
}

/// A page of GetRecords as the records Lambda delivers, and the iterator
/// to read next. DynamoDB Local renders an empty map attribute as `{}`
/// instead of `{"M":{}}`, which the SDK refuses, failing the whole page:
/// that page is read again from the raw answer, with such values repaired,
/// so an item holding an empty map never stalls its shard.
pub(crate) fn read_page(
    answer: Result<GetRecordsOutput, SdkError<GetRecordsError, HttpResponse>>,
    stream_arn: &str,
    region: &str,
) -> anyhow::Result<(Vec<EventRecord>, Option<String>)> {
    let err = match answer {
        Ok(page) => {
            let records = page
                .records
                .unwrap_or_default()
                .into_iter()
                .map(|record| from_sdk_record(record, stream_arn, region))
                .collect();
            return Ok((records, page.next_shard_iterator));
        }
        Err(err) => err,
    };
    let body = err
        .raw_response()
        .filter(|raw| raw.status().is_success())
        .and_then(|raw| raw.body().bytes())
        .map(<[u8]>::to_vec);
    match body {
        Some(body) => repaired_page(&body, stream_arn, region)
            .context("reading a shard's page from its raw JSON after the SDK refused it"),
        None => Err(anyhow::Error::new(err).context("reading a shard")),
    }
}

/// The records of a raw GetRecords answer, `{}` attribute values read as
/// empty maps.
fn repaired_page(
    body: &[u8],
    stream_arn: &str,
    region: &str,
) -> anyhow::Result<(Vec<EventRecord>, Option<String>)> {
    let mut page: serde_json::Value = serde_json::from_slice(body)?;
    let next = page["NextShardIterator"].as_str().map(str::to_owned);
    let mut records = Vec::new();
    let raw_records = match page.get_mut("Records") {
        Some(serde_json::Value::Array(records)) => std::mem::take(records),
        _ => Vec::new(),
    };
    for mut raw in raw_records {
        let data = &mut raw["dynamodb"];
        let mut change = StreamRecord::default();
        change.sequence_number = data["SequenceNumber"].as_str().map(str::to_owned);
        change.size_bytes = data["SizeBytes"].as_i64().unwrap_or_default();
        if let Some(created) = data["ApproximateCreationDateTime"].as_f64() {
            change.approximate_creation_date_time = arrival(created);
        }
        change.keys = repaired_item(data.get_mut("Keys"))?;
        change.new_image = repaired_item(data.get_mut("NewImage"))?;
        change.old_image = repaired_item(data.get_mut("OldImage"))?;
        let text = |name: &str| raw[name].as_str().map(str::to_owned);
        records.push(lambda_record(
            text("eventID").unwrap_or_default(),
            text("eventName").unwrap_or_default(),
            text("eventVersion"),
            change,
            stream_arn,
            region,
        ));
    }
    Ok((records, next))
}

fn repaired_item(item: Option<&mut serde_json::Value>) -> anyhow::Result<serde_dynamo::Item> {
    let Some(item) = item else {
        return Ok(serde_dynamo::Item::from(HashMap::<
            String,
            serde_dynamo::AttributeValue,
        >::new()));
    };
    if let serde_json::Value::Object(attributes) = item {
        attributes.values_mut().for_each(repair_value);
    }
    Ok(serde_json::from_value(item.take())?)
}

/// `{}` where an attribute value belongs is an empty map; maps and lists
/// are repaired inside too.
fn repair_value(value: &mut serde_json::Value) {
    let serde_json::Value::Object(fields) = value else {
        return;
    };
    if fields.is_empty() {
        *value = serde_json::json!({ "M": {} });
        return;
    }
    if let Some(serde_json::Value::Object(map)) = fields.get_mut("M") {
        map.values_mut().for_each(repair_value);
    }
    if let Some(serde_json::Value::Array(list)) = fields.get_mut("L") {
        list.iter_mut().for_each(repair_value);
    }
}

/// One record as Lambda delivers it.
fn from_sdk_record(record: Record, stream_arn: &str, region: &str) -> EventRecord {
    let data = record
        .dynamodb
        .unwrap_or_else(|| aws_sdk_dynamodbstreams::types::StreamRecord::builder().build());
    let mut change = StreamRecord::default();
    change.sequence_number = data.sequence_number;
    change.size_bytes = data.size_bytes.unwrap_or_default();
    if let Some(created) = data.approximate_creation_date_time {
        change.approximate_creation_date_time = arrival(created.as_secs_f64());
    }
    change.keys = image(data.keys);
    change.new_image = image(data.new_image);
    change.old_image = image(data.old_image);
    lambda_record(
        record.event_id.unwrap_or_default(),
        record
            .event_name
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        record.event_version,
        change,
        stream_arn,
        region,
    )
}

/// When a record reached the stream (epoch seconds, as DynamoDB says it).
fn arrival(epoch_seconds: f64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis((epoch_seconds * 1000.0) as i64).unwrap_or_default()
}

fn lambda_record(
    event_id: String,
    event_name: String,
    event_version: Option<String>,
    change: StreamRecord,
    stream_arn: &str,
    region: &str,
) -> EventRecord {
    let mut event_record = EventRecord::default();
    event_record.aws_region = region.to_owned();
    event_record.event_id = event_id;
    event_record.event_name = event_name;
    event_record.event_source = Some("aws:dynamodb".into());
    event_record.event_version = event_version;
    event_record.event_source_arn = Some(stream_arn.to_owned());
    event_record.change = change;
    event_record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_empty_maps_is_read_with_them_as_empty_maps() {
        let body = serde_json::json!({
            "NextShardIterator": "next",
            "Records": [{
                "eventID": "e-1", "eventName": "INSERT", "eventVersion": "1.1",
                "dynamodb": {
                    "SequenceNumber": "100", "SizeBytes": 42,
                    "Keys": {"PK": {"S": "P#1"}, "SK": {"S": "P"}},
                    "NewImage": {
                        "PK": {"S": "P#1"}, "SK": {"S": "P"}, "type": {"S": "PROBE"},
                        "empty": {},
                        "nested": {"M": {"inner": {}, "list": {"L": [{}, {"N": "1"}]}}}
                    }
                }
            }]
        });
        let (records, next) =
            repaired_page(body.to_string().as_bytes(), "arn:stream", "us-east-1").unwrap();
        assert_eq!(next.as_deref(), Some("next"));
        let record = &records[0];
        assert_eq!(
            (record.event_id.as_str(), record.event_name.as_str()),
            ("e-1", "INSERT")
        );
        assert_eq!(record.change.sequence_number.as_deref(), Some("100"));
        let image = &record.change.new_image;
        assert_eq!(
            image.get("empty"),
            Some(&serde_dynamo::AttributeValue::M(HashMap::new()))
        );
        let Some(serde_dynamo::AttributeValue::M(nested)) = image.get("nested") else {
            panic!("{image:?}");
        };
        assert_eq!(
            nested.get("inner"),
            Some(&serde_dynamo::AttributeValue::M(HashMap::new()))
        );
    }
}
