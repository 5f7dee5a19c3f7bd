//! The studio's items (see docs/data-model.md, "Studio").
//!
//! - `DESIGN#<id> / DESIGN`: a design, its generation and its counters
//!   (likes, views). In GSI1 `STUDIO#USER#<ownerId> / DESIGN#<id>` (the
//!   owner's designs, newest first). While public and ready it is also in
//!   the gallery: GSI2 `STUDIO#GALLERY#<category> / <id>` (newest) and GSI3
//!   `STUDIO#GALLERY#<category> / <hot score>#<id>` (popular).
//! - `DESIGN#<id> / LIKE#<userId>`: one user's like (the marker that makes
//!   liking idempotent).
//! - `DESIGN#<id> / VIEW#<hmac>`: one viewer's view on one day, an HMAC of
//!   viewer and day (no personal data), expiring after two days.
//! - `STUDIO#USER#<userId>#LIMITS / SLOT#<n>`: one of the ten generation
//!   slots of the rolling hour; `BAN` and `BLOCKS#<day>` for the prompt
//!   safety escalation.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub const DESIGN_TYPE: &str = "STUDIO_DESIGN";
pub const LIKE_TYPE: &str = "STUDIO_LIKE";
pub const VIEW_TYPE: &str = "STUDIO_VIEW";
pub const SLOT_TYPE: &str = "STUDIO_SLOT";
pub const DESIGN_SK: &str = "DESIGN";

pub fn design_key(id: &str) -> (String, &'static str) {
    (format!("DESIGN#{id}"), DESIGN_SK)
}

pub fn owner_partition(user_id: &str) -> String {
    format!("STUDIO#USER#{user_id}")
}

pub fn limits_partition(user_id: &str) -> String {
    format!("STUDIO#USER#{user_id}#LIMITS")
}

pub fn gallery_partition(category: DesignCategory) -> String {
    format!("STUDIO#GALLERY#{category}")
}

shared::string_enum! {
    /// What kind of garment a design is for.
    DesignCategory { Dress = "dress", Shirt = "shirt", Pants = "pants", Accessories = "accessories", }
}

shared::string_enum! {
    /// The look of a design; the offline generator picks its pattern from it.
    DesignStyle { Casual = "casual", Formal = "formal", Sporty = "sporty", Vintage = "vintage", }
}

shared::string_enum! {
    /// Where a design is: `generating` until the worker is done, then
    /// `ready`, `failed` (the provider could not draw it) or `blocked` (the
    /// provider's moderation refused it).
    DesignStatus { Generating = "generating", Ready = "ready", Failed = "failed", Blocked = "blocked", }
}

/// The stored image of a ready design: public, stable URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DesignImage {
    pub url: String,
    pub thumbnail_url: String,
    pub width: u32,
    pub height: u32,
    pub content_type: String,
    /// SHA-256 of the image bytes, hex.
    pub sha256: String,
}

/// How a design was drawn, enough to draw it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerationInfo {
    /// `procedural` (offline) or `openai`.
    pub provider: String,
    pub model: String,
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// Hex; the offline generator's RNG seed, from a hash of the inputs.
    pub seed: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesignRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    #[serde(rename = "GSI2PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(rename = "GSI2SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
    #[serde(rename = "GSI3PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi3pk: Option<String>,
    #[serde(rename = "GSI3SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi3sk: Option<String>,
    pub id: String,
    pub owner_id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub prompt: String,
    pub category: DesignCategory,
    pub style: DesignStyle,
    pub colors: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub is_public: bool,
    pub status: DesignStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<DesignImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<GenerationInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub palette_score: Option<f64>,
    #[serde(default)]
    pub dominant_colors: Vec<String>,
    /// A provider's job to poll, while it draws.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_job: Option<String>,
    /// The generation slot this design holds (given back if it fails).
    pub slot: u32,
    #[serde(default)]
    pub likes: i64,
    #[serde(default)]
    pub views: i64,
    /// Likes and unlikes so far; the hot score records the count it was
    /// computed at, so a late score update never overwrites a newer one.
    #[serde(default)]
    pub like_events: i64,
    pub created_epoch: i64,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
    /// Set while a moderator holds the design for review (see
    /// `crate::moderation`): out of the gallery, a 404 to all but its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_at: Option<String>,
}

impl DesignRecord {
    /// Whether the gallery shows it.
    pub fn listed(&self) -> bool {
        self.is_public && self.status == DesignStatus::Ready && self.held_at.is_none()
    }
}

/// A design as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DesignView {
    pub id: String,
    pub owner_id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub prompt: String,
    pub category: DesignCategory,
    pub style: DesignStyle,
    /// The requested palette, `#rrggbb`.
    pub colors: Vec<String>,
    pub tags: Vec<String>,
    pub is_public: bool,
    pub status: DesignStatus,
    /// Why a design failed or was blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<DesignImage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<GenerationInfo>,
    /// 0..1: how close the image's dominant colours are to the requested
    /// ones (see docs/studio.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub palette_score: Option<f64>,
    /// The image's dominant colours, most present first.
    pub dominant_colors: Vec<String>,
    pub likes: i64,
    pub views: i64,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
    /// True while a moderator holds it for review: only its owner sees it.
    pub held_for_review: bool,
}

impl From<DesignRecord> for DesignView {
    fn from(r: DesignRecord) -> Self {
        Self {
            id: r.id,
            owner_id: r.owner_id,
            title: r.title,
            description: r.description,
            prompt: r.prompt,
            category: r.category,
            style: r.style,
            colors: r.colors,
            tags: r.tags,
            is_public: r.is_public,
            status: r.status,
            status_reason: r.status_reason,
            image: r.image,
            generation: r.generation,
            palette_score: r.palette_score,
            dominant_colors: r.dominant_colors,
            likes: r.likes,
            views: r.views,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
            held_for_review: r.held_at.is_some(),
        }
    }
}

/// Reddit's "hot" ranking: the order of magnitude of the net likes plus
/// the age bonus (one order of magnitude of likes is worth 12.5 hours).
/// It changes only when likes change, so it can live in a sort key.
pub fn hot_score(likes: i64, created_epoch: i64) -> f64 {
    let order = (likes.unsigned_abs().max(1) as f64).log10();
    let sign = likes.signum() as f64;
    sign * order + (created_epoch - 1_134_028_003) as f64 / 45_000.0
}

/// The hot score as a sort key that orders like the number: offset to be
/// positive and zero-padded, then the id to break ties.
pub fn hot_sort_key(likes: i64, created_epoch: i64, id: &str) -> String {
    let score = (hot_score(likes, created_epoch) + 10_000.0).max(0.0);
    format!("{score:020.9}#{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_likes_rank_higher_at_the_same_age() {
        let t = 1_790_000_000;
        assert!(hot_sort_key(10, t, "A") > hot_sort_key(9, t, "A"));
        assert!(hot_sort_key(2, t, "A") > hot_sort_key(0, t, "B"));
        assert!(hot_sort_key(0, t, "A") > hot_sort_key(-3, t, "A"));
    }

    #[test]
    fn newer_designs_need_fewer_likes() {
        let t = 1_790_000_000;
        // 12.5 hours newer is worth ten times the likes.
        assert!(hot_sort_key(2, t + 45_000, "A") > hot_sort_key(10, t, "B"));
        assert!(hot_sort_key(100, t, "A") > hot_sort_key(2, t + 45_000, "B"));
        assert_eq!(
            hot_sort_key(1, t, "X").len(),
            hot_sort_key(1000, t, "X").len()
        );
    }
}
