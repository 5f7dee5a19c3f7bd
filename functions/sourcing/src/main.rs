//! The sourcing Lambda: builds its state once per cold start, then serves
//! API Gateway requests through the same router the devserver mounts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "sourcing function failed to start");
    })?;
    let app = shared::http::service(sourcing::routes(sourcing::SourcingState::new(&services)));
    lambda_http::run(app).await
}
