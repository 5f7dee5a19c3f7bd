//! Bulk sends: one template's active version to many recipients, each with
//! their data. `POST /sends` checks the request, records the send and
//! queues its recipients ([`crate::worker`] sends them, paced to SES's rate);
//! `GET /sends/{sendId}` shows progress and each recipient's outcome.
//!
//! A dry run renders every recipient's data against the schema and looks
//! at the suppressions, reports per recipient, and stores and sends nothing.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use lambda_http::request::RequestContext;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission};
use shared::domain::{Email, new_id, now_rfc3339};
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, FieldErrors,
    PageParams,
};
use shared::idempotency::{self, IdempotencyKey};
use shared::store::{Index, PartitionQuery, Store, Transaction, Update, s};
use utoipa::ToSchema;

use crate::model::{
    Content, RECIPIENT_SK_PREFIX, RecipientRecord, RecipientStatus, SEND_TYPE, SendRecord,
    SendStatus, SuppressionRecord, recipients_pk, sends_pk, suppressions_pk,
};
use crate::send::{active_version, render_fields};
use crate::worker::{QueuedRecipient, RECIPIENTS_PER_MESSAGE, SendBatch};
use crate::{MailState, access, suppressions};

/// Recipients one send may have.
pub const MAX_RECIPIENTS: usize = 1000;
/// A recipient's data, as JSON, at most (keeps queue messages small).
pub const MAX_DATA_BYTES: usize = 8 * 1024;
/// SQS's limit on one SendMessageBatch, with room to spare.
const MAX_QUEUE_BATCH_BYTES: usize = 200 * 1024;

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkSendRequest {
    template_id: String,
    /// 1 to 1000 recipients.
    recipients: Vec<BulkRecipient>,
    /// Check every recipient and send nothing.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRecipient {
    #[schema(example = "ada@example.com")]
    email: String,
    /// Values of the template's variables (at most 8 KB as JSON).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    data: Option<Map<String, Value>>,
}

/// What a dry run finds for one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientVerdict {
    Valid,
    Invalid,
    Suppressed,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecipientCheck {
    pub index: u32,
    pub email: String,
    pub status: RecipientVerdict,
    /// Why the recipient is invalid: `email`, `data.<variable>`, or a part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DryRunReport {
    pub dry_run: bool,
    pub template_id: String,
    pub template_version: u32,
    pub total: u32,
    pub valid: u32,
    pub invalid: u32,
    pub suppressed: u32,
    pub recipients: Vec<RecipientCheck>,
}

/// A recipient's outcome.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecipientView {
    pub index: u32,
    pub email: String,
    pub status: RecipientStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
}

impl From<RecipientRecord> for RecipientView {
    fn from(record: RecipientRecord) -> Self {
        Self {
            index: record.index,
            email: record.email,
            status: record.status,
            message_id: record.message_id,
            errors: record.errors,
        }
    }
}

/// A bulk send and its progress.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendView {
    pub id: String,
    pub template_id: String,
    pub template_version: u32,
    pub status: SendStatus,
    pub total: u32,
    pub sent: u32,
    pub suppressed: u32,
    pub failed: u32,
    /// Recipients not handled yet.
    pub pending: u32,
    pub created_by: String,
    pub created_at: String,
    /// A page of recipients' outcomes, in recipient order (on GET).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<RecipientView>>,
}

impl From<SendRecord> for SendView {
    fn from(record: SendRecord) -> Self {
        let done = record.sent + record.suppressed + record.failed;
        let status = match record.status {
            SendStatus::Queued if done >= record.total => SendStatus::Completed,
            SendStatus::Queued if done > 0 => SendStatus::Sending,
            other => other,
        };
        Self {
            id: record.id,
            template_id: record.template_id,
            template_version: record.template_version,
            status,
            total: record.total,
            sent: record.sent,
            suppressed: record.suppressed,
            failed: record.failed,
            pending: record.total.saturating_sub(done),
            created_by: record.created_by,
            created_at: record.created_at,
            recipients: None,
        }
    }
}

