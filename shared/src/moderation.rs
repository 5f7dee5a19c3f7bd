//! Moderation of public content (reviews in the catalog, designs in the
//! studio): who moderates, people's reports, and the queue moderators work
//! through. Each context owns its content and hides or restores it itself;
//! what they share is here, so the queue is one list across contexts.
//!
//! Items (see docs/data-model.md, "Moderation"):
//! - `REPORTED#<content> / SUMMARY` (`REPORTED_CONTENT`): one per reported
//!   piece of content (`REVIEW#<productId>#<authorId>`, `DESIGN#<designId>`),
//!   with `reportCount`, the latest reason and the queue status. While open
//!   it carries GSI1 `MODERATION#QUEUE / <count, 10 digits>#<content>`, so
//!   the queue is one Query, most reported first; a decision removes the
//!   keys.
//! - `REPORTED#<content> / BY#<userId>` (`CONTENT_REPORT`): one person's
//!   report, written with `attribute_not_exists(PK)` in the same transaction
//!   as the count, so a person reports a thing once. Reporting again answers
//!   with the first report (200) and counts nothing.
//!
//! The count moves with a condition on the count it read (`reportCount =
//! :old`) so concurrent reports never lose one: a lost race is tried again.
//!
//! Who moderates is the role stored on the account, not the one in the
//! access token: a revoked moderator's token still says `moderator` until
//! it expires, so every write carries a ConditionCheck on the moderator's
//! account item ([`moderator_check`], no extra round trip) and every read
//! looks it up ([`require_moderator`]).

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{Actor, AuditAction, AuditEvent, AuditScope};
use crate::auth::{PlatformRole, Principal};
use crate::contracts::user::{ROLE_ATTRIBUTE, UserStanding, user_account_key};
use crate::http::{ApiError, ApiResult, Problems};
use crate::store::{
    Index, Page, PartitionQuery, QueryError, Store, StoreError, Transaction, Update, n, s,
};

pub const SUMMARY_TYPE: &str = "REPORTED_CONTENT";
pub const REPORT_TYPE: &str = "CONTENT_REPORT";
const SUMMARY_SK: &str = "SUMMARY";
const QUEUE_PARTITION: &str = "MODERATION#QUEUE";
pub const MAX_REASON_CHARS: usize = 500;
/// The name of the moderator's ConditionCheck in a transaction.
pub const MODERATOR_CONDITION: &str = "moderator";
/// Reports racing on one count are tried again this many times.
const REPORT_ATTEMPTS: usize = 5;

/// What kind of content a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportedKind {
    Review,
    Design,
}

impl ReportedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportedKind::Review => "review",
            ReportedKind::Design => "design",
        }
    }
}

/// One piece of public content, and who wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub kind: ReportedKind,
    /// The review's product, for reviews.
    pub product_id: Option<String>,
    /// The design, for designs.
    pub design_id: Option<String>,
    /// The review's author or the design's owner.
    pub author_id: String,
}

impl Content {
    pub fn review(product_id: &str, author_id: &str) -> Self {
        Self {
            kind: ReportedKind::Review,
            product_id: Some(product_id.to_owned()),
            design_id: None,
            author_id: author_id.to_owned(),
        }
    }

    pub fn design(design_id: &str, owner_id: &str) -> Self {
        Self {
            kind: ReportedKind::Design,
            product_id: None,
            design_id: Some(design_id.to_owned()),
            author_id: owner_id.to_owned(),
        }
    }

    /// `REVIEW#<productId>#<authorId>` or `DESIGN#<designId>`.
    fn key(&self) -> String {
        match self.kind {
            ReportedKind::Review => format!(
                "REVIEW#{}#{}",
                self.product_id.as_deref().unwrap_or_default(),
                self.author_id
            ),
            ReportedKind::Design => {
                format!("DESIGN#{}", self.design_id.as_deref().unwrap_or_default())
            }
        }
    }

    fn partition(&self) -> String {
        format!("REPORTED#{}", self.key())
    }

    /// How the audit trail names it: `review:<productId>` or `design:<id>`.
    pub fn audit_target(&self) -> String {
        match self.kind {
            ReportedKind::Review => {
                format!("review:{}", self.product_id.as_deref().unwrap_or_default())
            }
            ReportedKind::Design => {
                format!("design:{}", self.design_id.as_deref().unwrap_or_default())
            }
        }
    }
}

/// Where a reported piece of content stands in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModerationStatus {
    /// Reported and not yet decided: in the queue.
    Open,
    /// A moderator hid it.
    Hidden,
    /// A moderator kept it (restored it, or dismissed the reports).
    Restored,
}

