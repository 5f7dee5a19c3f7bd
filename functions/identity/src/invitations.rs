//! Invitations: a member with `member:manage` invites an email address; the
//! invitee signs in with that address and accepts with the token from the
//! email, which makes them a member.
//!
//! The token (256 random bits) exists only in the email: the item is keyed
//! by its SHA-256, `INVITATION#<sha256> / INVITATION`, so accepting is one
//! GetItem, and it expires by TTL after a week (expiry is also checked on
//! read, since TTL deletes lazily). Accepting deletes the item in the same
//! transaction that writes the membership, so a token works once.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::membership::{MembershipRecord, NewMembership};
use shared::auth::{Caller, CapabilityRole, OrgKind, OrgRole, Permission, Principal};
use shared::crypto::{hash_secret, random_hex};
use shared::domain::{Email, epoch_to_rfc3339, new_id, now_epoch};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems};
use shared::store::Transaction;
use utoipa::ToSchema;

use crate::IdentityState;
use crate::members::{MemberView, owner_count_change, parse_roles, require_owner_for};
use crate::org::{load_org, signed_in_user};

pub const INVITATION_TYPE: &str = "INVITATION";
const SK: &str = "INVITATION";
/// How long an invitation can be accepted.
pub const VALID_FOR_SECS: i64 = 7 * 24 * 3600;
const TOKEN_BYTES: usize = 32;

fn invitation_key(token_hash: &str) -> (String, &'static str) {
    (format!("INVITATION#{token_hash}"), SK)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub id: String,
    pub org_id: String,
    pub org_kind: OrgKind,
    pub email: String,
    pub org_role: OrgRole,
    pub capabilities: Vec<CapabilityRole>,
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub ttl: i64,
}

/// An invitation as the API shows it: never the token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub org_role: OrgRole,
    pub capabilities: Vec<CapabilityRole>,
    pub expires_at: String,
}

