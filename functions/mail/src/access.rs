//! Who may do what with an organization's email (docs/permissions.md, "Mail
//! roles"): the central policy's `template:*` permissions, and `org:manage`
//! for what a manager decides (the approval policy, activating a version).
//! A caller with no standing in the org gets 404, as for every org route.

use shared::auth::{Caller, OrgAccess, Permission};
use shared::http::{ApiError, ApiResult};
use shared::store::Store;

/// The caller's standing in the org, with `permission` (else 404/403).
pub(crate) async fn require(
    store: &Store,
    caller: &Caller,
    org_id: &str,
    permission: Permission,
) -> ApiResult<OrgAccess> {
    caller.require(store, org_id, permission).await
}

/// A manager's decisions: the approval policy and activating versions.
pub(crate) async fn require_manager(
    store: &Store,
    caller: &Caller,
    org_id: &str,
) -> ApiResult<OrgAccess> {
    let access = caller.access(store, org_id).await?;
    access.require(Permission::TemplateRead)?;
    access.require(Permission::OrgManage).map_err(|_| {
        ApiError::forbidden("only the organization's managers (org:manage) may do this")
    })?;
    Ok(access)
}

/// Decisions are personal: an API key cannot approve or reject.
pub(crate) fn user_id(caller: &Caller) -> ApiResult<&str> {
    caller
        .user()
        .map(|p| p.user_id.as_str())
        .ok_or_else(|| ApiError::forbidden("this is done by a signed-in person, not an API key"))
}
