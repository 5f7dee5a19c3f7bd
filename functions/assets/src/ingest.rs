//! The S3 trigger. For each object created under `uploads/`:
//! 1. find its asset (a stray object without one is left alone and logged);
//! 2. skip it unless the asset is still `pending`, so a repeated event is
//!    harmless;
//! 3. check the real size against the declared one and the purpose's limit,
//!    and the real type (magic bytes) against the declared one;
//! 4. for raster images, decode within limits, record the dimensions and write
//!    a 256 px PNG thumbnail; for SVG artwork, refuse anything active;
//! 5. for a purpose whose files are published (template images), write the
//!    checked bytes once more under the public prefix, cached for good;
//! 6. mark the asset `ready`, or delete the object and mark it `rejected`
//!    with the reason. Both updates are conditional on `pending`.

use anyhow::Context as _;
use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use aws_sdk_s3::primitives::ByteStream;
use shared::store::{StoreError, Update, n, s};

use crate::AssetsState;
use crate::asset::{AssetRecord, MediaType, Status, asset_key};
use crate::inspect;

/// Rejected assets stay visible (with the reason) for a week.
const REJECTED_TTL_SECS: i64 = 7 * 24 * 3600;

/// Object keys arrive URL-encoded in S3 events, with `+` for spaces.
pub fn decode_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// The asset id of an upload key: `uploads/<owner>/<assetId>/<file name>`.
pub fn asset_id_of(key: &str) -> Option<&str> {
    let mut parts = key.splitn(4, '/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("uploads"), Some(_owner), Some(id), Some(_name))
            if !id.is_empty() && id.len() <= 64 =>
        {
            Some(id)
        }
        _ => None,
    }
}

/// Handles one S3 event. An error makes Lambda retry the whole event, which
/// the `pending` checks make safe.
pub async fn handle_event(state: &AssetsState, event: S3Event) -> anyhow::Result<()> {
    for record in &event.records {
        process(state, record)
            .await
            .with_context(|| format!("processing {:?}", record.s3.object.key))?;
    }
    Ok(())
}

async fn process(state: &AssetsState, record: &S3EventRecord) -> anyhow::Result<()> {
    let Some(raw_key) = record.s3.object.key.as_deref() else {
        return Ok(());
    };
    let key = decode_key(raw_key);
    let Some(asset_id) = asset_id_of(&key) else {
        tracing::warn!(key, "an object outside the upload layout; ignored");
        return Ok(());
    };
    let (pk, sk) = asset_key(asset_id);
    let Some(asset) = state
        .store
        .get::<AssetRecord>(&pk, sk)
        .await
        .context("reading the asset")?
    else {
        tracing::warn!(key, "an upload without an asset; ignored");
        return Ok(());
    };
    if asset.object_key != key {
        tracing::warn!(key, expected = %asset.object_key, "an upload at an unexpected key; ignored");
        return Ok(());
    }
    if asset.status != Status::Pending {
        tracing::info!(asset_id, status = ?asset.status, "already processed");
        return Ok(());
    }
    match check(state, &asset).await? {
        Verdict::Ready(facts) => mark_ready(state, &asset, facts)
            .await
            .context("marking the asset ready"),
        Verdict::Rejected(reason) => reject(state, &asset, &reason)
            .await
            .context("rejecting the upload"),
    }
}

struct Facts {
    size: u64,
    width: Option<u32>,
    height: Option<u32>,
    thumbnail_key: Option<String>,
    public_key: Option<String>,
}

enum Verdict {
    Ready(Facts),
    Rejected(String),
}

