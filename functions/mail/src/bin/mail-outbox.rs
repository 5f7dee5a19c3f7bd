//! The platform email worker Lambda: the platform's own emails (codes,
//! invitations, notices) from the platform email queue, rendered with
//! their built-in templates and sent through SES, each once, with partial
//! batch failures for what must come again. It reads no secret.

use lambda_runtime::{LambdaEvent, service_fn};
use mail::outbox::OutboxWorker;
use shared::sqs::{BatchResponse, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "platform email worker failed to start");
    })?;
    let worker = OutboxWorker::new(&services);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let worker = worker.clone();
        async move {
            Ok::<BatchResponse, lambda_runtime::Error>(
                mail::outbox::handle_batch(&worker, event.payload).await,
            )
        }
    }))
    .await
}
