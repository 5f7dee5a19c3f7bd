//! The scheduled Lambda (EventBridge, every minute) that closes RFQs past
//! their closing time and expires those past their award deadline. The
//! devserver runs the same sweep on a timer.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "sourcing-schedule function failed to start");
    })?;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let services = services.clone();
        async move {
            let now = shared::domain::now_epoch();
            let report = sourcing::closing::sweep(&services.store, now).await?;
            Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
