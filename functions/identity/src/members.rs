//! Members of an organization: list, change roles, remove (or leave).
//!
//! The owner rules the permission table cannot express live here: only an
//! owner grants or takes away `owner` (or removes an owner), and the last
//! owner can neither leave nor be demoted. The org item's `ownerCount` moves
//! in the same transaction as the membership, under a condition that keeps
//! it at one or more, so two owners demoting each other at once cannot both
//! succeed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::membership::{self, MembershipRecord};
use shared::auth::{Caller, CapabilityRole, OrgAccess, OrgKind, OrgRole, Permission};
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
    Problems,
};
use shared::store::{Index, PartitionQuery, Transaction, Update, n, s, to_value};
use utoipa::ToSchema;

use crate::IdentityState;
use crate::org::org_key;

/// A member as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub org_role: OrgRole,
    pub capabilities: Vec<CapabilityRole>,
    /// What the member may do in the organization.
    pub permissions: Vec<Permission>,
    pub joined_at: String,
}

impl From<MembershipRecord> for MemberView {
    fn from(m: MembershipRecord) -> Self {
        Self {
            permissions: m.permissions().to_vec(),
            user_id: m.user_id,
            email: m.email,
            name: m.name,
            org_role: m.org_role,
            capabilities: m.capabilities,
            joined_at: m.joined_at,
        }
    }
}

/// Roles as a request sends them, checked against the org's kind.
pub fn parse_roles(
    fields: &mut Problems,
    kind: OrgKind,
    org_role: Option<&str>,
    capabilities: Option<&[String]>,
) -> (Option<OrgRole>, Option<Vec<CapabilityRole>>) {
    let org_role = org_role.and_then(|raw| {
        OrgRole::parse(raw.trim()).or_else(|| {
            fields.add("orgRole", "must be owner, admin or member");
            None
        })
    });
    let capabilities = capabilities.map(|list| {
        let mut parsed = Vec::new();
        for raw in list {
            match CapabilityRole::parse(raw.trim()) {
                Some(c) if !kind.admits(c) => fields.add(
                    "capabilities",
                    format!("a {kind} organization has no {c} role"),
                ),
                Some(c) => parsed.push(c),
                None => fields.add(
                    "capabilities",
                    format!("{raw:?} is not one of buyer, seller, editor, approver, viewer"),
                ),
            }
        }
        parsed.sort();
        parsed.dedup();
        parsed
    });
    (org_role, capabilities)
}

/// Only an owner hands out or takes away ownership.
pub fn require_owner_for(access: &OrgAccess, touches_owner: bool) -> ApiResult<()> {
    if touches_owner && !access.is_owner() {
        return Err(ApiError::forbidden(
            "only an owner can grant, change or remove the owner role",
        ));
    }
    Ok(())
}

fn member_not_found() -> ApiError {
    ApiError::not_found("no such member in this organization")
}

fn last_owner() -> ApiError {
    ApiError::conflict("the last owner cannot leave or be demoted: make another member owner first")
}

async fn load_member(
    state: &IdentityState,
    org_id: &str,
    user_id: &str,
) -> ApiResult<MembershipRecord> {
    membership::find(&state.store, org_id, user_id)
        .await?
        .ok_or_else(member_not_found)
}

/// The name of the [`owner_count_change`] write in a transaction: its
/// condition failing means the last owner would leave.
pub const OWNER_COUNT: &str = "ownerCount";

/// The transaction item that moves `ownerCount` by `delta`; a decrease is
/// conditional on another owner remaining (name it [`OWNER_COUNT`]).
pub fn owner_count_change(
    state: &IdentityState,
    org_id: &str,
    delta: i64,
) -> Result<shared::store::TransactWriteItem, shared::store::StoreError> {
    let (pk, sk) = org_key(org_id);
    let condition = if delta < 0 {
        "attribute_exists(PK) AND ownerCount > :one"
    } else {
        "attribute_exists(PK)"
    };
    let mut update = Update::new(&pk, sk, "SET ownerCount = ownerCount + :delta")
        .condition(condition)
        .value(":delta", n(delta));
    if delta < 0 {
        update = update.value(":one", n(1));
    }
    state.store.transact_update(update)
}

