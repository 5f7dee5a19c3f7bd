//! The studio Lambda: builds its state once per cold start, then serves
//! API Gateway requests through the same router the devserver mounts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "studio function failed to start");
    })?;
    // The signing key set is read with the studio's other secrets, in one call.
    let state = studio::StudioState::init(&services, true)
        .await
        .inspect_err(|err| tracing::error!(error = ?err, "studio settings are not valid"))?;
    let app = shared::http::service(studio::routes(state));
    lambda_http::run(app).await
}
