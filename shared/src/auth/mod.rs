//! Who is calling: access tokens and the principal extracted from them.

pub mod secrets;
pub mod tokens;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use tokens::{AccessClaims, IssuedToken, KeySetError, TokenError, TokenKeys};

use crate::http::ApiError;

/// A person's role on the platform (org roles are separate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlatformRole {
    Customer,
    Admin,
}

impl PlatformRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformRole::Customer => "customer",
            PlatformRole::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "customer" => Some(PlatformRole::Customer),
            "admin" => Some(PlatformRole::Admin),
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
}

impl<S> FromRequestParts<S> for Principal
where
    S: Send + Sync,
    Arc<TokenKeys>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let keys = Arc::<TokenKeys>::from_ref(state);
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthenticated("sign in: send Authorization: Bearer <access token>")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthenticated("the Authorization header must be Bearer <access token>")
            })?;
        let claims = keys
            .verify_access_token(token)
            .map_err(|err| ApiError::unauthenticated(err.to_string()))?;
        let role = PlatformRole::parse(&claims.role)
            .ok_or_else(|| ApiError::unauthenticated(TokenError::Invalid.to_string()))?;
        tracing::Span::current().record("user_id", claims.sub.as_str());
        Ok(Principal {
            user_id: claims.sub,
            role,
            session_id: claims.sid,
        })
    }
}
