//! The mail context's items (see docs/data-model.md, "Mail"). Every key
//! starts with the organization, so a template of another org cannot even
//! be addressed.
//!
//! - `MAIL#ORG#<orgId> / TEMPLATE#<templateId>`: a template and its draft.
//! - `MAIL#ORG#<orgId> / APPROVAL_POLICY`: the org's approval policy.
//! - `MAIL#ORG#<orgId>#TEMPLATE#<templateId> / VERSION#<n, 6 digits>`: a
//!   frozen version with its review; while in review also in GSI1
//!   `MAIL#ORG#<orgId>#REVIEWS / <submittedAt>#<templateId>#<n>` (the inbox).
//! - `MAIL#ORG#<orgId>#MESSAGES / <messageId>`: a message sent, newest last.
//! - `MAIL#ORG#<orgId>#SUPPRESSIONS / <email>`: an address the org no
//!   longer mails (unsubscribed, bounced, complained).
//! - `MAIL#ORG#<orgId>#SENDS / <sendId>`: a bulk send with its counters.
//! - `MAIL#ORG#<orgId>#SEND#<sendId> / RECIPIENT#<n, 6 digits>`: one
//!   recipient's outcome, written once (the worker's claim).

use serde::{Deserialize, Serialize};
use shared::auth::CapabilityRole;
use shared::mail::render::{self, AssetLinks, BodyFormat, Source, Variable};
use utoipa::ToSchema;

pub const TEMPLATE_TYPE: &str = "MAIL_TEMPLATE";
pub const VERSION_TYPE: &str = "MAIL_TEMPLATE_VERSION";
pub const POLICY_TYPE: &str = "MAIL_APPROVAL_POLICY";
pub const MESSAGE_TYPE: &str = "MAIL_MESSAGE";
pub const TEMPLATE_SK_PREFIX: &str = "TEMPLATE#";
pub const VERSION_SK_PREFIX: &str = "VERSION#";
const POLICY_SK: &str = "APPROVAL_POLICY";

pub fn org_pk(org_id: &str) -> String {
    format!("MAIL#ORG#{org_id}")
}

pub fn template_key(org_id: &str, template_id: &str) -> (String, String) {
    (org_pk(org_id), format!("{TEMPLATE_SK_PREFIX}{template_id}"))
}

pub fn versions_pk(org_id: &str, template_id: &str) -> String {
    format!("MAIL#ORG#{org_id}#TEMPLATE#{template_id}")
}

pub fn version_key(org_id: &str, template_id: &str, number: u32) -> (String, String) {
    (
        versions_pk(org_id, template_id),
        format!("{VERSION_SK_PREFIX}{number:06}"),
    )
}

pub fn reviews_partition(org_id: &str) -> String {
    format!("MAIL#ORG#{org_id}#REVIEWS")
}

pub fn policy_key(org_id: &str) -> (String, &'static str) {
    (org_pk(org_id), POLICY_SK)
}

pub fn messages_pk(org_id: &str) -> String {
    format!("MAIL#ORG#{org_id}#MESSAGES")
}

pub const SUPPRESSION_TYPE: &str = "MAIL_SUPPRESSION";
pub const SEND_TYPE: &str = "MAIL_BULK_SEND";
pub const RECIPIENT_TYPE: &str = "MAIL_BULK_RECIPIENT";
pub const RECIPIENT_SK_PREFIX: &str = "RECIPIENT#";

pub fn suppressions_pk(org_id: &str) -> String {
    format!("MAIL#ORG#{org_id}#SUPPRESSIONS")
}

pub fn sends_pk(org_id: &str) -> String {
    format!("MAIL#ORG#{org_id}#SENDS")
}

pub fn recipients_pk(org_id: &str, send_id: &str) -> String {
    format!("MAIL#ORG#{org_id}#SEND#{send_id}")
}

pub fn recipient_sk(index: usize) -> String {
    format!("{RECIPIENT_SK_PREFIX}{index:06}")
}

/// What a template is for; marketing mail carries unsubscribe headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Transactional,
    Marketing,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Transactional => "transactional",
            Category::Marketing => "marketing",
        }
    }
}

/// Where a template stands: `draft` until a version is active, `in_review`
/// while a version awaits its decisions, `active` when a version can be
/// sent and none is in review, `archived` after DELETE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    Draft,
    InReview,
    Active,
    Archived,
}

impl TemplateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateStatus::Draft => "draft",
            TemplateStatus::InReview => "in_review",
            TemplateStatus::Active => "active",
            TemplateStatus::Archived => "archived",
        }
    }
}

/// The editable content of a template: what a version freezes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[schema(example = "Order shipped")]
    pub name: String,
    pub category: Category,
    #[serde(default)]
    pub tags: Vec<String>,
    #[schema(example = "Your order {{ orderNumber }} is on its way")]
    pub subject: String,
    pub format: BodyFormat,
    #[schema(
        example = "<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ firstName }}</mj-text></mj-column></mj-section></mj-body></mjml>"
    )]
    pub body: String,
    /// The text part; generated from the HTML when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// The template images the body and text refer to (`asset:<id>`) with
    /// their published URLs, as resolved when the version was submitted. A
    /// draft's are resolved at each preview.
    #[serde(default, skip_serializing_if = "AssetLinks::is_empty")]
    #[schema(value_type = Object)]
    pub assets: AssetLinks,
}

