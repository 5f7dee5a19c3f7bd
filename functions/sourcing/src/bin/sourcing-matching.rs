//! The matching worker Lambda: SQS batches of RFQs whose matching runs in
//! the background, with partial batch failures for what must come again.

use lambda_runtime::{LambdaEvent, service_fn};
use sourcing::worker::{BatchResponse, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "sourcing matching worker failed to start");
    })?;
    let state = sourcing::SourcingState::new(&services);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move {
            Ok::<BatchResponse, lambda_runtime::Error>(
                sourcing::worker::handle_batch(&state, event.payload).await,
            )
        }
    }))
    .await
}