async fn check(state: &AssetsState, asset: &AssetRecord) -> anyhow::Result<Verdict> {
    let head = state
        .s3
        .head_object()
        .bucket(&state.bucket)
        .key(&asset.object_key)
        .send()
        .await
        .context("reading the upload's size (HeadObject)")?;
    let size = head.content_length().unwrap_or_default().max(0) as u64;
    if size > asset.purpose.max_bytes() {
        return Ok(Verdict::Rejected(format!(
            "the file has {size} bytes; this purpose allows {}",
            asset.purpose.max_bytes()
        )));
    }
    if size != asset.declared_size {
        return Ok(Verdict::Rejected(format!(
            "the file has {size} bytes, not the {} declared",
            asset.declared_size
        )));
    }
    let object = state
        .s3
        .get_object()
        .bucket(&state.bucket)
        .key(&asset.object_key)
        .send()
        .await
        .context("reading the upload (GetObject)")?;
    let bytes = object
        .body
        .collect()
        .await
        .context("reading the upload's bytes")?
        .into_bytes();
    let actual = inspect::sniff(&bytes);
    if actual != Some(asset.declared_type) {
        let found = actual.map_or("an unknown type", MediaType::as_str);
        return Ok(Verdict::Rejected(format!(
            "the file is {found}, not the {} declared",
            asset.declared_type.as_str()
        )));
    }
    // `Bytes` clones share the buffer.
    let bytes_for_publishing = bytes.clone();
    let mut facts = Facts {
        size,
        width: None,
        height: None,
        thumbnail_key: None,
        public_key: None,
    };
    match asset.declared_type {
        media if media.is_raster() => {
            let decoded =
                tokio::task::spawn_blocking(move || inspect::decode_raster(&bytes, media))
                    .await
                    .context("decoding the image")?;
            let raster = match decoded {
                Ok(raster) => raster,
                Err(reason) => return Ok(Verdict::Rejected(reason)),
            };
            let thumbnail_key =
                format!("thumbnails/{}/{}.png", asset.owner.key_segment(), asset.id);
            state
                .s3
                .put_object()
                .bucket(&state.bucket)
                .key(&thumbnail_key)
                .content_type("image/png")
                .body(ByteStream::from(raster.thumbnail_png))
                .send()
                .await
                .context("writing the thumbnail (PutObject)")?;
            facts.width = Some(raster.width);
            facts.height = Some(raster.height);
            facts.thumbnail_key = Some(thumbnail_key);
        }
        MediaType::Svg => {
            if let Some(problem) = inspect::svg_problem(&bytes) {
                return Ok(Verdict::Rejected(problem.to_owned()));
            }
            if let Some((width, height)) = inspect::svg_dimensions(&bytes) {
                facts.width = Some(width);
                facts.height = Some(height);
            }
        }
        _ => {}
    }
    if asset.purpose.is_published() {
        let public_key = shared::asset_refs::template_asset_public_key(&asset.id, &asset.file_name);
        state
            .s3
            .put_object()
            .bucket(&state.bucket)
            .key(&public_key)
            .content_type(asset.declared_type.as_str())
            // The key names one asset's checked bytes, which never change.
            .cache_control("public, max-age=31536000, immutable")
            .body(ByteStream::from(bytes_for_publishing))
            .send()
            .await
            .context("publishing the file (PutObject under public/)")?;
        facts.public_key = Some(public_key);
    }
    Ok(Verdict::Ready(facts))
}

fn pending_only(update: Update) -> Update {
    update
        .condition("#status = :pending")
        .name("#status", "status")
        .value(":pending", s("pending"))
}

async fn mark_ready(state: &AssetsState, asset: &AssetRecord, facts: Facts) -> anyhow::Result<()> {
    let mut sets = vec!["#status = :ready", "size = :size", "updatedAt = :now"];
    let mut values = vec![
        (":ready", s("ready")),
        (":size", n(facts.size as i64)),
        (":now", s(shared::domain::now_rfc3339())),
    ];
    if let (Some(width), Some(height)) = (facts.width, facts.height) {
        sets.extend(["width = :width", "height = :height"]);
        values.extend([(":width", n(width.into())), (":height", n(height.into()))]);
    }
    if let Some(thumbnail_key) = facts.thumbnail_key {
        sets.push("thumbnailKey = :thumb");
        values.push((":thumb", s(thumbnail_key)));
    }
    if let Some(public_key) = facts.public_key {
        sets.push("publicKey = :public");
        values.push((":public", s(public_key)));
    }
    let expression = format!("SET {} REMOVE #ttl", sets.join(", "));
    let update = values.into_iter().fold(
        Update::new(&asset.pk, &asset.sk, expression).name("#ttl", "ttl"),
        |u, (k, v)| u.value(k, v),
    );
    match state
        .store
        .update::<AssetRecord>(pending_only(update))
        .await
    {
        Ok(_) => {
            tracing::info!(asset_id = %asset.id, "asset ready");
            Ok(())
        }
        Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

async fn reject(state: &AssetsState, asset: &AssetRecord, reason: &str) -> anyhow::Result<()> {
    state
        .s3
        .delete_object()
        .bucket(&state.bucket)
        .key(&asset.object_key)
        .send()
        .await?;
    let ttl = time::OffsetDateTime::now_utc().unix_timestamp() + REJECTED_TTL_SECS;
    let update = Update::new(
        &asset.pk,
        &asset.sk,
        "SET #status = :rejected, rejectReason = :reason, updatedAt = :now, #ttl = :ttl",
    )
    .name("#ttl", "ttl")
    .value(":rejected", s("rejected"))
    .value(":reason", s(reason))
    .value(":now", s(shared::domain::now_rfc3339()))
    .value(":ttl", n(ttl));
    match state
        .store
        .update::<AssetRecord>(pending_only(update))
        .await
    {
        Ok(_) => {
            tracing::info!(asset_id = %asset.id, reason, "asset rejected");
            Ok(())
        }
        Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_s3_event_keys() {
        assert_eq!(
            decode_key("uploads/user-1/01ABC/my+photo+%C3%A9t%C3%A9+%2B1.png"),
            "uploads/user-1/01ABC/my photo été +1.png"
        );
    }

    #[test]
    fn finds_the_asset_id_in_upload_keys_only() {
        assert_eq!(asset_id_of("uploads/org-9/01ABC/a b.png"), Some("01ABC"));
        assert_eq!(asset_id_of("uploads/org-9/01ABC"), None);
        assert_eq!(asset_id_of("thumbnails/org-9/01ABC.png"), None);
        assert_eq!(asset_id_of("uploads//01ABC/x"), Some("01ABC"));
    }
}
