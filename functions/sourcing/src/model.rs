//! The sourcing items (docs/data-model.md, "Sourcing"):
//! - `ORG#<buyerOrgId> / RFQ#<rfqId>`: the request for quotation;
//! - `RFQ#<rfqId> / MATCH#<supplierOrgId>`: one candidate's match result;
//! - `ORG#<supplierOrgId> / RFQINV#<rfqId>`: the supplier's invitation;
//! - `RFQ#<rfqId> / PROPOSAL#<supplierOrgId>`: the supplier's proposal
//!   (its latest revision), and `RFQ#<rfqId> / REVISION#<supplierOrgId>#<n>`
//!   every revision with its hash.

use serde::{Deserialize, Serialize};
use shared::domain::CountryCode;
use utoipa::ToSchema;

use crate::matching::{MatchResult, ScoreWeights};

pub const RFQ_TYPE: &str = "RFQ";
pub const MATCH_TYPE: &str = "RFQ_MATCH";
pub const INVITATION_TYPE: &str = "RFQ_INVITATION";
pub const PROPOSAL_TYPE: &str = "RFQ_PROPOSAL";
pub const REVISION_TYPE: &str = "RFQ_PROPOSAL_REVISION";
pub const RFQ_SK_PREFIX: &str = "RFQ#";
pub const INVITATION_SK_PREFIX: &str = "RFQINV#";
pub const MATCH_SK_PREFIX: &str = "MATCH#";
pub const PROPOSAL_SK_PREFIX: &str = "PROPOSAL#";
/// GSI1 partition of published RFQs by closing time: the schedule's queue.
pub const OPEN_RFQS_PARTITION: &str = "RFQS#OPEN";

pub fn org_pk(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

pub fn rfq_key(buyer_org_id: &str, rfq_id: &str) -> (String, String) {
    (org_pk(buyer_org_id), format!("{RFQ_SK_PREFIX}{rfq_id}"))
}

pub fn rfq_pk(rfq_id: &str) -> String {
    format!("RFQ#{rfq_id}")
}

pub fn match_key(rfq_id: &str, supplier_org_id: &str) -> (String, String) {
    (
        rfq_pk(rfq_id),
        format!("{MATCH_SK_PREFIX}{supplier_org_id}"),
    )
}

pub fn invitation_key(supplier_org_id: &str, rfq_id: &str) -> (String, String) {
    (
        org_pk(supplier_org_id),
        format!("{INVITATION_SK_PREFIX}{rfq_id}"),
    )
}

pub fn proposal_key(rfq_id: &str, supplier_org_id: &str) -> (String, String) {
    (
        rfq_pk(rfq_id),
        format!("{PROPOSAL_SK_PREFIX}{supplier_org_id}"),
    )
}

pub fn revision_key(rfq_id: &str, supplier_org_id: &str, revision: u32) -> (String, String) {
    (
        rfq_pk(rfq_id),
        format!("REVISION#{supplier_org_id}#{revision:05}"),
    )
}

shared::string_enum! {
    /// Where an RFQ is: `draft` → (`matching`, in the background) → `published` → `closed` → `awarded` /
    /// `partially_awarded` → `completed`; `cancelled` before completion;
    /// `expired` when the award deadline passes without an award.
    RfqStatus {
        Draft = "draft",
        Matching = "matching",
        Published = "published",
        Closed = "closed",
        PartiallyAwarded = "partially_awarded",
        Awarded = "awarded",
        Completed = "completed",
        Cancelled = "cancelled",
        Expired = "expired",
    }
}

shared::string_enum! {
    /// How a product line is counted.
    RfqUnit {
        Kg = "kg",
        Case = "case",
        Piece = "piece",
    }
}

shared::string_enum! {
    /// A supplier's invitation: `invited` → `viewed` → `declined` |
    /// `responded`.
    InvitationStatus {
        Invited = "invited",
        Viewed = "viewed",
        Declined = "declined",
        Responded = "responded",
    }
}

shared::string_enum! {
    /// A proposal: `submitted` (revisions) → `withdrawn`, or at closing
    /// `unsealed` → `shortlisted` | `disqualified`, then `awarded` |
    /// `partially_awarded` | `not_awarded` | `expired` (docs/sourcing.md).
    ProposalStatus {
        Submitted = "submitted",
        Withdrawn = "withdrawn",
        Unsealed = "unsealed",
        Shortlisted = "shortlisted",
        Disqualified = "disqualified",
        Awarded = "awarded",
        PartiallyAwarded = "partially_awarded",
        NotAwarded = "not_awarded",
        Expired = "expired",
    }
}

/// One thing the buyer asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RfqLine {
    /// `L1`, `L2`, ... in the order sent.
    #[schema(example = "L1")]
    pub id: String,
    /// The catalog category suppliers must sell in.
    pub category_id: String,
    /// What exactly is wanted, in words (required without `productId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Roma tomatoes, class I, 6 kg cases")]
    pub spec: Option<String>,
    /// An existing product this line asks for (or its equivalent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[schema(example = 500, minimum = 1)]
    pub quantity: i64,
    pub unit: RfqUnit,
    /// The unit price hoped for, in minor units of the RFQ's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 250)]
    pub target_unit_price: Option<i64>,
    /// The most the buyer pays per unit, in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 320)]
    pub max_unit_price: Option<i64>,
    /// The least a supplier may offer of this line (partial quantities);
    /// the whole quantity when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_order_quantity: Option<i64>,
    /// Lower-cased allergens the goods must be free from, e.g. `peanuts`.
    #[serde(default)]
    pub free_from: Vec<String>,
}

