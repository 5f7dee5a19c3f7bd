//! The orders Lambda: builds its state once per cold start, then serves
//! API Gateway requests through the same router the devserver mounts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let started = shared::Services::init_with(async |services| {
        let payments = services.payments().await?;
        anyhow::Ok(orders::OrdersState::new(services, payments))
    });
    let state = started.await.inspect_err(|err| {
        tracing::error!(error = ?err, "orders function failed to start");
    })?;
    let app = shared::http::service(orders::routes(state));
    lambda_http::run(app).await
}
