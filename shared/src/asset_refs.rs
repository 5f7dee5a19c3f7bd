//! References to uploaded assets from other contexts. The assets context
//! owns the items; a product (or a template, a design) may point only at an
//! asset that passed its checks and belongs to the same owner, and checks so
//! in the same transaction as the write that adds the reference.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::Deserialize;

use crate::store::{Store, StoreError, s};

/// Where files meant for anyone live in the bucket. The CDN (in AWS) or
/// `PUBLIC_MEDIA_URL` (locally) serves this prefix and nothing else; objects
/// under it are written once and never change, so their URLs are stable.
pub const PUBLIC_PREFIX: &str = "public/";

/// The key of a template image's published copy.
pub fn template_asset_public_key(asset_id: &str, file_name: &str) -> String {
    format!("{PUBLIC_PREFIX}template-assets/{asset_id}/{file_name}")
}

/// The URL of a published object under `base` (`PUBLIC_MEDIA_URL`), or
/// `None` when `key` is not under the public prefix. Each path segment is
/// percent-encoded, so a file name with spaces or accents stays one URL.
pub fn public_url(base: &str, key: &str) -> Option<String> {
    let rest = key.strip_prefix(PUBLIC_PREFIX)?;
    let path: Vec<String> = rest
        .split('/')
        .map(|segment| {
            percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
                .replace("%2E", ".")
                .replace("%2D", "-")
                .replace("%5F", "_")
        })
        .collect();
    Some(format!("{}/{}", base.trim_end_matches('/'), path.join("/")))
}

pub fn asset_key(asset_id: &str) -> (String, &'static str) {
    (format!("ASSET#{asset_id}"), "ASSET")
}

/// What other contexts read of an asset: the narrow read model of the
/// assets context's item (kept honest by a round-trip test there).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetRef {
    pub id: String,
    pub purpose: String,
    pub status: String,
    pub owner: AssetOwnerRef,
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub file_name: Option<String>,
    /// The original's key in the bucket (`uploads/...`).
    #[serde(default)]
    pub object_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AssetOwnerRef {
    pub kind: String,
    pub id: String,
}

/// The purposes of an organization's files it may attach to a proposal
/// (sourcing): product photos and compliance documents.
pub const ATTACHABLE_PURPOSES: [&str; 2] = ["product_image", "compliance_document"];

impl AssetRef {
    /// A checked file of the organization `org_id` that may be attached.
    pub fn is_attachable_file_of(&self, org_id: &str) -> bool {
        ATTACHABLE_PURPOSES.contains(&self.purpose.as_str())
            && self.status == "ready"
            && self.owner.kind == "org"
            && self.owner.id == org_id
    }

    /// A checked template image of the organization `org_id`, published.
    fn is_published_template_image_of(&self, org_id: &str) -> bool {
        self.purpose == "template_asset"
            && self.status == "ready"
            && self.owner.kind == "org"
            && self.owner.id == org_id
            && self.public_key.is_some()
    }
}

/// The public URLs of the ids that are ready, published template images of
/// `org_id`; the others are left out (the renderer names them). One
/// BatchGetItem per 100 ids.
pub async fn template_image_urls(
    store: &Store,
    media_base: Option<&str>,
    org_id: &str,
    ids: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>, StoreError> {
    let Some(base) = media_base else {
        return Ok(BTreeMap::new());
    };
    let keys: Vec<(String, String)> = ids
        .iter()
        .map(|id| {
            let (pk, sk) = asset_key(id);
            (pk, sk.to_owned())
        })
        .collect();
    let mut urls = BTreeMap::new();
    for chunk in keys.chunks(100) {
        for asset in store.batch_get::<AssetRef>(chunk).await? {
            if asset.is_published_template_image_of(org_id)
                && let Some(url) = asset
                    .public_key
                    .as_deref()
                    .and_then(|key| public_url(base, key))
            {
                urls.insert(asset.id, url);
            }
        }
    }
    Ok(urls)
}

/// A transaction item that holds only while `asset_id` is a `ready`
/// product image owned by the organization `org_id`.
pub fn require_ready_product_image(
    store: &Store,
    asset_id: &str,
    org_id: &str,
) -> Result<TransactWriteItem, StoreError> {
    require_ready_org_asset(store, asset_id, org_id, &["product_image"])
}

/// A transaction item that holds only while `asset_id` is a `ready`
/// attachable file (see [`ATTACHABLE_PURPOSES`]) of the organization `org_id`.
pub fn require_attachable_file(
    store: &Store,
    asset_id: &str,
    org_id: &str,
) -> Result<TransactWriteItem, StoreError> {
    require_ready_org_asset(store, asset_id, org_id, &ATTACHABLE_PURPOSES)
}

/// Holds while `asset_id` is `ready`, owned by the organization `org_id`,
/// with one of `purposes`.
fn require_ready_org_asset(
    store: &Store,
    asset_id: &str,
    org_id: &str,
    purposes: &[&str],
) -> Result<TransactWriteItem, StoreError> {
    let (pk, sk) = asset_key(asset_id);
    let placeholders: Vec<String> = (0..purposes.len()).map(|i| format!(":p{i}")).collect();
    let condition = format!(
        "#status = :ready AND purpose IN ({}) AND #owner.#kind = :org AND #owner.#id = :owner",
        placeholders.join(", ")
    );
    let mut values = vec![
        (":ready", s("ready")),
        (":org", s("org")),
        (":owner", s(org_id)),
    ];
    for (placeholder, purpose) in placeholders.iter().zip(purposes) {
        values.push((placeholder.as_str(), s(*purpose)));
    }
    store.transact_check(
        &pk,
        sk,
        &condition,
        &[
            ("#status", "status"),
            ("#owner", "owner"),
            ("#kind", "kind"),
            ("#id", "id"),
        ],
        &values,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_cover_the_public_prefix_only() {
        let key = template_asset_public_key("01JDC0ASSET0000000000000000", "logo été.png");
        assert_eq!(
            public_url("https://media.example.com/", &key).as_deref(),
            Some(
                "https://media.example.com/template-assets/01JDC0ASSET0000000000000000/logo%20%C3%A9t%C3%A9.png"
            )
        );
        assert_eq!(
            public_url("https://media.example.com", "uploads/org/1/a.png"),
            None
        );
    }
}