impl Content {
    pub fn source(&self) -> Source<'_> {
        Source {
            subject: &self.subject,
            body: &self.body,
            format: self.format,
            text: self.text.as_deref(),
            assets: &self.assets,
        }
    }

    /// Resolves the images the parts refer to: each ready, published
    /// template image of `org_id` gets its URL; the rest stay unresolved, and
    /// rendering names them. One BatchGetItem.
    pub async fn link_images(
        &mut self,
        store: &shared::store::Store,
        media_base: Option<&str>,
        org_id: &str,
    ) -> Result<(), shared::store::StoreError> {
        let ids = render::asset_refs(&self.source());
        self.assets = if ids.is_empty() {
            AssetLinks::new()
        } else {
            shared::asset_refs::template_image_urls(store, media_base, org_id, &ids).await?
        };
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub id: String,
    pub org_id: String,
    pub content: Content,
    pub status: TemplateStatus,
    /// The version `send` uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_version: Option<u32>,
    /// The version in review, at most one at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_review_version: Option<u32>,
    /// The highest version number handed out (0: never submitted).
    pub latest_version: u32,
    /// Whether the draft differs from the latest version.
    pub changed_since_version: bool,
    /// Users who edited the draft since the last version: they may not
    /// approve the next one.
    #[serde(default)]
    pub edited_by: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// Optimistic lock; the ETag.
    pub version: u64,
}

impl TemplateRecord {
    /// The status that follows from the versions.
    pub fn derive_status(&mut self) {
        if self.status == TemplateStatus::Archived {
            return;
        }
        self.status = if self.in_review_version.is_some() {
            TemplateStatus::InReview
        } else if self.active_version.is_some() {
            TemplateStatus::Active
        } else {
            TemplateStatus::Draft
        };
    }
}

/// The states of a version (docs/mail.md draws them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    InReview,
    ChangesRequested,
    Withdrawn,
    /// Approved, not the one sent (approved while another was activated).
    Approved,
    Active,
    /// Approved, replaced by another active version; may be activated again.
    Superseded,
}

impl VersionStatus {
    pub fn was_approved(self) -> bool {
        matches!(
            self,
            VersionStatus::Approved | VersionStatus::Active | VersionStatus::Superseded
        )
    }
}

/// How many of a step's approvers must approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    All,
    Any,
    /// `n` of them.
    N,
}

/// One step of a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    #[schema(example = "Legal")]
    pub name: String,
    /// Users who may decide this step.
    #[serde(default)]
    pub users: Vec<String>,
    /// Members holding this capability role may decide it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<CapabilityRole>,
    pub rule: Rule,
    /// With rule `n`: how many approvals pass the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// A step that is not required is advisory: it never holds a version back.
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

/// The rules a version is reviewed under, frozen when it is submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// In order; no step at all means a submitted version is approved at once.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Lets the submitter and the draft's editors approve (off by default).
    #[serde(default)]
    pub allow_self_approval: bool,
    /// Whether an approved version becomes the active one (on by default).
    #[serde(default = "yes")]
    pub activate_on_approval: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            steps: Vec::new(),
            allow_self_approval: false,
            activate_on_approval: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub org_id: String,
    pub policy: Policy,
    pub updated_by: String,
    pub updated_at: String,
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approved,
    Rejected,
}

/// One person's decision on a version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The step (0-based) it was taken on.
    pub step: usize,
    pub user_id: String,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Set when an owner approved past the rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass_reason: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
    pub org_id: String,
    pub template_id: String,
    pub number: u32,
    pub content: Content,
    pub content_hash: String,
    pub status: VersionStatus,
    pub submitted_by: String,
    pub submitted_at: String,
    /// The submitter and the draft's editors: they may not approve it.
    pub ineligible: Vec<String>,
    pub policy: Policy,
    /// The step awaiting decisions; none once decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<usize>,
    #[serde(default)]
    pub decisions: Vec<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_by: Option<String>,
    pub version: u64,
}

impl VersionRecord {
    /// Takes the version out of the inbox index once it is decided.
    pub fn leave_review(&mut self) {
        self.gsi1pk = None;
        self.gsi1sk = None;
        self.current_step = None;
        self.decided_at = Some(shared::domain::now_rfc3339());
    }
}

/// What happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Sent,
    Suppressed,
    Bounced,
    Complained,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub id: String,
    pub org_id: String,
    pub template_id: String,
    /// The version sent; none for a test send of the draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_version: Option<u32>,
    pub recipient: String,
    pub subject: String,
    pub status: MessageStatus,
    #[serde(default)]
    pub test: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ses_message_id: Option<String>,
    pub sent_by: String,
    pub created_at: String,
}

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// The recipient used the one-click unsubscribe link.
    Unsubscribed,
    /// SES reported a permanent bounce.
    Bounced,
    /// The recipient marked a message as spam.
    Complained,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuppressionRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    /// The address, lower case.
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub org_id: String,
    pub email: String,
    pub reason: SuppressionReason,
    /// The message that led to it (a bounce or complaint), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub created_at: String,
}

/// Where a bulk send stands. `queued` and `queue_failed` are stored; the
/// API shows `sending` once a recipient is done and `completed` when all are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    Queued,
    Sending,
    Completed,
    /// The queue refused part of the work: the recipients not yet done
    /// will not be.
    QueueFailed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub id: String,
    pub org_id: String,
    pub template_id: String,
    pub template_version: u32,
    pub total: u32,
    /// Counters the worker adds to, once per recipient.
    #[serde(default)]
    pub sent: u32,
    #[serde(default)]
    pub suppressed: u32,
    #[serde(default)]
    pub failed: u32,
    pub status: SendStatus,
    pub created_by: String,
    pub created_at: String,
}

/// What became of one recipient of a bulk send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientStatus {
    /// A worker holds the recipient (SES may be taking the message).
    Sending,
    Sent,
    Suppressed,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipientRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub index: u32,
    pub email: String,
    pub status: RecipientStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Why the recipient failed: field → problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// The worker invocation holding a `sending` recipient, and since when
    /// (epoch seconds): a claim older than the lease may be taken over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<i64>,
    pub updated_at: String,
}
