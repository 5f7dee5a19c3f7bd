//! The platform email worker: the `mail-outbox` Lambda, fed by the
//! platform email queue (SQS, partial batch failures). Identity, sourcing
//! and the stream put the platform's own emails there
//! ([`shared::outbox::Outbox`]); this worker renders each with its built-in
//! template and sends it through SES. Locally the devserver's pump hands it
//! the same batches from moto's SQS; tests call [`handle_batch`] directly.
//!
//! Each queued email carries an id chosen when it was queued. For each one
//! the worker:
//! 1. claims it: an UpdateItem that creates `OUTBOX#<id>` as `sending` only
//!    if it does not exist (or its claim is older than the lease, after a
//!    worker died), so an email SQS delivers twice is sent once;
//! 2. renders it and sends it through SES, retrying throttles a few times;
//! 3. records `sent` (with SES's message id) or `rejected` (SES refused the
//!    address or content: sending again would fail again).
//!
//! When SES stays throttled or unavailable the claim is given back and the
//! message reported failed: SQS delivers it again after its visibility
//! timeout, and after `maxReceiveCount` deliveries it moves to the
//! dead-letter queue (the devserver's `/dev/dead-letters` redrives it). A
//! worker that dies after SES took an email but before recording it leaves
//! a `sending` claim: after the lease the email is sent again (at least
//! once, never lost).
//!
//! The emails carry single-use codes: the worker logs the outbox id and the
//! template, never the address or the data.

use std::time::Duration;

use anyhow::Context as _;
use shared::domain::{Email, new_id, now_epoch, now_rfc3339};
use shared::mail::{Mailer, RichMessage, SendFailure, builtin};
use shared::outbox::QueuedEmail;
use shared::sqs::{BatchResponse, ItemFailure, SqsEvent, SqsMessage};
use shared::store::{Store, StoreError, Update, n, s};

use crate::worker::release;

/// The item type of an outbox claim.
pub const OUTBOX_TYPE: &str = "OUTBOX_EMAIL";
/// How long a claim holds before another delivery may take the email over:
/// well beyond the worker's timeout (template.yaml: 30 s).
pub const CLAIM_LEASE_SECS: i64 = 120;
/// How long the record of a handled email is kept (its TTL): longer than
/// SQS keeps a message (4 days), so any late copy finds it.
const RECORD_TTL_SECS: i64 = 14 * 24 * 3600;
/// Throttled sends are retried this many times in the worker, then the
/// message goes back to the queue.
const THROTTLE_RETRIES: u32 = 3;

/// What the worker needs: the table for its claims, and SES.
#[derive(Clone)]
pub struct OutboxWorker {
    pub store: Store,
    pub mailer: Mailer,
}

impl OutboxWorker {
    pub fn new(services: &shared::Services) -> Self {
        Self {
            store: services.store.clone(),
            mailer: services.mailer(),
        }
    }
}

/// The key of a queued email's claim.
pub fn outbox_key(id: &str) -> (String, &'static str) {
    (format!("OUTBOX#{id}"), "OUTBOX")
}

/// Handles one SQS batch; the messages that must come again are reported.
pub async fn handle_batch(worker: &OutboxWorker, event: SqsEvent) -> BatchResponse {
    let mut failures = Vec::new();
    for message in event.records {
        if let Err(err) = handle_message(worker, &message).await {
            tracing::warn!(message_id = %message.message_id, error = ?err, "a platform email will be retried");
            failures.push(ItemFailure {
                item_identifier: message.message_id,
            });
        }
    }
    BatchResponse {
        batch_item_failures: failures,
    }
}

/// How a claim attempt ended.
enum Claim {
    /// Ours: send it.
    Taken,
    /// Sent or refused already: nothing to do.
    Done,
    /// Another delivery holds a live claim: come back later.
    Held,
}

