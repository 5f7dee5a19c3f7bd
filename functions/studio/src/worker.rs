//! The generation worker: the `studio-worker` Lambda, fed by the generation
//! queue (SQS, partial batch failures, a dead-letter queue after a few
//! tries). Locally the devserver's pump hands it the same batches from
//! moto's SQS; tests call [`handle_batch`] or [`generate`] directly.
//!
//! Each message names one design. The worker is idempotent per design:
//! a design that is no longer `generating` (done, or deleted) is skipped;
//! the images are written under keys of the design's id, so a second run
//! writes the same objects; the final update happens only while the
//! design is still `generating`.

use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use shared::domain::now_rfc3339;
use shared::store::{StoreError, Update, attr, n, s};

use crate::StudioState;
use crate::designs::{find, gallery_keys};
use crate::generator::{self, DesignInputs};
use crate::limits;
use crate::model::{DesignImage, DesignRecord, DesignStatus, GenerationInfo};
use crate::palette;
use crate::providers::{Generated, ImageModel, ProviderError};

/// How often a pending provider job is polled within one invocation.
const POLLS: u32 = 10;
const POLL_EVERY: Duration = Duration::from_secs(3);

/// One queue message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationMessage {
    pub design_id: String,
}

pub use shared::sqs::{BatchResponse, ItemFailure, SqsEvent, SqsMessage};

/// Handles one SQS batch; the messages that must come again are reported.
pub async fn handle_batch(state: &StudioState, event: SqsEvent) -> BatchResponse {
    let mut failures = Vec::new();
    for message in event.records {
        let result = async {
            let body: GenerationMessage =
                serde_json::from_str(&message.body).context("reading a generation message")?;
            generate(state, &body.design_id).await
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(message_id = %message.message_id, error = ?err, "a generation will be retried");
            failures.push(ItemFailure {
                item_identifier: message.message_id,
            });
        }
    }
    BatchResponse {
        batch_item_failures: failures,
    }
}

fn inputs_of(record: &DesignRecord) -> DesignInputs {
    DesignInputs {
        prompt: record.prompt.clone(),
        category: record.category,
        style: record.style,
        colors: record.colors.clone(),
    }
}

/// An image's path under the public prefix (and under `PUBLIC_MEDIA_URL`).
fn image_path(design_id: &str, name: &str) -> String {
    format!("{}/{design_id}/{name}", crate::IMAGES_PATH)
}

/// An image's key in the bucket.
fn image_key(design_id: &str, name: &str) -> String {
    format!(
        "{}{}",
        shared::asset_refs::PUBLIC_PREFIX,
        image_path(design_id, name)
    )
}

