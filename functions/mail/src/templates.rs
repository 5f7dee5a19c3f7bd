//! Templates: create, list (status, category, tag; cursor pages), read,
//! edit the draft (If-Match), archive. Needs `template:read` to see and
//! `template:write` to change.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission};
use shared::domain::{new_id, now_rfc3339};
use shared::http::precondition::{etag, if_match};
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, FieldErrors,
    PageParams, Problems,
};
use shared::mail::render::{self, BodyFormat, Variable};
use shared::store::{Index, PartitionQuery, QueryRefinement, Store, Transaction, Value};
use utoipa::{IntoParams, ToSchema};

use crate::MailState;
use crate::access;
use crate::model::{
    Category, Content, TEMPLATE_SK_PREFIX, TEMPLATE_TYPE, TemplateRecord, TemplateStatus, org_pk,
    template_key,
};

const MAX_NAME_CHARS: usize = 200;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 40;
/// Body and text together stay far below DynamoDB's 400 KB item.
const MAX_BODY_BYTES: usize = 100 * 1024;
const MAX_TEXT_BYTES: usize = 50 * 1024;
const MAX_SUBJECT_CHARS: usize = 500;

/// A template as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    #[schema(example = "01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub id: String,
    pub org_id: String,
    #[serde(flatten)]
    pub content: Content,
    pub status: TemplateStatus,
    /// The version `send` uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_review_version: Option<u32>,
    pub latest_version: u32,
    /// Whether the draft differs from the latest version.
    pub changed_since_version: bool,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<TemplateRecord> for TemplateView {
    fn from(record: TemplateRecord) -> Self {
        Self {
            id: record.id,
            org_id: record.org_id,
            content: record.content,
            status: record.status,
            active_version: record.active_version,
            in_review_version: record.in_review_version,
            latest_version: record.latest_version,
            changed_since_version: record.changed_since_version,
            created_by: record.created_by,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTemplateRequest {
    #[schema(example = "Order shipped")]
    name: String,
    category: Category,
    #[serde(default)]
    tags: Vec<String>,
    #[schema(example = "Your order {{ orderNumber }} is on its way")]
    subject: String,
    format: BodyFormat,
    #[schema(example = "<p>Hi {{ firstName }}, order {{ orderNumber }} ships today.</p>")]
    body: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    variables: Vec<Variable>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTemplateRequest {
    name: Option<String>,
    category: Option<Category>,
    tags: Option<Vec<String>>,
    subject: Option<String>,
    format: Option<BodyFormat>,
    body: Option<String>,
    /// A text part, or `null` to generate it from the HTML.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    text: Option<Option<String>>,
    variables: Option<Vec<Variable>>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Checks every field of a draft; all problems at once.
fn check_content(content: &mut Content) -> ApiResult<()> {
    let mut problems = Problems::default();
    match shared::domain::plain_text(&content.name, MAX_NAME_CHARS) {
        Ok(name) => content.name = name,
        Err(message) => problems.add("name", message),
    }
    if content.tags.len() > MAX_TAGS {
        problems.add("tags", format!("at most {MAX_TAGS} tags"));
    }
    let mut tags = Vec::new();
    for (i, tag) in content.tags.iter().enumerate() {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty()
            || tag.chars().count() > MAX_TAG_CHARS
            || !tag
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        {
            problems.add(
                format!("tags[{i}]"),
                format!("1 to {MAX_TAG_CHARS} letters, digits, spaces, - or _"),
            );
        } else if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    content.tags = tags;
    if content.subject.trim().is_empty() {
        problems.add("subject", "is required");
    } else if content.subject.chars().count() > MAX_SUBJECT_CHARS
        || content.subject.contains(['\r', '\n'])
    {
        problems.add(
            "subject",
            format!("one line of at most {MAX_SUBJECT_CHARS} characters"),
        );
    }
    if content.body.trim().is_empty() {
        problems.add("body", "is required");
    } else if content.body.len() > MAX_BODY_BYTES {
        problems.add("body", format!("at most {} KiB", MAX_BODY_BYTES / 1024));
    }
    if let Some(text) = &content.text {
        if text.len() > MAX_TEXT_BYTES {
            problems.add("text", format!("at most {} KiB", MAX_TEXT_BYTES / 1024));
        }
        if text.trim().is_empty() {
            content.text = None;
        }
    }
    for (field, messages) in FieldErrors::from(render::check_schema(&content.variables)) {
        for message in messages {
            problems.add(field.as_str(), message);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(
            "the template has invalid fields",
            problems,
        ))
    }
}

/// The template `template_id` of the org, or 404.
pub(crate) async fn load(
    store: &Store,
    org_id: &str,
    template_id: &str,
) -> ApiResult<TemplateRecord> {
    let (pk, sk) = template_key(org_id, template_id);
    store
        .get(&pk, &sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no such template"))
}

/// Creates a template as a draft. Needs `template:write`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/templates",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id")),
    request_body = CreateTemplateRequest,
    responses(
        (status = 201, description = "The template, a draft; the ETag header is its version", body = Envelope<TemplateView>),
        (status = 403, description = "Without template:write", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn create_template(
    State(state): State<MailState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiJson(request): ApiJson<CreateTemplateRequest>,
) -> ApiResult<ApiResponse<TemplateView>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateWrite).await?;
    let mut content = Content {
        name: request.name,
        category: request.category,
        tags: request.tags,
        subject: request.subject,
        format: request.format,
        body: request.body,
        text: request.text,
        variables: request.variables,
        assets: Default::default(),
    };
    check_content(&mut content)?;
    let id = new_id();
    let (pk, sk) = template_key(&org_id, &id);
    let actor = caller.actor();
    let now = now_rfc3339();
    let record = TemplateRecord {
        pk,
        sk,
        item_type: TEMPLATE_TYPE.to_owned(),
        id,
        org_id: org_id.clone(),
        content,
        status: TemplateStatus::Draft,
        active_version: None,
        in_review_version: None,
        latest_version: 0,
        changed_since_version: true,
        edited_by: caller
            .user()
            .map(|p| p.user_id.clone())
            .into_iter()
            .collect(),
        created_by: actor.to_string(),
        created_at: now.clone(),
        updated_at: now,
        version: 1,
    };
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &actor,
        AuditAction::TemplateCreated,
    )
    .target(format!("template:{}", record.id))
    .details(serde_json::json!({ "name": record.content.name }));
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put(&record, Some("attribute_not_exists(PK)"))?,
    );
    tx.push(event.transact_item(&state.store)?);
    state.store.transact(tx).await?;
    tracing::info!(template_id = %record.id, "template created");
    let version = record.version;
    Ok(ApiResponse::created(record.into()).header(header::ETAG, etag(version)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateFilter {
    /// Only templates in this status (archived ones are listed only when asked for).
    status: Option<TemplateStatus>,
    category: Option<Category>,
    /// Only templates with this tag.
    tag: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "shared::http::page_limit")]
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `pagination.nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The org's templates, newest first. Needs `template:read`.
///
/// One Query of the org's mail partition; the filters are a FilterExpression,
/// so a page may hold fewer than `limit` templates and still have a next one.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/templates",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id"), TemplateFilter),
    responses(
        (status = 200, body = Envelope<Vec<TemplateView>>),
        (status = 403, description = "Without template:read", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn list_templates(
    State(state): State<MailState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(filter): ApiQuery<TemplateFilter>,
) -> ApiResult<ApiResponse<Vec<TemplateView>>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateRead).await?;
    let page_params = PageParams {
        limit: filter.limit,
        cursor: filter.cursor.clone(),
    };
    let limit = page_params.limit();
    let mut refinement = QueryRefinement::default();
    let mut conditions = vec!["#type = :type".to_owned()];
    refinement.names.push(("#type".into(), "type".into()));
    refinement
        .values
        .push((":type".into(), Value::S(TEMPLATE_TYPE.into())));
    refinement.names.push(("#status".into(), "status".into()));
    match filter.status {
        Some(status) => {
            conditions.push("#status = :status".into());
            refinement
                .values
                .push((":status".into(), Value::S(status.as_str().into())));
        }
        None => {
            conditions.push("#status <> :archived".into());
            refinement
                .values
                .push((":archived".into(), Value::S("archived".into())));
        }
    }
    if filter.category.is_some() || filter.tag.is_some() {
        refinement.names.push(("#content".into(), "content".into()));
    }
    if let Some(category) = filter.category {
        conditions.push("#content.#category = :category".into());
        refinement
            .names
            .push(("#category".into(), "category".into()));
        refinement
            .values
            .push((":category".into(), Value::S(category.as_str().into())));
    }
    if let Some(tag) = &filter.tag {
        conditions.push("contains(#content.#tags, :tag)".into());
        refinement.names.push(("#tags".into(), "tags".into()));
        refinement
            .values
            .push((":tag".into(), Value::S(tag.trim().to_lowercase())));
    }
    refinement.filter = Some(conditions.join(" AND "));
    let query = PartitionQuery {
        index: Index::Table,
        partition: org_pk(&org_id),
        sort_prefix: Some(TEMPLATE_SK_PREFIX.to_owned()),
        ascending: false,
    };
    let page = state
        .store
        .query_page_where::<TemplateRecord>(&query, &refinement, limit, page_params.cursor())
        .await?;
    let views = page.items.into_iter().map(TemplateView::from).collect();
    Ok(ApiResponse::ok(views).paginated(page.next_cursor, limit))
}

/// One template with its draft. Needs `template:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/templates/{templateId}",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
    ),
    responses(
        (status = 200, description = "The template; the ETag header is its version", body = Envelope<TemplateView>),
        (status = 403, description = "Without template:read", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn get_template(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<TemplateView>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateRead).await?;
    let record = load(&state.store, &org_id, &template_id).await?;
    let version = record.version;
    Ok(ApiResponse::ok(record.into()).header(header::ETAG, etag(version)))
}

/// Edits the draft. Versions already submitted never change; the next
/// submit freezes the edit. With `If-Match`, only while the template is
/// still at that ETag (else 412). Needs `template:write`.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{orgId}/templates/{templateId}",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag from GET", pattern = r#"^(\*|"[0-9]{1,19}")$"#),
    ),
    request_body = UpdateTemplateRequest,
    responses(
        (status = 200, description = "The template with its new ETag", body = Envelope<TemplateView>),
        (status = 403, description = "Without template:write", body = ErrorEnvelope),
        (status = 409, description = "The template is archived, or changed meanwhile", body = ErrorEnvelope),
        (status = 412, description = "The template changed since that ETag", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn update_template(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<UpdateTemplateRequest>,
) -> ApiResult<ApiResponse<TemplateView>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateWrite).await?;
    let expected = if_match(&headers)?;
    let current = load(&state.store, &org_id, &template_id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(stale());
    }
    if current.status == TemplateStatus::Archived {
        return Err(ApiError::conflict("the template is archived"));
    }
    let mut next = current.clone();
    let content = &mut next.content;
    if let Some(name) = request.name {
        content.name = name;
    }
    if let Some(category) = request.category {
        content.category = category;
    }
    if let Some(tags) = request.tags {
        content.tags = tags;
    }
    if let Some(subject) = request.subject {
        content.subject = subject;
    }
    if let Some(format) = request.format {
        content.format = format;
    }
    if let Some(body) = request.body {
        content.body = body;
    }
    if let Some(text) = request.text {
        content.text = text;
    }
    if let Some(variables) = request.variables {
        content.variables = variables;
    }
    check_content(content)?;
    if next.content != current.content {
        next.changed_since_version = true;
        if let Some(user) = caller.user()
            && !next.edited_by.contains(&user.user_id)
        {
            next.edited_by.push(user.user_id.clone());
        }
    }
    next.version = current.version + 1;
    next.updated_at = now_rfc3339();
    let actor = caller.actor();
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &actor,
        AuditAction::TemplateUpdated,
    )
    .target(format!("template:{}", next.id));
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put_if_version(&next, current.version)?,
    )
    .named("template");
    tx.push(event.transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("template") => {
            return Err(match expected {
                Some(_) => stale(),
                None => ApiError::conflict("the template changed meanwhile; try again"),
            });
        }
        Err(err) => return Err(err.into()),
    }
    let version = next.version;
    Ok(ApiResponse::ok(next.into()).header(header::ETAG, etag(version)))
}

fn stale() -> ApiError {
    ApiError::precondition_failed("the template changed since that ETag; fetch it again")
}

/// Archives a template: out of lists, never sent again; its versions and
/// messages stay. Needs `template:write`.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{orgId}/templates/{templateId}",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
    ),
    responses(
        (status = 204, description = "The template is archived"),
        (status = 403, description = "Without template:write", body = ErrorEnvelope),
        (status = 409, description = "The template changed meanwhile", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn archive_template(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateWrite).await?;
    let current = load(&state.store, &org_id, &template_id).await?;
    if current.status == TemplateStatus::Archived {
        return Ok(StatusCode::NO_CONTENT);
    }
    let mut next = current.clone();
    next.status = TemplateStatus::Archived;
    next.version = current.version + 1;
    next.updated_at = now_rfc3339();
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &caller.actor(),
        AuditAction::TemplateArchived,
    )
    .target(format!("template:{}", next.id));
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put_if_version(&next, current.version)?,
    );
    tx.push(event.transact_item(&state.store)?);
    state.store.transact(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}
