//! A designer's licence to sell: the owner of a design grants a seller
//! organization the right to publish it (`PUT`), lists the organizations
//! that hold one (`GET`) and takes a grant back (`DELETE`).
//!
//! A grant is `DESIGN#<designId> / GRANT#<orgId>`, written with a check
//! that the caller still owns the design and with an event in the owner's
//! and the organization's audit trails, in one transaction. Publishing
//! (`crate::publish`) accepts a member with `product:write` in the
//! organization when the caller owns the design or the organization holds a
//! grant, even for a private design. Taking a grant back stops new
//! publications only: products already published stay the organization's,
//! and orders already placed are made as sold.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::audit::{Actor, AuditAction, AuditEvent, AuditScope};
use shared::auth::Principal;
use shared::contracts::org::org_profile_key;
use shared::domain::now_rfc3339;
use shared::http::{ApiError, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{Index, PartitionQuery, Store, StoreError, Transaction, s};
use utoipa::ToSchema;

use crate::StudioState;
use crate::designs;
use crate::model::{DesignRecord, design_key};

pub const GRANT_TYPE: &str = "DesignGrant";
/// How many organizations one design may be granted to.
pub const MAX_GRANTS: usize = 20;

pub fn grant_key(design_id: &str, org_id: &str) -> (String, String) {
    (design_key(design_id).0, format!("GRANT#{org_id}"))
}

/// The stored grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub design_id: String,
    pub org_id: String,
    pub org_name: String,
    pub granted_by: String,
    pub granted_at: String,
}

/// An organization that may publish the design.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DesignGrant {
    pub design_id: String,
    pub org_id: String,
    /// The organization's name when the grant was made.
    pub org_name: String,
    pub granted_at: String,
}

impl From<GrantRecord> for DesignGrant {
    fn from(record: GrantRecord) -> Self {
        Self {
            design_id: record.design_id,
            org_id: record.org_id,
            org_name: record.org_name,
            granted_at: record.granted_at,
        }
    }
}

/// Whether `org_id` holds a grant for the design.
pub async fn granted(store: &Store, design_id: &str, org_id: &str) -> Result<bool, StoreError> {
    let (pk, sk) = grant_key(design_id, org_id);
    Ok(store.get_raw(&pk, &sk).await?.is_some())
}

/// The design if the caller owns it. Someone else's design is a 404 when
/// they may not see it, a 403 when it is in the gallery.
async fn owned(store: &Store, principal: &Principal, design_id: &str) -> ApiResult<DesignRecord> {
    match designs::find(store, design_id).await? {
        Some(design) if design.owner_id == principal.user_id => Ok(design),
        Some(design) if design.listed() => Err(ApiError::forbidden(
            "only the design's owner may grant it to an organization",
        )),
        _ => Err(ApiError::not_found("no such design")),
    }
}

async fn grants_of(store: &Store, design_id: &str) -> ApiResult<Vec<GrantRecord>> {
    let query = PartitionQuery {
        index: Index::Table,
        partition: design_key(design_id).0,
        sort_prefix: Some("GRANT#".into()),
        ascending: true,
    };
    let page = store
        .query_page::<GrantRecord>(&query, MAX_GRANTS as u32 + 1, None)
        .await?;
    Ok(page.items)
}

/// The audit events of a grant or its removal: the owner's trail and the
/// organization's.
fn audit_items(
    store: &Store,
    principal: &Principal,
    action: AuditAction,
    design_id: &str,
    org_id: &str,
) -> ApiResult<Vec<shared::store::TransactWriteItem>> {
    let actor = Actor::User(principal.user_id.clone());
    let details = json!({ "designId": design_id, "orgId": org_id });
    Ok(vec![
        AuditEvent::new(&AuditScope::User(principal.user_id.clone()), &actor, action)
            .details(details.clone())
            .transact_item(store)?,
        AuditEvent::new(&AuditScope::Org(org_id.to_owned()), &actor, action)
            .details(details)
            .transact_item(store)?,
    ])
}

#[utoipa::path(
    get,
    path = "/v1/designs/{designId}/grants",
    tag = "studio",
    security(("bearer" = [])),
    params(("designId" = String, Path, description = "The design's id")),
    responses(
        (status = 200, description = "The organizations that may publish the design (at most 20)", body = Envelope<Vec<DesignGrant>>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "A gallery design of someone else", body = ErrorEnvelope),
        (status = 404, description = "No such design (or a private design of someone else)", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id))]
pub async fn list_grants(
    State(state): State<StudioState>,
    principal: Principal,
    Path(design_id): Path<String>,
) -> ApiResult<ApiResponse<Vec<DesignGrant>>> {
    owned(&state.store, &principal, &design_id).await?;
    let grants = grants_of(&state.store, &design_id).await?;
    Ok(ApiResponse::ok(
        grants.into_iter().map(DesignGrant::from).collect(),
    ))
}

