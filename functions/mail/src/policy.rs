//! The organization's approval policy: ordered steps, each with its
//! approvers (users and/or a capability role), a rule and whether it is
//! required. A version is reviewed under the policy as it was when it was
//! submitted; changing the policy never changes a review under way.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::membership;
use shared::auth::{Caller, Permission};
use shared::domain::now_rfc3339;
use shared::http::precondition::{etag, if_match};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems};
use shared::store::{Store, Transaction};

use crate::MailState;
use crate::access;
use crate::model::{POLICY_TYPE, Policy, PolicyRecord, Rule, policy_key};

const MAX_STEPS: usize = 10;
const MAX_USERS_PER_STEP: usize = 50;

async fn stored(store: &Store, org_id: &str) -> ApiResult<Option<PolicyRecord>> {
    let (pk, sk) = policy_key(org_id);
    Ok(store.get(&pk, sk).await?)
}

/// The policy a submit freezes: the stored one, else no steps.
pub(crate) async fn current(store: &Store, org_id: &str) -> ApiResult<Policy> {
    Ok(stored(store, org_id)
        .await?
        .map(|record| record.policy)
        .unwrap_or_default())
}

/// The approval policy (no steps until one is set). Needs `template:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/approval-policy",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "The policy; the ETag header is its version (0 before one is set)", body = Envelope<Policy>),
        (status = 403, description = "Without template:read", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn get_policy(
    State(state): State<MailState>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> ApiResult<ApiResponse<Policy>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateRead).await?;
    let record = stored(&state.store, &org_id).await?;
    let version = record.as_ref().map_or(0, |r| r.version);
    let policy = match record {
        Some(record) => record.policy,
        None => current(&state.store, &org_id).await?,
    };
    Ok(ApiResponse::ok(policy).header(header::ETAG, etag(version)))
}

/// Checks the steps; each named user must be a member of the org.
async fn check(store: &Store, org_id: &str, policy: &mut Policy) -> ApiResult<()> {
    let mut problems = Problems::default();
    if policy.steps.len() > MAX_STEPS {
        problems.add("steps", format!("at most {MAX_STEPS} steps"));
    }
    for (i, step) in policy.steps.iter_mut().enumerate() {
        let field = format!("steps[{i}]");
        match shared::domain::plain_text(&step.name, 100) {
            Ok(name) => step.name = name,
            Err(message) => problems.add(format!("{field}.name"), message),
        }
        step.users.sort();
        step.users.dedup();
        if step.users.len() > MAX_USERS_PER_STEP {
            problems.add(
                format!("{field}.users"),
                format!("at most {MAX_USERS_PER_STEP} users"),
            );
        }
        if step.users.is_empty() && step.role.is_none() {
            problems.add(field.as_str(), "name users, a role, or both");
        }
        match step.rule {
            Rule::N => match step.n {
                Some(n) if n >= 1 && (step.role.is_some() || n as usize <= step.users.len()) => {}
                _ => problems.add(
                    format!("{field}.n"),
                    "with rule n: at least 1, and no more than the users named (unless a role is)",
                ),
            },
            _ if step.n.is_some() => {
                problems.add(format!("{field}.n"), "only with rule n");
            }
            _ => {}
        }
        for (j, user) in step.users.iter().enumerate() {
            if membership::find(store, org_id, user).await?.is_none() {
                problems.add(
                    format!("{field}.users[{j}]"),
                    "is not a member of the organization",
                );
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(
            "the approval policy has invalid fields",
            problems,
        ))
    }
}

/// Replaces the approval policy; versions already in review keep theirs.
/// Managers only (`org:manage`); with `If-Match`, only at that ETag.
#[utoipa::path(
    put,
    path = "/v1/orgs/{orgId}/approval-policy",
    tag = "mail",
    security(("bearer" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag from GET", pattern = r#"^(\*|"[0-9]{1,19}")$"#),
    ),
    request_body = Policy,
    responses(
        (status = 200, description = "The policy with its new ETag", body = Envelope<Policy>),
        (status = 403, description = "Not a manager (org:manage)", body = ErrorEnvelope),
        (status = 409, description = "The policy changed meanwhile", body = ErrorEnvelope),
        (status = 412, description = "The policy changed since that ETag", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn put_policy(
    State(state): State<MailState>,
    caller: Caller,
    Path(org_id): Path<String>,
    headers: HeaderMap,
    ApiJson(mut policy): ApiJson<Policy>,
) -> ApiResult<ApiResponse<Policy>> {
    access::require_manager(&state.store, &caller, &org_id).await?;
    let expected = if_match(&headers)?;
    check(&state.store, &org_id, &mut policy).await?;
    let existing = stored(&state.store, &org_id).await?;
    let current_version = existing.as_ref().map_or(0, |r| r.version);
    if expected.is_some_and(|v| v != current_version) {
        return Err(ApiError::precondition_failed(
            "the policy changed since that ETag; fetch it again",
        ));
    }
    let (pk, sk) = policy_key(&org_id);
    let actor = caller.actor();
    let record = PolicyRecord {
        pk,
        sk: sk.to_owned(),
        item_type: POLICY_TYPE.to_owned(),
        org_id: org_id.clone(),
        policy,
        updated_by: actor.to_string(),
        updated_at: now_rfc3339(),
        version: current_version + 1,
    };
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &actor,
        AuditAction::ApprovalPolicyUpdated,
    )
    .target(format!("org:{org_id}"))
    .details(serde_json::to_value(&record.policy).unwrap_or_default());
    let mut tx = Transaction::new();
    let write = if existing.is_some() {
        state
            .store
            .transact_put_if_version(&record, current_version)?
    } else {
        state
            .store
            .transact_put(&record, Some("attribute_not_exists(PK)"))?
    };
    tx.push(write).named("policy");
    tx.push(event.transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("policy") => {
            return Err(match expected {
                Some(_) => ApiError::precondition_failed(
                    "the policy changed since that ETag; fetch it again",
                ),
                None => ApiError::conflict("the policy changed meanwhile; try again"),
            });
        }
        Err(err) => return Err(err.into()),
    }
    let version = record.version;
    Ok(ApiResponse::ok(record.policy).header(header::ETAG, etag(version)))
}
