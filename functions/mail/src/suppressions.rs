//! Suppressions: the addresses an organization no longer mails. An address
//! lands here when its owner unsubscribes with one click (RFC 8058), when
//! SES reports a permanent bounce, or when the recipient complains; every
//! send looks here first and records the message as `suppressed` without
//! calling SES.
//!
//! Marketing mail carries `List-Unsubscribe: <https://…/v1/unsubscribe/<token>>`
//! and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The token is the
//! org and the address, signed with an HMAC key derived from the platform's
//! signing key set (`SigningKeys::sign_link`): nobody can forge one for an
//! address they do not receive mail at.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use shared::audit::{Actor, AuditAction, AuditEvent, AuditScope};
use shared::auth::{Caller, Permission, SigningKeys};
use shared::domain::{Email, now_rfc3339};
use shared::http::{
    ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
};
use shared::store::{Index, PartitionQuery, Store, StoreError, Transaction};
use utoipa::{IntoParams, ToSchema};

use crate::MailState;
use crate::access;
use crate::model::{SUPPRESSION_TYPE, SuppressionReason, SuppressionRecord, suppressions_pk};

/// The purpose a link token is signed for.
const UNSUBSCRIBE: &str = "mail-unsubscribe";

/// A suppressed address as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuppressionView {
    pub email: String,
    pub reason: SuppressionReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub created_at: String,
}

impl From<SuppressionRecord> for SuppressionView {
    fn from(record: SuppressionRecord) -> Self {
        Self {
            email: record.email,
            reason: record.reason,
            message_id: record.message_id,
            created_at: record.created_at,
        }
    }
}

/// Whether `org_id` has suppressed `email` (lower case).
pub async fn is_suppressed(store: &Store, org_id: &str, email: &str) -> Result<bool, StoreError> {
    Ok(store
        .get_raw(&suppressions_pk(org_id), email)
        .await?
        .is_some())
}

/// Suppresses `email` for `org_id`, with an audit entry, in one
/// transaction. Suppressing an address twice keeps the first entry and
/// answers `false`.
pub async fn suppress(
    store: &Store,
    org_id: &str,
    email: &Email,
    reason: SuppressionReason,
    message_id: Option<String>,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let record = SuppressionRecord {
        pk: suppressions_pk(org_id),
        sk: email.as_str().to_owned(),
        item_type: SUPPRESSION_TYPE.to_owned(),
        org_id: org_id.to_owned(),
        email: email.as_str().to_owned(),
        reason,
        message_id,
        created_at: now_rfc3339(),
    };
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.to_owned()),
        actor,
        AuditAction::SuppressionAdded,
    )
    .target(format!("email:{}", email.as_str()))
    .details(serde_json::json!({ "reason": reason, "message": record.message_id }));
    let mut tx = Transaction::new();
    tx.push(store.transact_put(&record, Some("attribute_not_exists(PK)"))?)
        .named("suppression");
    tx.push(event.transact_item(store)?);
    match store.transact(tx).await {
        Ok(()) => Ok(true),
        Err(err) if err.condition_failed("suppression") => Ok(false),
        Err(err) => Err(err),
    }
}

/// The one-click unsubscribe URL of `email` for `org_id`, under `base`
/// (the API's public URL).
pub fn unsubscribe_url(tokens: &SigningKeys, base: &str, org_id: &str, email: &str) -> String {
    let token = tokens.sign_link(UNSUBSCRIBE, &format!("{org_id}\n{email}"));
    format!("{base}/v1/unsubscribe/{token}")
}

/// The headers of a marketing message (RFC 2369 and RFC 8058).
pub fn unsubscribe_headers(url: &str) -> Vec<(String, String)> {
    vec![
        ("List-Unsubscribe".to_owned(), format!("<{url}>")),
        (
            "List-Unsubscribe-Post".to_owned(),
            "List-Unsubscribe=One-Click".to_owned(),
        ),
    ]
}

/// The API's public base URL for links in emails: `PUBLIC_API_URL`, else
/// the domain API Gateway received the request on (its request context,
/// which a client cannot set), else the request's Host (the devserver).
pub fn public_base(
    configured: Option<&str>,
    context: Option<&lambda_http::request::RequestContext>,
    headers: &HeaderMap,
) -> Option<String> {
    if let Some(url) = configured {
        return Some(url.to_owned());
    }
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) = context
        && let Some(domain) = &context.domain_name
    {
        return Some(format!("https://{domain}"));
    }
    headers
        .get(axum::http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
        })
        .map(|host| format!("http://{host}"))
}

