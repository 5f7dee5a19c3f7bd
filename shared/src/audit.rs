//! The audit trail: security events as items, newest first per partition.
//!
//! - `AUDIT#ORG#<orgId> / <ulid>`: events of an organization (role changes,
//!   removals, invitations, API keys), listed by its owners and admins.
//! - `AUDIT#USER#<userId> / <ulid>`: a person's own events (failed sign-in,
//!   refresh-token reuse), listed by that user.
//!
//! Each event names the actor, the action, the target and the request id,
//! and expires after about a year (TTL). Write an event in the same
//! transaction as the change it records ([`AuditEvent::transact_item`]) so
//! one never exists without the other; [`record`] writes a lone event.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::{Page, PartitionQuery, QueryError, Store, StoreError};

pub const AUDIT_TYPE: &str = "AUDIT";
/// About a year.
pub const RETENTION_SECS: i64 = 366 * 24 * 3600;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum AuditAction {
    #[serde(rename = "org.created")]
    OrgCreated,
    #[serde(rename = "org.updated")]
    OrgUpdated,
    #[serde(rename = "org.verification_changed")]
    OrgVerificationChanged,
    #[serde(rename = "invitation.created")]
    InvitationCreated,
    #[serde(rename = "invitation.accepted")]
    InvitationAccepted,
    #[serde(rename = "member.role_changed")]
    MemberRoleChanged,
    #[serde(rename = "member.removed")]
    MemberRemoved,
    #[serde(rename = "member.left")]
    MemberLeft,
    #[serde(rename = "apikey.created")]
    ApiKeyCreated,
    #[serde(rename = "address.added")]
    AddressAdded,
    #[serde(rename = "address.changed")]
    AddressChanged,
    #[serde(rename = "address.removed")]
    AddressRemoved,
    #[serde(rename = "apikey.revoked")]
    ApiKeyRevoked,
    #[serde(rename = "login.failed")]
    LoginFailed,
    #[serde(rename = "refresh_token.reused")]
    RefreshTokenReused,
    #[serde(rename = "password.reset")]
    PasswordReset,
    #[serde(rename = "sessions.signed_out_everywhere")]
    SignedOutEverywhere,
    #[serde(rename = "session.revoked")]
    SessionRevoked,
    /// Two-factor sign-in (TOTP) was turned on; the person is emailed.
    #[serde(rename = "mfa.enabled")]
    MfaEnabled,
    /// Two-factor sign-in was turned off; the person is emailed.
    #[serde(rename = "mfa.disabled")]
    MfaDisabled,
    /// A recovery code was used to sign in or to turn two-factor sign-in
    /// off (details: how many are left); the person is emailed.
    #[serde(rename = "mfa.recovery_code_used")]
    MfaRecoveryCodeUsed,
    /// New recovery codes replaced the old ones; the person is emailed.
    #[serde(rename = "mfa.recovery_codes_regenerated")]
    MfaRecoveryCodesRegenerated,
    #[serde(rename = "template.created")]
    TemplateCreated,
    #[serde(rename = "template.updated")]
    TemplateUpdated,
    #[serde(rename = "template.archived")]
    TemplateArchived,
    #[serde(rename = "template.submitted")]
    TemplateSubmitted,
    #[serde(rename = "template_version.approved")]
    TemplateVersionApproved,
    /// An owner approved past the rules (own work, not an approver of the
    /// step), giving a reason.
    #[serde(rename = "template_version.approval_bypassed")]
    TemplateVersionApprovalBypassed,
    #[serde(rename = "template_version.rejected")]
    TemplateVersionRejected,
    #[serde(rename = "template_version.withdrawn")]
    TemplateVersionWithdrawn,
    #[serde(rename = "template_version.activated")]
    TemplateVersionActivated,
    #[serde(rename = "approval_policy.updated")]
    ApprovalPolicyUpdated,
    #[serde(rename = "mail.sent")]
    MailSent,
    #[serde(rename = "mail.test_sent")]
    MailTestSent,
    /// A bulk send was accepted (the recipients' count, not their data).
    #[serde(rename = "mail.bulk_send_created")]
    MailBulkSendCreated,
    /// An address was suppressed: unsubscribed, bounced or complained.
    #[serde(rename = "suppression.added")]
    SuppressionAdded,
    #[serde(rename = "suppression.removed")]
    SuppressionRemoved,
    /// A design prompt was refused by the blocklist or the moderation
    /// provider (the category, not the prompt).
    #[serde(rename = "studio.prompt_blocked")]
    StudioPromptBlocked,
    /// Repeated blocked prompts suspended a user's generations for a while.
    #[serde(rename = "studio.generation_suspended")]
    StudioGenerationSuspended,
    /// A design's owner let an organization publish it.
    #[serde(rename = "studio.design_granted")]
    StudioDesignGranted,
    /// A design's owner took an organization's grant back.
    #[serde(rename = "studio.design_grant_revoked")]
    StudioDesignGrantRevoked,
    #[serde(rename = "rfq.created")]
    RfqCreated,
    #[serde(rename = "rfq.updated")]
    RfqUpdated,
    /// Published after matching; the details count the invited suppliers.
    #[serde(rename = "rfq.published")]
    RfqPublished,
    /// Publishing handed a large matching to the background worker.
    #[serde(rename = "rfq.matching_queued")]
    RfqMatchingQueued,
    #[serde(rename = "rfq.closed")]
    RfqClosed,
    #[serde(rename = "rfq.expired")]
    RfqExpired,
    /// A published RFQ amended; the details list the changed fields.
    #[serde(rename = "rfq.amended")]
    RfqAmended,
    /// Proposals awarded (whole or split); the details name the orders.
    #[serde(rename = "rfq.awarded")]
    RfqAwarded,
    #[serde(rename = "rfq_invitation.declined")]
    RfqInvitationDeclined,
    /// A proposal revision, with its SHA-256 hash.
    #[serde(rename = "proposal.submitted")]
    ProposalSubmitted,
    #[serde(rename = "proposal.withdrawn")]
    ProposalWithdrawn,
    /// A platform admin made a person a moderator (details: the role).
    #[serde(rename = "platform_role.granted")]
    PlatformRoleGranted,
    #[serde(rename = "platform_role.revoked")]
    PlatformRoleRevoked,
    /// A moderator hid the person's review or design; the details carry
    /// the reason, and the person is emailed.
    #[serde(rename = "content.hidden")]
    ContentHidden,
    /// A moderator restored it, or kept it despite reports.
    #[serde(rename = "content.restored")]
    ContentRestored,
    /// The buyer shortlisted unsealed proposals.
    #[serde(rename = "proposal.shortlisted")]
    ProposalShortlisted,
}

