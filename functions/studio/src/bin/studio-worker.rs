//! The generation worker Lambda: SQS batches of designs to draw, with
//! partial batch failures for what must come again.

use lambda_runtime::{LambdaEvent, service_fn};
use studio::worker::{BatchResponse, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    // Its settings and secrets (one call) while DynamoDB connects.
    let state = shared::Services::init_with(async |services| {
        studio::StudioState::init(services, false).await
    })
    .await
    .inspect_err(|err| {
        tracing::error!(error = ?err, "studio worker failed to start");
    })?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move {
            Ok::<BatchResponse, lambda_runtime::Error>(
                studio::worker::handle_batch(&state, event.payload).await,
            )
        }
    }))
    .await
}
