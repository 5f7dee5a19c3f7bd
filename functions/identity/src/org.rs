//! Organizations: create, list mine, read, change, and (platform admins)
//! verify.
//!
//! Items (see docs/data-model.md):
//! - `ORG#<id> / PROFILE`: the organization, with `version` (the ETag) and
//!   `ownerCount`, which membership changes keep in the same transaction so
//!   the last owner can never go.
//! - `ORG#<id> / MEMBER#<userId>`: memberships (shared::auth::membership).

use axum::extract::{Path, State};
use axum::http::header::ETAG;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use shared::audit::{AuditAction, AuditEvent, AuditScope};
use shared::auth::membership::{self, MembershipRecord, NewMembership};
use shared::auth::policy::user_permissions;
use shared::auth::{Caller, CapabilityRole, OrgKind, OrgRole, Permission, Principal};
use shared::contracts::org::SupplyProfile;
use shared::domain::{CountryCode, new_id};
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope, FieldErrors,
    PageParams, Problems, etag, if_match,
};

use shared::store::{
    Index, PartitionQuery, StoreError, Update, Value as AttributeValue, n, s, to_value,
};
use utoipa::ToSchema;

use crate::IdentityState;
use crate::user::{UserRecord, user_key};

pub const ORG_TYPE: &str = "ORG";
const PROFILE_SK: &str = "PROFILE";
const MAX_NAME_CHARS: usize = 100;
const MAX_LEGAL_NAME_CHARS: usize = 200;
const MAX_TAX_ID_CHARS: usize = 32;

pub fn org_key(org_id: &str) -> (String, &'static str) {
    (membership::org_pk(org_id), PROFILE_SK)
}

/// Set by platform admins only (`PUT /v1/orgs/{orgId}/verification`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// The business exists and is who it says it is.
    pub business_verified: bool,
    /// The tax id was checked against the registry.
    pub tax_id_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub id: String,
    pub kind: OrgKind,
    pub name: String,
    pub legal_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    pub country: CountryCode,
    pub verification: Verification,
    /// What a supplier declares about its deliveries (matching reads it
    /// through `shared::contracts::org`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply: Option<SupplyProfile>,
    /// Owners and admins must sign in with a second factor to act in the
    /// organization (`shared::contracts::org::OrgSignInPolicy`, checked
    /// by `shared::auth::caller` on every org route).
    #[serde(default)]
    pub require_mfa: bool,
    pub owner_count: i64,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub version: u64,
}

/// An organization as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    #[schema(example = "01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub id: String,
    pub kind: OrgKind,
    #[schema(example = "Acme Supplies")]
    pub name: String,
    #[schema(example = "Acme Supplies GmbH")]
    pub legal_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "DE123456789")]
    pub tax_id: Option<String>,
    pub country: CountryCode,
    pub verification: Verification,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supply: Option<SupplyProfile>,
    /// Owners and admins must have signed in with a second factor: without
    /// it, every route of the organization answers them 403 `MFA_REQUIRED`.
    pub require_mfa: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Also sent as the `ETag` header; send it back as `If-Match` to change the org.
    pub version: u64,
}

impl From<OrgRecord> for OrgView {
    fn from(org: OrgRecord) -> Self {
        Self {
            id: org.id,
            kind: org.kind,
            name: org.name,
            legal_name: org.legal_name,
            tax_id: org.tax_id,
            country: org.country,
            verification: org.verification,
            supply: org.supply,
            require_mfa: org.require_mfa,
            created_at: org.created_at,
            updated_at: org.updated_at,
            version: org.version,
        }
    }
}

fn with_etag(org: OrgRecord, status: StatusCode) -> ApiResponse<OrgView> {
    let tag = etag(org.version);
    ApiResponse::ok(OrgView::from(org))
        .with_status(status)
        .header(ETAG, tag)
}

/// Only these fields: `verification`, `id` or an owner count in the body
/// are a 422 naming them, so nobody verifies their own organization.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOrgRequest {
    /// `buyer`, `seller` or `both`; it cannot change later.
    #[schema(value_type = shared::auth::OrgKind)]
    kind: String,
    #[schema(
        example = "Acme Supplies",
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?\s*$"
    )]
    name: String,
    #[schema(
        example = "Acme Supplies GmbH",
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]{0,198}[^\s\x00-\x1f\x7f-\x9f])?\s*$"
    )]
    legal_name: String,
    #[schema(
        example = "DE123456789",
        pattern = r"^\s*([A-Za-z0-9./-]([A-Za-z0-9 ./-]{0,30}[A-Za-z0-9./-])?)?\s*$"
    )]
    tax_id: Option<String>,
    #[schema(value_type = shared::domain::CountryCode)]
    country: String,
}