/// The queue entry of one reported piece of content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportedContent {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    pub kind: ReportedKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design_id: Option<String>,
    pub author_id: String,
    pub report_count: i64,
    pub last_reason: String,
    pub last_reported_at: String,
    pub status: ModerationStatus,
}

/// One person's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    reporter_id: String,
    reason: String,
    reported_at: String,
}

/// A queue entry as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModerationReportView {
    pub kind: ReportedKind,
    /// For reviews: the product (with `authorId`, the review's key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// For designs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design_id: Option<String>,
    /// The review's author or the design's owner.
    pub author_id: String,
    #[schema(example = 3)]
    pub report_count: i64,
    #[schema(example = "Spam: links to another shop")]
    pub last_reason: String,
    pub last_reported_at: String,
    pub status: ModerationStatus,
}

impl From<ReportedContent> for ModerationReportView {
    fn from(r: ReportedContent) -> Self {
        Self {
            kind: r.kind,
            product_id: r.product_id,
            design_id: r.design_id,
            author_id: r.author_id,
            report_count: r.report_count,
            last_reason: r.last_reason,
            last_reported_at: r.last_reported_at,
            status: r.status,
        }
    }
}

/// What `POST .../reports` answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentReportView {
    pub kind: ReportedKind,
    /// The reason as recorded (HTML removed); on a repeat, the first one.
    pub reason: String,
    pub reported_at: String,
    /// How many people reported it so far.
    #[schema(example = 1)]
    pub report_count: i64,
}

/// A report or a moderator's decision: why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// 1 to 500 characters; HTML tags are removed.
    #[schema(
        example = "Spam: links to another shop",
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
    )]
    pub reason: String,
}

impl ReasonRequest {
    /// The reason, HTML removed and trimmed; 422 if blank or too long.
    pub fn parse(self) -> ApiResult<String> {
        // The limit holds for what was sent, before tags and spaces go.
        if self.reason.chars().count() > MAX_REASON_CHARS {
            return Err(ApiError::invalid_field(
                "reason",
                format!("must be at most {MAX_REASON_CHARS} characters"),
            ));
        }
        let mut problems = Problems::default();
        let reason = problems.text(
            "reason",
            &crate::domain::strip_html(&self.reason),
            1,
            MAX_REASON_CHARS,
        );
        problems.finish("the reason is invalid", || reason)
    }
}

fn not_a_moderator() -> ApiError {
    ApiError::forbidden("this needs a platform moderator or admin")
}

/// 403 at once for a token that never named a moderator (no read).
fn claims_to_moderate(principal: &Principal) -> ApiResult<()> {
    match principal.role {
        PlatformRole::Moderator | PlatformRole::Admin => Ok(()),
        PlatformRole::Customer => Err(not_a_moderator()),
    }
}

/// For reads (the queue): 403 unless the caller's account holds the
/// moderator or admin role now.
pub async fn require_moderator(store: &Store, principal: &Principal) -> ApiResult<()> {
    claims_to_moderate(principal)?;
    let (pk, sk) = user_account_key(&principal.user_id);
    match store.get::<UserStanding>(&pk, sk).await? {
        Some(user) if user.moderates() => Ok(()),
        _ => Err(not_a_moderator()),
    }
}

/// For writes: a ConditionCheck (named [`MODERATOR_CONDITION`]) that the
/// caller's account holds the moderator or admin role when the transaction
/// commits.
fn moderator_check(store: &Store, principal: &Principal) -> ApiResult<TransactWriteItem> {
    claims_to_moderate(principal)?;
    let (pk, sk) = user_account_key(&principal.user_id);
    Ok(store.transact_check(
        &pk,
        sk,
        "#role IN (:moderator, :admin) AND attribute_not_exists(deletedAt)",
        &[("#role", ROLE_ATTRIBUTE)],
        &[
            (":moderator", s(PlatformRole::Moderator.as_str())),
            (":admin", s(PlatformRole::Admin.as_str())),
        ],
    )?)
}

fn queue_sort_key(count: i64, content: &Content) -> String {
    format!("{count:010}#{}", content.key())
}

async fn summary(store: &Store, content: &Content) -> Result<Option<ReportedContent>, StoreError> {
    store.get(&content.partition(), SUMMARY_SK).await
}

/// Whether the report was new or a repeat of the reporter's earlier one.
pub enum Reported {
    New(ContentReportView),
    Repeat(ContentReportView),
}

