//! Fixed-window rate limits kept in the table.
//!
//! One counter item per (limit, subject, window): an atomic `ADD` returns the
//! new count, so concurrent requests never under-count, and the item expires
//! by TTL after its window. Subjects (emails, IPs, key ids) are hashed before
//! they become keys, so counters hold no personal data.

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use crate::crypto::hash_secret;
use crate::http::ApiError;
use crate::store::{Store, attr};

/// At most `max` requests per window for one subject.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub max: u64,
}

#[derive(Clone)]
pub struct RateLimiter {
    store: Store,
    window: Duration,
    api_key_max: u64,
}

impl RateLimiter {
    pub fn new(store: Store, window: Duration, api_key_max: u64) -> Self {
        Self {
            store,
            window,
            api_key_max,
        }
    }

    /// The per-key limit of API keys (`API_KEY_RATE_LIMIT` per window).
    pub fn api_key_limit(&self) -> Limit {
        Limit {
            name: "api-key",
            max: self.api_key_max,
        }
    }

    /// Counts one request of `subject` against `limit`; over the limit it is
    /// a 429 whose Retry-After is the time left in the window.
    #[tracing::instrument(skip(self, subject), fields(limit = limit.name))]
    pub async fn hit(&self, limit: Limit, subject: &str) -> Result<(), ApiError> {
        let window_secs = self.window.as_secs().max(1);
        let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        let window_start = now - now % window_secs;
        let window_end = window_start + window_secs;
        let output = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .key(
                attr::PK,
                AttributeValue::S(format!("RATE#{}#{}", limit.name, hash_secret(subject))),
            )
            .key(
                attr::SK,
                AttributeValue::S(format!("WINDOW#{window_start}")),
            )
            .update_expression("ADD #count :one SET #type = :type, #ttl = :ttl")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#type", attr::TYPE)
            .expression_attribute_names("#ttl", attr::TTL)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":type", AttributeValue::S("RATE_COUNTER".into()))
            .expression_attribute_values(":ttl", AttributeValue::N((window_end + 60).to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(crate::store::classify)?;
        let count = output
            .attributes
            .as_ref()
            .and_then(|a| a.get("count"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        if count > limit.max {
            tracing::warn!(count, "rate limit exceeded");
            return Err(ApiError::rate_limited(
                "too many requests; try again later",
                window_end.saturating_sub(now).max(1),
            ));
        }
        Ok(())
    }
}
