//! The bulk-send worker: the `mail-worker` Lambda, fed by the send queue
//! (SQS, partial batch failures). Locally the devserver's pump hands it the
//! same batches from moto's SQS; tests call [`handle_batch`] directly.
//!
//! Each queue message carries up to [`RECIPIENTS_PER_MESSAGE`] recipients of
//! one send. For each recipient the worker:
//! 1. claims it: an UpdateItem that creates `RECIPIENT#<n>` as `sending`
//!    only if it does not exist (or its claim is older than the lease, after
//!    a worker died), so a batch processed twice, or by two workers at once,
//!    handles each recipient once;
//! 2. checks the address, renders the version with the recipient's data,
//!    looks at the org's suppressions, and waits its turn ([`Pacing`]: the
//!    SES account's send rate from GetAccount, else `MAIL_SEND_RATE`);
//! 3. sends through SES, retrying throttles a few times with backoff;
//! 4. records the outcome in one transaction: the recipient's status (only
//!    while its claim is still ours), the message, and the send's counter.
//!
//! When SES stays throttled or unavailable the claim is given back and the
//! queue message reported failed, so SQS delivers it again later; recipients
//! already done are skipped then. A worker that dies after SES took a
//! message but before recording it leaves a `sending` claim: after the
//! lease that recipient is sent again (at least once, never lost).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::domain::{Email, new_id, now_epoch, now_rfc3339};
use shared::http::FieldErrors;
use shared::mail::SendFailure;
use shared::store::{Transaction, Update, n, s};
use tokio::sync::{Mutex, OnceCell};
use tokio::time::Instant;

use crate::MailState;
use crate::model::{
    Category, Content, MessageStatus, RECIPIENT_TYPE, RecipientStatus, recipient_sk, recipients_pk,
    sends_pk,
};
use crate::send::{Outgoing, render_fields};
use crate::{suppressions, versions};

/// Recipients per queue message: small enough that a message stays far
/// below SQS's 256 KB with each recipient's data at its limit.
pub const RECIPIENTS_PER_MESSAGE: usize = 10;
/// How long a claim holds before another worker may take the recipient
/// over: well beyond the worker's timeout (template.yaml: 120 s).
const CLAIM_LEASE_SECS: i64 = 600;
/// The event source runs at most this many workers at once
/// (`ScalingConfig.MaximumConcurrency`); each keeps to its share of the rate.
pub const MAX_CONCURRENT_WORKERS: f64 = 2.0;
/// Throttled sends are retried this many times in the worker, then the
/// message goes back to the queue.
const THROTTLE_RETRIES: u32 = 4;
/// Stop taking recipients this long before the invocation's deadline.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// One queue message: a slice of a send's recipients.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendBatch {
    pub org_id: String,
    pub send_id: String,
    pub template_id: String,
    pub version: u32,
    /// Who created the send (`user:<id>` or `apikey:<prefix>`).
    pub sent_by: String,
    /// The API's public URL, for unsubscribe links of marketing mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_base: Option<String>,
    pub recipients: Vec<QueuedRecipient>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedRecipient {
    pub index: u32,
    pub email: String,
    #[serde(default)]
    pub data: Map<String, Value>,
}

pub use shared::sqs::{BatchResponse, ItemFailure, SqsEvent, SqsMessage};

/// Keeps SES calls to the account's rate, shared by every batch a worker
/// process handles. The rate is read once (GetAccount's `MaxSendRate`;
/// `MAIL_SEND_RATE` when SES does not say) and split between the workers.
#[derive(Clone)]
pub struct Pacing {
    fallback_rate: f64,
    rate: Arc<OnceCell<f64>>,
    next: Arc<Mutex<Option<Instant>>>,
}

impl Pacing {
    pub fn new(fallback_rate: f64) -> Self {
        Self {
            fallback_rate,
            rate: Arc::new(OnceCell::new()),
            next: Arc::new(Mutex::new(None)),
        }
    }

    /// Emails per second this worker sends.
    pub async fn rate(&self, mailer: &shared::mail::Mailer) -> f64 {
        *self
            .rate
            .get_or_init(|| async {
                let account = match mailer.sending_status().await {
                    Ok(status) => status.and_then(|s| s.max_send_rate),
                    Err(err) => {
                        tracing::info!(error = ?err, "SES did not tell its send rate; using MAIL_SEND_RATE");
                        None
                    }
                };
                account.unwrap_or(self.fallback_rate) / MAX_CONCURRENT_WORKERS
            })
            .await
    }

    /// Waits until the next send may go.
    async fn wait(&self, mailer: &shared::mail::Mailer) {
        let interval = Duration::from_secs_f64(1.0 / self.rate(mailer).await);
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if let Some(at) = *next
            && at > now
        {
            tokio::time::sleep_until(at).await;
        }
        *next = Some(next.unwrap_or(now).max(now) + interval);
    }
}

