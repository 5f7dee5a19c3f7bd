//! The scheduled Lambda (EventBridge, every 15 minutes) that reads the
//! print partner for manufacturing orders not updated for an hour and
//! applies what lost webhooks would have said. The devserver runs the same
//! sweep on a timer.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use studio::manufacturing::reconcile;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    // Its settings and secrets (one call) while DynamoDB connects.
    let state = shared::Services::init_with(async |services| {
        studio::StudioState::init(services, false).await
    })
    .await
    .inspect_err(|err| {
        tracing::error!(error = ?err, "studio-reconcile function failed to start");
    })?;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let state = state.clone();
        async move {
            let now = shared::domain::now_epoch();
            let report = reconcile::sweep(&state, now, reconcile::DEFAULT_STALE_AFTER_SECS).await?;
            Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
