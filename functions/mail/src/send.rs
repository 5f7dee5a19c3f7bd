//! Sending: the active version to one recipient (`send`), any version or
//! the draft to a member (`test-send`), and the record of every message.
//!
//! A send renders, calls SES v2 `SendEmail` once, then records the message
//! with its audit entry in one transaction. With an idempotency key the
//! first request claims the key before SES is called: a retry gets the
//! recorded message, never a second email.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use lambda_http::request::RequestContext;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, OrgAccess, Permission};
use shared::domain::{Email, new_id, now_rfc3339};
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
};
use shared::idempotency::{self, Begin, Claim, IdempotencyKey};
use shared::mail::render::{self, Rendered};
use shared::mail::{RichMessage, SendFailure};
use shared::store::{Index, PartitionQuery, Transaction};
use utoipa::ToSchema;

use crate::MailState;
use crate::access;
use crate::model::{
    Category, Content, MESSAGE_TYPE, MessageRecord, MessageStatus, TemplateStatus, messages_pk,
};
use crate::suppressions;
use crate::templates;
use crate::versions;

/// A message as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    pub template_id: String,
    /// The version sent; absent for a test send of the draft.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_version: Option<u32>,
    pub recipient: String,
    pub subject: String,
    pub status: MessageStatus,
    /// A test send (subject prefixed `[TEST]`).
    pub test: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ses_message_id: Option<String>,
    pub sent_by: String,
    pub created_at: String,
}