/// Who did it: `user:<id>`, `apikey:<prefix>`, or `anonymous` (e.g. a failed
/// sign-in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(String),
    ApiKey(String),
    Anonymous,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::ApiKey(prefix) => write!(f, "apikey:{prefix}"),
            Actor::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// Whose trail an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditScope {
    Org(String),
    User(String),
}

impl AuditScope {
    pub fn partition(&self) -> String {
        match self {
            AuditScope::Org(id) => format!("AUDIT#ORG#{id}"),
            AuditScope::User(id) => format!("AUDIT#USER#{id}"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    #[serde(rename = "PK")]
    pub pk: String,
    /// The event id, a ULID: sort order is time order.
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub actor: String,
    pub action: AuditAction,
    /// What it happened to: `user:<id>`, `apikey:<prefix>`, `org:<id>`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Extra facts (old and new roles, a key's permissions); never secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    pub request_id: String,
    pub at: String,
    pub ttl: i64,
}

impl AuditEvent {
    pub fn new(scope: &AuditScope, actor: &Actor, action: AuditAction) -> Self {
        Self {
            pk: scope.partition(),
            sk: crate::domain::new_id(),
            item_type: AUDIT_TYPE.to_owned(),
            actor: actor.to_string(),
            action,
            target: None,
            details: None,
            request_id: crate::http::request_id::current().unwrap_or_default(),
            at: crate::domain::now_rfc3339(),
            ttl: crate::domain::now_epoch() + RETENTION_SECS,
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The event as a Put in the transaction of the change it records.
    pub fn transact_item(
        &self,
        store: &Store,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        store.transact_put(self, Some("attribute_not_exists(PK)"))
    }
}

/// Writes one event on its own.
#[tracing::instrument(skip_all, fields(action = ?event.action))]
pub async fn record(store: &Store, event: &AuditEvent) -> Result<(), StoreError> {
    store.put(event, Some("attribute_not_exists(PK)")).await
}

/// Writes an event to a user's personal trail (failed sign-in, refresh-token
/// reuse). Failing to audit must not fail the request it describes, so
/// errors are logged, not returned.
pub async fn record_user_event(
    store: &Store,
    user_id: &str,
    actor: &Actor,
    action: AuditAction,
    details: Option<serde_json::Value>,
) {
    let mut event = AuditEvent::new(&AuditScope::User(user_id.to_owned()), actor, action)
        .target(format!("user:{user_id}"));
    event.details = details;
    if let Err(err) = record(store, &event).await {
        tracing::error!(error = ?err, action = ?action, "could not write an audit event");
    }
}

/// One page of a trail, newest first. A cursor of another trail is a 400.
pub async fn list(
    store: &Store,
    scope: &AuditScope,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<AuditEvent>, QueryError> {
    let query = PartitionQuery {
        index: crate::store::Index::Table,
        partition: scope.partition(),
        sort_prefix: None,
        ascending: false,
    };
    store.query_page(&query, limit, cursor).await
}

/// An event as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    #[schema(example = "01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub id: String,
    #[schema(example = "user:01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub actor: String,
    pub action: AuditAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
    pub request_id: String,
    pub at: String,
}

impl From<AuditEvent> for AuditEventView {
    fn from(event: AuditEvent) -> Self {
        Self {
            id: event.sk,
            actor: event.actor,
            action: event.action,
            target: event.target,
            details: event.details,
            request_id: event.request_id,
            at: event.at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_keyed_by_trail_and_time_ordered_id() {
        let actor = Actor::User("u1".into());
        let first = AuditEvent::new(
            &AuditScope::Org("o1".into()),
            &actor,
            AuditAction::MemberRemoved,
        )
        .target("user:u2");
        let second = AuditEvent::new(
            &AuditScope::User("u1".into()),
            &Actor::Anonymous,
            AuditAction::LoginFailed,
        );
        assert_eq!(first.pk, "AUDIT#ORG#o1");
        assert_eq!(second.pk, "AUDIT#USER#u1");
        assert!(first.sk < second.sk || first.sk[..10] == second.sk[..10]);
        assert_eq!(first.actor, "user:u1");
        assert_eq!(second.actor, "anonymous");
        assert!(first.ttl > crate::domain::now_epoch() + 360 * 24 * 3600);
        assert_eq!(
            serde_json::to_value(first.action).unwrap(),
            "member.removed"
        );
    }
}
