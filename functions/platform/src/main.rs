//! The platform Lambda: health and the OpenAPI document.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "platform function failed to start");
    })?;
    let app = shared::http::service(platform::routes(platform::PlatformState::new(&services)));
    lambda_http::run(app).await
}