/// Handles one SQS batch; the messages that must come again are reported,
/// the others are done (each recipient recorded once).
pub async fn handle_batch(
    state: &MailState,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> BatchResponse {
    let mut failures = Vec::new();
    for message in event.records {
        if let Err(err) = handle_message(state, &message, deadline).await {
            tracing::warn!(message_id = %message.message_id, error = ?err, "a send batch will be retried");
            failures.push(ItemFailure {
                item_identifier: message.message_id,
            });
        }
    }
    BatchResponse {
        batch_item_failures: failures,
    }
}

async fn handle_message(
    state: &MailState,
    message: &SqsMessage,
    deadline: Option<Instant>,
) -> anyhow::Result<()> {
    let batch: SendBatch =
        serde_json::from_str(&message.body).context("reading a send batch from the queue")?;
    let version = versions::load(
        &state.store,
        &batch.org_id,
        &batch.template_id,
        batch.version,
    )
    .await
    .map_err(|err| anyhow::anyhow!("loading the version to send: {err:?}"))?;
    let claim = new_id();
    for recipient in &batch.recipients {
        if deadline.is_some_and(|at| Instant::now() + DEADLINE_MARGIN >= at) {
            anyhow::bail!("the invocation's deadline is near; the rest waits for a retry");
        }
        handle_recipient(state, &batch, &version.content, recipient, &claim)
            .await
            .with_context(|| format!("sending to recipient {}", recipient.index))?;
    }
    Ok(())
}

/// What became of one recipient, ready to record.
struct Outcome {
    status: RecipientStatus,
    errors: Option<FieldErrors>,
    /// The message to record (sent, suppressed, or refused by SES).
    message: Option<crate::model::MessageRecord>,
}

impl Outcome {
    fn failed(field: &str, problem: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![problem.into()]);
        Self {
            status: RecipientStatus::Failed,
            errors: Some(errors),
            message: None,
        }
    }
}

async fn handle_recipient(
    state: &MailState,
    batch: &SendBatch,
    content: &Content,
    recipient: &QueuedRecipient,
    claim: &str,
) -> anyhow::Result<()> {
    let pk = recipients_pk(&batch.org_id, &batch.send_id);
    let sk = recipient_sk(recipient.index as usize);
    if !claim_recipient(state, &pk, &sk, recipient, claim).await? {
        tracing::debug!(index = recipient.index, "recipient already handled");
        return Ok(());
    }
    let outcome = match prepare(state, batch, content, recipient).await {
        Err(outcome) => outcome,
        Ok(outgoing) => match deliver(state, batch, outgoing).await {
            Ok(outcome) => outcome,
            Err(err) => {
                // Give the recipient back: the queue's retry sends it.
                release(&state.store, &pk, &sk, claim).await;
                return Err(err);
            }
        },
    };
    record(state, batch, &pk, &sk, claim, outcome).await
}

/// The email for one recipient, or why there is none.
async fn prepare<'a>(
    state: &MailState,
    batch: &'a SendBatch,
    content: &Content,
    recipient: &QueuedRecipient,
) -> Result<Outgoing<'a>, Outcome> {
    let to = Email::parse(&recipient.email).map_err(|e| Outcome::failed("email", e.to_string()))?;
    let rendered = render_fields(content, &recipient.data).map_err(|fields| Outcome {
        status: RecipientStatus::Failed,
        errors: Some(fields),
        message: None,
    })?;
    let unsubscribe_url = match (content.category, &batch.unsubscribe_base) {
        (Category::Marketing, Some(base)) => Some(suppressions::unsubscribe_url(
            &state.signing,
            base,
            &batch.org_id,
            to.as_str(),
        )),
        _ => None,
    };
    Ok(Outgoing {
        org_id: &batch.org_id,
        template_id: &batch.template_id,
        version: Some(batch.version),
        send_id: Some(&batch.send_id),
        to,
        rendered,
        test: false,
        unsubscribe_url,
    })
}