/// The members of an organization, in order of their user ids. Needs `member:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/members",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id"), PageParams),
    responses(
        (status = 200, body = Envelope<Vec<MemberView>>),
        (status = 400, description = "The cursor or limit is invalid", body = ErrorEnvelope),
        (status = 403, description = "A caller without member:read (e.g. a restricted API key)", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_members(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<MemberView>>> {
    caller
        .require(&state.store, &org_id, Permission::MemberRead)
        .await?;
    let query = PartitionQuery {
        index: Index::Table,
        partition: membership::org_pk(&org_id),
        sort_prefix: Some(membership::MEMBER_SK_PREFIX.to_owned()),
        ascending: true,
    };
    let members = state
        .store
        .query_page::<MembershipRecord>(&query, page.limit(), page.cursor())
        .await?;
    let views = members.items.into_iter().map(MemberView::from).collect();
    Ok(ApiResponse::ok(views).paginated(members.next_cursor, page.limit()))
}

/// New roles for a member; a field left out keeps its value.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateMemberRequest {
    /// `owner`, `admin` or `member`.
    #[schema(value_type = Option<shared::auth::OrgRole>)]
    org_role: Option<String>,
    /// Replaces the member's capability roles; those the organization's kind admits.
    #[schema(example = json!(["buyer", "approver"]), value_type = Option<Vec<shared::auth::CapabilityRole>>)]
    capabilities: Option<Vec<String>>,
}

/// Changes a member's roles. Needs `member:manage`; touching the owner role
/// needs the caller to be an owner; the last owner cannot be demoted (409).
#[utoipa::path(
    patch,
    path = "/v1/orgs/{orgId}/members/{userId}",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("userId" = String, Path, description = "The member's user id"),
    ),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, description = "The member with their new roles", body = Envelope<MemberView>),
        (status = 403, description = "Without member:manage, or a non-owner touching the owner role", body = ErrorEnvelope),
        (status = 404, description = "No such organization or member, or the caller is not a member", body = ErrorEnvelope),
        (status = 409, description = "The last owner cannot be demoted, or the member changed meanwhile", body = ErrorEnvelope),
        (status = 422, description = "A role is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn update_member(
    State(state): State<IdentityState>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<UpdateMemberRequest>,
) -> ApiResult<ApiResponse<MemberView>> {
    let access = caller
        .require(&state.store, &org_id, Permission::MemberManage)
        .await?;
    let member = load_member(&state, &org_id, &user_id).await?;
    let mut fields = Problems::default();
    let (org_role, capabilities) = parse_roles(
        &mut fields,
        member.org_kind,
        request.org_role.as_deref(),
        request.capabilities.as_deref(),
    );
    if !fields.is_empty() {
        return Err(ApiError::validation("the roles are invalid", fields));
    }
    let new_role = org_role.unwrap_or(member.org_role);
    let new_capabilities = capabilities.unwrap_or_else(|| member.capabilities.clone());
    let was_owner = member.org_role == OrgRole::Owner;
    let is_owner = new_role == OrgRole::Owner;
    require_owner_for(&access, was_owner || is_owner)?;

    let update = Update::new(
        &member.pk,
        &member.sk,
        "SET orgRole = :role, capabilities = :caps, updatedAt = :now, #version = #version + :one",
    )
    .condition("#version = :version")
    .name("#version", "version")
    .value(":role", s(new_role.as_str()))
    .value(":caps", to_value(&new_capabilities)?)
    .value(":now", s(shared::domain::now_rfc3339()))
    .value(":one", n(1))
    .value(":version", n(member.version as i64));
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &caller.actor(),
        AuditAction::MemberRoleChanged,
    )
    .target(format!("user:{user_id}"))
    .details(serde_json::json!({
        "from": {"orgRole": member.org_role, "capabilities": member.capabilities},
        "to": {"orgRole": new_role, "capabilities": new_capabilities},
    }));
    let mut tx = Transaction::new();
    tx.push(state.store.transact_update(update)?);
    tx.push(event.transact_item(&state.store)?);
    if was_owner != is_owner {
        tx.push(owner_count_change(
            &state,
            &org_id,
            if is_owner { 1 } else { -1 },
        )?)
        .named(OWNER_COUNT);
    }
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed(OWNER_COUNT) => return Err(last_owner()),
        Err(err) => return Err(err.into()),
    }
    tracing::info!(org_id = %org_id, member = %user_id, role = %new_role, "member roles changed");
    Ok(ApiResponse::ok(MemberView::from(MembershipRecord {
        org_role: new_role,
        capabilities: new_capabilities,
        version: member.version + 1,
        ..member
    })))
}