fn check_shape(request: &BulkSendRequest) -> ApiResult<()> {
    let mut fields = FieldErrors::new();
    if request.recipients.is_empty() || request.recipients.len() > MAX_RECIPIENTS {
        fields.insert(
            "recipients".into(),
            vec![format!("from 1 to {MAX_RECIPIENTS} recipients")],
        );
    }
    for (index, recipient) in request.recipients.iter().enumerate() {
        let size = recipient
            .data
            .as_ref()
            .map_or(0, |data| Value::Object(data.clone()).to_string().len());
        if size > MAX_DATA_BYTES {
            fields.insert(
                format!("recipients[{index}].data"),
                vec![format!("at most {MAX_DATA_BYTES} bytes of JSON")],
            );
        }
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(
            "the recipients cannot be sent",
            fields,
        ))
    }
}

/// The suppressed addresses among `emails`, 100 per BatchGetItem.
async fn suppressed_among(
    store: &Store,
    org_id: &str,
    emails: &[&str],
) -> ApiResult<std::collections::HashSet<String>> {
    let pk = suppressions_pk(org_id);
    let mut found = std::collections::HashSet::new();
    let mut unique: Vec<&str> = emails.to_vec();
    unique.sort_unstable();
    unique.dedup();
    for chunk in unique.chunks(100) {
        let keys: Vec<(String, String)> = chunk
            .iter()
            .map(|email| (pk.clone(), (*email).to_owned()))
            .collect();
        for record in store.batch_get::<SuppressionRecord>(&keys).await? {
            found.insert(record.email);
        }
    }
    Ok(found)
}

async fn dry_run(
    state: &MailState,
    org_id: &str,
    request: &BulkSendRequest,
    number: u32,
    content: &Content,
) -> ApiResult<DryRunReport> {
    let mut checks = Vec::with_capacity(request.recipients.len());
    let empty = Map::new();
    for (index, recipient) in request.recipients.iter().enumerate() {
        let mut errors = FieldErrors::new();
        let email = Email::parse(&recipient.email);
        if let Err(err) = &email {
            errors.insert("email".into(), vec![err.to_string()]);
        }
        if let Err(fields) = render_fields(content, recipient.data.as_ref().unwrap_or(&empty)) {
            errors.extend(fields);
        }
        checks.push(RecipientCheck {
            index: index as u32,
            email: email.map_or_else(|_| recipient.email.clone(), |e| e.as_str().to_owned()),
            status: if errors.is_empty() {
                RecipientVerdict::Valid
            } else {
                RecipientVerdict::Invalid
            },
            errors: (!errors.is_empty()).then_some(errors),
        });
    }
    let valid: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == RecipientVerdict::Valid)
        .map(|c| c.email.as_str())
        .collect();
    let suppressed = suppressed_among(&state.store, org_id, &valid).await?;
    for check in &mut checks {
        if check.status == RecipientVerdict::Valid && suppressed.contains(&check.email) {
            check.status = RecipientVerdict::Suppressed;
        }
    }
    let count = |status| checks.iter().filter(|c| c.status == status).count() as u32;
    Ok(DryRunReport {
        dry_run: true,
        template_id: request.template_id.clone(),
        template_version: number,
        total: checks.len() as u32,
        valid: count(RecipientVerdict::Valid),
        invalid: count(RecipientVerdict::Invalid),
        suppressed: count(RecipientVerdict::Suppressed),
        recipients: checks,
    })
}

