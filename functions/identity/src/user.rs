//! Users as items in the table, and as the API shows them.
//!
//! Items (see docs/data-model.md):
//! - `USER#<id> / PROFILE`: the user, with the password hash.
//! - `EMAIL#<email> / EMAIL`: the uniqueness marker, written in the same
//!   transaction as the user and guarded by `attribute_not_exists(PK)`; it
//!   maps an email to its user for sign-in.

use serde::{Deserialize, Serialize};
use shared::auth::PlatformRole;
use utoipa::ToSchema;

pub const USER_TYPE: &str = "USER";
pub const EMAIL_MARKER_TYPE: &str = "EMAIL_MARKER";
const PROFILE_SK: &str = "PROFILE";
const EMAIL_SK: &str = "EMAIL";

pub fn user_key(user_id: &str) -> (String, &'static str) {
    (format!("USER#{user_id}"), PROFILE_SK)
}

pub fn email_key(email: &str) -> (String, &'static str) {
    (format!("EMAIL#{email}"), EMAIL_SK)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: PlatformRole,
    /// Empty once the account is erased.
    pub password_hash: String,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default)]
    pub preferences: Preferences,
    /// Bumped by "sign out everywhere", a password reset and erasure: every
    /// session started under an older epoch is dead.
    #[serde(default)]
    pub token_epoch: u64,
    /// Sign-in takes a second factor (`USER#<id> / MFA`, see crate::mfa);
    /// set in the transactions that turn it on and off.
    #[serde(default)]
    pub mfa_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

impl UserRecord {
    pub fn new(id: String, email: String, name: String, password_hash: String) -> Self {
        let (pk, sk) = user_key(&id);
        let now = shared::domain::now_rfc3339();
        Self {
            pk,
            sk: sk.to_owned(),
            item_type: USER_TYPE.to_owned(),
            id,
            email,
            name,
            role: PlatformRole::Customer,
            password_hash,
            email_verified: false,
            phone: None,
            preferences: Preferences::default(),
            token_epoch: 0,
            mfa_enabled: false,
            deleted_at: None,
            created_at: now.clone(),
            updated_at: now,
            version: 1,
        }
    }

    pub fn is_active(&self) -> bool {
        self.deleted_at.is_none()
    }

    /// The ETag of this version of the profile.
    pub fn etag(&self) -> String {
        format!("\"v{}\"", self.version)
    }
}

/// Settings the user chooses for themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Preferences {
    /// A language tag such as `en` or `pt-BR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        example = "en",
        min_length = 2,
        max_length = 35,
        pattern = r"^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8})*$"
    )]
    pub language: Option<String>,
    /// ISO 4217 code prices are shown in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "EUR", pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    #[serde(default)]
    pub marketing_emails: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailMarker {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub user_id: String,
}

impl EmailMarker {
    pub fn new(email: &str, user_id: &str) -> Self {
        let (pk, sk) = email_key(email);
        Self {
            pk,
            sk: sk.to_owned(),
            item_type: EMAIL_MARKER_TYPE.to_owned(),
            user_id: user_id.to_owned(),
        }
    }
}

/// A user as the API shows them: never the password hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    #[schema(example = "01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub id: String,
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    pub role: PlatformRole,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "+351912345678")]
    pub phone: Option<String>,
    pub preferences: Preferences,
    /// Sign-in takes a code from an authenticator app (`GET /v1/me/mfa`).
    pub mfa_enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<UserRecord> for UserView {
    fn from(user: UserRecord) -> Self {
        Self {
            id: user.id,
            email: user.email,
            name: user.name,
            role: user.role,
            email_verified: user.email_verified,
            phone: user.phone,
            preferences: user.preferences,
            mfa_enabled: user.mfa_enabled,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::contracts::user::{UserStanding, user_account_key};

    /// Moderation reads this crate's full item through
    /// `shared::contracts::user`: renaming or retyping the role here fails
    /// this test, not a moderator's next action.
    #[test]
    fn the_user_standing_contract_reads_the_full_item() {
        let mut user = UserRecord::new(
            "u-1".into(),
            "ada@example.com".into(),
            "Ada".into(),
            "h".into(),
        );
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&user).unwrap();
        let read: UserStanding = serde_dynamo::from_item(item).unwrap();
        assert_eq!(read.id, "u-1");
        assert_eq!(read.role, PlatformRole::Customer);
        assert!(!read.moderates());

        user.role = PlatformRole::Moderator;
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&user).unwrap();
        assert!(item.contains_key(shared::contracts::user::ROLE_ATTRIBUTE));
        let read: UserStanding = serde_dynamo::from_item(item).unwrap();
        assert!(read.moderates());

        user.deleted_at = Some("2026-11-26T10:00:00Z".into());
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&user).unwrap();
        let read: UserStanding = serde_dynamo::from_item(item).unwrap();
        assert!(!read.moderates());
        let (pk, sk) = user_key("u-1");
        assert_eq!(user_account_key("u-1"), (pk, sk));
    }
}