#[utoipa::path(
    put,
    path = "/v1/designs/{designId}/grants/{orgId}",
    tag = "studio",
    security(("bearer" = [])),
    params(
        ("designId" = String, Path, description = "The design's id"),
        ("orgId" = String, Path, description = "The organization that may publish it"),
    ),
    responses(
        (status = 201, description = "The organization may now publish the design", body = Envelope<DesignGrant>),
        (status = 200, description = "The organization held a grant already: it is unchanged", body = Envelope<DesignGrant>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "A gallery design of someone else", body = ErrorEnvelope),
        (status = 404, description = "No such design (or a private design of someone else), or no such organization", body = ErrorEnvelope),
        (status = 409, description = "The design is granted to 20 organizations already, or it was deleted meanwhile", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id, org_id = %org_id))]
pub async fn grant_design(
    State(state): State<StudioState>,
    principal: Principal,
    Path((design_id, org_id)): Path<(String, String)>,
) -> ApiResult<ApiResponse<DesignGrant>> {
    let store = &state.store;
    let design = owned(store, &principal, &design_id).await?;
    let (org_pk, org_sk) = org_profile_key(&org_id);
    let org = store
        .get_raw(&org_pk, org_sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no such organization"))?;
    let org_name = org
        .get("name")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let existing = grants_of(store, &design_id).await?;
    if let Some(found) = existing.iter().find(|g| g.org_id == org_id) {
        return Ok(ApiResponse::ok(DesignGrant::from(found.clone())));
    }
    if existing.len() >= MAX_GRANTS {
        return Err(ApiError::conflict(format!(
            "the design is granted to {MAX_GRANTS} organizations already; take a grant back first"
        )));
    }
    let (pk, sk) = grant_key(&design_id, &org_id);
    let record = GrantRecord {
        pk,
        sk,
        item_type: GRANT_TYPE.into(),
        design_id: design_id.clone(),
        org_id: org_id.clone(),
        org_name,
        granted_by: principal.user_id.clone(),
        granted_at: now_rfc3339(),
    };
    let mut tx = Transaction::new();
    tx.push(store.transact_put(&record, Some("attribute_not_exists(PK)"))?)
        .named("grant");
    tx.push(store.transact_check(
        &design.pk,
        &design.sk,
        "attribute_exists(PK) AND ownerId = :owner",
        &[],
        &[(":owner", s(&principal.user_id))],
    )?)
    .named("design");
    for item in audit_items(
        store,
        &principal,
        AuditAction::StudioDesignGranted,
        &design_id,
        &org_id,
    )? {
        tx.push(item);
    }
    match store.transact(tx).await {
        Ok(()) => {}
        Err(err @ StoreError::TransactionCanceled(_)) => {
            if err.condition_failed("grant") {
                // A concurrent request granted it first: the same answer.
                let (pk, sk) = grant_key(&design_id, &org_id);
                if let Some(found) = store.get::<GrantRecord>(&pk, &sk).await? {
                    return Ok(ApiResponse::ok(DesignGrant::from(found)));
                }
            }
            return Err(ApiError::conflict(
                "the design changed meanwhile; check it still exists and retry",
            ));
        }
        Err(err) => return Err(ApiError::from(err).context("granting the design")),
    }
    tracing::info!("design granted to an organization");
    Ok(ApiResponse::ok(DesignGrant::from(record)).with_status(StatusCode::CREATED))
}

#[utoipa::path(
    delete,
    path = "/v1/designs/{designId}/grants/{orgId}",
    tag = "studio",
    security(("bearer" = [])),
    params(
        ("designId" = String, Path, description = "The design's id"),
        ("orgId" = String, Path, description = "The organization whose grant is taken back"),
    ),
    responses(
        (status = 204, description = "The organization may no longer publish the design (harmless when it could not); its products already published stay"),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "A gallery design of someone else", body = ErrorEnvelope),
        (status = 404, description = "No such design (or a private design of someone else)", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id, org_id = %org_id))]
pub async fn revoke_grant(
    State(state): State<StudioState>,
    principal: Principal,
    Path((design_id, org_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let store = &state.store;
    owned(store, &principal, &design_id).await?;
    let (pk, sk) = grant_key(&design_id, &org_id);
    let mut tx = Transaction::new();
    tx.push(store.transact_delete(&pk, &sk, Some("attribute_exists(PK)"), &[])?)
        .named("grant");
    for item in audit_items(
        store,
        &principal,
        AuditAction::StudioDesignGrantRevoked,
        &design_id,
        &org_id,
    )? {
        tx.push(item);
    }
    match store.transact(tx).await {
        Ok(()) => tracing::info!("a design grant was taken back"),
        // No grant (or gone meanwhile): nothing to take back, nothing audited.
        Err(err @ StoreError::TransactionCanceled(_)) if err.condition_failed("grant") => {}
        Err(err) => return Err(ApiError::from(err).context("taking the grant back")),
    }
    Ok(StatusCode::NO_CONTENT)
}