/// Only the business details can change; `kind` or `verification` in the
/// body is a 422 naming it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateOrgRequest {
    #[schema(
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?\s*$"
    )]
    name: Option<String>,
    #[schema(
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]{0,198}[^\s\x00-\x1f\x7f-\x9f])?\s*$"
    )]
    legal_name: Option<String>,
    #[schema(pattern = r"^\s*[A-Za-z0-9./-]([A-Za-z0-9 ./-]{0,30}[A-Za-z0-9./-])?\s*$")]
    tax_id: Option<String>,
    #[schema(value_type = Option<shared::domain::CountryCode>)]
    country: Option<String>,
    /// Where the organization delivers and how long it takes, for matching
    /// requests for quotation.
    supply: Option<SupplyInput>,
    /// Require owners and admins to sign in with a second factor. Owners
    /// only; turning it on takes a sign-in with a second factor yourself.
    require_mfa: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupplyInput {
    /// 1 to 250 countries it delivers to.
    #[schema(value_type = Vec<shared::domain::CountryCode>)]
    delivery_countries: Vec<String>,
    /// 0 to 365 days.
    #[schema(minimum = 0, maximum = 365)]
    lead_time_days: i64,
}

const MAX_LEAD_TIME_DAYS: i64 = 365;

fn check_supply(fields: &mut Problems, input: SupplyInput) -> Option<SupplyProfile> {
    let mut countries = Vec::new();
    if input.delivery_countries.is_empty() || input.delivery_countries.len() > 250 {
        fields.add("supply.deliveryCountries", "1 to 250 country codes");
    }
    for (i, raw) in input.delivery_countries.iter().enumerate() {
        match CountryCode::parse(raw) {
            Ok(code) if !countries.contains(&code) => countries.push(code),
            Ok(_) => {}
            Err(e) => fields.add(format!("supply.deliveryCountries[{i}]"), e.to_string()),
        }
    }
    if !(0..=MAX_LEAD_TIME_DAYS).contains(&input.lead_time_days) {
        fields.add(
            "supply.leadTimeDays",
            format!("0 to {MAX_LEAD_TIME_DAYS} days"),
        );
    }
    fields.is_empty().then_some(SupplyProfile {
        delivery_countries: countries,
        lead_time_days: input.lead_time_days as u32,
        on_time_percent: None,
    })
}

fn check_tax_id(fields: &mut Problems, raw: &str) -> Option<String> {
    let tax_id = fields.plain_text("taxId", Some(raw), MAX_TAX_ID_CHARS, true)?;
    if tax_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " -./".contains(c))
    {
        Some(tax_id)
    } else {
        fields.add("taxId", "may hold letters, digits, spaces and - . / only");
        None
    }
}

fn check_country(fields: &mut Problems, raw: &str) -> Option<CountryCode> {
    CountryCode::parse(raw)
        .map_err(|e| fields.add("country", e.to_string()))
        .ok()
}

/// A new organization whose every field is valid.
struct NewOrg {
    kind: OrgKind,
    name: String,
    legal_name: String,
    tax_id: Option<String>,
    country: CountryCode,
}

impl TryFrom<CreateOrgRequest> for NewOrg {
    type Error = ApiError;

    fn try_from(request: CreateOrgRequest) -> Result<Self, Self::Error> {
        let mut fields = Problems::default();
        let kind = OrgKind::parse(request.kind.trim());
        if kind.is_none() {
            fields.add("kind", "must be buyer, seller or both");
        }
        let name = fields.plain_text("name", Some(&request.name), MAX_NAME_CHARS, true);
        let legal_name = fields.plain_text(
            "legalName",
            Some(&request.legal_name),
            MAX_LEGAL_NAME_CHARS,
            true,
        );
        let tax_id = request
            .tax_id
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| check_tax_id(&mut fields, t));
        let country = check_country(&mut fields, &request.country);
        match (kind, name, legal_name, tax_id, country) {
            (Some(kind), Some(name), Some(legal_name), tax_id, Some(country))
                if fields.is_empty() =>
            {
                Ok(Self {
                    kind,
                    name,
                    legal_name,
                    tax_id: tax_id.flatten(),
                    country,
                })
            }
            _ => Err(ApiError::validation(
                "the organization has invalid fields",
                fields,
            )),
        }
    }
}