impl From<MessageRecord> for MessageView {
    fn from(record: MessageRecord) -> Self {
        Self {
            id: record.id,
            template_id: record.template_id,
            template_version: record.template_version,
            recipient: record.recipient,
            subject: record.subject,
            status: record.status,
            test: record.test,
            ses_message_id: record.ses_message_id,
            sent_by: record.sent_by,
            created_at: record.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendRequest {
    #[schema(value_type = String, example = "ada@example.com")]
    to: String,
    /// Values of the template's variables.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    data: Option<Map<String, Value>>,
    /// A retry with the same key gets the first result; the header
    /// `Idempotency-Key` works too.
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestSendRequest {
    /// A member of the organization.
    #[schema(value_type = String, example = "ada@example.com")]
    to: String,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    data: Option<Map<String, Value>>,
    /// A version to send; without it, the draft.
    #[serde(default)]
    version: Option<u32>,
}

fn recipient(raw: &str) -> ApiResult<Email> {
    Email::parse(raw).map_err(|err| ApiError::invalid_field("to", err.to_string()))
}

fn problem_fields(problems: Vec<render::Problem>) -> shared::http::Problems {
    let mut fields = shared::http::Problems::default();
    for problem in problems {
        fields.add(problem.part.field(), problem.message);
    }
    fields
}

/// The email `content` makes with `data`, or each problem by field
/// (`data.<variable>`, or the part that does not render).
pub(crate) fn render_fields(
    content: &Content,
    data: &Map<String, Value>,
) -> Result<Rendered, shared::http::FieldErrors> {
    let bound = render::bind(&content.variables, data).map_err(shared::http::FieldErrors::from)?;
    render::render(&content.source(), &bound).map_err(|problems| problem_fields(problems).into())
}

/// The email `content` makes with `data`: 422 naming each variable that
/// does not fit, or each part that does not render.
pub(crate) fn render_for(content: &Content, data: &Map<String, Value>) -> ApiResult<Rendered> {
    let bound = render::bind(&content.variables, data)
        .map_err(|fields| ApiError::validation("the data does not fit the template", fields))?;
    render::render(&content.source(), &bound).map_err(|problems| {
        ApiError::validation(
            "the template does not render with this data",
            problem_fields(problems),
        )
    })
}

/// SES tag values allow letters, digits, `_` and `-`.
pub(crate) fn tag(name: &str, value: &str) -> (String, String) {
    let value: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect();
    (name.to_owned(), value)
}

fn send_failure(err: SendFailure) -> ApiError {
    match err {
        SendFailure::Rejected(reason) => {
            ApiError::invalid_field("to", format!("SES refused the message: {reason}"))
        }
        other => ApiError::unavailable(other),
    }
}

/// One email on its way: what is sent and recorded.
pub(crate) struct Outgoing<'a> {
    pub org_id: &'a str,
    pub template_id: &'a str,
    pub version: Option<u32>,
    /// The bulk send it belongs to.
    pub send_id: Option<&'a str>,
    pub to: Email,
    pub rendered: Rendered,
    pub test: bool,
    /// The one-click unsubscribe URL: marketing mail carries it as headers.
    pub unsubscribe_url: Option<String>,
}

impl Outgoing<'_> {
    /// The SES message: tags name the org, template, version, send and
    /// message, so SES's events about it find their way back.
    pub(crate) fn message(&self, message_id: &str) -> RichMessage {
        let mut tags = vec![
            tag("org", self.org_id),
            tag("template", self.template_id),
            tag("message", message_id),
        ];
        if let Some(version) = self.version {
            tags.push(tag("version", &version.to_string()));
        }
        if let Some(send_id) = self.send_id {
            tags.push(tag("send", send_id));
        }
        RichMessage {
            to: self.to.as_str().to_owned(),
            subject: self.rendered.subject.clone(),
            html: self.rendered.html.clone(),
            text: self.rendered.text.clone(),
            tags,
            headers: self
                .unsubscribe_url
                .as_deref()
                .map(suppressions::unsubscribe_headers)
                .unwrap_or_default(),
        }
    }

    /// The record of this message with `status`.
    pub(crate) fn record(
        &self,
        message_id: &str,
        status: MessageStatus,
        ses_message_id: Option<String>,
        sent_by: &str,
    ) -> MessageRecord {
        MessageRecord {
            pk: messages_pk(self.org_id),
            sk: message_id.to_owned(),
            item_type: MESSAGE_TYPE.to_owned(),
            id: message_id.to_owned(),
            org_id: self.org_id.to_owned(),
            template_id: self.template_id.to_owned(),
            template_version: self.version,
            recipient: self.to.as_str().to_owned(),
            subject: self.rendered.subject.clone(),
            status,
            test: self.test,
            ses_message_id,
            sent_by: sent_by.to_owned(),
            created_at: now_rfc3339(),
        }
    }
}

/// The unsubscribe URL a message of `category` carries: marketing only.
pub(crate) fn unsubscribe_url_for(
    state: &MailState,
    category: Category,
    base: Option<&str>,
    org_id: &str,
    to: &Email,
) -> Option<String> {
    match (category, base) {
        (Category::Marketing, Some(base)) => Some(suppressions::unsubscribe_url(
            &state.signing,
            base,
            org_id,
            to.as_str(),
        )),
        _ => None,
    }
}

/// Calls SES once (unless the org suppressed the address: then the
/// message is recorded as `suppressed` and SES is not called), then
/// records the message and its audit entry together. An idempotency claim
/// is released when SES took nothing (a retry may send), completed with
/// the message once it is recorded, and otherwise kept: after SES took the
/// message a retry must not send it again.
async fn deliver(
    state: &MailState,
    caller: &Caller,
    out: Outgoing<'_>,
    claim: Option<Claim>,
) -> ApiResult<MessageView> {
    let id = new_id();
    let suppressed = suppressions::is_suppressed(&state.store, out.org_id, out.to.as_str()).await?;
    let (status, ses_id) = if suppressed {
        (MessageStatus::Suppressed, None)
    } else {
        match state.mailer.send_rich(out.message(&id)).await {
            Ok(ses_id) => (MessageStatus::Sent, Some(ses_id)),
            Err(err) => {
                if let Some(claim) = claim
                    && let Err(release) = idempotency::release(&state.store, claim).await
                {
                    tracing::error!(error = ?release, "could not release an idempotency key");
                }
                return Err(send_failure(err));
            }
        }
    };
    let actor = caller.actor();
    let record = out.record(&id, status, ses_id, &actor.to_string());
    let action = if out.test {
        AuditAction::MailTestSent
    } else {
        AuditAction::MailSent
    };
    let event = AuditEvent::new(&AuditScope::Org(out.org_id.to_owned()), &actor, action)
        .target(format!("template:{}", out.template_id))
        .details(
            serde_json::json!({ "message": record.id, "version": out.version, "status": status }),
        );
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put(&record, Some("attribute_not_exists(PK)"))?,
    );
    tx.push(event.transact_item(&state.store)?);
    state
        .store
        .transact(tx)
        .await
        .inspect_err(|err| tracing::error!(error = ?err, ses_message_id = ?record.ses_message_id, "SES took a message that could not be recorded"))?;
    tracing::info!(message_id = %record.id, template_id = %out.template_id, ?status, "email handled");
    let view = MessageView::from(record);
    if let Some(claim) = claim {
        let data = serde_json::to_value(&view).map_err(ApiError::internal)?;
        idempotency::complete(&state.store, claim, &data).await?;
    }
    Ok(view)
}

/// The version sends use: 409 when the template is archived or has none.
pub(crate) async fn active_version(
    store: &shared::store::Store,
    org_id: &str,
    template_id: &str,
) -> ApiResult<crate::model::VersionRecord> {
    let template = templates::load(store, org_id, template_id).await?;
    if template.status == TemplateStatus::Archived {
        return Err(ApiError::conflict("the template is archived"));
    }
    let number = template
        .active_version
        .ok_or_else(|| ApiError::conflict("the template has no active version yet"))?;
    versions::load(store, org_id, template_id, number).await
}

/// Sends the active version to one recipient, synchronously. Needs
/// `template:send`. A retry with the same idempotency key returns the
/// first message (`Idempotent-Replayed: true`) and sends nothing.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/templates/{templateId}/send",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first result"),
    ),
    request_body = SendRequest,
    responses(
        (status = 200, description = "The message as recorded: `sent`, or `suppressed` (the org suppressed the address; SES was not called)", body = Envelope<MessageView>),
        (status = 403, description = "Without template:send", body = ErrorEnvelope),
        (status = 409, description = "No active version, the template is archived, or the same key is still being sent", body = ErrorEnvelope),
        (status = 422, description = "The address, or data that does not fit the schema (error.fields names data.<variable>)", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn send_template(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id)): Path<(String, String)>,
    IdempotencyKey(header_key): IdempotencyKey,
    context: Option<Extension<RequestContext>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<SendRequest>,
) -> ApiResult<ApiResponse<Value>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateSend).await?;
    let to = recipient(&request.to)?;
    let data = request.data.unwrap_or_default();
    let version = active_version(&state.store, &org_id, &template_id).await?;
    let number = version.number;
    let rendered = render_for(&version.content, &data)?;
    let key = request
        .idempotency_key
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .or(header_key);
    let claim = match &key {
        Some(key) => {
            if key.len() > 255 {
                return Err(ApiError::invalid_field(
                    "idempotencyKey",
                    "at most 255 characters",
                ));
            }
            let scope = format!("mail-send:{org_id}:{template_id}");
            let fingerprint = serde_json::json!({ "to": to.as_str(), "data": data }).to_string();
            match idempotency::begin(&state.store, &scope, key, &fingerprint).await? {
                Begin::Replay(stored) => return Ok(idempotency::replayed(stored)),
                Begin::Fresh(claim) => Some(claim),
            }
        }
        None => None,
    };
    let base = suppressions::public_base(
        state.public_api_url.as_deref(),
        context.as_deref(),
        &headers,
    );
    let unsubscribe_url = unsubscribe_url_for(
        &state,
        version.content.category,
        base.as_deref(),
        &org_id,
        &to,
    );
    let outgoing = Outgoing {
        org_id: &org_id,
        template_id: &template_id,
        version: Some(number),
        send_id: None,
        to,
        rendered,
        test: false,
        unsubscribe_url,
    };
    let message = deliver(&state, &caller, outgoing, claim).await?;
    let data = serde_json::to_value(&message).map_err(ApiError::internal)?;
    Ok(ApiResponse::ok(data))
}