/// Where and when the goods arrive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub country: CountryCode,
    #[schema(example = "Berlin")]
    pub city: String,
    /// First day of the delivery window (ISO date).
    #[schema(example = "2026-12-14")]
    pub window_from: String,
    /// Last day of the delivery window (ISO date); certificates must be valid through it.
    #[schema(example = "2026-12-18")]
    pub window_to: String,
    #[serde(default)]
    pub cold_chain: bool,
    /// A saved address of the buyer organization, in `country`, that the
    /// awarded orders ship to; without it, the organization's default
    /// shipping address in `country` (at award time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_id: Option<String>,
}

/// How the awarded orders are paid: by invoice, due `netDays` after the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentTerms {
    /// 14, 30 or 60 (the invoice terms orders accepts).
    #[schema(example = 30)]
    pub net_days: u32,
}

/// What every supplier must hold, for every line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Requirements {
    /// Certificate schemes, lower case: haccp, iso22000, fssc22000, brcgs,
    /// ifs, organic, halal, kosher, fairtrade.
    #[serde(default)]
    pub certificates: Vec<String>,
}

/// The request for quotation as stored: `ORG#<buyerOrgId> / RFQ#<id>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RfqRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    /// Published RFQs only: `RFQS#OPEN` and `<closesAt>#<id>`.
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
    pub id: String,
    pub buyer_org_id: String,
    #[serde(flatten)]
    pub content: RfqContent,
    pub status: RfqStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching: Option<MatchingSummary>,
    /// `closesAt` and `awardBy` as epoch seconds, for conditions.
    pub closes_at_epoch: i64,
    pub award_by_epoch: i64,
    /// Proposals standing: moved by ADD in each proposal's transaction.
    #[serde(default)]
    pub proposal_count: i64,
    /// Amendments published since publishing (`RFQ#<id> / AMENDMENT#<n>`).
    #[serde(default)]
    pub amendment_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// What the buyer writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RfqContent {
    #[schema(example = "Tomatoes for the winter menu")]
    pub title: String,
    #[schema(example = "EUR")]
    pub currency: String,
    pub lines: Vec<RfqLine>,
    pub delivery: Delivery,
    pub payment_terms: PaymentTerms,
    pub requirements: Requirements,
    /// When proposals unseal (RFC 3339).
    pub closes_at: String,
    /// The award deadline (RFC 3339); unawarded, the RFQ expires then.
    pub award_by: String,
    pub weights: ScoreWeights,
    /// Fewer qualifying suppliers than this relaxes the practical rules
    /// (lead time, capacity), never the legal ones.
    #[schema(example = 3, minimum = 1, maximum = 50)]
    pub min_suppliers: u32,
}

impl RfqContent {
    /// (`closesAt`, `awardBy`) as epoch seconds; checked when written.
    pub fn epochs(&self) -> (i64, i64) {
        (
            shared::domain::rfc3339_to_epoch(&self.closes_at).unwrap_or_default(),
            shared::domain::rfc3339_to_epoch(&self.award_by).unwrap_or_default(),
        )
    }
}

/// What publishing found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchingSummary {
    pub candidates: u32,
    pub qualified: u32,
    /// Practical rules relaxed because fewer than `minSuppliers` qualified.
    pub relaxed_rules: Vec<String>,
    pub ran_at: String,
}

/// One candidate's match, stored at publishing: `RFQ#<id> / MATCH#<orgId>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub rfq_id: String,
    #[serde(flatten)]
    pub result: MatchResult,
}

