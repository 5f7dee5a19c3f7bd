//! The shipments worker Lambda: SQS batches of shipment notices other
//! contexts send on a seller's behalf, with partial batch failures.

use lambda_runtime::{LambdaEvent, service_fn};
use shared::sqs::{BatchResponse, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "orders-shipments function failed to start");
    })?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let store = services.store.clone();
        async move {
            Ok::<BatchResponse, lambda_runtime::Error>(
                orders::shipments::handle_batch(&store, event.payload).await,
            )
        }
    }))
    .await
}
