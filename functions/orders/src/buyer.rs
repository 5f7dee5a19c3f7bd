//! Who a cart or an order belongs to: the signed-in person buying for
//! themselves, or an organization (`?orgId=`, or an API key's own org)
//! whose member or key holds the permission asked for.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use shared::auth::{Caller, Permission, PlatformRole};
use shared::http::{ApiError, ApiQuery};
use shared::store::Store;
use utoipa::IntoParams;

use crate::OrdersState;
use crate::model::Buyer;

/// `?orgId=`: act for this organization instead of oneself.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct BuyerParams {
    /// Buy (or list orders) for this organization; API keys act for their own.
    pub org_id: Option<String>,
}

/// The buyer `caller` acts as; for an org, `permission` is required there
/// (404 without standing in the org, 403 without the permission).
pub async fn resolve(
    store: &Store,
    caller: &Caller,
    org_id: Option<&str>,
    permission: Permission,
) -> Result<Buyer, ApiError> {
    let org_id = org_id.map(str::trim).filter(|id| !id.is_empty());
    let placed_by = caller.actor().to_string();
    match (caller, org_id) {
        (Caller::User(principal), None) => Ok(Buyer {
            kind: "user".into(),
            user_id: Some(principal.user_id.clone()),
            org_id: None,
            placed_by,
        }),
        (Caller::ApiKey(key), None) => {
            let org = key.org_id.clone();
            caller.require(store, &org, permission).await?;
            Ok(Buyer {
                kind: "org".into(),
                user_id: None,
                org_id: Some(org),
                placed_by,
            })
        }
        (_, Some(org)) => {
            caller.require(store, org, permission).await?;
            Ok(Buyer {
                kind: "org".into(),
                user_id: caller.user().map(|p| p.user_id.clone()),
                org_id: Some(org.to_owned()),
                placed_by,
            })
        }
    }
}

/// The buyer a cart or checkout request acts for: the caller, or `?orgId=`
/// where the caller holds `order:create`.
pub struct Purchaser(pub Buyer);

impl FromRequestParts<OrdersState> for Purchaser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &OrdersState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let ApiQuery(params) = ApiQuery::<BuyerParams>::from_request_parts(parts, state).await?;
        resolve(
            &state.store,
            &caller,
            params.org_id.as_deref(),
            Permission::OrderCreate,
        )
        .await
        .map(Self)
    }
}

/// 403 unless the caller is a platform admin (signed in, not an API key).
pub fn require_admin(caller: &Caller) -> Result<String, ApiError> {
    match caller.user() {
        Some(principal) if principal.role == PlatformRole::Admin => Ok(caller.actor().to_string()),
        _ => Err(ApiError::forbidden("this needs a platform admin")),
    }
}