/// Puts the recipients on the queue, up to 10 messages and 200 KB a call.
async fn enqueue(state: &MailState, batches: Vec<SendBatch>) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
    let queue = state
        .queue
        .as_ref()
        .context("MAIL_SEND_QUEUE_URL is not set")?;
    let mut pending: Vec<SendMessageBatchRequestEntry> = Vec::new();
    let mut bytes = 0;
    let mut bodies = Vec::new();
    for (n, batch) in batches.iter().enumerate() {
        bodies.push((n, serde_json::to_string(batch)?));
    }
    let mut calls: Vec<Vec<SendMessageBatchRequestEntry>> = Vec::new();
    for (n, body) in bodies {
        if pending.len() == 10 || bytes + body.len() > MAX_QUEUE_BATCH_BYTES {
            calls.push(std::mem::take(&mut pending));
            bytes = 0;
        }
        bytes += body.len();
        pending.push(
            SendMessageBatchRequestEntry::builder()
                .id(n.to_string())
                .message_body(body)
                .build()
                .context("building a queue entry")?,
        );
    }
    if !pending.is_empty() {
        calls.push(pending);
    }
    for entries in calls {
        let output = queue
            .sqs
            .send_message_batch()
            .queue_url(&queue.url)
            .set_entries(Some(entries))
            .send()
            .await
            .context("queueing the recipients")?;
        if !output.failed().is_empty() {
            anyhow::bail!("the queue refused {} messages", output.failed().len());
        }
    }
    Ok(())
}

async fn load_send(store: &Store, org_id: &str, send_id: &str) -> ApiResult<SendRecord> {
    store
        .get(&sends_pk(org_id), send_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such send"))
}

/// Starts a bulk send of the template's active version (202 with the send
/// id), or checks it (`dryRun`: 200 with a report per recipient). Needs
/// `template:send`. With `Idempotency-Key` a retry answers with the same
/// send and queues nothing.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/sends",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first send"),
    ),
    request_body = BulkSendRequest,
    responses(
        (status = 200, description = "A dry run's report: every recipient valid, invalid (with the fields) or suppressed", body = Envelope<DryRunReport>),
        (status = 202, description = "The send, queued; GET it for progress", body = Envelope<SendView>),
        (status = 403, description = "Without template:send", body = ErrorEnvelope),
        (status = 409, description = "The template has no active version or is archived", body = ErrorEnvelope),
        (status = 422, description = "No recipients, too many, or data too large", body = ErrorEnvelope),
        (status = 503, description = "The queue did not take the recipients", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn create_send(
    State(state): State<MailState>,
    caller: Caller,
    Path(org_id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    context: Option<Extension<RequestContext>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<BulkSendRequest>,
) -> ApiResult<ApiResponse<Value>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateSend).await?;
    check_shape(&request)?;
    let version = active_version(&state.store, &org_id, &request.template_id).await?;
    let number = version.number;
    if request.dry_run {
        let report = dry_run(&state, &org_id, &request, number, &version.content).await?;
        let data = serde_json::to_value(report).map_err(ApiError::internal)?;
        return Ok(ApiResponse::ok(data));
    }
    if state.queue.is_none() {
        return Err(ApiError::unavailable(anyhow::anyhow!(
            "MAIL_SEND_QUEUE_URL is not set: bulk sends are off"
        )));
    }
    let scope = format!("mail-bulk-send:{org_id}");
    let fingerprint = serde_json::to_string(&request).map_err(ApiError::internal)?;
    if let Some(key) = &key
        && let Some(first) = idempotency::lookup(&state.store, &scope, key, &fingerprint).await?
    {
        return replay(&state, &org_id, &first).await;
    }

    let actor = caller.actor();
    let send_id = new_id();
    let record = SendRecord {
        pk: sends_pk(&org_id),
        sk: send_id.clone(),
        item_type: SEND_TYPE.to_owned(),
        id: send_id.clone(),
        org_id: org_id.clone(),
        template_id: request.template_id.clone(),
        template_version: number,
        total: request.recipients.len() as u32,
        sent: 0,
        suppressed: 0,
        failed: 0,
        status: SendStatus::Queued,
        created_by: actor.to_string(),
        created_at: now_rfc3339(),
    };
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &actor,
        AuditAction::MailBulkSendCreated,
    )
    .target(format!("template:{}", request.template_id))
    .details(serde_json::json!({ "send": send_id, "version": number, "recipients": record.total }));
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put(&record, Some("attribute_not_exists(PK)"))?,
    );
    tx.push(event.transact_item(&state.store)?);
    if let Some(key) = &key {
        let first = serde_json::json!({ "id": send_id });
        tx.push(idempotency::claim_item(
            &state.store,
            &scope,
            key,
            &fingerprint,
            &first,
        )?)
        .named("idempotency");
    }
    if let Err(err) = state.store.transact(tx).await {
        if err.condition_failed("idempotency")
            && let Some(key) = &key
            && let Some(first) =
                idempotency::lookup(&state.store, &scope, key, &fingerprint).await?
        {
            return replay(&state, &org_id, &first).await;
        }
        return Err(err.into());
    }

    let unsubscribe_base = suppressions::public_base(
        state.public_api_url.as_deref(),
        context.as_deref(),
        &headers,
    );
    let batches: Vec<SendBatch> = request
        .recipients
        .into_iter()
        .enumerate()
        .map(|(index, r)| QueuedRecipient {
            index: index as u32,
            email: r.email,
            data: r.data.unwrap_or_default(),
        })
        .collect::<Vec<_>>()
        .chunks(RECIPIENTS_PER_MESSAGE)
        .map(|chunk| SendBatch {
            org_id: org_id.clone(),
            send_id: send_id.clone(),
            template_id: request.template_id.clone(),
            version: number,
            sent_by: actor.to_string(),
            unsubscribe_base: unsubscribe_base.clone(),
            recipients: chunk.to_vec(),
        })
        .collect();
    if let Err(err) = enqueue(&state, batches).await {
        let failed = Update::new(sends_pk(&org_id), send_id.as_str(), "SET #status = :failed")
            .name("#status", "status")
            .value(":failed", s("queue_failed"));
        if let Err(mark) = state.store.apply_update(failed).await {
            tracing::error!(error = ?mark, "could not mark a send whose queueing failed");
        }
        return Err(ApiError::unavailable(err));
    }
    tracing::info!(send_id = %send_id, total = record.total, "bulk send queued");
    let data = serde_json::to_value(SendView::from(record)).map_err(ApiError::internal)?;
    Ok(ApiResponse::ok(data).with_status(StatusCode::ACCEPTED))
}

