//! Who may change what in the catalog. Every handler asks here, in one call,
//! so the rules live in one place.

use axum::http::StatusCode;
use shared::auth::{Caller, Permission, PlatformRole, Principal};
use shared::http::{ApiError, ApiResult};

use crate::CatalogState;

/// Category writes and review moderation: platform admins only.
pub(crate) fn require_admin(principal: &Principal) -> ApiResult<()> {
    if principal.role == PlatformRole::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("only a platform admin may do this"))
    }
}

/// Managing the products of seller organization `org_id`: the central
/// policy's `product:write`. A caller with no standing in the organization
/// gets 404 (as if it did not exist), a member without the permission 403.
/// Works for signed-in users and for the organization's API keys.
pub(crate) async fn require_seller(
    state: &CatalogState,
    caller: &Caller,
    org_id: &str,
) -> ApiResult<()> {
    caller
        .require(&state.store, org_id, Permission::ProductWrite)
        .await?;
    Ok(())
}

/// [`require_seller`] for an existing product: a product of an organization
/// the caller has no standing in is simply not found.
pub(crate) async fn require_product_seller(
    state: &CatalogState,
    caller: &Caller,
    org_id: &str,
) -> ApiResult<()> {
    require_seller(state, caller, org_id).await.map_err(|err| {
        if err.status() == StatusCode::NOT_FOUND {
            ApiError::not_found("no such product")
        } else {
            err
        }
    })
}
