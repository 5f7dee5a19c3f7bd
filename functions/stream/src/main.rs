//! The stream Lambda: the table's DynamoDB stream, in batches, with partial
//! batch failures reported so only the failed tail is retried.

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "stream function failed to start");
    })?;
    let state = stream::StreamState::new(&services);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let state = state.clone();
        async move { Ok::<_, lambda_runtime::Error>(stream::handle_batch(&state, event.payload).await) }
    }))
    .await
}