/// Sends one email, unless its address is suppressed; an error means
/// "try again later" (throttled past the retries, or SES unavailable).
async fn deliver(
    state: &MailState,
    batch: &SendBatch,
    outgoing: Outgoing<'_>,
) -> anyhow::Result<Outcome> {
    let message_id = new_id();
    if suppressions::is_suppressed(&state.store, &batch.org_id, outgoing.to.as_str()).await? {
        return Ok(Outcome {
            status: RecipientStatus::Suppressed,
            errors: None,
            message: Some(outgoing.record(
                &message_id,
                MessageStatus::Suppressed,
                None,
                &batch.sent_by,
            )),
        });
    }
    let mut attempt = 0;
    loop {
        state.pacing.wait(&state.mailer).await;
        match state.mailer.send_rich(outgoing.message(&message_id)).await {
            Ok(ses_id) => {
                return Ok(Outcome {
                    status: RecipientStatus::Sent,
                    errors: None,
                    message: Some(outgoing.record(
                        &message_id,
                        MessageStatus::Sent,
                        Some(ses_id),
                        &batch.sent_by,
                    )),
                });
            }
            Err(SendFailure::Throttled(err)) if attempt < THROTTLE_RETRIES => {
                attempt += 1;
                tracing::info!(attempt, error = ?err, "SES throttled a send; backing off");
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            Err(SendFailure::Rejected(reason)) => {
                let mut outcome =
                    Outcome::failed("ses", format!("SES refused the message: {reason}"));
                outcome.message =
                    Some(outgoing.record(&message_id, MessageStatus::Failed, None, &batch.sent_by));
                return Ok(outcome);
            }
            Err(err) => return Err(anyhow::Error::new(err)),
        }
    }
}

/// Takes the recipient for this invocation; false when it is done or
/// another worker holds it.
async fn claim_recipient(
    state: &MailState,
    pk: &str,
    sk: &str,
    recipient: &QueuedRecipient,
    claim: &str,
) -> anyhow::Result<bool> {
    let now = now_epoch();
    let update = Update::new(
        pk,
        sk,
        "SET #type = :type, #index = :index, email = :email, #status = :sending, #claim = :claim, claimedAt = :now, updatedAt = :at",
    )
    .condition("attribute_not_exists(PK) OR (#status = :sending AND claimedAt < :stale)")
    .name("#type", "type")
    .name("#index", "index")
    .name("#status", "status")
    .name("#claim", "claim")
    .value(":type", s(RECIPIENT_TYPE))
    .value(":index", n(recipient.index.into()))
    .value(":email", s(recipient.email.as_str()))
    .value(":sending", s("sending"))
    .value(":claim", s(claim))
    .value(":now", n(now))
    .value(":stale", n(now - CLAIM_LEASE_SECS))
    .value(":at", s(now_rfc3339()));
    match state.store.apply_update(update).await {
        Ok(()) => Ok(true),
        Err(shared::store::StoreError::ConditionFailed) => Ok(false),
        Err(err) => Err(err).context("claiming a recipient"),
    }
}

/// Gives a claim back by deleting it while it is still `claim` (best
/// effort: otherwise the lease runs out). The outbox worker's too.
pub(crate) async fn release(store: &shared::store::Store, pk: &str, sk: &str, claim: &str) {
    let result = async {
        let tx = store.transact_delete(pk, sk, Some("claim = :claim"), &[(":claim", s(claim))])?;
        store.transact(Transaction::from(vec![tx])).await
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(error = ?err, "could not release a claim; its lease will run out");
    }
}

/// Records the outcome, the message and the send's counter together, only
/// while the claim is still ours.
async fn record(
    state: &MailState,
    batch: &SendBatch,
    pk: &str,
    sk: &str,
    claim: &str,
    outcome: Outcome,
) -> anyhow::Result<()> {
    let store = &state.store;
    let status = match outcome.status {
        RecipientStatus::Sent => "sent",
        RecipientStatus::Suppressed => "suppressed",
        RecipientStatus::Failed => "failed",
        RecipientStatus::Sending => anyhow::bail!("a recipient cannot end as sending"),
    };
    let mut set = vec!["#status = :status", "updatedAt = :at"];
    if outcome.message.is_some() {
        set.push("messageId = :message");
    }
    if outcome.errors.is_some() {
        set.push("#errors = :errors");
    }
    let expression = format!("SET {} REMOVE #claim, claimedAt", set.join(", "));
    let mut update = Update::new(pk, sk, expression)
        .condition("#claim = :claim")
        .name("#status", "status")
        .name("#claim", "claim")
        .value(":status", s(status))
        .value(":claim", s(claim))
        .value(":at", s(now_rfc3339()));
    if let Some(message) = &outcome.message {
        update = update.value(":message", s(message.id.as_str()));
    }
    if let Some(errors) = &outcome.errors {
        update = update
            .name("#errors", "errors")
            .value(":errors", shared::store::to_value(errors)?);
    }
    let mut tx = Transaction::new();
    tx.push(store.transact_update(update)?).named("recipient");
    if let Some(message) = &outcome.message {
        tx.push(store.transact_put(message, Some("attribute_not_exists(PK)"))?);
    }
    let counter = Update::new(sends_pk(&batch.org_id), &batch.send_id, "ADD #counter :one")
        .condition("attribute_exists(PK)")
        .name("#counter", status)
        .value(":one", n(1));
    tx.push(store.transact_update(counter)?).named("send");
    match store.transact(tx).await {
        Ok(()) => Ok(()),
        Err(err) if err.condition_failed("recipient") => {
            tracing::warn!(send_id = %batch.send_id, "another worker took this recipient over");
            Ok(())
        }
        Err(err) => {
            if let Some(message) = &outcome.message {
                tracing::error!(error = ?err, ses_message_id = ?message.ses_message_id, "a recipient's outcome could not be recorded");
            }
            Err(err).context("recording a recipient's outcome")
        }
    }
}
