//! The caller of an org-scoped endpoint: a signed-in user or an API key.
//!
//! `Authorization: Bearer bdg_...` and `X-Api-Key: bdg_...` are API keys;
//! any other bearer credential must be an access token. A handler asks
//! [`Caller::require`] for the permission it needs in the organization of
//! the path:
//! - a caller with no standing in the org (not a member, another org's key)
//!   gets 404, exactly as if the org did not exist;
//! - a caller who can see the org but lacks the permission gets 403;
//! - an owner or admin of an org that requires a second factor, whose
//!   access token's sign-in took none, gets 403 `MFA_REQUIRED` on every
//!   route of that org, whatever the permission ([`user_access`]).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderName;
use axum::http::request::Parts;

use super::api_key::{self, ApiKeyRecord};
use super::membership::{self, MembershipRecord};
use super::policy::{OrgRole, Permission, PermissionSet, platform_permissions};
use super::{Principal, TokenKeys, bearer_credential};
use crate::audit::Actor;
use crate::http::ApiError;
use crate::ratelimit::RateLimiter;
use crate::store::Store;

pub static API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// An API key that authenticated, with what it may do.
#[derive(Debug, Clone)]
pub struct ApiKeyCaller {
    pub prefix: String,
    pub org_id: String,
    pub permissions: PermissionSet,
}

impl From<ApiKeyRecord> for ApiKeyCaller {
    fn from(record: ApiKeyRecord) -> Self {
        Self {
            permissions: record.permission_set(),
            prefix: record.prefix,
            org_id: record.org_id,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Caller {
    User(Principal),
    ApiKey(ApiKeyCaller),
}

/// What a caller may do in one organization.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub org_id: String,
    pub permissions: PermissionSet,
    /// The caller's own membership, when the caller is a member.
    pub membership: Option<MembershipRecord>,
}

/// The answer for an org the caller has no standing in: the same as for an
/// org that does not exist.
pub fn org_not_found() -> ApiError {
    ApiError::not_found("no such organization")
}

impl OrgAccess {
    /// 403 unless the caller holds `permission` here.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.permissions.contains(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the {permission} permission in the organization"
            )))
        }
    }

    pub fn is_owner(&self) -> bool {
        self.membership
            .as_ref()
            .is_some_and(|m| m.org_role == super::OrgRole::Owner)
    }
}

impl Caller {
    /// Who to name in the audit trail.
    pub fn actor(&self) -> Actor {
        match self {
            Caller::User(principal) => Actor::User(principal.user_id.clone()),
            Caller::ApiKey(key) => Actor::ApiKey(key.prefix.clone()),
        }
    }

    pub fn user(&self) -> Option<&Principal> {
        match self {
            Caller::User(principal) => Some(principal),
            Caller::ApiKey(_) => None,
        }
    }

    /// The caller's standing in `org_id`; 404 if they have none. For a user
    /// this is one GetItem (their membership); a key knows its org already.
    pub async fn access(&self, store: &Store, org_id: &str) -> Result<OrgAccess, ApiError> {
        match self {
            Caller::User(principal) => user_access(store, principal, org_id).await,
            Caller::ApiKey(key) if key.org_id == org_id => Ok(OrgAccess {
                org_id: org_id.to_owned(),
                permissions: key.permissions,
                membership: None,
            }),
            Caller::ApiKey(_) => Err(org_not_found()),
        }
    }

    /// [`Caller::access`], then 403 unless `permission` is held.
    pub async fn require(
        &self,
        store: &Store,
        org_id: &str,
        permission: Permission,
    ) -> Result<OrgAccess, ApiError> {
        let access = self.access(store, org_id).await?;
        access.require(permission)?;
        Ok(access)
    }
}

/// A user's standing in an organization: their membership's permissions and
/// their platform role's. No permission at all means no standing: 404.
///
/// An owner or admin whose sign-in took no second factor is refused (403
/// `MFA_REQUIRED`) when the organization requires one: the org's policy is
/// read only then, so every other caller still costs one GetItem.
pub async fn user_access(
    store: &Store,
    principal: &Principal,
    org_id: &str,
) -> Result<OrgAccess, ApiError> {
    let membership = membership::find(store, org_id, &principal.user_id).await?;
    let permissions = membership
        .as_ref()
        .map(MembershipRecord::permissions)
        .unwrap_or_default()
        .union(platform_permissions(principal.role));
    if permissions.is_empty() {
        return Err(org_not_found());
    }
    let manages = membership
        .as_ref()
        .is_some_and(|m| matches!(m.org_role, OrgRole::Owner | OrgRole::Admin));
    if manages && !principal.mfa && requires_mfa(store, org_id).await? {
        return Err(ApiError::mfa_required(
            "this organization requires its owners and admins to sign in with a second factor: \
             set up two-factor sign-in (POST /v1/me/mfa/totp) if you have not, then sign in again \
             with your authenticator's code",
        ));
    }
    tracing::Span::current().record("org_id", org_id);
    Ok(OrgAccess {
        org_id: org_id.to_owned(),
        permissions,
        membership,
    })
}

/// Whether `org_id` requires a second factor of its owners and admins.
async fn requires_mfa(store: &Store, org_id: &str) -> Result<bool, ApiError> {
    let (pk, sk) = crate::contracts::org::org_profile_key(org_id);
    let policy = store
        .get::<crate::contracts::org::OrgSignInPolicy>(&pk, sk)
        .await?;
    Ok(policy.unwrap_or_default().require_mfa)
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<TokenKeys>: FromRef<S>,
    Store: FromRef<S>,
    RateLimiter: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header_key = match parts.headers.get(&API_KEY_HEADER) {
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| ApiError::unauthenticated("the X-Api-Key header is not text"))?
                    .trim()
                    .to_owned(),
            ),
            None => None,
        };
        let bearer = bearer_credential(parts)?;
        let key = match (header_key, bearer) {
            (Some(key), _) => key,
            (None, Some(credential)) if api_key::looks_like_key(credential) => {
                credential.to_owned()
            }
            (None, Some(token)) => {
                let keys = Arc::<TokenKeys>::from_ref(state);
                return Principal::from_access_token(&keys, token).map(Caller::User);
            }
            (None, None) => {
                return Err(ApiError::unauthenticated(
                    "send Authorization: Bearer <access token or API key>, or X-Api-Key",
                ));
            }
        };
        let store = Store::from_ref(state);
        let record = api_key::authenticate(&store, &key).await?;
        tracing::Span::current().record("api_key", record.prefix.as_str());
        let limiter = RateLimiter::from_ref(state);
        limiter.hit(limiter.api_key_limit(), &record.prefix).await?;
        Ok(Caller::ApiKey(record.into()))
    }
}
