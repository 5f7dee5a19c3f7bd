//! The scheduled Lambda (EventBridge, every minute) that cancels unpaid
//! card orders past their payment window. The devserver runs the same
//! sweep on a timer.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let started = shared::Services::init_with(async |services| {
        let payments = services.payments().await?;
        anyhow::Ok((services.store.clone(), payments))
    });
    let (store, payments) = started.await.inspect_err(|err| {
        tracing::error!(error = ?err, "orders-expiry function failed to start");
    })?;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let (store, payments) = (store.clone(), payments.clone());
        async move {
            let now = shared::domain::now_epoch();
            let report = orders::expiry::sweep(&store, &payments, now).await?;
            Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
