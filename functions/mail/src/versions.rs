//! Versions: submit freezes the draft into version N (an immutable
//! snapshot with its content hash) and opens its review under the org's
//! approval policy as it is at that moment; the history lists them.

use axum::extract::{Path, State};
use serde::Serialize;
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission};
use shared::domain::now_rfc3339;
use shared::http::{
    ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
    StepContext as _,
};
use shared::mail::render;
use shared::store::{Index, PartitionQuery, Store, Transaction};
use utoipa::ToSchema;

use crate::MailState;
use crate::access;
use crate::model::{
    Content, Decision, Policy, TemplateStatus, VERSION_SK_PREFIX, VERSION_TYPE, VersionRecord,
    VersionStatus, reviews_partition, version_key, versions_pk,
};
use crate::review;
use crate::templates;

/// A version as the API shows it: its frozen content, its review and each decision.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    pub template_id: String,
    #[schema(example = 1)]
    pub number: u32,
    pub status: VersionStatus,
    #[serde(flatten)]
    pub content: Content,
    /// SHA-256 of the frozen content.
    pub content_hash: String,
    /// `user:<id>` or `apikey:<prefix>`.
    pub submitted_by: String,
    pub submitted_at: String,
    /// The policy the version is reviewed under, as it was when submitted.
    pub policy: Policy,
    /// The step (0-based) awaiting decisions, while in review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_step: Option<usize>,
    pub decisions: Vec<Decision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated_by: Option<String>,
}

impl From<VersionRecord> for VersionView {
    fn from(record: VersionRecord) -> Self {
        Self {
            template_id: record.template_id,
            number: record.number,
            status: record.status,
            content: record.content,
            content_hash: record.content_hash,
            submitted_by: record.submitted_by,
            submitted_at: record.submitted_at,
            policy: record.policy,
            current_step: record.current_step,
            decisions: record.decisions,
            decided_at: record.decided_at,
            activated_at: record.activated_at,
            activated_by: record.activated_by,
        }
    }
}

