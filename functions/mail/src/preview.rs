//! Preview: renders the draft (or a version) with the given data, or the
//! schema's sample, through the same pipeline `send` uses. Never sends.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shared::auth::{Caller, Permission};
use shared::http::{ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, FieldErrors};
use shared::mail::render::{self, Problem, Rendered};
use utoipa::ToSchema;

use crate::MailState;
use crate::access;
use crate::templates;
use crate::versions;

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewRequest {
    /// Values of the variables; without it, the schema's sample.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    data: Option<serde_json::Map<String, serde_json::Value>>,
    /// A version to preview instead of the draft.
    #[serde(default)]
    version: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewView {
    /// The email, when every part renders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendered: Option<Rendered>,
    /// Why a part does not render, with line and column where known.
    pub errors: Vec<Problem>,
    /// Values that do not fit the schema, by `data.<variable>`.
    pub data_errors: FieldErrors,
    /// Variables used but not declared (they block a submit), by part.
    pub undeclared: FieldErrors,
    /// Advice that blocks nothing (unused variables, a long subject, ...).
    pub warnings: Vec<String>,
    /// Data that fits the schema: each variable's default or an example.
    #[schema(value_type = Object)]
    pub suggested_sample: serde_json::Map<String, serde_json::Value>,
}

/// Renders subject, HTML and text with the data. Needs `template:read`.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/templates/{templateId}/preview",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
    ),
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The rendered email, or what keeps it from rendering", body = Envelope<PreviewView>),
        (status = 403, description = "Without template:read", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn preview_template(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> ApiResult<ApiResponse<PreviewView>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateRead).await?;
    let template = templates::load(&state.store, &org_id, &template_id).await?;
    let content = versions::content_to_render(
        &state,
        &org_id,
        &template_id,
        template.content,
        request.version,
    )
    .await?;
    let sample = render::sample(&content.variables);
    let data = request.data.unwrap_or_else(|| sample.clone());
    let source = content.source();
    let view = match render::bind(&content.variables, &data) {
        Ok(bound) => {
            let (rendered, errors) = match render::render(&source, &bound) {
                Ok(rendered) => (Some(rendered), Vec::new()),
                Err(errors) => (None, errors),
            };
            PreviewView {
                rendered,
                errors,
                data_errors: FieldErrors::new(),
                undeclared: render::undeclared(&source, &content.variables).into(),
                warnings: render::lint(&source, &content.variables),
                suggested_sample: sample,
            }
        }
        Err(data_errors) => PreviewView {
            rendered: None,
            errors: Vec::new(),
            data_errors: data_errors.into(),
            undeclared: render::undeclared(&source, &content.variables).into(),
            warnings: render::lint(&source, &content.variables),
            suggested_sample: sample,
        },
    };
    Ok(ApiResponse::ok(view))
}