fn may_test_send(access: &OrgAccess) -> ApiResult<()> {
    let allowed = [
        Permission::TemplateWrite,
        Permission::TemplateApprove,
        Permission::TemplateSend,
    ]
    .iter()
    .any(|p| access.permissions.contains(*p));
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "test sends need template:write, template:approve or template:send",
        ))
    }
}

/// Sends any version, or the draft, to a member of the organization, with
/// `[TEST]` before the subject. Editors, approvers and senders may.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/templates/{templateId}/test-send",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
    ),
    request_body = TestSendRequest,
    responses(
        (status = 200, description = "The test message as recorded", body = Envelope<MessageView>),
        (status = 403, description = "Without template:write, template:approve or template:send", body = ErrorEnvelope),
        (status = 422, description = "The address is no member's, or the data does not fit", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn test_send_template(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<TestSendRequest>,
) -> ApiResult<ApiResponse<MessageView>> {
    let access = caller.access(&state.store, &org_id).await?;
    may_test_send(&access)?;
    let to = recipient(&request.to)?;
    let template = templates::load(&state.store, &org_id, &template_id).await?;
    let members = crate::review::members(&state.store, &org_id).await?;
    if !members
        .iter()
        .any(|m| m.email.eq_ignore_ascii_case(to.as_str()))
    {
        return Err(ApiError::invalid_field(
            "to",
            "test sends go to members of the organization only",
        ));
    }
    let content = versions::content_to_render(
        &state,
        &org_id,
        &template_id,
        template.content,
        request.version,
    )
    .await?;
    let data = request
        .data
        .unwrap_or_else(|| render::sample(&content.variables));
    let mut rendered = render_for(&content, &data)?;
    rendered.subject = format!("[TEST] {}", rendered.subject);
    let outgoing = Outgoing {
        org_id: &org_id,
        template_id: &template_id,
        version: request.version,
        send_id: None,
        to,
        rendered,
        test: true,
        unsubscribe_url: None,
    };
    Ok(ApiResponse::ok(
        deliver(&state, &caller, outgoing, None).await?,
    ))
}

/// Every message sent, newest first. Needs `template:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/messages",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id"), PageParams),
    responses(
        (status = 200, body = Envelope<Vec<MessageView>>),
        (status = 403, description = "Without template:read", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn list_messages(
    State(state): State<MailState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<MessageView>>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateRead).await?;
    let query = PartitionQuery {
        index: Index::Table,
        partition: messages_pk(&org_id),
        sort_prefix: None,
        ascending: false,
    };
    let limit = page.limit();
    let found = state
        .store
        .query_page::<MessageRecord>(&query, limit, page.cursor())
        .await?;
    let views = found.items.into_iter().map(MessageView::from).collect();
    Ok(ApiResponse::ok(views).paginated(found.next_cursor, limit))
}