/// The suppressed addresses, newest entries by address order. Needs
/// `template:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/suppressions",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id"), PageParams),
    responses(
        (status = 200, body = Envelope<Vec<SuppressionView>>),
        (status = 403, description = "Without template:read", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn list_suppressions(
    State(state): State<MailState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<SuppressionView>>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateRead).await?;
    let query = PartitionQuery {
        index: Index::Table,
        partition: suppressions_pk(&org_id),
        sort_prefix: None,
        ascending: true,
    };
    let limit = page.limit();
    let found = state
        .store
        .query_page::<SuppressionRecord>(&query, limit, page.cursor())
        .await?;
    let views = found.items.into_iter().map(SuppressionView::from).collect();
    Ok(ApiResponse::ok(views).paginated(found.next_cursor, limit))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RemoveSuppression {
    /// The address to mail again.
    #[param(example = "ada@example.com")]
    email: String,
}

/// Mails an address again: removes one suppression. Managers only
/// (`org:manage`): it overrides the recipient's own choice or a bounce.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{orgId}/suppressions",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id"), RemoveSuppression),
    responses(
        (status = 200, description = "The suppression removed", body = Envelope<SuppressionView>),
        (status = 403, description = "Without org:manage", body = ErrorEnvelope),
        (status = 404, description = "The address is not suppressed", body = ErrorEnvelope),
        (status = 422, description = "email is not an email address", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn remove_suppression(
    State(state): State<MailState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(query): ApiQuery<RemoveSuppression>,
) -> ApiResult<ApiResponse<SuppressionView>> {
    access::require_manager(&state.store, &caller, &org_id).await?;
    let email =
        Email::parse(&query.email).map_err(|e| ApiError::invalid_field("email", e.to_string()))?;
    let pk = suppressions_pk(&org_id);
    let record: SuppressionRecord = state
        .store
        .get(&pk, email.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("this address is not suppressed"))?;
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &caller.actor(),
        AuditAction::SuppressionRemoved,
    )
    .target(format!("email:{}", email.as_str()))
    .details(serde_json::json!({ "reason": record.reason }));
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_delete(&pk, email.as_str(), Some("attribute_exists(PK)"), &[])?,
    )
    .named("suppression");
    tx.push(event.transact_item(&state.store)?);
    state.store.transact(tx).await.map_err(|err| {
        if err.condition_failed("suppression") {
            ApiError::not_found("this address is not suppressed")
        } else {
            err.into()
        }
    })?;
    Ok(ApiResponse::ok(SuppressionView::from(record)))
}

/// What a one-click unsubscribe answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unsubscribed {
    pub unsubscribed: bool,
}

/// One-click unsubscribe (RFC 8058): the mail client POSTs
/// `List-Unsubscribe=One-Click` to the URL of the `List-Unsubscribe`
/// header; the address is suppressed for the org at once. Public: the
/// signed token is the credential. The body is not read.
#[utoipa::path(
    post,
    path = "/v1/unsubscribe/{token}",
    tag = "mail",
    params(("token" = String, Path, description = "The signed token of the List-Unsubscribe URL")),
    responses(
        (status = 200, description = "The address is suppressed (also when it already was)", body = Envelope<Unsubscribed>),
        (status = 400, description = "The token is garbled or not ours", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn unsubscribe(
    State(state): State<MailState>,
    Path(token): Path<String>,
) -> ApiResult<ApiResponse<Unsubscribed>> {
    let invalid = || ApiError::bad_request("this unsubscribe link is not valid");
    let payload = state
        .signing
        .verify_link(UNSUBSCRIBE, &token)
        .ok_or_else(invalid)?;
    let (org_id, email) = payload.split_once('\n').ok_or_else(invalid)?;
    let email = Email::parse(email).map_err(|_| invalid())?;
    let added = suppress(
        &state.store,
        org_id,
        &email,
        SuppressionReason::Unsubscribed,
        None,
        &Actor::Anonymous,
    )
    .await?;
    tracing::info!(org_id, added, "one-click unsubscribe");
    Ok(ApiResponse::ok(Unsubscribed { unsubscribed: true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marketing_headers_follow_rfc_8058() {
        let headers = unsubscribe_headers("https://api.example.com/v1/unsubscribe/t");
        assert_eq!(
            headers,
            vec![
                (
                    "List-Unsubscribe".to_owned(),
                    "<https://api.example.com/v1/unsubscribe/t>".to_owned()
                ),
                (
                    "List-Unsubscribe-Post".to_owned(),
                    "List-Unsubscribe=One-Click".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn the_public_base_prefers_configuration_then_api_gateway() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:3000".parse().unwrap());
        assert_eq!(
            public_base(Some("https://api.example.com"), None, &headers).as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            public_base(None, None, &headers).as_deref(),
            Some("http://127.0.0.1:3000")
        );
        headers.insert("host", "evil.example/<x>".parse().unwrap());
        assert_eq!(public_base(None, None, &headers), None);
    }
}
