//! Who may change what in the catalog. Every handler asks here, in one call,
//! so the rules live in one place.

use shared::auth::{PlatformRole, Principal};
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

/// Managing the products of seller organization `org_id`.
///
/// TEMPORARY: organizations and the permission policy (`product:write`) are
/// not on this branch yet, so any signed-in user passes. When they land this
/// becomes `caller.require(&store, org_id, Permission::ProductWrite)`: a
/// non-member gets 404, a member without the permission 403.
pub(crate) async fn require_seller(
    _state: &CatalogState,
    principal: &Principal,
    org_id: &str,
) -> ApiResult<()> {
    tracing::debug!(user_id = %principal.user_id, org_id, "seller check (any signed-in user until org permissions land)");
    Ok(())
}
