//! Who may do what in sourcing (docs/permissions.md): `rfq:create` to write
//! a buyer's RFQs, `rfq:read` to see them or a supplier's invitations,
//! `proposal:submit` to propose. The org kind masks apply (a seller org
//! never holds `rfq:create`, a buyer org never `proposal:submit`). A caller
//! with no standing in the org gets 404, as for every org route.

use shared::auth::{Caller, OrgAccess, Permission};
use shared::contracts::org::{OrgForSourcing, org_profile_key};
use shared::http::{ApiError, ApiResult};
use shared::store::Store;

pub(crate) async fn require(
    store: &Store,
    caller: &Caller,
    org_id: &str,
    permission: Permission,
) -> ApiResult<OrgAccess> {
    caller.require(store, org_id, permission).await
}

/// The organization as sourcing reads it (identity's contract).
pub(crate) async fn org(store: &Store, org_id: &str) -> ApiResult<OrgForSourcing> {
    let (pk, sk) = org_profile_key(org_id);
    store
        .get::<OrgForSourcing>(&pk, sk)
        .await?
        .ok_or_else(shared::auth::caller::org_not_found)
}

/// Only organizations a platform admin verified may publish or propose.
pub(crate) async fn require_verified(
    store: &Store,
    org_id: &str,
    what: &str,
) -> ApiResult<OrgForSourcing> {
    let org = org(store, org_id).await?;
    if org.is_verified() {
        Ok(org)
    } else {
        Err(ApiError::forbidden(format!(
            "only organizations verified by the platform may {what}"
        )))
    }
}