/// A supplier's invitation: `ORG#<supplierOrgId> / RFQINV#<rfqId>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub rfq_id: String,
    pub buyer_org_id: String,
    pub supplier_org_id: String,
    pub title: String,
    pub closes_at: String,
    pub status: InvitationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<String>,
    pub score: u32,
    pub invited_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// A supplier's offer for one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProposalLine {
    #[schema(example = "L1")]
    pub rfq_line_id: String,
    /// Minor units of the RFQ's currency.
    #[schema(example = 240, minimum = 1)]
    pub unit_price: i64,
    #[schema(example = 500, minimum = 1)]
    pub quantity: i64,
}

/// What a supplier offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProposalContent {
    pub lines: Vec<ProposalLine>,
    #[schema(example = 7, minimum = 0, maximum = 365)]
    pub lead_time_days: u32,
    /// The offer holds until this date (ISO date).
    #[schema(example = "2027-01-31")]
    pub valid_until: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Prices include delivery to the door.")]
    pub terms: Option<String>,
    /// Ids of the supplier's checked uploads (product photos, compliance
    /// documents) attached to this revision; the buyer sees them after
    /// closing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
}

/// A supplier's proposal (its latest revision): `RFQ#<id> / PROPOSAL#<orgId>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub id: String,
    pub rfq_id: String,
    pub buyer_org_id: String,
    pub supplier_org_id: String,
    pub supplier_name: String,
    #[serde(flatten)]
    pub content: ProposalContent,
    pub status: ProposalStatus,
    pub revision: u32,
    /// SHA-256 (hex) of the revision's canonical JSON.
    pub hash: String,
    /// Why it was disqualified when it unsealed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disqualified_reasons: Vec<String>,
    /// Units awarded over all its lines (ADD in each award's transaction).
    #[serde(default)]
    pub awarded_quantity: i64,
    pub submitted_at: String,
    pub updated_at: String,
    pub version: u64,
}

impl ProposalRecord {
    /// Units offered over all its lines.
    pub fn offered_quantity(&self) -> i64 {
        self.content.lines.iter().map(|l| l.quantity).sum()
    }

    /// The status as shown. Stored: `submitted`, `withdrawn`, `unsealed`,
    /// `disqualified` (at closing), `shortlisted`, `awarded`,
    /// `partially_awarded`. Derived from the RFQ: `submitted` reads as
    /// `unsealed` once it closed; an RFQ awarded out leaves the others
    /// `not_awarded`; an expired RFQ, or an offer past its `validUntil`,
    /// leaves them `expired`.
    pub fn shown_status(&self, rfq: RfqStatus, today: time::Date) -> ProposalStatus {
        use ProposalStatus as P;
        if matches!(
            self.status,
            P::Withdrawn | P::Disqualified | P::Awarded | P::PartiallyAwarded
        ) {
            return self.status;
        }
        match rfq {
            RfqStatus::Draft | RfqStatus::Matching | RfqStatus::Published => P::Submitted,
            RfqStatus::Expired => P::Expired,
            RfqStatus::Awarded | RfqStatus::Completed | RfqStatus::Cancelled => P::NotAwarded,
            RfqStatus::Closed | RfqStatus::PartiallyAwarded => {
                let lapsed = crate::matching::parse_date(&self.content.valid_until)
                    .is_some_and(|until| until < today);
                match self.status {
                    _ if lapsed => P::Expired,
                    P::Submitted => P::Unsealed,
                    other => other,
                }
            }
        }
    }
}

/// One revision as submitted, never changed: `RFQ#<id> / REVISION#<orgId>#<n>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub rfq_id: String,
    pub supplier_org_id: String,
    pub revision: u32,
    #[serde(flatten)]
    pub content: ProposalContent,
    pub hash: String,
    pub submitted_by: String,
    pub submitted_at: String,
}

/// Every item of a partition under a sort-key prefix, oldest first (at most
/// 20 pages of 1,000: an RFQ's matches or proposals).
pub async fn all_under<T: serde::de::DeserializeOwned>(
    store: &shared::store::Store,
    pk: String,
    prefix: &str,
) -> shared::http::ApiResult<Vec<T>> {
    let query = shared::store::PartitionQuery {
        index: shared::store::Index::Table,
        partition: pk,
        sort_prefix: Some(prefix.to_owned()),
        ascending: true,
    };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let page = store
            .query_page::<T>(&query, 1000, cursor.as_deref())
            .await?;
        items.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(items)
}
