//! `POST /v1/uploads`: a short-lived grant to PUT one file into S3.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::auth::Caller;
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use utoipa::ToSchema;

use crate::AssetsState;
use crate::asset::{
    ASSET_TYPE, AssetRecord, MediaType, Owner, Purpose, Status, asset_key, clean_file_name,
};

/// How long an upload grant is valid.
pub const GRANT_SECS: u64 = 10 * 60;
/// An unused grant's item disappears after a day.
const PENDING_TTL_SECS: i64 = 24 * 3600;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadRequest {
    purpose: Purpose,
    /// `image/jpeg`, `image/png`, `image/webp`, `image/svg+xml` (artwork only) or `application/pdf` (compliance documents).
    #[schema(example = "image/png", value_type = MediaType)]
    content_type: String,
    /// The exact size in bytes; the upload must match it. At most 10 MiB for
    /// product images, 25 MiB for design artwork, 5 MiB for template assets,
    /// 20 MiB for compliance documents (else 413).
    #[schema(example = 482113, minimum = 1, maximum = 26_214_400_u64)]
    size: u64,
    /// The organization that owns the file (all purposes but design artwork, which is the designer's own).
    org_id: Option<String>,
    #[schema(example = "tomatoes on the vine.png")]
    file_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadGrant {
    asset_id: String,
    /// Send the file here, with exactly `headers`.
    url: String,
    #[schema(example = "PUT")]
    method: String,
    headers: std::collections::BTreeMap<String, String>,
    /// RFC 3339 time the grant ends.
    expires_at: String,
    max_bytes: u64,
}

/// Grants one upload: the asset is `pending` until the file arrives and passes
/// the checks (see `GET /v1/assets/{assetId}`).
#[utoipa::path(
    post,
    path = "/v1/uploads",
    tag = "assets",
    security(("bearer" = []), ("apiKey" = [])),
    request_body = UploadRequest,
    responses(
        (status = 201, description = "Upload with the returned URL and headers before it expires", body = Envelope<UploadGrant>),
        (status = 403, description = "No permission to add files to this organization", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or not yours", body = ErrorEnvelope),
        (status = 413, description = "Larger than this purpose allows", body = ErrorEnvelope),
        (status = 415, description = "A content type this purpose does not accept", body = ErrorEnvelope),
        (status = 422, description = "A field is missing or invalid", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn create_upload(
    State(state): State<AssetsState>,
    caller: Caller,
    ApiJson(request): ApiJson<UploadRequest>,
) -> ApiResult<ApiResponse<UploadGrant>> {
    let purpose = request.purpose;
    let media = MediaType::parse(&request.content_type)
        .filter(|m| purpose.allowed_types().contains(m))
        .ok_or_else(|| {
            let allowed: Vec<&str> = purpose.allowed_types().iter().map(|m| m.as_str()).collect();
            ApiError::unsupported_media_type(format!("this purpose accepts {}", allowed.join(", ")))
        })?;
    if request.size == 0 {
        return Err(ApiError::invalid_field(
            "size",
            "must be the file's size in bytes",
        ));
    }
    if request.size > purpose.max_bytes() {
        return Err(ApiError::payload_too_large(format!(
            "files for this purpose may be at most {} bytes",
            purpose.max_bytes()
        )));
    }
    let owner = match (purpose.write_permission(), request.org_id) {
        (Some(permission), Some(org_id)) => {
            caller.require(&state.store, &org_id, permission).await?;
            Owner::Org(org_id)
        }
        (Some(_), None) => {
            return Err(ApiError::invalid_field(
                "orgId",
                "is required for this purpose",
            ));
        }
        (None, _) => match caller.user() {
            Some(user) => Owner::User(user.user_id.clone()),
            None => {
                return Err(ApiError::forbidden(
                    "design artwork belongs to a person: sign in as the designer",
                ));
            }
        },
    };
    let created_by = caller.actor().to_string();

    let id = shared::domain::new_id();
    let file_name = clean_file_name(request.file_name.as_deref());
    let object_key = format!("uploads/{}/{id}/{file_name}", owner.key_segment());
    let presigned = state
        .s3
        .put_object()
        .bucket(&state.bucket)
        .key(&object_key)
        .content_type(media.as_str())
        .content_length(request.size as i64)
        .presigned(
            PresigningConfig::expires_in(Duration::from_secs(GRANT_SECS))
                .map_err(ApiError::internal)?,
        )
        .await
        .map_err(ApiError::internal)?;

    let now = shared::domain::now_rfc3339();
    let (pk, sk) = asset_key(&id);
    let record = AssetRecord {
        pk,
        sk: sk.to_owned(),
        item_type: ASSET_TYPE.to_owned(),
        id: id.clone(),
        owner,
        purpose,
        status: Status::Pending,
        declared_type: media,
        declared_size: request.size,
        file_name,
        object_key,
        thumbnail_key: None,
        public_key: None,
        size: None,
        width: None,
        height: None,
        reject_reason: None,
        created_by,
        created_at: now.clone(),
        updated_at: now,
        ttl: Some(time::OffsetDateTime::now_utc().unix_timestamp() + PENDING_TTL_SECS),
    };
    state
        .store
        .put(&record, Some("attribute_not_exists(PK)"))
        .await?;

    let expires_at = (time::OffsetDateTime::now_utc() + time::Duration::seconds(GRANT_SECS as i64))
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(ApiError::internal)?;
    let headers = presigned
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    Ok(ApiResponse::created(UploadGrant {
        asset_id: id,
        url: presigned.uri().to_owned(),
        method: presigned.method().to_owned(),
        headers,
        expires_at,
        max_bytes: purpose.max_bytes(),
    }))
}
