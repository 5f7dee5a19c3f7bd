//! Who is calling and what they may do.
//!
//! - [`Principal`]: a signed-in user (access token only), for endpoints that
//!   are about the user themselves.
//! - [`Caller`]: a user or an organization API key, for org-scoped endpoints;
//!   [`Caller::require`] asks the central [`policy`] and turns "not yours" into
//!   404 and "not allowed" into 403.

pub mod api_key;
pub mod caller;
pub mod membership;
pub mod policy;
pub mod tokens;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use caller::{ApiKeyCaller, Caller, OrgAccess};
pub use policy::{CapabilityRole, OrgKind, OrgRole, Permission, PermissionSet};
pub use tokens::{AccessClaims, IssuedToken, KeySetError, SigningKeys, TokenError, TokenKeys};

use crate::http::ApiError;

/// A person's role on the platform (org roles are separate). Moderators
/// hide and restore reported content and nothing else; admins grant and
/// revoke the role (see docs/permissions.md, "Moderation").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlatformRole {
    Customer,
    Admin,
    Moderator,
}

impl PlatformRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformRole::Customer => "customer",
            PlatformRole::Admin => "admin",
            PlatformRole::Moderator => "moderator",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "customer" => Some(PlatformRole::Customer),
            "admin" => Some(PlatformRole::Admin),
            "moderator" => Some(PlatformRole::Moderator),
            _ => None,
        }
    }
}

/// A caller authenticated by an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub role: PlatformRole,
    /// The sign-in session the access token belongs to.
    pub session_id: Option<String>,
    /// The sign-in took a second factor (`amr` holds `mfa`).
    pub mfa: bool,
}

impl<S> FromRequestParts<S> for Principal
where
    S: Send + Sync,
    Arc<TokenKeys>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let keys = Arc::<TokenKeys>::from_ref(state);
        let token = bearer_credential(parts)?.ok_or_else(|| {
            ApiError::unauthenticated("sign in: send Authorization: Bearer <access token>")
        })?;
        Principal::from_access_token(&keys, token)
    }
}

impl Principal {
    fn from_access_token(keys: &TokenKeys, token: &str) -> Result<Self, ApiError> {
        let claims = keys
            .verify_access_token(token)
            .map_err(|err| ApiError::unauthenticated(err.to_string()))?;
        let role = PlatformRole::parse(&claims.role)
            .ok_or_else(|| ApiError::unauthenticated(TokenError::Invalid.to_string()))?;
        tracing::Span::current().record("user_id", claims.sub.as_str());
        Ok(Principal {
            mfa: claims.has_mfa(),
            user_id: claims.sub,
            role,
            session_id: claims.sid,
        })
    }
}

/// The credential of `Authorization: Bearer <credential>`: `None` without the
/// header, 401 for any other scheme or an empty credential.
fn bearer_credential(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    header
        .to_str()
        .ok()
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(Some)
        .ok_or_else(|| {
            ApiError::unauthenticated(
                "the Authorization header must be Bearer <access token or API key>",
            )
        })
}
