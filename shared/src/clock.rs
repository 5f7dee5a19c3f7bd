//! The time the code runs at. Every read of "now" in the domain goes through
//! here (`domain::now_epoch` and `now_rfc3339` are the usual entry points).
//!
//! Production reads the system clock. With the `test-clock` feature, which
//! only the test crate enables, a test can run a future under a `TestClock`
//! it moves forward instead of sleeping (a rate-limit window passing, an API
//! key expiring). The clock is task-local: each test's app runs its requests
//! under its own clock, so tests running in parallel threads of one process
//! never move each other's time. Work a handler spawns onto another task
//! reads the system clock.

use time::OffsetDateTime;

/// Now: the system clock, or the test clock the current task runs under.
pub fn now() -> OffsetDateTime {
    let system = OffsetDateTime::now_utc();
    #[cfg(feature = "test-clock")]
    if let Ok(now) = test_clock::CURRENT.try_with(|clock| clock.at(system)) {
        return now;
    }
    system
}

#[cfg(feature = "test-clock")]
pub use test_clock::TestClock;

#[cfg(feature = "test-clock")]
mod test_clock {
    use std::future::Future;
    use std::sync::{Arc, Mutex};

    use time::{Duration, OffsetDateTime};

    tokio::task_local! {
        pub(super) static CURRENT: TestClock;
    }

    /// A clock a test moves by hand: the system clock shifted by an offset,
    /// or frozen at an instant. Clones share the same time.
    #[derive(Clone, Default)]
    pub struct TestClock {
        state: Arc<Mutex<State>>,
    }

    #[derive(Default)]
    struct State {
        frozen: Option<OffsetDateTime>,
        offset: Duration,
    }

    impl TestClock {
        /// Moves time forward (or back, with a negative duration).
        pub fn advance(&self, by: std::time::Duration) {
            let mut state = self.state.lock().expect("the test clock is not poisoned");
            state.offset += by;
        }

        /// Stops time at `epoch` seconds until it is advanced again.
        pub fn freeze_at(&self, epoch: i64) {
            let mut state = self.state.lock().expect("the test clock is not poisoned");
            state.frozen =
                Some(OffsetDateTime::from_unix_timestamp(epoch).expect("a representable time"));
            state.offset = Duration::ZERO;
        }

        /// Now on this clock, given the system's now.
        pub(super) fn at(&self, system: OffsetDateTime) -> OffsetDateTime {
            let state = self.state.lock().expect("the test clock is not poisoned");
            state.frozen.unwrap_or(system) + state.offset
        }

        /// Now on this clock.
        pub fn now_epoch(&self) -> i64 {
            self.at(OffsetDateTime::now_utc()).unix_timestamp()
        }

        /// Runs `work` with `now()` reading this clock.
        pub async fn run<F: Future>(&self, work: F) -> F::Output {
            CURRENT.scope(self.clone(), work).await
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[tokio::test]
        async fn now_reads_the_clock_it_runs_under_and_only_there() {
            let clock = TestClock::default();
            clock.freeze_at(1_000);
            clock.advance(std::time::Duration::from_secs(30));
            assert_eq!(
                clock
                    .run(async { crate::clock::now() })
                    .await
                    .unix_timestamp(),
                1_030
            );
            assert!(crate::clock::now().unix_timestamp() > 1_700_000_000);
        }
    }
}