impl From<InvitationRecord> for InvitationView {
    fn from(record: InvitationRecord) -> Self {
        Self {
            id: record.id,
            org_id: record.org_id,
            email: record.email,
            org_role: record.org_role,
            capabilities: record.capabilities,
            expires_at: record.expires_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInvitationRequest {
    #[schema(value_type = shared::domain::Email)]
    email: String,
    /// `owner` (owners only), `admin` or `member` (the default).
    #[schema(value_type = Option<shared::auth::OrgRole>)]
    org_role: Option<String>,
    /// Those the organization's kind admits (a buyer org has no seller role).
    #[schema(example = json!(["buyer"]), value_type = Option<Vec<shared::auth::CapabilityRole>>)]
    capabilities: Option<Vec<String>>,
}

/// Invites an email address into the organization and mails it a
/// single-use token. Needs `member:manage`; inviting an owner needs an owner.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/invitations",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id")),
    request_body = CreateInvitationRequest,
    responses(
        (status = 201, description = "The invitation was created and emailed", body = Envelope<InvitationView>),
        (status = 403, description = "Without member:manage, or a non-owner inviting an owner", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
        (status = 503, description = "A dependency (or email sending) is unavailable; retry", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn create_invitation(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiJson(request): ApiJson<CreateInvitationRequest>,
) -> ApiResult<ApiResponse<InvitationView>> {
    let (access, org) = futures::join!(
        caller.require(&state.store, &org_id, Permission::MemberManage),
        load_org(&state, &org_id)
    );
    let access = access?;
    let org = org?;
    let mut fields = Problems::default();
    let email = Email::parse(&request.email)
        .map_err(|e| fields.add("email", e.to_string()))
        .ok();
    let (org_role, capabilities) = parse_roles(
        &mut fields,
        org.kind,
        Some(request.org_role.as_deref().unwrap_or("member")),
        Some(request.capabilities.as_deref().unwrap_or_default()),
    );
    let (Some(email), Some(org_role), Some(capabilities)) = (email, org_role, capabilities) else {
        return Err(ApiError::validation(
            "the invitation has invalid fields",
            fields,
        ));
    };
    if !fields.is_empty() {
        return Err(ApiError::validation(
            "the invitation has invalid fields",
            fields,
        ));
    }
    require_owner_for(&access, org_role == OrgRole::Owner)?;

    let token = random_hex(TOKEN_BYTES);
    let (pk, sk) = invitation_key(&hash_secret(&token));
    let expires = now_epoch() + VALID_FOR_SECS;
    let invitation = InvitationRecord {
        pk,
        sk: sk.to_owned(),
        item_type: INVITATION_TYPE.to_owned(),
        id: new_id(),
        org_id: org_id.clone(),
        org_kind: org.kind,
        email: email.to_string(),
        org_role,
        capabilities,
        invited_by: caller.actor().to_string(),
        created_at: shared::domain::now_rfc3339(),
        expires_at: epoch_to_rfc3339(expires),
        ttl: expires,
    };
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &caller.actor(),
        AuditAction::InvitationCreated,
    )
    .target(format!("invitation:{}", invitation.id))
    .details(serde_json::json!({
        "email": invitation.email,
        "orgRole": invitation.org_role,
        "capabilities": invitation.capabilities,
    }));
    state
        .store
        .transact(vec![
            state
                .store
                .transact_put(&invitation, Some("attribute_not_exists(PK)"))?,
            event.transact_item(&state.store)?,
        ])
        .await?;

    let message = shared::outbox::PlatformEmail::Invitation {
        org_name: org.name.clone(),
        role: invitation.org_role.to_string(),
        invited_email: email.to_string(),
        code: token.clone(),
        expires_at: invitation.expires_at.clone(),
    };
    state
        .outbox
        .send(email.as_str(), &message)
        .await
        .map_err(ApiError::unavailable)?;
    tracing::info!(org_id = %org_id, invitation = %invitation.id, "invitation sent");
    Ok(ApiResponse::created(invitation.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    /// The code from the invitation email.
    token: String,
}

/// One answer for unknown, used and expired tokens.
fn invalid_invitation() -> ApiError {
    ApiError::not_found("this invitation does not exist, was already used or has expired")
}

/// Joins the organization of an invitation. The signed-in user's email must
/// be the invited one; a token works once and only until it expires.
#[utoipa::path(
    post,
    path = "/v1/invitations/accept",
    tag = "organizations",
    security(("bearer" = [])),
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "The caller is now a member", body = Envelope<MemberView>),
        (status = 403, description = "The invitation was sent to another email address", body = ErrorEnvelope),
        (status = 404, description = "The token is unknown, used or expired", body = ErrorEnvelope),
        (status = 409, description = "The caller is already a member", body = ErrorEnvelope),
        (status = 422, description = "The token is missing", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn accept_invitation(
    State(state): State<IdentityState>,
    principal: Principal,
    ApiJson(request): ApiJson<AcceptInvitationRequest>,
) -> ApiResult<ApiResponse<MemberView>> {
    let token = request.token.trim();
    if token.is_empty() || token.len() > 256 {
        return Err(ApiError::invalid_field("token", "is required"));
    }
    let (pk, sk) = invitation_key(&hash_secret(token));
    let (invitation, user) = futures::join!(
        state.store.get::<InvitationRecord>(&pk, sk),
        signed_in_user(&state, &principal)
    );
    let user = user?;
    let invitation = invitation?
        .filter(|i| i.ttl > now_epoch())
        .ok_or_else(invalid_invitation)?;
    if invitation.email != user.email {
        return Err(ApiError::forbidden(
            "this invitation was sent to another email address",
        ));
    }
    let membership = MembershipRecord::new(NewMembership {
        org_id: &invitation.org_id,
        org_kind: invitation.org_kind,
        user_id: &user.id,
        email: &user.email,
        name: &user.name,
        org_role: invitation.org_role,
        capabilities: invitation.capabilities.clone(),
    });
    let event = AuditEvent::new(
        &AuditScope::Org(invitation.org_id.clone()),
        &shared::audit::Actor::User(user.id.clone()),
        AuditAction::InvitationAccepted,
    )
    .target(format!("invitation:{}", invitation.id))
    .details(
        serde_json::json!({"orgRole": invitation.org_role, "invitedBy": invitation.invited_by}),
    );

    let mut tx = Transaction::new();
    tx.push(state.store.transact_delete(
        &invitation.pk,
        &invitation.sk,
        Some("attribute_exists(PK)"),
        &[],
    )?)
    .named("invitation");
    tx.push(
        state
            .store
            .transact_put(&membership, Some("attribute_not_exists(PK)"))?,
    )
    .named("membership");
    tx.push(event.transact_item(&state.store)?);
    if invitation.org_role == OrgRole::Owner {
        tx.push(owner_count_change(&state, &invitation.org_id, 1)?);
    }
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("invitation") => return Err(invalid_invitation()),
        Err(err) if err.condition_failed("membership") => {
            return Err(ApiError::conflict(
                "you are already a member of this organization",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(org_id = %invitation.org_id, invitation = %invitation.id, "invitation accepted");
    Ok(ApiResponse::ok(membership.into()))
}
