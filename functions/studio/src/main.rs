//! The studio Lambda: builds its state once per cold start, then serves
//! API Gateway requests through the same router the devserver mounts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let started = async {
        let services = shared::Services::init().await?;
        let signing = services.signing_keys().await?;
        anyhow::Ok((services, signing))
    };
    let (services, signing) = started.await.inspect_err(|err| {
        tracing::error!(error = ?err, "studio function failed to start");
    })?;
    let state = studio::StudioState::init(&services, Some(signing))
        .await
        .inspect_err(|err| tracing::error!(error = ?err, "studio settings are not valid"))?;
    let app = shared::http::service(studio::routes(state));
    lambda_http::run(app).await
}
