//! `Idempotency-Key` for writes that move money or stock: a retried request
//! with the same key gets the first result instead of doing the work twice.
//!
//! The first request claims the key with a conditional put (scoped to the
//! caller, holding a fingerprint of the request); when it succeeds its result
//! is stored with the claim. A repeat with the same fingerprint gets the
//! stored result (`Idempotent-Replayed: true`); with a different request it is
//! a 422; while the first is still running, a 409. A failed request releases
//! its claim, so a retry runs again. Claims expire after 24 hours.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::crypto::hash_secret;
use crate::http::{ApiError, ApiResponse, FieldErrors};
use crate::store::{Store, StoreError, Update};

pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub static REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const TTL_SECS: i64 = 24 * 3600;

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(&IDEMPOTENCY_KEY) else {
            return Ok(Self(None));
        };
        value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|key| {
                (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(|key| Self(Some(key.to_owned())))
            .ok_or_else(|| {
                ApiError::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters")
            })
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    ttl: i64,
}

/// A key this request holds until it completes or releases it.
#[derive(Debug)]
pub struct Claim {
    pk: String,
}

pub enum Begin {
    /// Do the work, then `complete` (or `release` on failure).
    Fresh(Claim),
    /// The first request's result, to return as it is.
    Replay(Value),
}

const SK: &str = "IDEMPOTENCY";

/// Claims `key` for `scope` (e.g. the caller and the operation), or finds the
/// result of the request that claimed it first.
pub async fn begin(
    store: &Store,
    scope: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Begin, ApiError> {
    let pk = claim_pk(scope, key);
    let record = ClaimRecord {
        pk: pk.clone(),
        sk: SK.to_owned(),
        item_type: "IDEMPOTENCY_KEY".to_owned(),
        fingerprint: hash_secret(fingerprint),
        result: None,
        ttl: crate::domain::now_epoch() + TTL_SECS,
    };
    match store.put(&record, Some("attribute_not_exists(PK)")).await {
        Ok(()) => return Ok(Begin::Fresh(Claim { pk })),
        Err(StoreError::ConditionFailed) => {}
        Err(err) => return Err(err.into()),
    }
    let existing: ClaimRecord = store.get(&pk, SK).await?.ok_or_else(|| {
        ApiError::conflict("a request with this Idempotency-Key just finished; retry")
    })?;
    if existing.fingerprint != record.fingerprint {
        return Err(ApiError::validation(
            "this Idempotency-Key was used for a different request",
            FieldErrors::new(),
        ));
    }
    existing.result.map(Begin::Replay).ok_or_else(|| {
        ApiError::conflict(
            "a request with this Idempotency-Key is still in progress; retry shortly",
        )
    })
}

fn claim_pk(scope: &str, key: &str) -> String {
    format!("IDEMPOTENCY#{}", hash_secret(&format!("{scope}\n{key}")))
}

/// The claim of `key` as an item of the caller's own transaction, holding
/// its result already: the work and the claim commit together or not at
/// all, so no crash can leave a key claimed without its result. The item's
/// condition fails if the key was claimed first; then [`lookup`] finds the
/// first result.
pub fn claim_item(
    store: &Store,
    scope: &str,
    key: &str,
    fingerprint: &str,
    result: &Value,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    let record = ClaimRecord {
        pk: claim_pk(scope, key),
        sk: SK.to_owned(),
        item_type: "IDEMPOTENCY_KEY".to_owned(),
        fingerprint: hash_secret(fingerprint),
        result: Some(result.clone()),
        ttl: crate::domain::now_epoch() + TTL_SECS,
    };
    store.transact_put(&record, Some("attribute_not_exists(PK)"))
}

/// The result stored with `key` by [`claim_item`], if the key was used:
/// 422 if it was used for a different request.
pub async fn lookup(
    store: &Store,
    scope: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Option<Value>, ApiError> {
    let Some(existing) = store.get::<ClaimRecord>(&claim_pk(scope, key), SK).await? else {
        return Ok(None);
    };
    if existing.fingerprint != hash_secret(fingerprint) {
        return Err(ApiError::validation(
            "this Idempotency-Key was used for a different request",
            FieldErrors::new(),
        ));
    }
    Ok(existing.result)
}

/// Stores the result for replays.
pub async fn complete(store: &Store, claim: Claim, result: &Value) -> Result<(), StoreError> {
    let value = crate::store::to_value(result)?;
    store
        .update::<Value>(
            Update::new(&claim.pk, SK, "SET #result = :result")
                .name("#result", "result")
                .value(":result", value),
        )
        .await
        .map(drop)
}

/// Gives the key back after a failure, so a retry does the work.
pub async fn release(store: &Store, claim: Claim) -> Result<(), StoreError> {
    store.delete(&claim.pk, SK).await
}

/// A replayed success: the stored data, marked as a replay.
pub fn replayed(data: Value) -> ApiResponse<Value> {
    ApiResponse::ok(data).header(REPLAYED.clone(), HeaderValue::from_static("true"))
}
