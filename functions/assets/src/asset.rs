//! Assets as items, and the rules per purpose: who owns an asset, which
//! types and sizes it may have, which permission reads or changes it.
//!
//! Item: `ASSET#<id> / ASSET`. Objects: the original at
//! `uploads/<owner>/<id>/<file name>`, the thumbnail at
//! `thumbnails/<owner>/<id>.png` (outside `uploads/`, so writing it does not
//! trigger the ingest function again), the published copy of a template
//! image at `public/template-assets/<id>/<file name>`.

use serde::{Deserialize, Serialize};
use shared::auth::Permission;
use utoipa::ToSchema;

pub const ASSET_TYPE: &str = "ASSET";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    ProductImage,
    DesignArtwork,
    TemplateAsset,
    ComplianceDocument,
}

/// What a file really is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum MediaType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
    #[serde(rename = "image/svg+xml")]
    Svg,
    #[serde(rename = "application/pdf")]
    Pdf,
}

impl MediaType {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Some(MediaType::Jpeg),
            "image/png" => Some(MediaType::Png),
            "image/webp" => Some(MediaType::Webp),
            "image/svg+xml" => Some(MediaType::Svg),
            "application/pdf" => Some(MediaType::Pdf),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Svg => "image/svg+xml",
            MediaType::Pdf => "application/pdf",
        }
    }

    /// Raster images get dimensions and a thumbnail.
    pub fn is_raster(self) -> bool {
        matches!(self, MediaType::Jpeg | MediaType::Png | MediaType::Webp)
    }
}

const MIB: u64 = 1024 * 1024;
const RASTER: &[MediaType] = &[MediaType::Jpeg, MediaType::Png, MediaType::Webp];
const ARTWORK: &[MediaType] = &[
    MediaType::Jpeg,
    MediaType::Png,
    MediaType::Webp,
    MediaType::Svg,
];
const DOCUMENTS: &[MediaType] = &[MediaType::Pdf];

impl Purpose {
    pub fn allowed_types(self) -> &'static [MediaType] {
        match self {
            Purpose::ProductImage | Purpose::TemplateAsset => RASTER,
            Purpose::DesignArtwork => ARTWORK,
            Purpose::ComplianceDocument => DOCUMENTS,
        }
    }

    pub fn max_bytes(self) -> u64 {
        match self {
            Purpose::ProductImage => 10 * MIB,
            Purpose::DesignArtwork => 25 * MIB,
            Purpose::TemplateAsset => 5 * MIB,
            Purpose::ComplianceDocument => 20 * MIB,
        }
    }

    /// Organization assets need an org and this permission in it to upload
    /// or delete; design artwork belongs to the designer (a user).
    pub fn write_permission(self) -> Option<Permission> {
        match self {
            Purpose::ProductImage | Purpose::ComplianceDocument => Some(Permission::ProductWrite),
            Purpose::TemplateAsset => Some(Permission::TemplateWrite),
            Purpose::DesignArtwork => None,
        }
    }

    /// Files meant for anyone once checked: template images go out in
    /// emails, so a ready one gets a published copy under the bucket's
    /// public prefix, at a URL that never expires.
    pub fn is_published(self) -> bool {
        matches!(self, Purpose::TemplateAsset)
    }

    pub fn read_permission(self) -> Option<Permission> {
        match self {
            Purpose::ProductImage | Purpose::ComplianceDocument => Some(Permission::ProductRead),
            Purpose::TemplateAsset => Some(Permission::TemplateRead),
            Purpose::DesignArtwork => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Owner {
    User(String),
    Org(String),
}

impl Owner {
    /// The owner's segment of object keys.
    pub fn key_segment(&self) -> String {
        match self {
            Owner::User(id) => format!("user-{id}"),
            Owner::Org(id) => format!("org-{id}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Granted an upload; the file has not been checked yet.
    Pending,
    Ready,
    /// The file was refused and deleted; `rejectReason` says why.
    Rejected,
}

pub use shared::asset_refs::asset_key;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub id: String,
    pub owner: Owner,
    pub purpose: Purpose,
    pub status: Status,
    pub declared_type: MediaType,
    pub declared_size: u64,
    pub file_name: String,
    pub object_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_key: Option<String>,
    /// The published copy (see [`Purpose::is_published`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// A grant never used expires with its item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

/// Keeps a client's file name readable (letters of any script, digits,
/// spaces, `.-_`), bounded, and free of path separators.
pub fn clean_file_name(raw: Option<&str>) -> String {
    let cleaned: String = raw
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_read_model_reads_the_full_item() {
        let record = AssetRecord {
            pk: "ASSET#01JDC0ASSET000000000000001".into(),
            sk: "ASSET".into(),
            item_type: ASSET_TYPE.into(),
            id: "01JDC0ASSET000000000000001".into(),
            owner: Owner::Org("org-1".into()),
            purpose: Purpose::TemplateAsset,
            status: Status::Ready,
            declared_type: MediaType::Png,
            declared_size: 10,
            file_name: "logo.png".into(),
            object_key: "uploads/org-1/01JDC0ASSET000000000000001/logo.png".into(),
            thumbnail_key: None,
            public_key: Some("public/template-assets/01JDC0ASSET000000000000001/logo.png".into()),
            size: Some(10),
            width: Some(1),
            height: Some(1),
            reject_reason: None,
            created_by: "user-1".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            ttl: None,
        };
        let read: shared::asset_refs::AssetRef =
            serde_json::from_value(serde_json::to_value(&record).unwrap()).unwrap();
        assert_eq!(read.id, record.id);
        assert_eq!(read.purpose, "template_asset");
        assert_eq!(read.status, "ready");
        assert_eq!(
            (read.owner.kind.as_str(), read.owner.id.as_str()),
            ("org", "org-1")
        );
        assert_eq!(read.public_key, record.public_key);
        assert_eq!(read.file_name.as_deref(), Some(record.file_name.as_str()));
        assert_eq!(read.object_key.as_deref(), Some(record.object_key.as_str()));
    }

    #[test]
    fn media_types_parse_case_insensitively() {
        assert_eq!(MediaType::parse("IMAGE/PNG"), Some(MediaType::Png));
        assert_eq!(MediaType::parse("image/jpg"), Some(MediaType::Jpeg));
        assert_eq!(MediaType::parse("image/gif"), None);
        assert_eq!(MediaType::parse("text/html"), None);
    }

    #[test]
    fn svg_is_for_artwork_only_and_pdf_for_documents_only() {
        assert!(
            Purpose::DesignArtwork
                .allowed_types()
                .contains(&MediaType::Svg)
        );
        assert!(
            !Purpose::ProductImage
                .allowed_types()
                .contains(&MediaType::Svg)
        );
        assert!(
            !Purpose::ProductImage
                .allowed_types()
                .contains(&MediaType::Pdf)
        );
        assert_eq!(
            Purpose::ComplianceDocument.allowed_types(),
            &[MediaType::Pdf]
        );
    }

    #[test]
    fn file_names_stay_readable_and_harmless() {
        assert_eq!(clean_file_name(Some("Été photo 1.png")), "Été photo 1.png");
        assert_eq!(clean_file_name(Some("../../etc/passwd")), "etcpasswd");
        assert_eq!(clean_file_name(Some("...")), "file");
        assert_eq!(clean_file_name(None), "file");
        assert_eq!(clean_file_name(Some(&"a".repeat(300))).len(), 100);
    }
}