/// Removes a member, or, on one's own user id, leaves. Removing someone else
/// needs `member:manage` (and removing an owner needs an owner); the last
/// owner cannot leave (409).
#[utoipa::path(
    delete,
    path = "/v1/orgs/{orgId}/members/{userId}",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("userId" = String, Path, description = "The member's user id (your own to leave)"),
    ),
    responses(
        (status = 204, description = "The member is removed"),
        (status = 403, description = "Without member:manage, or a non-owner removing an owner", body = ErrorEnvelope),
        (status = 404, description = "No such organization or member, or the caller is not a member", body = ErrorEnvelope),
        (status = 409, description = "The last owner cannot leave", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn remove_member(
    State(state): State<IdentityState>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = caller.access(&state.store, &org_id).await?;
    let leaving = caller.user().is_some_and(|p| p.user_id == user_id);
    if leaving && access.membership.is_none() {
        return Err(member_not_found());
    }
    if !leaving {
        access.require(Permission::MemberManage)?;
    }
    let member = load_member(&state, &org_id, &user_id).await?;
    let was_owner = member.org_role == OrgRole::Owner;
    if !leaving {
        require_owner_for(&access, was_owner)?;
    }
    let action = if leaving {
        AuditAction::MemberLeft
    } else {
        AuditAction::MemberRemoved
    };
    let event = AuditEvent::new(&AuditScope::Org(org_id.clone()), &caller.actor(), action)
        .target(format!("user:{user_id}"))
        .details(serde_json::json!({"orgRole": member.org_role}));
    let mut tx = Transaction::new();
    tx.push(state.store.transact_delete(
        &member.pk,
        &member.sk,
        Some("orgRole = :role"),
        &[(":role", s(member.org_role.as_str()))],
    )?)
    .named("member");
    tx.push(event.transact_item(&state.store)?);
    if was_owner {
        tx.push(owner_count_change(&state, &org_id, -1)?)
            .named(OWNER_COUNT);
    }
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed(OWNER_COUNT) => return Err(last_owner()),
        Err(err) if err.condition_failed("member") => {
            return Err(ApiError::conflict(
                "the member changed meanwhile: try again",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(org_id = %org_id, member = %user_id, leaving, "member removed");
    Ok(StatusCode::NO_CONTENT)
}

/// Takes `user_id` out of every organization (for account erasure), so no
/// membership keeps their name and email. Refused (409), before anything is
/// written, while they are the last owner of an organization.
pub async fn leave_all_orgs(state: &IdentityState, user_id: &str) -> ApiResult<()> {
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: membership::user_orgs_pk(user_id),
        sort_prefix: Some(membership::ORG_SK_PREFIX.to_owned()),
        ascending: true,
    };
    let mut memberships = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .store
            .query_page::<MembershipRecord>(&query, 100, cursor.as_deref())
            .await?;
        memberships.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    for member in memberships.iter().filter(|m| m.org_role == OrgRole::Owner) {
        let org = crate::org::load_org(state, &member.org_id).await?;
        if org.owner_count <= 1 {
            return Err(ApiError::conflict(format!(
                "you are the last owner of the organization {:?}: make another member owner first",
                org.name
            )));
        }
    }
    let actor = shared::audit::Actor::User(user_id.to_owned());
    for member in memberships {
        let event = AuditEvent::new(
            &AuditScope::Org(member.org_id.clone()),
            &actor,
            AuditAction::MemberLeft,
        )
        .target(format!("user:{user_id}"))
        .details(serde_json::json!({"orgRole": member.org_role, "reason": "account_erased"}));
        let mut tx = Transaction::new();
        tx.push(
            state
                .store
                .transact_delete(&member.pk, &member.sk, None, &[])?,
        );
        tx.push(event.transact_item(&state.store)?);
        if member.org_role == OrgRole::Owner {
            tx.push(owner_count_change(state, &member.org_id, -1)?)
                .named(OWNER_COUNT);
        }
        match state.store.transact(tx).await {
            Ok(()) => {}
            Err(err) if err.condition_failed(OWNER_COUNT) => return Err(last_owner()),
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}
