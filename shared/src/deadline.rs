//! Every request has a deadline: the Lambda invocation's, less a margin to
//! answer in, and never more than API Gateway's 30 s allow. The HTTP layer
//! ([`crate::http::service`]) sets it for the request's task; the store
//! checks it before each DynamoDB call and stops a call that would run past
//! it, so a slow dependency becomes a 503 with `Retry-After` whose log line
//! names the call, instead of a request Lambda's timeout cuts off mid-write.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Kept back from the invocation's deadline to log and answer.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(1500);
/// API Gateway ends every request at 30 s, whatever the function's timeout.
pub const API_GATEWAY_LIMIT: Duration = Duration::from_secs(30);
/// The budget when no invocation says otherwise (the devserver, tests):
/// template.yaml's `Globals.Function.Timeout` (10 s) less the margin.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(8500);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// The budget of a request whose invocation ends `remaining` from now
/// (None: not in Lambda).
pub fn budget(remaining: Option<Duration>) -> Duration {
    let cap = API_GATEWAY_LIMIT - ANSWER_MARGIN;
    match remaining {
        Some(left) => left.saturating_sub(ANSWER_MARGIN).min(cap),
        None => DEFAULT_BUDGET,
    }
}

/// Runs `work` with `deadline` as its request's deadline.
pub async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// Time left before the current request's deadline; None outside a request.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}

/// The work, stopped at the request's deadline: `Err` holds the time
/// that was left when it started (zero: it was not started at all).
pub async fn bounded<F: Future>(work: F) -> Result<F::Output, Duration> {
    match DEADLINE.try_with(|deadline| *deadline).ok() {
        None => Ok(work.await),
        Some(deadline) => {
            let budget = deadline.saturating_duration_since(Instant::now());
            if budget.is_zero() {
                return Err(budget);
            }
            tokio::time::timeout_at(deadline, work)
                .await
                .map_err(|_| budget)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_keeps_a_margin_and_never_passes_api_gateway() {
        assert_eq!(budget(None), DEFAULT_BUDGET);
        assert_eq!(
            budget(Some(Duration::from_secs(10))),
            Duration::from_millis(8500)
        );
        assert_eq!(
            budget(Some(Duration::from_secs(900))),
            Duration::from_millis(28_500)
        );
        assert_eq!(budget(Some(Duration::from_secs(1))), Duration::ZERO);
    }

    #[tokio::test]
    async fn work_past_the_deadline_is_stopped() {
        let deadline = Instant::now() + Duration::from_millis(50);
        let outcome = within(deadline, async {
            bounded(tokio::time::sleep(Duration::from_secs(5))).await
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(remaining(), None);
        assert!(bounded(async { 1 }).await.is_ok());
    }
}
