//! The studio Lambda: builds its state once per cold start, then serves
//! API Gateway requests through the same router the devserver mounts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    // Its settings and secrets, the signing key set with them in one call,
    // while DynamoDB connects.
    let state = shared::Services::init_with(async |services| {
        studio::StudioState::init(services, true).await
    })
    .await
    .inspect_err(|err| {
        tracing::error!(error = ?err, "studio function failed to start");
    })?;
    let app = shared::http::service(studio::routes(state));
    lambda_http::run(app).await
}
