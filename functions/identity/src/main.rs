//! The identity Lambda: builds its state once per cold start, then serves
//! API Gateway requests through the same router the devserver mounts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    // The signing and MFA key sets, in one call, while DynamoDB connects.
    let started =
        shared::Services::init_with(async |services| identity::IdentityState::init(services).await);
    let state = started.await.inspect_err(|err| {
        tracing::error!(error = ?err, "identity function failed to start");
    })?;
    let app = shared::http::service(identity::routes(state));
    lambda_http::run(app).await
}
