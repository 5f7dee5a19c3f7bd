//! JSON logs through `tracing`. Each line carries its spans under `spans`,
//! outermost first: the request span's request id, method, path and user id
//! (once known) are on every line a request logs, however deep.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// The levels when `RUST_LOG` is unset or unreadable.
const DEFAULT_LEVELS: &str = "info,aws_smithy_runtime=warn,aws_config=warn,hyper=warn";

/// Installs the JSON subscriber; `RUST_LOG` sets the levels as
/// `level,target=level,...` (default `info`, with the AWS SDK's chatter held
/// at `warn`). Targets, not the full `EnvFilter` syntax: that one links a
/// regex engine into every function for span and field filters no one sets.
pub fn init() {
    let filter = levels(std::env::var("RUST_LOG").ok().as_deref());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_span_list(true)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .finish()
        .with(filter)
        .try_init();
}

/// `RUST_LOG`'s levels, or the default ones when it is unset or unreadable.
fn levels(rust_log: Option<&str>) -> Targets {
    rust_log
        .filter(|value| !value.trim().is_empty())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| DEFAULT_LEVELS.parse().expect("the default levels parse"))
}

#[cfg(test)]
mod tests {
    use super::levels;
    use tracing::Level;

    #[test]
    fn rust_log_sets_levels_per_target_and_a_bad_value_keeps_the_default() {
        let set = levels(Some("debug,aws_smithy_runtime=error"));
        assert!(set.would_enable("identity::login", &Level::DEBUG));
        assert!(!set.would_enable("aws_smithy_runtime::client", &Level::WARN));
        for unusable in [None, Some(""), Some("info,=nonsense=")] {
            let default = levels(unusable);
            assert!(
                default.would_enable("identity::login", &Level::INFO),
                "{unusable:?}"
            );
            assert!(
                !default.would_enable("identity::login", &Level::DEBUG),
                "{unusable:?}"
            );
            assert!(
                !default.would_enable("aws_config::imds", &Level::INFO),
                "{unusable:?}"
            );
            assert!(
                default.would_enable("aws_config::imds", &Level::WARN),
                "{unusable:?}"
            );
        }
    }
}
