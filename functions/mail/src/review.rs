//! Reviews: approve, reject, withdraw, activate, and the approver's inbox.
//!
//! The rules (docs/mail.md, "Approvals"):
//! - steps are decided in order; only the current step's approvers are
//!   asked (by email) and may decide it. A step that is not required never
//!   holds the version back; its approvers may decide any time in review;
//! - nobody approves their own work: the submitter and whoever edited the
//!   draft since the previous version may not approve it, unless the
//!   policy allows it. An owner may approve past the rules with a reason;
//!   that writes its own audit entry;
//! - eligibility is checked at the moment of each decision, against the
//!   caller's roles then, and each person decides a version once;
//! - all required steps passed → `approved`, and by default `active`; the
//!   version active before becomes `superseded`. A rejection (comment
//!   required) makes it `changes_requested`; the draft stays editable.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shared::audit::{Actor, AuditAction, AuditEvent, AuditScope};
use shared::auth::membership::{MEMBER_SK_PREFIX, MembershipRecord, org_pk as member_org_pk};
use shared::auth::{Caller, OrgAccess, Permission};
use shared::domain::now_rfc3339;
use shared::http::{ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{Index, PartitionQuery, Store, Transaction};
use utoipa::{IntoParams, ToSchema};

use crate::MailState;
use crate::access;
use crate::model::{
    Decision, Policy, Rule, Step, TemplateRecord, Verdict, VersionRecord, VersionStatus,
    reviews_partition,
};
use crate::templates;
use crate::versions::{self, VersionView, parse_number};

const MAX_COMMENT_CHARS: usize = 2000;

/// The first required step at or after `from`.
pub(crate) fn next_required_step(policy: &Policy, from: usize) -> Option<usize> {
    (from..policy.steps.len()).find(|i| policy.steps[*i].required)
}

/// Whether `user` may decide `step` by their standing now.
fn is_step_approver(step: &Step, user_id: &str, access: &OrgAccess) -> bool {
    step.users.iter().any(|u| u == user_id)
        || step.role.is_some_and(|role| {
            access
                .membership
                .as_ref()
                .is_some_and(|m| m.capabilities.contains(&role))
        })
}

/// The org's members, for a step's role and its notifications (one Query;
/// organizations are small).
pub(crate) async fn members(store: &Store, org_id: &str) -> ApiResult<Vec<MembershipRecord>> {
    let query = PartitionQuery {
        index: Index::Table,
        partition: member_org_pk(org_id),
        sort_prefix: Some(MEMBER_SK_PREFIX.to_owned()),
        ascending: true,
    };
    Ok(store.query_page(&query, 1000, None).await?.items)
}

/// Everyone who may approve `step` now, less those who may not approve
/// this version: (user id, email).
async fn step_approvers(
    store: &Store,
    version: &VersionRecord,
    step: &Step,
) -> ApiResult<Vec<(String, String)>> {
    let all = members(store, &version.org_id).await?;
    Ok(all
        .into_iter()
        .filter(|m| {
            m.permissions().contains(Permission::TemplateApprove)
                && (step.users.contains(&m.user_id)
                    || step.role.is_some_and(|r| m.capabilities.contains(&r)))
                && (version.policy.allow_self_approval || !version.ineligible.contains(&m.user_id))
        })
        .map(|m| (m.user_id, m.email))
        .collect())
}

/// Whether the approvals of `step` meet its rule.
async fn step_passed(store: &Store, version: &VersionRecord, index: usize) -> ApiResult<bool> {
    let step = &version.policy.steps[index];
    let approvals: BTreeSet<&str> = version
        .decisions
        .iter()
        .filter(|d| d.step == index && d.verdict == Verdict::Approved)
        .map(|d| d.user_id.as_str())
        .collect();
    Ok(match step.rule {
        Rule::Any => !approvals.is_empty(),
        Rule::N => approvals.len() >= step.n.unwrap_or(1) as usize,
        Rule::All => {
            let approvers = step_approvers(store, version, step).await?;
            !approvers.is_empty()
                && approvers
                    .iter()
                    .all(|(user, _)| approvals.contains(user.as_str()))
        }
    })
}

/// The version is approved: it leaves review and, if the policy says so,
/// becomes the active one. Returns the version it supersedes, if any.
pub(crate) async fn conclude(
    store: &Store,
    template: &mut TemplateRecord,
    version: &mut VersionRecord,
    actor: &str,
) -> ApiResult<Option<VersionRecord>> {
    version.leave_review();
    template.in_review_version = None;
    if !version.policy.activate_on_approval {
        version.status = VersionStatus::Approved;
        template.derive_status();
        return Ok(None);
    }
    activate(store, template, version, actor).await
}

/// Makes `version` the active one; returns the one it supersedes.
async fn activate(
    store: &Store,
    template: &mut TemplateRecord,
    version: &mut VersionRecord,
    actor: &str,
) -> ApiResult<Option<VersionRecord>> {
    let previous = match template.active_version {
        Some(number) if number != version.number => {
            let mut previous =
                versions::load(store, &template.org_id, &template.id, number).await?;
            previous.status = VersionStatus::Superseded;
            Some(previous)
        }
        _ => None,
    };
    version.status = VersionStatus::Active;
    version.activated_at = Some(now_rfc3339());
    version.activated_by = Some(actor.to_owned());
    template.active_version = Some(version.number);
    template.derive_status();
    Ok(previous)
}

/// The writes that record a conclusion: the superseded version, and the
/// activation's audit entry.
pub(crate) fn push_conclusion(
    store: &Store,
    tx: &mut Transaction,
    scope: &AuditScope,
    actor: &Actor,
    version: &VersionRecord,
    previous: Option<VersionRecord>,
) -> ApiResult<()> {
    if let Some(mut previous) = previous {
        let expected = previous.version;
        previous.version += 1;
        tx.push(store.transact_put_if_version(&previous, expected)?)
            .named("previous");
    }
    if version.status == VersionStatus::Active {
        let event = AuditEvent::new(scope, actor, AuditAction::TemplateVersionActivated)
            .target(format!("template:{}", version.template_id))
            .details(serde_json::json!({ "version": version.number }));
        tx.push(event.transact_item(store)?);
    }
    Ok(())
}

/// Emails the approvers of `step` that a version awaits them, through the
/// platform email queue (the outbox worker sends them). Best effort: a
/// failure is logged, the decision it follows stands.
pub(crate) async fn notify_step(state: &MailState, version: &VersionRecord, step: usize) {
    let Some(policy_step) = version.policy.steps.get(step) else {
        return;
    };
    let approvers = match step_approvers(&state.store, version, policy_step).await {
        Ok(approvers) => approvers,
        Err(err) => {
            tracing::warn!(error = ?err, "could not list the approvers to notify");
            return;
        }
    };
    let message = shared::outbox::PlatformEmail::ReviewRequested {
        template_name: version.content.name.clone(),
        version: version.number,
        step: policy_step.name.clone(),
    };
    let emails = approvers
        .into_iter()
        .map(|(_, email)| (email, message.clone()))
        .collect();
    for (_, err) in state.outbox.send_all(emails).await {
        tracing::warn!(error = ?err, org_id = %version.org_id, "could not queue an approver's email");
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApproveRequest {
    #[serde(default)]
    comment: Option<String>,
    /// Owners only: approve past the rules (own work, not this step's
    /// approver). The reason lands in the audit trail.
    #[serde(default)]
    bypass_reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectRequest {
    /// What to change; required.
    #[serde(default)]
    comment: Option<String>,
}

fn comment(raw: Option<String>, required: bool) -> ApiResult<Option<String>> {
    let text = raw.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    match text {
        None if required => Err(ApiError::invalid_field(
            "comment",
            "is required: say what to change",
        )),
        Some(c) if c.chars().count() > MAX_COMMENT_CHARS => Err(ApiError::invalid_field(
            "comment",
            format!("at most {MAX_COMMENT_CHARS} characters"),
        )),
        other => Ok(other),
    }
}

/// A version in review and its template, for a decision.
struct UnderReview {
    template: TemplateRecord,
    version: VersionRecord,
}

async fn under_review(
    store: &Store,
    org_id: &str,
    template_id: &str,
    number: &str,
) -> ApiResult<UnderReview> {
    let number = parse_number(number)?;
    let template = templates::load(store, org_id, template_id).await?;
    let version = versions::load(store, org_id, template_id, number).await?;
    if version.status != VersionStatus::InReview {
        return Err(ApiError::conflict(format!(
            "version {number} is not in review (it is {})",
            serde_json::to_value(version.status).unwrap_or_default()
        )));
    }
    Ok(UnderReview { template, version })
}

/// The step `user` decides on now: the current step if they are its
/// approver, else an advisory step of theirs; or why they may not decide.
fn decision_step(version: &VersionRecord, user_id: &str, access: &OrgAccess) -> ApiResult<usize> {
    if version.decisions.iter().any(|d| d.user_id == user_id) {
        return Err(ApiError::conflict(
            "you have decided on this version already",
        ));
    }
    if !version.policy.allow_self_approval && version.ineligible.iter().any(|u| u == user_id) {
        return Err(ApiError::forbidden(
            "nobody approves their own work: you submitted or edited this version",
        ));
    }
    let steps = &version.policy.steps;
    if let Some(current) = version.current_step
        && is_step_approver(&steps[current], user_id, access)
    {
        return Ok(current);
    }
    if let Some(advisory) = (0..steps.len())
        .find(|i| !steps[*i].required && is_step_approver(&steps[*i], user_id, access))
    {
        return Ok(advisory);
    }
    let awaiting = version
        .current_step
        .map(|i| format!("step {} ({})", i + 1, steps[i].name))
        .unwrap_or_else(|| "no step".into());
    Err(ApiError::forbidden(format!(
        "this version awaits {awaiting}, and you are not one of its approvers"
    )))
}

/// Approves a version in review on the caller's step. Needs
/// `template:approve` and a place among the current step's approvers.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/templates/{templateId}/versions/{n}/approve",
    tag = "mail",
    security(("bearer" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
        ("n" = u32, Path, description = "The version number", minimum = 1),
    ),
    request_body = ApproveRequest,
    responses(
        (status = 200, description = "The version after the decision (in review at a later step, or approved)", body = Envelope<VersionView>),
        (status = 403, description = "Without template:approve, your own work, not an approver of the current step, or an API key", body = ErrorEnvelope),
        (status = 409, description = "The version is not in review, you decided already, or it changed meanwhile", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn approve_version(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id, number)): Path<(String, String, String)>,
    ApiJson(request): ApiJson<ApproveRequest>,
) -> ApiResult<ApiResponse<VersionView>> {
    let access =
        access::require(&state.store, &caller, &org_id, Permission::TemplateApprove).await?;
    let user_id = access::user_id(&caller)?.to_owned();
    let note = comment(request.comment, false)?;
    let bypass = request
        .bypass_reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if bypass.is_some() && !access.is_owner() {
        return Err(ApiError::forbidden(
            "only an owner may approve past the rules",
        ));
    }
    let UnderReview {
        template,
        version: current,
    } = under_review(&state.store, &org_id, &template_id, &number).await?;
    let step = match (&bypass, decision_step(&current, &user_id, &access)) {
        (_, Ok(step)) => step,
        (Some(_), Err(_)) => current.current_step.unwrap_or(0),
        (None, Err(err)) => return Err(err),
    };
    let mut version = current.clone();
    version.decisions.push(Decision {
        step,
        user_id: user_id.clone(),
        verdict: Verdict::Approved,
        comment: note,
        bypass_reason: bypass.clone(),
        at: now_rfc3339(),
    });
    // An owner's bypass passes the step outright.
    let passed = bypass.is_some() || step_passed(&state.store, &version, step).await?;
    let mut next_template = template.clone();
    let mut previous = None;
    let mut advanced_to = None;
    if passed && Some(step) == version.current_step {
        match next_required_step(&version.policy, step + 1) {
            Some(next) => {
                version.current_step = Some(next);
                advanced_to = Some(next);
            }
            None => {
                previous = conclude(
                    &state.store,
                    &mut next_template,
                    &mut version,
                    &caller.actor().to_string(),
                )
                .await?;
            }
        }
    }
    version.version = current.version + 1;
    let scope = AuditScope::Org(org_id.clone());
    let actor = caller.actor();
    let action = if bypass.is_some() {
        AuditAction::TemplateVersionApprovalBypassed
    } else {
        AuditAction::TemplateVersionApproved
    };
    let event = AuditEvent::new(&scope, &actor, action)
        .target(format!("template:{template_id}"))
        .details(serde_json::json!({
            "version": version.number,
            "step": step,
            "bypassReason": bypass,
        }));
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put_if_version(&version, current.version)?,
    )
    .named("version");
    if next_template.in_review_version != template.in_review_version
        || next_template.active_version != template.active_version
    {
        next_template.version = template.version + 1;
        next_template.updated_at = now_rfc3339();
        tx.push(
            state
                .store
                .transact_put_if_version(&next_template, template.version)?,
        )
        .named("template");
    }
    tx.push(event.transact_item(&state.store)?);
    push_conclusion(&state.store, &mut tx, &scope, &actor, &version, previous)?;
    commit(&state.store, tx).await?;
    if bypass.is_some() {
        tracing::warn!(template_id = %template_id, version = version.number, "approval rules bypassed by an owner");
    }
    if let Some(next) = advanced_to {
        notify_step(&state, &version, next).await;
    }
    Ok(ApiResponse::ok(version.into()))
}

async fn commit(store: &Store, tx: Transaction) -> ApiResult<()> {
    match store.transact(tx).await {
        Ok(()) => Ok(()),
        Err(err)
            if err.condition_failed("version")
                || err.condition_failed("template")
                || err.condition_failed("previous") =>
        {
            Err(ApiError::conflict(
                "the version changed meanwhile; fetch it and try again",
            ))
        }
        Err(err) => Err(err.into()),
    }
}

/// Requests changes: the version is `changes_requested` and the draft
/// stays editable for the next submit. The comment is required.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/templates/{templateId}/versions/{n}/reject",
    tag = "mail",
    security(("bearer" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
        ("n" = u32, Path, description = "The version number", minimum = 1),
    ),
    request_body = RejectRequest,
    responses(
        (status = 200, description = "The version, changes_requested", body = Envelope<VersionView>),
        (status = 403, description = "Without template:approve, your own work, or not an approver of the current step", body = ErrorEnvelope),
        (status = 409, description = "The version is not in review, or you decided already", body = ErrorEnvelope),
        (status = 422, description = "No comment", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn reject_version(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id, number)): Path<(String, String, String)>,
    ApiJson(request): ApiJson<RejectRequest>,
) -> ApiResult<ApiResponse<VersionView>> {
    let access =
        access::require(&state.store, &caller, &org_id, Permission::TemplateApprove).await?;
    let user_id = access::user_id(&caller)?.to_owned();
    let note = comment(request.comment, true)?;
    let UnderReview {
        template,
        version: current,
    } = under_review(&state.store, &org_id, &template_id, &number).await?;
    let step = decision_step(&current, &user_id, &access)?;
    let mut version = current.clone();
    version.decisions.push(Decision {
        step,
        user_id,
        verdict: Verdict::Rejected,
        comment: note.clone(),
        bypass_reason: None,
        at: now_rfc3339(),
    });
    version.status = VersionStatus::ChangesRequested;
    version.leave_review();
    version.version = current.version + 1;
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &caller.actor(),
        AuditAction::TemplateVersionRejected,
    )
    .target(format!("template:{template_id}"))
    .details(serde_json::json!({ "version": version.number, "step": step, "comment": note }));
    let tx = leave_review_tx(&state.store, &template, &version, current.version, event)?;
    commit(&state.store, tx).await?;
    Ok(ApiResponse::ok(version.into()))
}

/// The version leaves review without approval: its write, the template's
/// and the audit entry.
fn leave_review_tx(
    store: &Store,
    template: &TemplateRecord,
    version: &VersionRecord,
    expected_version: u64,
    event: AuditEvent,
) -> ApiResult<Transaction> {
    let mut next_template = template.clone();
    next_template.in_review_version = None;
    // The draft goes back to being the thing to submit next.
    next_template.changed_since_version = true;
    next_template.derive_status();
    next_template.version = template.version + 1;
    next_template.updated_at = now_rfc3339();
    let mut tx = Transaction::new();
    tx.push(store.transact_put_if_version(version, expected_version)?)
        .named("version");
    tx.push(store.transact_put_if_version(&next_template, template.version)?)
        .named("template");
    tx.push(event.transact_item(store)?);
    Ok(tx)
}

/// The submitter takes a version back out of review.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/templates/{templateId}/versions/{n}/withdraw",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
        ("n" = u32, Path, description = "The version number", minimum = 1),
    ),
    responses(
        (status = 200, description = "The version, withdrawn", body = Envelope<VersionView>),
        (status = 403, description = "Without template:write, or not the submitter", body = ErrorEnvelope),
        (status = 409, description = "The version is not in review", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn withdraw_version(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id, number)): Path<(String, String, String)>,
) -> ApiResult<ApiResponse<VersionView>> {
    access::require(&state.store, &caller, &org_id, Permission::TemplateWrite).await?;
    let UnderReview {
        template,
        version: current,
    } = under_review(&state.store, &org_id, &template_id, &number).await?;
    let actor = caller.actor();
    if current.submitted_by != actor.to_string() {
        return Err(ApiError::forbidden(
            "only the submitter withdraws a version",
        ));
    }
    let mut version = current.clone();
    version.status = VersionStatus::Withdrawn;
    version.leave_review();
    version.version = current.version + 1;
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &actor,
        AuditAction::TemplateVersionWithdrawn,
    )
    .target(format!("template:{template_id}"))
    .details(serde_json::json!({ "version": version.number }));
    let tx = leave_review_tx(&state.store, &template, &version, current.version, event)?;
    commit(&state.store, tx).await?;
    Ok(ApiResponse::ok(version.into()))
}

/// Managers roll back or forward: an approved version becomes the active
/// one, the one active before is superseded. Audited.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/templates/{templateId}/versions/{n}/activate",
    tag = "mail",
    security(("bearer" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("templateId" = String, Path, description = "The template's id"),
        ("n" = u32, Path, description = "The version number", minimum = 1),
    ),
    responses(
        (status = 200, description = "The version, active", body = Envelope<VersionView>),
        (status = 403, description = "Not a manager (org:manage)", body = ErrorEnvelope),
        (status = 409, description = "The version was never approved, the template is archived, or it changed meanwhile", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn activate_version(
    State(state): State<MailState>,
    caller: Caller,
    Path((org_id, template_id, number)): Path<(String, String, String)>,
) -> ApiResult<ApiResponse<VersionView>> {
    access::require_manager(&state.store, &caller, &org_id).await?;
    let number = parse_number(&number)?;
    let template = templates::load(&state.store, &org_id, &template_id).await?;
    let current = versions::load(&state.store, &org_id, &template_id, number).await?;
    if template.status == crate::model::TemplateStatus::Archived {
        return Err(ApiError::conflict("the template is archived"));
    }
    if !current.status.was_approved() {
        return Err(ApiError::conflict(format!(
            "version {number} was never approved"
        )));
    }
    if current.status == VersionStatus::Active {
        return Ok(ApiResponse::ok(current.into()));
    }
    let actor = caller.actor();
    let mut version = current.clone();
    let mut next_template = template.clone();
    let previous = activate(
        &state.store,
        &mut next_template,
        &mut version,
        &actor.to_string(),
    )
    .await?;
    version.version = current.version + 1;
    next_template.version = template.version + 1;
    next_template.updated_at = now_rfc3339();
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put_if_version(&version, current.version)?,
    )
    .named("version");
    tx.push(
        state
            .store
            .transact_put_if_version(&next_template, template.version)?,
    )
    .named("template");
    push_conclusion(
        &state.store,
        &mut tx,
        &AuditScope::Org(org_id.clone()),
        &actor,
        &version,
        previous,
    )?;
    commit(&state.store, tx).await?;
    Ok(ApiResponse::ok(version.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxFilter {
    /// `me`: only versions the caller may decide now.
    #[param(pattern = "^me$")]
    assigned: Option<String>,
}

/// A version awaiting decisions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingApproval {
    pub template_id: String,
    pub template_name: String,
    pub version: u32,
    pub submitted_by: String,
    pub submitted_at: String,
    /// The step (0-based) awaiting decisions, and its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_step: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_name: Option<String>,
}

/// Versions in review, oldest first; with `assigned=me` only those the
/// caller may decide now. Needs `template:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/approvals",
    tag = "mail",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id"), InboxFilter),
    responses(
        (status = 200, body = Envelope<Vec<PendingApproval>>),
        (status = 403, description = "Without template:read", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id))]
pub async fn approvals_inbox(
    State(state): State<MailState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(filter): ApiQuery<InboxFilter>,
) -> ApiResult<ApiResponse<Vec<PendingApproval>>> {
    let access = access::require(&state.store, &caller, &org_id, Permission::TemplateRead).await?;
    let mine = match filter.assigned.as_deref() {
        None => false,
        Some("me") => true,
        Some(_) => return Err(ApiError::bad_request("assigned takes only `me`")),
    };
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: reviews_partition(&org_id),
        sort_prefix: None,
        ascending: true,
    };
    let page = state
        .store
        .query_page::<VersionRecord>(&query, 1000, None)
        .await?;
    let user = caller.user().map(|p| p.user_id.clone());
    let pending = page
        .items
        .into_iter()
        .filter(|version| version.status == VersionStatus::InReview)
        .filter(|version| {
            !mine
                || user.as_deref().is_some_and(|user| {
                    access.permissions.contains(Permission::TemplateApprove)
                        && decision_step(version, user, &access).is_ok()
                })
        })
        .map(|version| PendingApproval {
            step_name: version
                .current_step
                .and_then(|i| version.policy.steps.get(i))
                .map(|s| s.name.clone()),
            current_step: version.current_step,
            template_id: version.template_id,
            template_name: version.content.name,
            version: version.number,
            submitted_by: version.submitted_by,
            submitted_at: version.submitted_at,
        })
        .collect();
    Ok(ApiResponse::ok(pending))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(required: bool) -> Step {
        Step {
            name: "s".into(),
            users: vec![],
            role: None,
            rule: Rule::Any,
            n: None,
            required,
        }
    }

    #[test]
    fn advisory_steps_never_hold_a_version_back() {
        let policy = Policy {
            steps: vec![step(false), step(true), step(false), step(true)],
            allow_self_approval: false,
            activate_on_approval: true,
        };
        assert_eq!(next_required_step(&policy, 0), Some(1));
        assert_eq!(next_required_step(&policy, 2), Some(3));
        assert_eq!(next_required_step(&policy, 4), None);
        assert_eq!(next_required_step(&Policy::default(), 0), None);
    }
}
