//! Organization API keys: `bdg_<prefix>_<secret>`.
//!
//! The prefix (12 hex characters) names the key in lists and logs and is the
//! item's key, so authenticating is one GetItem; the secret (256 random
//! bits) is never stored: the item keeps the SHA-256 of the whole key, which
//! is compared in constant time.
//!
//! Item: `APIKEY#<prefix> / APIKEY`, with `GSI1PK = ORG#<orgId>`,
//! `GSI1SK = APIKEY#<prefix>` so an organization's keys are one Query.

use serde::{Deserialize, Serialize};

use super::policy::{Permission, PermissionSet};
use crate::crypto;
use crate::http::ApiError;
use crate::store::{Store, StoreError, Update, n, s};

pub const API_KEY_TYPE: &str = "APIKEY";
pub const KEY_MARK: &str = "bdg_";
const PREFIX_HEX_LEN: usize = 12;
const SECRET_HEX_LEN: usize = 64;
const SK: &str = "APIKEY";
pub const ORG_SK_PREFIX: &str = "APIKEY#";
/// `lastUsedAt` is written at most once a minute per key.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

pub fn key_of(prefix: &str) -> (String, &'static str) {
    (format!("APIKEY#{prefix}"), SK)
}

/// A new key: the text shown once, and what identifies and verifies it.
pub struct NewKey {
    pub prefix: String,
    /// `bdg_<prefix>_<secret>`: give it to the client, never store or log it.
    pub plaintext: String,
    pub hash: String,
}

pub fn generate() -> NewKey {
    let prefix = crypto::random_hex(PREFIX_HEX_LEN / 2);
    let plaintext = format!(
        "{KEY_MARK}{prefix}_{}",
        crypto::random_hex(SECRET_HEX_LEN / 2)
    );
    let hash = crypto::hash_secret(&plaintext);
    NewKey {
        prefix,
        plaintext,
        hash,
    }
}

/// Whether a bearer credential is an API key rather than an access token.
pub fn looks_like_key(credential: &str) -> bool {
    credential.starts_with(KEY_MARK)
}

/// The prefix of a well-formed key; `None` for anything else.
pub fn prefix_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_MARK)?;
    let (prefix, secret) = rest.split_once('_')?;
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    (hex(prefix, PREFIX_HEX_LEN) && hex(secret, SECRET_HEX_LEN)).then_some(prefix)
}

pub fn is_prefix(raw: &str) -> bool {
    raw.len() == PREFIX_HEX_LEN && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub prefix: String,
    pub org_id: String,
    pub name: String,
    pub permissions: Vec<Permission>,
    pub secret_hash: String,
    pub created_at: String,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_epoch: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_epoch: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Set once the key can no longer be used (expired or revoked), so the
    /// item disappears some time later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

/// How long a dead key stays listed before TTL removes it.
pub const DEAD_KEY_RETENTION_SECS: i64 = 90 * 24 * 3600;

pub struct KeySpec<'a> {
    pub org_id: &'a str,
    pub name: String,
    pub permissions: PermissionSet,
    pub created_by: String,
    /// Epoch seconds.
    pub expires_epoch: Option<i64>,
}

impl ApiKeyRecord {
    pub fn new(key: &NewKey, spec: KeySpec<'_>) -> Self {
        let (pk, sk) = key_of(&key.prefix);
        Self {
            pk,
            sk: sk.to_owned(),
            gsi1pk: crate::auth::membership::org_pk(spec.org_id),
            gsi1sk: format!("{ORG_SK_PREFIX}{}", key.prefix),
            item_type: API_KEY_TYPE.to_owned(),
            prefix: key.prefix.clone(),
            org_id: spec.org_id.to_owned(),
            name: spec.name,
            permissions: spec.permissions.to_vec(),
            secret_hash: key.hash.clone(),
            created_at: crate::domain::now_rfc3339(),
            created_by: spec.created_by,
            expires_at: spec.expires_epoch.map(crate::domain::epoch_to_rfc3339),
            expires_epoch: spec.expires_epoch,
            last_used_at: None,
            last_used_epoch: None,
            revoked_at: None,
            ttl: spec.expires_epoch.map(|e| e + DEAD_KEY_RETENTION_SECS),
        }
    }

    pub fn permission_set(&self) -> PermissionSet {
        self.permissions.iter().copied().collect()
    }

    pub fn is_expired_at(&self, now: i64) -> bool {
        self.expires_epoch.is_some_and(|e| e <= now)
    }
}

/// One message for every unusable key, so a probe learns nothing.
fn refused() -> ApiError {
    ApiError::unauthenticated("the API key is invalid, expired or revoked")
}

/// The key behind a presented credential: one GetItem by prefix, then a
/// constant-time comparison of hashes. Unknown, malformed, expired and
/// revoked keys are all 401.
pub async fn authenticate(store: &Store, presented: &str) -> Result<ApiKeyRecord, ApiError> {
    let prefix = prefix_of(presented).ok_or_else(refused)?;
    let (pk, sk) = key_of(prefix);
    let record: ApiKeyRecord = store.get(&pk, sk).await?.ok_or_else(refused)?;
    let now = crate::domain::now_epoch();
    if !crypto::matches_hash(presented, &record.secret_hash)
        || record.revoked_at.is_some()
        || record.is_expired_at(now)
    {
        return Err(refused());
    }
    touch(store, &record, now).await;
    Ok(record)
}

/// Records the time of use, at most once a minute: skipped when the item
/// read says it is fresh, and conditional so concurrent requests write once.
async fn touch(store: &Store, record: &ApiKeyRecord, now: i64) {
    let fresh_after = now - LAST_USED_RESOLUTION_SECS;
    if record.last_used_epoch.is_some_and(|e| e > fresh_after) {
        return;
    }
    let update = Update::new(&record.pk, &record.sk, "SET lastUsedAt = :at, lastUsedEpoch = :now")
        .condition("attribute_exists(PK) AND (attribute_not_exists(lastUsedEpoch) OR lastUsedEpoch <= :fresh_after)")
        .value(":at", s(crate::domain::now_rfc3339()))
        .value(":now", n(now))
        .value(":fresh_after", n(fresh_after));
    match store.update::<ApiKeyRecord>(update).await {
        Ok(_) | Err(StoreError::ConditionFailed) => {}
        Err(err) => {
            tracing::warn!(key_prefix = %record.prefix, error = ?err, "could not record API key use")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = generate();
        assert!(key.plaintext.starts_with("bdg_"));
        assert_eq!(prefix_of(&key.plaintext), Some(key.prefix.as_str()));
        assert!(is_prefix(&key.prefix));
        assert_eq!(key.plaintext.len(), 4 + 12 + 1 + 64);
        assert!(crypto::matches_hash(&key.plaintext, &key.hash));
        assert!(!key.hash.contains(&key.plaintext[17..]));
    }

    #[test]
    fn malformed_keys_have_no_prefix() {
        let key = generate().plaintext;
        for bad in [
            "",
            "bdg_",
            "bdg_abc_def",
            &key.to_uppercase(),
            &key[..key.len() - 1],
            &format!("{key}0"),
            &key.replacen("bdg_", "xyz_", 1),
        ] {
            assert_eq!(prefix_of(bad), None, "{bad}");
        }
    }
}
