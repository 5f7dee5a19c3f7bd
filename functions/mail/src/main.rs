//! The mail Lambda: builds its state once per cold start, then serves
//! API Gateway requests through the same router the devserver mounts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let started = shared::Services::init_with(async |services| {
        let signing = services.signing_keys().await?;
        anyhow::Ok(mail::MailState::new(services, signing))
    });
    let state = started.await.inspect_err(|err| {
        tracing::error!(error = ?err, "mail function failed to start");
    })?;
    let app = shared::http::service(mail::routes(state));
    lambda_http::run(app).await
}
