//! The S3 trigger: every object created under `uploads/` is checked,
//! measured, thumbnailed and marked ready, or deleted and marked rejected.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "assets ingest function failed to start");
    })?;
    let state = assets::AssetsState::new(&services);
    lambda_runtime::run(service_fn(|event: LambdaEvent<S3Event>| {
        let state = state.clone();
        async move {
            assets::ingest::handle_event(&state, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}
