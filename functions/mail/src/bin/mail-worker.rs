//! The bulk-send worker Lambda: SQS batches of recipients from the send
//! queue, sent through SES at the account's rate, with partial batch
//! failures for what must come again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{LambdaEvent, service_fn};
use mail::worker::{BatchResponse, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let started = shared::Services::init_with(async |services| {
        let signing = services.signing_keys().await?;
        anyhow::Ok(mail::MailState::new(services, signing))
    });
    let state = started.await.inspect_err(|err| {
        tracing::error!(error = ?err, "mail worker failed to start");
    })?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            let left = Duration::from_millis(event.context.deadline.saturating_sub(now_ms));
            let deadline = tokio::time::Instant::now() + left;
            Ok::<BatchResponse, lambda_runtime::Error>(
                mail::worker::handle_batch(&state, event.payload, Some(deadline)).await,
            )
        }
    }))
    .await
}