/// Draws one design and records the outcome. An error means "try again
/// later" (the provider or AWS was unavailable).
#[tracing::instrument(skip(state))]
pub async fn generate(state: &StudioState, design_id: &str) -> anyhow::Result<()> {
    let Some(record) = find(&state.store, design_id)
        .await
        .map_err(|e| anyhow::anyhow!("loading the design: {e}"))?
    else {
        tracing::info!("the design is gone; nothing to draw");
        return Ok(());
    };
    if record.status != DesignStatus::Generating {
        tracing::debug!(status = %record.status, "the design is already drawn");
        return Ok(());
    }
    let inputs = inputs_of(&record);
    let mut answer = match &record.provider_job {
        Some(job) => state.images.poll(job).await,
        None => state.images.generate(&inputs).await,
    };
    let mut polls = 0;
    let image = loop {
        match answer {
            Ok(Generated::Image(image)) => break image,
            Ok(Generated::Pending { job }) if polls < POLLS => {
                polls += 1;
                if record.provider_job.as_deref() != Some(job.as_str()) {
                    remember_job(state, &record, &job).await?;
                }
                tokio::time::sleep(POLL_EVERY).await;
                answer = state.images.poll(&job).await;
            }
            Ok(Generated::Pending { job }) => {
                anyhow::bail!("the provider is still drawing (job {job}); polling again later")
            }
            Err(ProviderError::Blocked(reason)) => {
                finish_unlisted(state, &record, DesignStatus::Blocked, &reason).await;
                return Ok(());
            }
            Err(ProviderError::Rejected(reason)) => {
                finish_unlisted(state, &record, DesignStatus::Failed, &reason).await;
                return Ok(());
            }
            Err(ProviderError::Unavailable(err)) => {
                return Err(err.context("the image provider is unavailable"));
            }
        }
    };
    let png = image.png;
    let decoded = image::load_from_memory(&png);
    let Ok(decoded) = decoded else {
        finish_unlisted(
            state,
            &record,
            DesignStatus::Failed,
            "the provider's image is not an image",
        )
        .await;
        return Ok(());
    };
    let (width, height) = (decoded.width(), decoded.height());
    let rgb = decoded.to_rgb8();
    let colors = record.colors.clone();
    let (thumbnail, dominant, score) = tokio::task::spawn_blocking(move || {
        let thumb = image::imageops::resize(
            &rgb,
            generator::THUMB_WIDTH,
            generator::THUMB_WIDTH * height / width.max(1),
            image::imageops::FilterType::Triangle,
        );
        let dominant = palette::dominant_colors(&rgb);
        let score = palette::score(&dominant, &colors);
        let hex: Vec<String> = dominant
            .iter()
            .map(|d| palette::lab_to_hex(d.color))
            .collect();
        (generator::encode_png(&thumb), hex, score)
    })
    .await
    .context("analysing the image")?;
    put_public(state, &image_key(design_id, "image.png"), png.clone()).await?;
    put_public(state, &image_key(design_id, "thumbnail.png"), thumbnail).await?;
    let sha = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &png);
    let stored = DesignImage {
        url: format!(
            "{}/{}",
            state.public_media_url,
            image_path(design_id, "image.png")
        ),
        thumbnail_url: format!(
            "{}/{}",
            state.public_media_url,
            image_path(design_id, "thumbnail.png")
        ),
        width,
        height,
        content_type: "image/png".into(),
        sha256: shared::crypto::hex(sha.as_ref()),
    };
    let generation = GenerationInfo {
        provider: state.images.provider().to_owned(),
        model: state.images.model(),
        parameters: image.parameters,
        seed: image.seed,
    };
    finish_ready(state, design_id, stored, generation, dominant, score).await
}

async fn put_public(state: &StudioState, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
    state
        .s3
        .put_object()
        .bucket(&state.bucket)
        .key(key)
        .content_type("image/png")
        .cache_control("public, max-age=31536000, immutable")
        .body(ByteStream::from(bytes))
        .send()
        .await
        .with_context(|| format!("storing {key}"))?;
    Ok(())
}

async fn remember_job(state: &StudioState, record: &DesignRecord, job: &str) -> anyhow::Result<()> {
    let update = Update::new(&record.pk, &record.sk, "SET providerJob = :job")
        .condition("#status = :generating")
        .name("#status", "status")
        .value(":job", s(job))
        .value(":generating", s("generating"));
    match state.store.apply_update(update).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(err).context("remembering the provider's job"),
    }
}

