//! Organization API keys: create (the secret is shown once), list, revoke.
//! Storage and authentication live in `shared::auth::api_key`.

use axum::extract::{Path, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::api_key::{self, ApiKeyRecord, KeySpec};
use shared::auth::{Caller, Permission, PermissionSet};
use shared::domain::{now_epoch, plain_text, rfc3339_to_epoch};
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, PageParams,
    Problems,
};
use shared::store::{Index, PartitionQuery, Transaction, Update, n, s};
use utoipa::ToSchema;

use crate::IdentityState;

const MAX_NAME_CHARS: usize = 100;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    #[schema(
        example = "ERP integration",
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?\s*$"
    )]
    name: String,
    /// A subset of the creator's own permissions in the organization.
    #[schema(example = json!(["product:read", "order:read"]), value_type = Vec<shared::auth::Permission>, min_items = 1)]
    permissions: Vec<String>,
    /// RFC 3339, in the future; the key stops working then. Without it the key works until revoked.
    #[schema(example = "2027-01-01T00:00:00Z", format = DateTime)]
    expires_at: Option<String>,
}

/// A key as lists show it: never the secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    /// Identifies the key; the key itself starts with `bdg_<prefix>_`.
    #[schema(example = "3f9a0c1d2e4b")]
    pub prefix: String,
    pub name: String,
    pub permissions: Vec<Permission>,
    pub created_at: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl From<ApiKeyRecord> for ApiKeyView {
    fn from(record: ApiKeyRecord) -> Self {
        Self {
            prefix: record.prefix,
            name: record.name,
            permissions: record.permissions,
            created_at: record.created_at,
            created_by: record.created_by,
            last_used_at: record.last_used_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
        }
    }
}

/// A new key, with its secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    /// Send as `X-Api-Key: <key>` or `Authorization: Bearer <key>`. It cannot be shown again.
    #[schema(example = "bdg_3f9a0c1d2e4b_8c1e...")]
    pub key: String,
    #[serde(flatten)]
    pub details: ApiKeyView,
}

struct NewApiKey {
    name: String,
    permissions: PermissionSet,
    expires_epoch: Option<i64>,
}

impl NewApiKey {
    fn parse(request: CreateApiKeyRequest, held: PermissionSet) -> ApiResult<Self> {
        let mut fields = Problems::default();
        let name = plain_text(&request.name, MAX_NAME_CHARS)
            .map_err(|e| fields.add("name", e))
            .ok();
        let mut permissions = PermissionSet::EMPTY;
        for raw in &request.permissions {
            match Permission::parse(raw.trim()) {
                Some(p) if held.contains(p) => {
                    permissions = permissions.union(PermissionSet::of(&[p]))
                }
                Some(p) => fields.add(
                    "permissions",
                    format!("you do not hold {p} in this organization"),
                ),
                None => fields.add("permissions", format!("{raw:?} is not a permission")),
            }
        }
        if request.permissions.is_empty() {
            fields.add("permissions", "name at least one permission");
        }
        let expires_epoch = match request.expires_at.as_deref() {
            None => None,
            Some(raw) => match rfc3339_to_epoch(raw.trim()) {
                Some(epoch) if epoch > now_epoch() => Some(epoch),
                Some(_) => {
                    fields.add("expiresAt", "must be in the future");
                    None
                }
                None => {
                    fields.add(
                        "expiresAt",
                        "must be an RFC 3339 time such as 2027-01-01T00:00:00Z",
                    );
                    None
                }
            },
        };
        match name {
            Some(name) if fields.is_empty() => Ok(Self {
                name,
                permissions,
                expires_epoch,
            }),
            _ => Err(ApiError::validation(
                "the API key has invalid fields",
                fields,
            )),
        }
    }
}

