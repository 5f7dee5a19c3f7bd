//! The scheduled Lambda (EventBridge, every minute) that closes RFQs past
//! their closing time, expires those past their award deadline and
//! reminds invitees of RFQs closing within 48 hours. The devserver runs
//! the same sweep on a timer.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "sourcing-schedule function failed to start");
    })?;
    let state = sourcing::SourcingState::new(&services);
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let state = state.clone();
        async move {
            let now = shared::domain::now_epoch();
            let report = sourcing::closing::sweep(&state, now).await?;
            Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