/// Records a ready design; listed in the gallery if it is public by then.
/// The owner may change `isPublic` meanwhile: the condition sees that and
/// the update is made again from the new state.
async fn finish_ready(
    state: &StudioState,
    design_id: &str,
    image: DesignImage,
    generation: GenerationInfo,
    dominant: Vec<String>,
    score: f64,
) -> anyhow::Result<()> {
    for _ in 0..3 {
        let Some(mut record) = find(&state.store, design_id)
            .await
            .map_err(|e| anyhow::anyhow!("loading the design again: {e}"))?
        else {
            delete_images(state, design_id).await;
            return Ok(());
        };
        if record.status != DesignStatus::Generating {
            return Ok(());
        }
        record.status = DesignStatus::Ready;
        let mut set = vec![
            "#status = :ready",
            "image = :image",
            "generation = :generation",
            "paletteScore = :score",
            "dominantColors = :dominant",
            "#version = #version + :one",
            "updatedAt = :at",
        ];
        let mut update_values = vec![
            (":ready", s("ready")),
            (":image", shared::store::to_value(&image)?),
            (":generation", shared::store::to_value(&generation)?),
            (":score", n_f64(score)),
            (":dominant", shared::store::to_value(&dominant)?),
            (":one", n(1)),
            (":at", s(now_rfc3339())),
            (":generating", s("generating")),
            (
                ":public",
                aws_sdk_dynamodb::types::AttributeValue::Bool(record.is_public),
            ),
        ];
        if let Some([(g2pk, g2sk), (g3pk, g3sk)]) = gallery_keys(&record) {
            set.extend([
                "GSI2PK = :g2pk",
                "GSI2SK = :g2sk",
                "GSI3PK = :g3pk",
                "GSI3SK = :g3sk",
            ]);
            update_values.extend([
                (":g2pk", s(g2pk)),
                (":g2sk", s(g2sk)),
                (":g3pk", s(g3pk)),
                (":g3sk", s(g3sk)),
            ]);
        }
        let mut update = Update::new(
            &record.pk,
            &record.sk,
            format!("SET {} REMOVE providerJob, statusReason", set.join(", ")),
        )
        .condition("#status = :generating AND isPublic = :public")
        .name("#status", "status")
        .name("#version", attr::VERSION);
        for (name, value) in update_values {
            update = update.value(name, value);
        }
        match state.store.apply_update(update).await {
            Ok(()) => return Ok(()),
            Err(StoreError::ConditionFailed) => continue,
            Err(err) => return Err(err).context("recording the ready design"),
        }
    }
    anyhow::bail!("the design kept changing while it was recorded; trying again later")
}

fn n_f64(value: f64) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::N(format!("{value}"))
}

/// Ends a design that is not drawn (`failed` or `blocked`): it stays out of
/// the gallery and gives its generation slot back. Best effort: a design
/// that cannot be recorded stays `generating` and its message comes again.
pub async fn finish_unlisted(
    state: &StudioState,
    record: &DesignRecord,
    status: DesignStatus,
    reason: &str,
) {
    let update = Update::new(
        &record.pk,
        &record.sk,
        "SET #status = :status, statusReason = :reason, #version = #version + :one, updatedAt = :at REMOVE providerJob",
    )
    .condition("#status = :generating")
    .name("#status", "status")
    .name("#version", attr::VERSION)
    .value(":status", s(status.as_str()))
    .value(":reason", s(reason.chars().take(500).collect::<String>()))
    .value(":one", n(1))
    .value(":at", s(now_rfc3339()))
    .value(":generating", s("generating"));
    if let Err(err) = state.store.apply_update(update).await {
        tracing::warn!(error = ?err, design_id = %record.id, "could not record the design's end");
        return;
    }
    let release = async {
        let delete = limits::release_slot(&state.store, &record.owner_id, record.slot, &record.id)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        state
            .store
            .transact(shared::store::Transaction::from(vec![delete]))
            .await
            .map_err(anyhow::Error::from)
    };
    if let Err(err) = release.await {
        tracing::info!(error = ?err, "the slot was not given back (taken over or gone)");
    }
}

/// Deletes a design's images (best effort: an orphan image is harmless).
pub async fn delete_images(state: &StudioState, design_id: &str) {
    for name in ["image.png", "thumbnail.png"] {
        if let Err(err) = state
            .s3
            .delete_object()
            .bucket(&state.bucket)
            .key(image_key(design_id, name))
            .send()
            .await
        {
            tracing::warn!(error = ?err, design_id, "could not delete a design's image");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_generation_message() {
        let message: GenerationMessage = serde_json::from_str("{\"designId\":\"D\"}").unwrap();
        assert_eq!(message.design_id, "D");
    }
}
