//! The identity Lambda: builds its state once per cold start, then serves
//! API Gateway requests through the same router the devserver mounts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "identity function failed to start");
    })?;
    let state = identity::IdentityState::init(&services)
        .await
        .inspect_err(|err| tracing::error!(error = ?err, "the MFA key set cannot be read"))?;
    let app = shared::http::service(identity::routes(state));
    lambda_http::run(app).await
}