/// A change of business details whose every field is valid.
#[derive(Default)]
struct OrgChanges {
    name: Option<String>,
    legal_name: Option<String>,
    tax_id: Option<String>,
    country: Option<CountryCode>,
    supply: Option<SupplyProfile>,
    require_mfa: Option<bool>,
}

impl TryFrom<UpdateOrgRequest> for OrgChanges {
    type Error = ApiError;

    fn try_from(request: UpdateOrgRequest) -> Result<Self, Self::Error> {
        let mut fields = Problems::default();
        let changes = OrgChanges {
            name: request
                .name
                .and_then(|v| fields.plain_text("name", Some(&v), MAX_NAME_CHARS, true)),
            legal_name: request
                .legal_name
                .and_then(|v| fields.plain_text("legalName", Some(&v), MAX_LEGAL_NAME_CHARS, true)),
            tax_id: request.tax_id.and_then(|v| check_tax_id(&mut fields, &v)),
            country: request.country.and_then(|v| check_country(&mut fields, &v)),
            supply: request.supply.and_then(|v| check_supply(&mut fields, v)),
            require_mfa: request.require_mfa,
        };
        if !fields.is_empty() {
            return Err(ApiError::validation(
                "the change has invalid fields",
                fields,
            ));
        }
        let nothing = changes.name.is_none()
            && changes.legal_name.is_none()
            && changes.tax_id.is_none()
            && changes.country.is_none()
            && changes.supply.is_none()
            && changes.require_mfa.is_none();
        if nothing {
            return Err(ApiError::validation(
                "send at least one of name, legalName, taxId, country, supply, requireMfa",
                FieldErrors::new(),
            ));
        }
        Ok(changes)
    }
}

/// The caller's account; a valid token of a deleted account is a 401.
pub async fn signed_in_user(state: &IdentityState, principal: &Principal) -> ApiResult<UserRecord> {
    let (pk, sk) = user_key(&principal.user_id);
    state
        .store
        .get::<UserRecord>(&pk, sk)
        .await?
        .ok_or_else(|| {
            ApiError::unauthenticated("the account of this access token no longer exists")
        })
}

/// Creates an organization; the caller becomes its first owner.
#[utoipa::path(
    post,
    path = "/v1/orgs",
    tag = "organizations",
    security(("bearer" = [])),
    request_body = CreateOrgRequest,
    responses(
        (status = 201, description = "The organization was created; the ETag header holds its version", body = Envelope<OrgView>),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn create_org(
    State(state): State<IdentityState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateOrgRequest>,
) -> ApiResult<ApiResponse<OrgView>> {
    let new = NewOrg::try_from(request)?;
    let user = signed_in_user(&state, &principal).await?;
    let id = new_id();
    let now = shared::domain::now_rfc3339();
    let (pk, sk) = org_key(&id);
    let org = OrgRecord {
        pk,
        sk: sk.to_owned(),
        item_type: ORG_TYPE.to_owned(),
        id: id.clone(),
        kind: new.kind,
        name: new.name,
        legal_name: new.legal_name,
        tax_id: new.tax_id,
        country: new.country,
        verification: Verification::default(),
        supply: None,
        require_mfa: false,
        owner_count: 1,
        created_at: now.clone(),
        created_by: user.id.clone(),
        updated_at: now,
        version: 1,
    };
    let owner = MembershipRecord::new(NewMembership {
        org_id: &id,
        org_kind: org.kind,
        user_id: &user.id,
        email: &user.email,
        name: &user.name,
        org_role: OrgRole::Owner,
        capabilities: Vec::new(),
    });
    let event = AuditEvent::new(
        &AuditScope::Org(id.clone()),
        &shared::audit::Actor::User(user.id.clone()),
        AuditAction::OrgCreated,
    )
    .target(format!("org:{id}"));
    let store = &state.store;
    store
        .transact(vec![
            store.transact_put(&org, Some("attribute_not_exists(PK)"))?,
            store.transact_put(&owner, Some("attribute_not_exists(PK)"))?,
            event.transact_item(store)?,
        ])
        .await?;
    tracing::info!(org_id = %id, "organization created");
    Ok(with_etag(org, StatusCode::CREATED))
}

/// An organization the caller belongs to, with their standing in it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyOrgView {
    pub org: OrgView,
    pub org_role: OrgRole,
    pub capabilities: Vec<CapabilityRole>,
    /// What the caller may do in this organization.
    pub permissions: Vec<Permission>,
}