/// The send a repeated Idempotency-Key names, as it is now.
async fn replay(state: &MailState, org_id: &str, first: &Value) -> ApiResult<ApiResponse<Value>> {
    let send_id = first["id"].as_str().unwrap_or_default();
    let current = load_send(&state.store, org_id, send_id).await?;
    let data = serde_json::to_value(SendView::from(current)).map_err(ApiError::internal)?;
    Ok(idempotency::replayed(data).with_status(StatusCode::ACCEPTED))
}

/// A bulk send's progress and a page of its recipients' outcomes (in
/// recipient order; recipients not handled yet are not listed). Needs
/// `template:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/sends/{sendId}",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("sendId" = String, Path, description = "The send's id"),
        PageParams,
    ),
    responses(
        (status = 200, body = Envelope<SendView>),
        (status = 403, description = "Without template:read", body = ErrorEnvelope),
        (status = 404, description = "No such send in this organization", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn get_send(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, send_id)): Path<(String, String)>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<SendView>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateRead).await?;
    let record = load_send(&state.store, &org_id, &send_id).await?;
    let query = PartitionQuery {
        index: Index::Table,
        partition: recipients_pk(&org_id, &send_id),
        sort_prefix: Some(RECIPIENT_SK_PREFIX.to_owned()),
        ascending: true,
    };
    let limit = page.limit();
    let found = state
        .store
        .query_page::<RecipientRecord>(&query, limit, page.cursor())
        .await?;
    let mut view = SendView::from(record);
    view.recipients = Some(found.items.into_iter().map(RecipientView::from).collect());
    Ok(ApiResponse::ok(view).paginated(found.next_cursor, limit))
}
