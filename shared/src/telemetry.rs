//! JSON logs through `tracing`. Each line carries its spans under `spans`,
//! outermost first: the request span's request id, method, path and user id
//! (once known) are on every line a request logs, however deep.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber; `RUST_LOG` sets the levels (default `info`,
/// with the AWS SDK's chatter held at `warn`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,aws_smithy_runtime=warn,aws_config=warn,hyper=warn")
    });
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .try_init();
}
