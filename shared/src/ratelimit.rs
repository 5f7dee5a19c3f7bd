//! Fixed-window rate limits kept in the table.
//!
//! One counter item per (limit, subject, window): an atomic `ADD` returns the
//! new count, so concurrent requests never under-count, and the item expires
//! by TTL after its window. Subjects (emails, IPs, key ids) are hashed before
//! they become keys, so counters hold no personal data.

use std::time::Duration;

use serde::Deserialize;

use crate::crypto::hash_secret;
use crate::http::ApiError;
use crate::store::{Store, Update, attr, n, s};

/// A window's counter as the atomic `ADD` leaves it.
#[derive(Deserialize)]
struct Counter {
    count: u64,
}

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
        let window = self.window();
        let count = self.add(limit, subject, &window).await?;
        if count > limit.max {
            tracing::warn!(count, "rate limit exceeded");
            return Err(window.refusal());
        }
        Ok(())
    }

    /// For limits that count failures (wrong passwords, bad codes): a 429
    /// while `subject` already has `limit.max` failures in this window.
    /// Counts nothing; [`RateLimiter::failed`] does, once the attempt failed.
    #[tracing::instrument(skip(self, subject), fields(limit = limit.name))]
    pub async fn check(&self, limit: Limit, subject: &str) -> Result<(), ApiError> {
        let window = self.window();
        let (pk, sk) = counter_key(limit, subject, &window);
        let count = self
            .store
            .get::<Counter>(&pk, &sk)
            .await?
            .map_or(0, |c| c.count);
        if count >= limit.max {
            tracing::warn!(count, "failure limit reached");
            return Err(window.refusal());
        }
        Ok(())
    }

    /// Counts one failed attempt of `subject` against `limit`.
    #[tracing::instrument(skip(self, subject), fields(limit = limit.name))]
    pub async fn failed(&self, limit: Limit, subject: &str) -> Result<(), ApiError> {
        let window = self.window();
        self.add(limit, subject, &window).await.map(|_| ())
    }

    fn window(&self) -> Window {
        let secs = self.window.as_secs().max(1);
        let now = crate::domain::now_epoch().max(0) as u64;
        let start = now - now % secs;
        Window {
            now,
            start,
            end: start + secs,
        }
    }

    async fn add(&self, limit: Limit, subject: &str, window: &Window) -> Result<u64, ApiError> {
        let (pk, sk) = counter_key(limit, subject, window);
        let counter = Update::new(pk, sk, "ADD #count :one SET #type = :type, #ttl = :ttl")
            .name("#count", "count")
            .name("#type", attr::TYPE)
            .name("#ttl", attr::TTL)
            .value(":one", n(1))
            .value(":type", s("RATE_COUNTER"))
            .value(":ttl", n((window.end + 60) as i64));
        Ok(self.store.update::<Counter>(counter).await?.count)
    }
}

/// The fixed window a moment falls in, in epoch seconds.
struct Window {
    now: u64,
    start: u64,
    end: u64,
}

impl Window {
    /// A 429 whose Retry-After is the time left in the window.
    fn refusal(&self) -> ApiError {
        ApiError::rate_limited(
            "too many requests; try again later",
            self.end.saturating_sub(self.now).max(1),
        )
    }
}

fn counter_key(limit: Limit, subject: &str, window: &Window) -> (String, String) {
    (
        format!("RATE#{}#{}", limit.name, hash_secret(subject)),
        format!("WINDOW#{}", window.start),
    )
}
