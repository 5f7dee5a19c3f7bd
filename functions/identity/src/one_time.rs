//! Single-use, expiring tokens sent by email (email verification, password
//! reset). The token is a random secret; the item is keyed by its SHA-256,
//! expires by TTL, and is deleted, under a condition, in the same transaction
//! as the change it authorizes, so it works once.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use shared::crypto::{hash_secret, new_secret};
use shared::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    pub fn lifetime_secs(self) -> i64 {
        match self {
            Purpose::VerifyEmail => 24 * 3600,
            Purpose::ResetPassword => 30 * 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OneTimeToken {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub purpose: Purpose,
    pub user_id: String,
    /// The address the token was sent to; the change applies only while the
    /// account still has it.
    pub email: String,
    pub expires_at: i64,
    pub ttl: i64,
}

fn key(secret_hash: &str) -> (String, &'static str) {
    (format!("TOKEN#{secret_hash}"), "TOKEN")
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Stores a new token and returns the secret to email.
pub async fn issue(
    store: &Store,
    purpose: Purpose,
    user_id: &str,
    email: &str,
) -> Result<String, StoreError> {
    let secret = new_secret();
    let (pk, sk) = key(&hash_secret(&secret));
    let expires_at = now_secs() + purpose.lifetime_secs();
    let token = OneTimeToken {
        pk,
        sk: sk.to_owned(),
        item_type: "ONE_TIME_TOKEN".into(),
        purpose,
        user_id: user_id.to_owned(),
        email: email.to_owned(),
        expires_at,
        ttl: expires_at,
    };
    store.put(&token, Some("attribute_not_exists(PK)")).await?;
    Ok(secret)
}

/// The unexpired token of `purpose` for `secret`, if there is one. (TTL
/// deletion lags, so expiry is checked here too.)
pub async fn find(
    store: &Store,
    purpose: Purpose,
    secret: &str,
) -> Result<Option<OneTimeToken>, StoreError> {
    if secret.is_empty() || secret.len() > 128 {
        return Ok(None);
    }
    let (pk, sk) = key(&hash_secret(secret));
    let token: Option<OneTimeToken> = store.get(&pk, sk).await?;
    Ok(token.filter(|t| t.purpose == purpose && t.expires_at > now_secs()))
}

/// The transaction item that spends `token`: fails if it was spent already.
pub fn spend(store: &Store, token: &OneTimeToken) -> Result<TransactWriteItem, StoreError> {
    store.transact_delete(&token.pk, &token.sk, Some("attribute_exists(PK)"), &[])
}