/// Creates an API key with a subset of the caller's permissions. Needs
/// `apikey:manage`, and a signed-in user: keys cannot mint keys.
#[utoipa::path(
    post,
    path = "/v1/orgs/{orgId}/api-keys",
    tag = "organizations",
    security(("bearer" = [])),
    params(("orgId" = String, Path, description = "The organization's id")),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "The key; its secret is shown only now", body = Envelope<CreatedApiKey>),
        (status = 403, description = "Without apikey:manage, or called with an API key", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid, or a permission the caller does not hold; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn create_api_key(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiJson(request): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<ApiResponse<CreatedApiKey>> {
    let access = caller
        .require(&state.store, &org_id, Permission::ApikeyManage)
        .await?;
    if caller.user().is_none() {
        return Err(ApiError::forbidden(
            "API keys are created by signed-in users only",
        ));
    }
    let new = NewApiKey::parse(request, access.permissions)?;
    let actor = caller.actor();
    let key = api_key::generate();
    let record = ApiKeyRecord::new(
        &key,
        KeySpec {
            org_id: &org_id,
            name: new.name,
            permissions: new.permissions,
            created_by: actor.to_string(),
            expires_epoch: new.expires_epoch,
        },
    );
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &actor,
        AuditAction::ApiKeyCreated,
    )
    .target(format!("apikey:{}", record.prefix))
    .details(serde_json::json!({
        "name": record.name,
        "permissions": record.permissions,
        "expiresAt": record.expires_at,
    }));
    state
        .store
        .transact(vec![
            state
                .store
                .transact_put(&record, Some("attribute_not_exists(PK)"))?,
            event.transact_item(&state.store)?,
        ])
        .await?;
    tracing::info!(org_id = %org_id, key_prefix = %record.prefix, "API key created");
    Ok(ApiResponse::created(CreatedApiKey {
        key: key.plaintext,
        details: record.into(),
    })
    .header(CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// The organization's keys, revoked ones included, without secrets. Needs `apikey:manage`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}/api-keys",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id"), PageParams),
    responses(
        (status = 200, body = Envelope<Vec<ApiKeyView>>),
        (status = 400, description = "The cursor or limit is invalid", body = ErrorEnvelope),
        (status = 403, description = "Without apikey:manage", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_api_keys(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<ApiKeyView>>> {
    caller
        .require(&state.store, &org_id, Permission::ApikeyManage)
        .await?;
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: shared::auth::membership::org_pk(&org_id),
        sort_prefix: Some(api_key::ORG_SK_PREFIX.to_owned()),
        ascending: true,
    };
    let keys = state
        .store
        .query_page::<ApiKeyRecord>(&query, page.limit(), page.cursor())
        .await?;
    let views = keys.items.into_iter().map(ApiKeyView::from).collect();
    Ok(ApiResponse::ok(views).paginated(keys.next_cursor, page.limit()))
}

/// Revokes a key at once: requests with it get 401. Needs `apikey:manage`.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{orgId}/api-keys/{prefix}",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("prefix" = String, Path, description = "The key's prefix"),
    ),
    responses(
        (status = 204, description = "The key is revoked"),
        (status = 403, description = "Without apikey:manage", body = ErrorEnvelope),
        (status = 404, description = "No such organization or active key, or the caller is not a member", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn revoke_api_key(
    State(state): State<IdentityState>,
    caller: Caller,
    Path((org_id, prefix)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller
        .require(&state.store, &org_id, Permission::ApikeyManage)
        .await?;
    let no_such_key = || ApiError::not_found("no such active API key in this organization");
    if !api_key::is_prefix(&prefix) {
        return Err(no_such_key());
    }
    let (pk, sk) = api_key::key_of(&prefix);
    let now = now_epoch();
    let revoke = Update::new(&pk, sk, "SET revokedAt = :at, #ttl = :ttl")
        .condition("attribute_exists(PK) AND orgId = :org AND attribute_not_exists(revokedAt)")
        .name("#ttl", "ttl")
        .value(":at", s(shared::domain::now_rfc3339()))
        .value(":ttl", n(now + api_key::DEAD_KEY_RETENTION_SECS))
        .value(":org", s(&org_id));
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &caller.actor(),
        AuditAction::ApiKeyRevoked,
    )
    .target(format!("apikey:{prefix}"));
    let mut tx = Transaction::new();
    tx.push(state.store.transact_update(revoke)?).named("key");
    tx.push(event.transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("key") => return Err(no_such_key()),
        Err(err) => return Err(err.into()),
    }
    tracing::info!(org_id = %org_id, key_prefix = %prefix, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}