/// Records `reporter`'s report of `content` (once per person; a repeat
/// answers with the first report) and moves it up the queue. The caller
/// checks first that the content exists and is visible.
pub async fn report(
    store: &Store,
    content: &Content,
    reporter: &str,
    reason: String,
) -> ApiResult<Reported> {
    if reporter == content.author_id {
        return Err(ApiError::invalid_field(
            "reason",
            "you cannot report your own content",
        ));
    }
    let partition = content.partition();
    let marker_sk = format!("BY#{reporter}");
    let repeat = |marker: ReportRecord, count: i64| {
        Reported::Repeat(ContentReportView {
            kind: content.kind,
            reason: marker.reason,
            reported_at: marker.reported_at,
            report_count: count,
        })
    };
    for _ in 0..REPORT_ATTEMPTS {
        let current = summary(store, content).await?;
        let old = current.as_ref().map_or(0, |c| c.report_count);
        if let Some(marker) = store.get::<ReportRecord>(&partition, &marker_sk).await? {
            return Ok(repeat(marker, old));
        }
        let now = crate::domain::now_rfc3339();
        let marker = ReportRecord {
            pk: partition.clone(),
            sk: marker_sk.clone(),
            item_type: REPORT_TYPE.to_owned(),
            reporter_id: reporter.to_owned(),
            reason: reason.clone(),
            reported_at: now.clone(),
        };
        let count = old + 1;
        // Content a moderator hid stays out of the queue; anything else is
        // (back) in it.
        let hidden = current
            .as_ref()
            .is_some_and(|c| c.status == ModerationStatus::Hidden);
        let mut expression = "SET #type = :type, kind = :kind, authorId = :author, \
             reportCount = :count, lastReason = :reason, lastReportedAt = :now"
            .to_owned();
        let mut names = vec![("#type", "type")];
        let mut values = vec![
            (":type", s(SUMMARY_TYPE)),
            (":kind", s(content.kind.as_str())),
            (":author", s(&content.author_id)),
            (":count", n(count)),
            (":reason", s(&reason)),
            (":now", s(&now)),
        ];
        if !hidden {
            expression.push_str(", #status = :open, GSI1PK = :queue, GSI1SK = :rank");
            names.push(("#status", "status"));
            values.push((":open", s("open")));
            values.push((":queue", s(QUEUE_PARTITION)));
            values.push((":rank", s(queue_sort_key(count, content))));
        }
        if let Some(product_id) = &content.product_id {
            expression.push_str(", productId = :product");
            values.push((":product", s(product_id)));
        }
        if let Some(design_id) = &content.design_id {
            expression.push_str(", designId = :design");
            values.push((":design", s(design_id)));
        }
        let condition = match &current {
            None => "attribute_not_exists(PK)",
            Some(_) => {
                values.push((":old", n(old)));
                "reportCount = :old"
            }
        };
        let mut update = Update::new(&partition, SUMMARY_SK, expression).condition(condition);
        for (placeholder, attribute) in names {
            update = update.name(placeholder, attribute);
        }
        for (placeholder, value) in values {
            update = update.value(placeholder, value);
        }
        let mut tx = Transaction::new();
        tx.push(store.transact_put(&marker, Some("attribute_not_exists(PK)"))?)
            .named("report");
        tx.push(store.transact_update(update)?).named("summary");
        match store.transact(tx).await {
            Ok(()) => {
                return Ok(Reported::New(ContentReportView {
                    kind: content.kind,
                    reason,
                    reported_at: now,
                    report_count: count,
                }));
            }
            Err(err) if err.condition_failed("report") => {
                let marker = store
                    .get::<ReportRecord>(&partition, &marker_sk)
                    .await?
                    .ok_or_else(|| ApiError::conflict("the report changed meanwhile; retry"))?;
                let count = summary(store, content)
                    .await?
                    .map_or(count, |c| c.report_count);
                return Ok(repeat(marker, count));
            }
            Err(err) if err.condition_failed("summary") => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::conflict(
        "many people are reporting this right now; retry",
    ))
}

/// The write that takes `content` out of the queue with a moderator's
/// decision, when it was ever reported (none otherwise), for the
/// transaction of the decision.
async fn settle(
    store: &Store,
    content: &Content,
    status: ModerationStatus,
) -> ApiResult<Option<TransactWriteItem>> {
    if summary(store, content).await?.is_none() {
        return Ok(None);
    }
    let status = match status {
        ModerationStatus::Open => "open",
        ModerationStatus::Hidden => "hidden",
        ModerationStatus::Restored => "restored",
    };
    let update = Update::new(
        content.partition(),
        SUMMARY_SK,
        "SET #status = :status REMOVE GSI1PK, GSI1SK",
    )
    .condition("attribute_exists(PK)")
    .name("#status", "status")
    .value(":status", s(status));
    Ok(Some(store.transact_update(update)?))
}

/// The audit event of a moderator's decision, in the author's own trail
/// (`GET /v1/me/audit`): hiding names the reason; the stream emails the
/// author from it.
fn decision_event(
    content: &Content,
    moderator: &Principal,
    action: AuditAction,
    reason: Option<&str>,
) -> AuditEvent {
    let mut details = json!({ "kind": content.kind.as_str() });
    if let Some(product_id) = &content.product_id {
        details["productId"] = json!(product_id);
    }
    if let Some(design_id) = &content.design_id {
        details["designId"] = json!(design_id);
    }
    if let Some(reason) = reason {
        details["reason"] = json!(reason);
    }
    AuditEvent::new(
        &AuditScope::User(content.author_id.clone()),
        &Actor::User(moderator.user_id.clone()),
        action,
    )
    .target(content.audit_target())
    .details(details)
}

/// Records a moderator's decision on `content` in one transaction: the
/// moderator's standing, the owner's `writes` (named, e.g. the review and
/// the product's rating), the queue entry (when it was reported) and the
/// event in the author's trail (when anything changed). `failed` maps the
/// owner's named conditions to their answers; a failed moderator check is
/// 403, a queue entry that changed meanwhile 409.
pub async fn decide(
    store: &Store,
    moderator: &Principal,
    content: &Content,
    writes: Vec<(&'static str, TransactWriteItem)>,
    action: AuditAction,
    reason: Option<&str>,
    failed: impl Fn(&StoreError) -> Option<ApiError>,
) -> ApiResult<()> {
    let status = if action == AuditAction::ContentHidden {
        ModerationStatus::Hidden
    } else {
        ModerationStatus::Restored
    };
    let mut tx = Transaction::new();
    tx.push(moderator_check(store, moderator)?)
        .named(MODERATOR_CONDITION);
    let changes = !writes.is_empty();
    for (name, write) in writes {
        tx.push(write).named(name);
    }
    let settled = settle(store, content, status).await?;
    let decided = settled.is_some();
    if let Some(queue) = settled {
        tx.push(queue).named("queue");
    }
    if changes || decided {
        let event = decision_event(content, moderator, action, reason);
        tx.push(event.transact_item(store)?);
    }
    match store.transact(tx).await {
        Ok(()) => Ok(()),
        Err(err) => Err(if err.condition_failed(MODERATOR_CONDITION) {
            not_a_moderator()
        } else if let Some(answer) = failed(&err) {
            answer
        } else if err.condition_failed("queue") {
            ApiError::conflict("the reports changed meanwhile; retry")
        } else {
            err.into()
        }),
    }
}

/// One page of the open queue, most reported first.
pub async fn queue(
    store: &Store,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<ReportedContent>, QueryError> {
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: QUEUE_PARTITION.to_owned(),
        sort_prefix: None,
        ascending: false,
    };
    store.query_page(&query, limit, cursor).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_sorts_by_count_as_text() {
        let review = Content::review("p1", "u1");
        let design = Content::design("d1", "u2");
        assert_eq!(review.partition(), "REPORTED#REVIEW#p1#u1");
        assert_eq!(design.partition(), "REPORTED#DESIGN#d1");
        let nine = queue_sort_key(9, &review);
        let ten = queue_sort_key(10, &design);
        assert!(ten > nine, "{ten} sorts after {nine}");
        assert_eq!(nine, "0000000009#REVIEW#p1#u1");
        assert_eq!(review.audit_target(), "review:p1");
        assert_eq!(design.audit_target(), "design:d1");
    }

    #[test]
    fn reasons_lose_their_markup_and_must_say_something() {
        let reason = ReasonRequest {
            reason: " <b>spam</b> ".into(),
        };
        assert_eq!(reason.parse().unwrap(), "spam");
        let blank = ReasonRequest {
            reason: "<i></i>".into(),
        };
        assert_eq!(blank.parse().unwrap_err().status().as_u16(), 422);
        let long = ReasonRequest {
            reason: "x".repeat(MAX_REASON_CHARS + 1),
        };
        assert!(long.parse().is_err());
    }

    #[test]
    fn only_moderators_and_admins_claim_to_moderate() {
        let principal = |role| Principal {
            user_id: "u".into(),
            role,
            session_id: None,
            mfa: false,
        };
        assert!(claims_to_moderate(&principal(PlatformRole::Moderator)).is_ok());
        assert!(claims_to_moderate(&principal(PlatformRole::Admin)).is_ok());
        assert_eq!(
            claims_to_moderate(&principal(PlatformRole::Customer))
                .unwrap_err()
                .status()
                .as_u16(),
            403
        );
    }
}
