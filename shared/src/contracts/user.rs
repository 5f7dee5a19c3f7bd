//! Identity's user as the moderation checks read `USER#<id> / PROFILE`:
//! its platform role as stored now (an access token's role is what it was
//! at sign-in) and whether the account was erased.
//!
//! Owned by identity, whose `UserRecord` stores these attributes under
//! these names; identity's round-trip test reads its full item as
//! [`UserStanding`].

use serde::Deserialize;

use crate::auth::PlatformRole;

/// The key of a user's account item.
pub fn user_account_key(user_id: &str) -> (String, &'static str) {
    (format!("USER#{user_id}"), "PROFILE")
}

/// The attribute that holds the platform role (for condition checks).
pub const ROLE_ATTRIBUTE: &str = "role";

/// A user as moderation reads them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStanding {
    pub id: String,
    pub role: PlatformRole,
    #[serde(default)]
    pub deleted_at: Option<String>,
}

impl UserStanding {
    /// May hide and restore content: a moderator or a platform admin whose
    /// account still exists.
    pub fn moderates(&self) -> bool {
        self.deleted_at.is_none()
            && matches!(self.role, PlatformRole::Moderator | PlatformRole::Admin)
    }
}
