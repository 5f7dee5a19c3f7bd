//! Files attached to proposals: a supplier attaches its own organization's
//! checked uploads (product photos, compliance documents; see
//! `shared::asset_refs::require_attachable_file`, checked in the
//! proposal's transaction). The buyer reads them only once the proposals
//! unsealed, through a short-lived download link; the supplier reads its
//! own files in the assets context (`GET /v1/assets/{assetId}`).

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use axum::extract::{Path, State};
use serde::Serialize;
use shared::asset_refs::{AssetRef, asset_key};
use shared::auth::{Caller, Permission};
use shared::http::{ApiError, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use utoipa::ToSchema;

use crate::SourcingState;
use crate::access;
use crate::model::{
    PROPOSAL_SK_PREFIX, ProposalRecord, ProposalStatus, RfqStatus, all_under, rfq_pk,
};
use crate::rfqs::load;

const DOWNLOAD_SECS: u64 = 5 * 60;

/// A proposal's attached file, with a download link valid for 5 minutes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProposalAttachmentView {
    pub asset_id: String,
    pub proposal_id: String,
    #[schema(example = "haccp-certificate.pdf")]
    pub file_name: String,
    pub download_url: String,
}

/// An attachment of an unsealed proposal, for the buyer (`rfq:read`).
/// Before closing proposals are sealed (409); a file the proposal does not
/// attach is 404.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/rfqs/{rfqId}/proposals/{proposalId}/attachments/{assetId}",
    tag = "sourcing",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The buyer organization's id"),
        ("rfqId" = String, Path, description = "The RFQ's id"),
        ("proposalId" = String, Path, description = "The proposal's id"),
        ("assetId" = String, Path, description = "An asset id the proposal attaches"),
    ),
    responses(
        (status = 200, body = Envelope<ProposalAttachmentView>),
        (status = 403, description = "Without rfq:read", body = ErrorEnvelope),
        (status = 404, description = "No such RFQ of this org, proposal, or attachment", body = ErrorEnvelope),
        (status = 409, description = "Sealed: the RFQ has not closed yet", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(org_id = %org_id, rfq_id = %rfq_id))]
pub async fn get_proposal_attachment(
    State(state): State<SourcingState>,
    caller: Caller,
    Path((org_id, rfq_id, proposal_id, asset_id)): Path<(String, String, String, String)>,
) -> ApiResult<ApiResponse<ProposalAttachmentView>> {
    access::require(&state.store, &caller, &org_id, Permission::RfqRead).await?;
    let rfq = load(&state.store, &org_id, &rfq_id).await?;
    if matches!(
        rfq.status,
        RfqStatus::Draft | RfqStatus::Matching | RfqStatus::Published
    ) {
        return Err(ApiError::conflict(
            "proposals are sealed until the request for quotation closes",
        ));
    }
    let not_found = || ApiError::not_found("no such attachment");
    let proposal = all_under::<ProposalRecord>(&state.store, rfq_pk(&rfq_id), PROPOSAL_SK_PREFIX)
        .await?
        .into_iter()
        .find(|p| p.id == proposal_id && p.status != ProposalStatus::Withdrawn)
        .ok_or_else(not_found)?;
    if !proposal.content.attachments.contains(&asset_id) {
        return Err(not_found());
    }
    let (pk, sk) = asset_key(&asset_id);
    let asset = state
        .store
        .get::<AssetRef>(&pk, sk)
        .await?
        .filter(|a| a.is_attachable_file_of(&proposal.supplier_org_id))
        .ok_or_else(|| ApiError::not_found("the supplier deleted this file"))?;
    let key = asset.object_key.ok_or_else(not_found)?;
    let presigned = state
        .s3
        .get_object()
        .bucket(&state.bucket)
        .key(&key)
        .presigned(
            PresigningConfig::expires_in(Duration::from_secs(DOWNLOAD_SECS))
                .map_err(ApiError::internal)?,
        )
        .await
        .map_err(ApiError::internal)?;
    Ok(ApiResponse::ok(ProposalAttachmentView {
        asset_id,
        proposal_id,
        file_name: asset.file_name.unwrap_or_else(|| "file".to_owned()),
        download_url: presigned.uri().to_owned(),
    }))
}