pub(crate) async fn load(
    store: &Store,
    org_id: &str,
    template_id: &str,
    number: u32,
) -> ApiResult<VersionRecord> {
    let (pk, sk) = version_key(org_id, template_id, number);
    store
        .get(&pk, &sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no such version"))
}

/// What a preview or a test send renders: version `number` as frozen, or
/// the draft with its images resolved now.
pub(crate) async fn content_to_render(
    state: &MailState,
    org_id: &str,
    template_id: &str,
    draft: Content,
    number: Option<u32>,
) -> ApiResult<Content> {
    match number {
        Some(number) => Ok(load(&state.store, org_id, template_id, number)
            .await?
            .content),
        None => {
            let mut draft = draft;
            draft
                .link_images(&state.store, state.public_media_url.as_deref(), org_id)
                .await
                .context("resolving the draft's images")?;
            Ok(draft)
        }
    }
}

/// What blocks a submit: variables used but not declared, and anything
/// that does not render with the schema's sample data (per field).
fn check_submittable(content: &Content) -> ApiResult<()> {
    let source = content.source();
    let mut problems = render::undeclared(&source, &content.variables);
    if problems.is_empty() {
        let sample = render::sample(&content.variables);
        let bound = render::bind(&content.variables, &sample).map_err(|fields| {
            ApiError::validation("the schema's defaults do not fit their types", fields)
        })?;
        if let Err(errors) = render::render(&source, &bound) {
            for problem in errors {
                let place = match (problem.line, problem.column) {
                    (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
                    (Some(line), None) => format!(" (line {line})"),
                    _ => String::new(),
                };
                problems.add(problem.part.field(), format!("{}{place}", problem.message));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(
            "the draft cannot be submitted; see error.fields",
            problems,
        ))
    }
}

/// Freezes the draft into the next version and opens its review. Needs
/// `template:write`. A policy without steps approves (and activates) it at once.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/templates/{templateId}/submit",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
    ),
    responses(
        (status = 201, description = "The new version, in review (or approved when the policy has no steps)", body = Envelope<VersionView>),
        (status = 403, description = "Without template:write", body = ErrorEnvelope),
        (status = 409, description = "A version is in review already, nothing changed since the last version, the template is archived, or it changed meanwhile", body = ErrorEnvelope),
        (status = 422, description = "The draft uses an undeclared variable or does not render; error.fields names subject, body or text", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn submit_template(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<VersionView>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateWrite).await?;
    let template = templates::load(&state.store, &org_id, &template_id).await?;
    if template.status == TemplateStatus::Archived {
        return Err(ApiError::conflict("the template is archived"));
    }
    if let Some(number) = template.in_review_version {
        return Err(ApiError::conflict(format!(
            "version {number} is in review; withdraw it or wait for its decision"
        )));
    }
    if !template.changed_since_version {
        return Err(ApiError::conflict(format!(
            "nothing changed since version {}",
            template.latest_version
        )));
    }
    // The version freezes the images' URLs with the rest of its content.
    let mut content = template.content.clone();
    content
        .link_images(&state.store, state.public_media_url.as_deref(), &org_id)
        .await
        .context("resolving the draft's images")?;
    check_submittable(&content)?;
    let policy = crate::policy::current(&state.store, &org_id).await?;
    let actor = caller.actor();
    let number = template.latest_version + 1;
    let (pk, sk) = version_key(&org_id, &template_id, number);
    let now = now_rfc3339();
    let mut ineligible = template.edited_by.clone();
    if let Some(user) = caller.user()
        && !ineligible.contains(&user.user_id)
    {
        ineligible.push(user.user_id.clone());
    }
    let version = VersionRecord {
        pk,
        sk,
        item_type: VERSION_TYPE.to_owned(),
        gsi1pk: Some(reviews_partition(&org_id)),
        gsi1sk: Some(format!("{now}#{template_id}#{number:06}")),
        org_id: org_id.clone(),
        template_id: template_id.clone(),
        number,
        content_hash: render::content_hash(&content.source(), &content.variables),
        content,
        status: VersionStatus::InReview,
        submitted_by: actor.to_string(),
        submitted_at: now.clone(),
        ineligible,
        current_step: review::next_required_step(&policy, 0),
        policy,
        decisions: Vec::new(),
        decided_at: None,
        activated_at: None,
        activated_by: None,
        version: 1,
    };
    let mut next_template = template.clone();
    next_template.latest_version = number;
    next_template.in_review_version = Some(number);
    next_template.changed_since_version = false;
    next_template.edited_by.clear();
    next_template.version = template.version + 1;
    next_template.updated_at = now;

    let scope = AuditScope::Org(org_id.clone());
    let submitted = AuditEvent::new(&scope, &actor, AuditAction::TemplateSubmitted)
        .target(format!("template:{template_id}"))
        .details(serde_json::json!({ "version": number, "contentHash": version.content_hash }));
    let mut tx = Transaction::new();
    let mut version = version;
    let previous = if version.current_step.is_none() {
        // No step to pass: approved as submitted.
        review::conclude(
            &state.store,
            &mut next_template,
            &mut version,
            &actor.to_string(),
        )
        .await?
    } else {
        None
    };
    next_template.derive_status();
    tx.push(
        state
            .store
            .transact_put(&version, Some("attribute_not_exists(PK)"))?,
    )
    .named("version");
    tx.push(
        state
            .store
            .transact_put_if_version(&next_template, template.version)?,
    )
    .named("template");
    tx.push(submitted.transact_item(&state.store)?);
    review::push_conclusion(&state.store, &mut tx, &scope, &actor, &version, previous)?;
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("template") || err.condition_failed("version") => {
            return Err(ApiError::conflict(
                "the template changed meanwhile; try again",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(template_id = %template_id, version = number, "template submitted");
    if let Some(step) = version.current_step {
        review::notify_step(&state, &version, step).await;
    }
    Ok(ApiResponse::created(version.into()))
}

/// The versions of a template, newest first, each with its decisions.
/// Needs `template:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/templates/{templateId}/versions",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
        PageParams,
    ),
    responses(
        (status = 200, body = Envelope<Vec<VersionView>>),
        (status = 403, description = "Without template:read", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn list_versions(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id)): Path<(String, String)>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<VersionView>>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateRead).await?;
    templates::load(&state.store, &org_id, &template_id).await?;
    let query = PartitionQuery {
        index: Index::Table,
        partition: versions_pk(&org_id, &template_id),
        sort_prefix: Some(VERSION_SK_PREFIX.to_owned()),
        ascending: false,
    };
    let limit = page.limit();
    let found = state
        .store
        .query_page::<VersionRecord>(&query, limit, page.cursor())
        .await?;
    let views = found.items.into_iter().map(VersionView::from).collect();
    Ok(ApiResponse::ok(views).paginated(found.next_cursor, limit))
}

/// One version. Needs `template:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/templates/{templateId}/versions/{n}",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
        ("n" = u32, Path, description = "The version number", minimum = 1),
    ),
    responses(
        (status = 200, body = Envelope<VersionView>),
        (status = 403, description = "Without template:read", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn get_version(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id, number)): Path<(String, String, String)>,
) -> ApiResult<ApiResponse<VersionView>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateRead).await?;
    let number = parse_number(&number)?;
    let version = load(&state.store, &org_id, &template_id, number).await?;
    Ok(ApiResponse::ok(version.into()))
}

/// A version number from the path; anything else names no version.
pub(crate) fn parse_number(raw: &str) -> ApiResult<u32> {
    raw.parse::<u32>()
        .ok()
        .filter(|n| (1..=999_999).contains(n))
        .ok_or_else(|| ApiError::not_found("no such version"))
}
