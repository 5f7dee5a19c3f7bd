//! Waiting for what the tests cannot drive: processes outside this one.

use std::time::Duration;

/// Asks `probe` until it answers `Some` (at most `tries` times, `every`
/// apart), for what happens asynchronously: a webhook, a stream pump, an
/// email. Panics naming `what` if it never does.
pub async fn eventually<T, F, Fut>(what: &str, tries: usize, every: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..tries {
        if let Some(found) = probe().await {
            return found;
        }
        tokio::time::sleep(every).await;
    }
    panic!("{what}: not within {tries} tries, {every:?} apart");
}
