//! `GET` and `DELETE /v1/assets/{assetId}`: metadata with short-lived
//! download URLs, and removal. An asset of someone else (another user's
//! artwork, an org the caller is not in) is a 404.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use shared::auth::{Caller, Permission};
use shared::http::{ApiError, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use utoipa::ToSchema;

use crate::AssetsState;
use crate::asset::{AssetRecord, MediaType, Owner, Purpose, Status, asset_key};

const DOWNLOAD_SECS: u64 = 5 * 60;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetView {
    id: String,
    purpose: Purpose,
    status: Status,
    owner: Owner,
    content_type: MediaType,
    file_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reject_reason: Option<String>,
    /// Present once ready; valid for five minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    download_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thumbnail_url: Option<String>,
    /// A template image's stable public URL, for use in emails (templates
    /// refer to it as `asset:<id>`, which rendering replaces with this URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    created_at: String,
    updated_at: String,
}

fn not_found() -> ApiError {
    ApiError::not_found("no such asset")
}

/// Loads the asset if `caller` may read it (`write` for changes).
async fn authorized(
    state: &AssetsState,
    caller: &Caller,
    asset_id: &str,
    write: bool,
) -> ApiResult<AssetRecord> {
    if asset_id.len() > 64 {
        return Err(not_found());
    }
    let (pk, sk) = asset_key(asset_id);
    let asset: AssetRecord = state.store.get(&pk, sk).await?.ok_or_else(not_found)?;
    match &asset.owner {
        Owner::User(user_id) => {
            if caller.user().map(|u| &u.user_id) != Some(user_id) {
                return Err(not_found());
            }
        }
        Owner::Org(org_id) => {
            let permission = if write {
                asset.purpose.write_permission()
            } else {
                asset.purpose.read_permission()
            };
            caller
                .require(
                    &state.store,
                    org_id,
                    permission.unwrap_or(Permission::OrgRead),
                )
                .await?;
        }
    }
    Ok(asset)
}

async fn download_url(state: &AssetsState, key: &str) -> ApiResult<String> {
    let presigned = state
        .s3
        .get_object()
        .bucket(&state.bucket)
        .key(key)
        .presigned(
            PresigningConfig::expires_in(Duration::from_secs(DOWNLOAD_SECS))
                .map_err(ApiError::internal)?,
        )
        .await
        .map_err(ApiError::internal)?;
    Ok(presigned.uri().to_owned())
}

/// The asset's state and, once ready, download URLs for it and its thumbnail.
#[utoipa::path(
    get,
    path = "/v1/assets/{assetId}",
    tag = "assets",
    security(("bearer" = []), ("apiKey" = [])),
    params(("assetId" = String, Path, description = "The id from POST /v1/uploads")),
    responses(
        (status = 200, body = Envelope<AssetView>),
        (status = 403, description = "A member without read permission for this kind of file", body = ErrorEnvelope),
        (status = 404, description = "No such asset, or not yours", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn get_asset(
    State(state): State<AssetsState>,
    caller: Caller,
    Path(asset_id): Path<String>,
) -> ApiResult<ApiResponse<AssetView>> {
    let asset = authorized(&state, &caller, &asset_id, false).await?;
    let (download_url, thumbnail_url) = if asset.status == Status::Ready {
        let original = Some(download_url(&state, &asset.object_key).await?);
        let thumbnail = match &asset.thumbnail_key {
            Some(key) => Some(download_url(&state, key).await?),
            None => None,
        };
        (original, thumbnail)
    } else {
        (None, None)
    };
    Ok(ApiResponse::ok(AssetView {
        id: asset.id,
        purpose: asset.purpose,
        status: asset.status,
        owner: asset.owner,
        content_type: asset.declared_type,
        file_name: asset.file_name,
        size: asset.size,
        width: asset.width,
        height: asset.height,
        reject_reason: asset.reject_reason,
        download_url,
        thumbnail_url,
        public_url: asset
            .public_key
            .as_deref()
            .zip(state.public_media_url.as_deref())
            .and_then(|(key, base)| shared::asset_refs::public_url(base, key)),
        created_at: asset.created_at,
        updated_at: asset.updated_at,
    }))
}

/// Deletes the file, its thumbnail, its published copy and the asset.
#[utoipa::path(
    delete,
    path = "/v1/assets/{assetId}",
    tag = "assets",
    security(("bearer" = []), ("apiKey" = [])),
    params(("assetId" = String, Path, description = "The asset's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "A member without write permission for this kind of file", body = ErrorEnvelope),
        (status = 404, description = "No such asset, or not yours", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn delete_asset(
    State(state): State<AssetsState>,
    caller: Caller,
    Path(asset_id): Path<String>,
) -> ApiResult<StatusCode> {
    let asset = authorized(&state, &caller, &asset_id, true).await?;
    // Objects first: a failure leaves the item, so a retry finds them again.
    // The published copy goes too: a deleted template image stops showing,
    // also in emails already sent.
    for key in std::iter::once(&asset.object_key)
        .chain(asset.thumbnail_key.as_ref())
        .chain(asset.public_key.as_ref())
    {
        state
            .s3
            .delete_object()
            .bucket(&state.bucket)
            .key(key)
            .send()
            .await
            .map_err(ApiError::unavailable)?;
    }
    state.store.delete(&asset.pk, &asset.sk).await?;
    tracing::info!(asset_id = %asset.id, "asset deleted");
    Ok(StatusCode::NO_CONTENT)
}
