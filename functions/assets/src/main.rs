//! The assets HTTP Lambda: upload grants, asset metadata and downloads.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let services = shared::Services::init().await.inspect_err(|err| {
        tracing::error!(error = ?err, "assets function failed to start");
    })?;
    let app = shared::http::service(assets::routes(assets::AssetsState::new(&services)));
    lambda_http::run(app).await
}