async fn handle_message(worker: &OutboxWorker, message: &SqsMessage) -> anyhow::Result<()> {
    // The body is never put in an error: it may hold a single-use code.
    let queued: QueuedEmail = serde_json::from_str(&message.body).map_err(|err| {
        anyhow::anyhow!(
            "the message is not a queued email ({:?} error at line {} column {})",
            err.classify(),
            err.line(),
            err.column()
        )
    })?;
    let template = queued.email.id();
    let claim = new_id();
    match claim_email(&worker.store, &queued, &claim).await? {
        Claim::Taken => {}
        Claim::Done => {
            tracing::info!(outbox_id = %queued.id, template, "platform email already handled");
            return Ok(());
        }
        Claim::Held => anyhow::bail!("another delivery of {} is sending it", queued.id),
    }
    let (pk, sk) = outbox_key(&queued.id);
    let outcome = match prepare(&queued) {
        Ok(message) => send(&worker.mailer, message).await,
        Err(refused) => Err(SendFailure::Rejected(refused)),
    };
    match outcome {
        Ok(ses_id) => {
            record(&worker.store, &pk, sk, &claim, "sent", Some(&ses_id), None).await;
            tracing::info!(outbox_id = %queued.id, template, "platform email sent");
            Ok(())
        }
        Err(SendFailure::Rejected(why)) => {
            // SES names the address it refused; the record and the log do not.
            let why = why.replace(queued.to.as_str(), "<recipient>");
            record(&worker.store, &pk, sk, &claim, "rejected", None, Some(&why)).await;
            tracing::error!(outbox_id = %queued.id, template, reason = %why, "platform email refused; not retried");
            Ok(())
        }
        Err(err) => {
            // Deleted, so the next delivery claims it at once.
            release(&worker.store, &pk, sk, &claim).await;
            Err(err).with_context(|| format!("sending {}", queued.id))
        }
    }
}

/// Creates the claim, or takes over one whose lease ran out.
async fn claim_email(store: &Store, queued: &QueuedEmail, claim: &str) -> anyhow::Result<Claim> {
    let (pk, sk) = outbox_key(&queued.id);
    let now = now_epoch();
    let update = Update::new(
        pk.as_str(),
        sk,
        "SET #type = :type, template = :template, #status = :sending, #claim = :claim, claimedAt = :now, updatedAt = :at, #ttl = :ttl",
    )
    .condition("attribute_not_exists(PK) OR (#status = :sending AND claimedAt < :stale)")
    .name("#type", "type")
    .name("#status", "status")
    .name("#claim", "claim")
    .name("#ttl", "ttl")
    .value(":type", s(OUTBOX_TYPE))
    .value(":template", s(queued.email.id()))
    .value(":sending", s("sending"))
    .value(":claim", s(claim))
    .value(":now", n(now))
    .value(":stale", n(now - CLAIM_LEASE_SECS))
    .value(":at", s(now_rfc3339()))
    .value(":ttl", n(now + RECORD_TTL_SECS));
    match store.apply_update(update).await {
        Ok(()) => Ok(Claim::Taken),
        Err(StoreError::ConditionFailed) => {
            let status = store
                .get_raw(&pk, sk)
                .await
                .context("reading an outbox claim")?
                .and_then(|item| item.get("status").and_then(|v| v.as_s().ok()).cloned());
            Ok(match status.as_deref() {
                Some("sending") => Claim::Held,
                // Gone in between (released): the next delivery takes it.
                None => Claim::Held,
                Some(_) => Claim::Done,
            })
        }
        Err(err) => Err(err).context("claiming a platform email"),
    }
}

/// The rendered message, or why SES would refuse it whatever the retries.
fn prepare(queued: &QueuedEmail) -> Result<RichMessage, String> {
    Email::parse(&queued.to).map_err(|e| format!("the address {e}"))?;
    let rendered = builtin::render(&queued.email).map_err(|e| format!("{e:#}"))?;
    Ok(RichMessage {
        to: queued.to.clone(),
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        tags: vec![("platform".to_owned(), queued.email.id().to_owned())],
        headers: Vec::new(),
    })
}

/// Sends through SES, waiting out a few throttles.
async fn send(mailer: &Mailer, message: RichMessage) -> Result<String, SendFailure> {
    let mut attempt = 0;
    loop {
        match mailer.send_rich(message.clone()).await {
            Err(SendFailure::Throttled(_)) if attempt < THROTTLE_RETRIES => {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Records how the email ended, while the claim is still ours. Best
/// effort: SES has already answered, and the claim keeps the email from
/// being sent again until its lease runs out.
async fn record(
    store: &Store,
    pk: &str,
    sk: &str,
    claim: &str,
    status: &str,
    ses_message_id: Option<&str>,
    reason: Option<&str>,
) {
    let mut set = "SET #status = :status, updatedAt = :at".to_owned();
    let mut values = vec![(":status", s(status)), (":at", s(now_rfc3339()))];
    if let Some(id) = ses_message_id {
        set.push_str(", sesMessageId = :ses");
        values.push((":ses", s(id)));
    }
    if let Some(reason) = reason {
        set.push_str(", reason = :reason");
        values.push((":reason", s(reason)));
    }
    let mut update = Update::new(pk, sk, set)
        .condition("#claim = :claim")
        .name("#status", "status")
        .name("#claim", "claim")
        .value(":claim", s(claim));
    for (placeholder, value) in values {
        update = update.value(placeholder, value);
    }
    if let Err(err) = store.apply_update(update).await {
        tracing::warn!(error = ?err, status, "could not record a platform email's outcome");
    }
}