/// The organizations the caller is a member of, in order of their ids.
#[utoipa::path(
    get,
    path = "/v1/orgs",
    tag = "organizations",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, body = Envelope<Vec<MyOrgView>>),
        (status = 400, description = "The cursor or limit is invalid", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_my_orgs(
    State(state): State<IdentityState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<MyOrgView>>> {
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: membership::user_orgs_pk(&principal.user_id),
        sort_prefix: Some(membership::ORG_SK_PREFIX.to_owned()),
        ascending: true,
    };
    let memberships = state
        .store
        .query_page::<MembershipRecord>(&query, page.limit(), page.cursor())
        .await?;
    let keys: Vec<(String, String)> = memberships
        .items
        .iter()
        .map(|m| {
            let (pk, sk) = org_key(&m.org_id);
            (pk, sk.to_owned())
        })
        .collect();
    let mut orgs = state.store.batch_get::<OrgRecord>(&keys).await?;
    let views = memberships
        .items
        .into_iter()
        .filter_map(|m| {
            let at = orgs.iter().position(|o| o.id == m.org_id)?;
            let org = orgs.swap_remove(at);
            let permissions = user_permissions(
                principal.role,
                Some((m.org_kind, m.org_role, &m.capabilities)),
            );
            Some(MyOrgView {
                org: org.into(),
                org_role: m.org_role,
                capabilities: m.capabilities,
                permissions: permissions.to_vec(),
            })
        })
        .collect();
    Ok(ApiResponse::ok(views).paginated(memberships.next_cursor, page.limit()))
}

pub async fn load_org(state: &IdentityState, org_id: &str) -> ApiResult<OrgRecord> {
    let (pk, sk) = org_key(org_id);
    state
        .store
        .get::<OrgRecord>(&pk, sk)
        .await?
        .ok_or_else(shared::auth::caller::org_not_found)
}

/// One organization. Needs `org:read`.
#[utoipa::path(
    get,
    path = "/v1/orgs/{orgId}",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(("orgId" = String, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "The organization; the ETag header holds its version", body = Envelope<OrgView>),
        (status = 403, description = "A member without org:read (e.g. a restricted API key)", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn get_org(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> ApiResult<ApiResponse<OrgView>> {
    // Both reads at once: the org is only shown if the access check passes.
    let (access, org) = futures::join!(
        caller.require(&state.store, &org_id, Permission::OrgRead),
        load_org(&state, &org_id)
    );
    access?;
    Ok(with_etag(org?, StatusCode::OK))
}

/// Changes business details. Needs `org:manage`; with `If-Match`, only if
/// the organization is still at that version (else 412). `requireMfa` is
/// an owner's to set, and turning it on takes a sign-in with a second
/// factor (so the owner cannot lock themselves out); the change is audited.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{orgId}",
    tag = "organizations",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("orgId" = String, Path, description = "The organization's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag of the version being changed", pattern = r#"^(\*|"[0-9]{1,19}")$"#),
    ),
    request_body = UpdateOrgRequest,
    responses(
        (status = 200, description = "The changed organization, with its new ETag", body = Envelope<OrgView>),
        (status = 403, description = "A member without org:manage; requireMfa by anyone but an owner, or turned on by one who did not sign in with a second factor (MFA_REQUIRED)", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is not a member", body = ErrorEnvelope),
        (status = 412, description = "If-Match is not the current ETag", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn update_org(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<UpdateOrgRequest>,
) -> ApiResult<ApiResponse<OrgView>> {
    let access = caller
        .require(&state.store, &org_id, Permission::OrgManage)
        .await?;
    let expected = if_match(&headers)?;
    let changes = OrgChanges::try_from(request)?;
    if let Some(require) = changes.require_mfa {
        if !access.is_owner() {
            return Err(ApiError::forbidden(
                "only an owner of the organization may set requireMfa",
            ));
        }
        if require && !caller.user().is_some_and(|p| p.mfa) {
            return Err(ApiError::mfa_required(
                "sign in with a second factor before requiring one of the organization's owners and admins",
            ));
        }
    }

    let (pk, sk) = org_key(&org_id);
    let mut set = SetClause::default();
    set.assign("updatedAt", s(shared::domain::now_rfc3339()));
    if let Some(name) = changes.name {
        set.assign("name", s(name));
    }
    if let Some(legal_name) = changes.legal_name {
        set.assign("legalName", s(legal_name));
    }
    if let Some(tax_id) = changes.tax_id {
        set.assign("taxId", s(tax_id));
    }
    if let Some(country) = changes.country {
        set.assign("country", s(country));
    }
    if let Some(supply) = changes.supply {
        set.assign("supply", to_value(&supply)?);
    }
    if let Some(require) = changes.require_mfa {
        set.assign("requireMfa", AttributeValue::Bool(require));
    }
    let update = set.into_update(&pk, sk, expected);
    let updated = match changes.require_mfa {
        None => state.store.update::<OrgRecord>(update).await,
        Some(require) => change_sign_in_policy(&state, &caller, &org_id, update, require).await,
    };
    match updated {
        Ok(org) => {
            tracing::info!(org_id = %org.id, version = org.version, "organization changed");
            Ok(with_etag(org, StatusCode::OK))
        }
        Err(StoreError::ConditionFailed) if expected.is_some() => {
            Err(ApiError::precondition_failed(
                "the organization changed since that ETag: read it again",
            ))
        }
        Err(StoreError::ConditionFailed) => Err(shared::auth::caller::org_not_found()),
        Err(err) => Err(err.into()),
    }
}

/// Applies `update`, which changes `requireMfa`, with its audit event in
/// the same transaction; returns the organization as it is now.
async fn change_sign_in_policy(
    state: &IdentityState,
    caller: &Caller,
    org_id: &str,
    update: Update,
    require: bool,
) -> Result<OrgRecord, StoreError> {
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.to_owned()),
        &caller.actor(),
        AuditAction::OrgUpdated,
    )
    .target(format!("org:{org_id}"))
    .details(serde_json::json!({ "requireMfa": require }));
    let mut tx = shared::store::Transaction::new();
    tx.push(state.store.transact_update(update)?).named("org");
    tx.push(event.transact_item(&state.store)?);
    match state.store.transact(tx).await {
        Err(err) if err.condition_failed("org") => return Err(StoreError::ConditionFailed),
        other => other?,
    }
    let (pk, sk) = org_key(org_id);
    state
        .store
        .get::<OrgRecord>(&pk, sk)
        .await?
        .ok_or(StoreError::ConditionFailed)
}

/// `SET a = :a, b = :b, version = version + 1` with a placeholder for every
/// attribute name (several are DynamoDB reserved words), conditional on the
/// item existing and, with If-Match, on its version.
#[derive(Default)]
struct SetClause {
    assignments: Vec<String>,
    update_values: Vec<(String, AttributeValue)>,
}

impl SetClause {
    fn assign(&mut self, attribute: &str, value: AttributeValue) {
        let i = self.assignments.len();
        self.assignments.push(format!("#a{i} = :a{i}"));
        self.update_values.push((attribute.to_owned(), value));
    }

    fn into_update(self, pk: &str, sk: &str, expected_version: Option<u64>) -> Update {
        let expression = format!(
            "SET {}, #version = #version + :one",
            self.assignments.join(", ")
        );
        let mut update = Update::new(pk, sk, expression)
            .name("#version", "version")
            .value(":one", n(1));
        for (i, (attribute, value)) in self.update_values.into_iter().enumerate() {
            update = update
                .name(&format!("#a{i}"), &attribute)
                .value(&format!(":a{i}"), value);
        }
        match expected_version {
            Some(version) => update
                .condition("attribute_exists(PK) AND #version = :expected")
                .value(":expected", n(version as i64)),
            None => update.condition("attribute_exists(PK)"),
        }
    }
}

/// The verification flags a platform admin sets.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationRequest {
    business_verified: bool,
    tax_id_verified: bool,
}

/// Sets the verification flags. Platform admins only (`org:verify`, which no
/// org role grants).
#[utoipa::path(
    put,
    path = "/v1/orgs/{orgId}/verification",
    tag = "organizations",
    security(("bearer" = [])),
    params(("orgId" = String, Path, description = "The organization's id")),
    request_body = VerificationRequest,
    responses(
        (status = 200, description = "The organization with its new flags and ETag", body = Envelope<OrgView>),
        (status = 403, description = "A member who is not a platform admin", body = ErrorEnvelope),
        (status = 404, description = "No such organization, or the caller is neither a member nor a platform admin", body = ErrorEnvelope),
        (status = 422, description = "A flag is missing or not a boolean", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn set_verification(
    State(state): State<IdentityState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiJson(request): ApiJson<VerificationRequest>,
) -> ApiResult<ApiResponse<OrgView>> {
    caller
        .require(&state.store, &org_id, Permission::OrgVerify)
        .await?;
    let actor = caller.actor();
    let verification = Verification {
        business_verified: request.business_verified,
        tax_id_verified: request.tax_id_verified,
        updated_at: Some(shared::domain::now_rfc3339()),
        updated_by: Some(actor.to_string()),
    };
    let (pk, sk) = org_key(&org_id);
    let mut set = SetClause::default();
    set.assign("verification", to_value(&verification)?);
    set.assign("updatedAt", s(shared::domain::now_rfc3339()));
    let org = match state
        .store
        .update::<OrgRecord>(set.into_update(&pk, sk, None))
        .await
    {
        Ok(org) => org,
        Err(StoreError::ConditionFailed) => return Err(shared::auth::caller::org_not_found()),
        Err(err) => return Err(err.into()),
    };
    let event = AuditEvent::new(
        &AuditScope::Org(org_id.clone()),
        &actor,
        AuditAction::OrgVerificationChanged,
    )
    .target(format!("org:{org_id}"))
    .details(serde_json::json!({
        "businessVerified": verification.business_verified,
        "taxIdVerified": verification.tax_id_verified,
    }));
    if let Err(err) = shared::audit::record(&state.store, &event).await {
        tracing::error!(error = ?err, "could not write an audit event");
    }
    tracing::info!(org_id = %org_id, "organization verification set");
    Ok(with_etag(org, StatusCode::OK))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::contracts::org::OrgForSourcing;

    /// Sourcing reads this crate's full item through
    /// `shared::contracts::org`: renaming or retyping a field here fails
    /// this test, not matching in production.
    #[test]
    fn the_org_for_sourcing_contract_reads_the_full_item() {
        let (pk, sk) = org_key("org-1");
        let mut org = OrgRecord {
            pk,
            sk: sk.to_owned(),
            item_type: ORG_TYPE.to_owned(),
            id: "org-1".into(),
            kind: OrgKind::Seller,
            name: "Ada Greens".into(),
            legal_name: "Ada Greens GmbH".into(),
            tax_id: None,
            country: CountryCode::parse("DE").unwrap(),
            verification: Verification {
                business_verified: true,
                ..Verification::default()
            },
            supply: None,
            require_mfa: false,
            owner_count: 1,
            created_at: "2026-11-26T10:00:00Z".into(),
            created_by: "user-1".into(),
            updated_at: "2026-11-26T10:00:00Z".into(),
            version: 1,
        };
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&org).unwrap();
        let read: OrgForSourcing = serde_dynamo::from_item(item).unwrap();
        assert_eq!(read.id, "org-1");
        assert_eq!(read.kind, OrgKind::Seller);
        assert_eq!(read.name, "Ada Greens");
        assert!(read.is_verified() && read.sells());
        assert_eq!(read.supply, None);

        let supply = SupplyProfile {
            delivery_countries: vec![CountryCode::parse("DE").unwrap()],
            lead_time_days: 5,
            on_time_percent: Some(97),
        };
        org.supply = Some(supply.clone());
        org.verification.business_verified = false;
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&org).unwrap();
        let read: OrgForSourcing = serde_dynamo::from_item(item).unwrap();
        assert_eq!(read.supply, Some(supply));
        assert!(!read.is_verified());
        assert_eq!(
            shared::contracts::org::org_profile_key("org-1"),
            (org.pk.clone(), "PROFILE")
        );

        // Every permission check reads the sign-in policy from the same item.
        use shared::contracts::org::{OrgSignInPolicy, REQUIRE_MFA_ATTRIBUTE};
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&org).unwrap();
        let policy: OrgSignInPolicy = serde_dynamo::from_item(item).unwrap();
        assert!(!policy.require_mfa);
        org.require_mfa = true;
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&org).unwrap();
        assert!(item.contains_key(REQUIRE_MFA_ATTRIBUTE));
        let policy: OrgSignInPolicy = serde_dynamo::from_item(item).unwrap();
        assert!(policy.require_mfa);
    }
}
