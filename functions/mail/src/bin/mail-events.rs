//! SES's bounce and complaint events (EventBridge, from the configuration
//! set): hard bounces and complaints suppress the recipient for the org
//! that sent the message and mark the message.

use lambda_runtime::{LambdaEvent, service_fn};
use mail::ses_events::SesEventBridgeEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "mail events function failed to start");
    })?;
    let store = services.store.clone();
    lambda_runtime::run(service_fn(|event: LambdaEvent<SesEventBridgeEvent>| {
        let store = store.clone();
        async move {
            mail::ses_events::handle_event(&store, &event.payload.detail)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}
