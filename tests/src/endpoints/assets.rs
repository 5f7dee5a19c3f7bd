//! Uploads and assets: one method per endpoint, plus the upload itself.

use axum::http::Method;
use serde_json::Value;

use crate::{TestApp, TestResponse, http_request};

impl TestApp {
    pub async fn request_upload(&self, token: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, "/v1/uploads", Some(token), Some(body))
            .await
    }

    pub async fn asset(&self, token: &str, asset_id: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/v1/assets/{asset_id}"),
            Some(token),
            None,
        )
        .await
    }

    pub async fn delete_asset(&self, token: &str, asset_id: &str) -> TestResponse {
        self.call(
            Method::DELETE,
            &format!("/v1/assets/{asset_id}"),
            Some(token),
            None,
        )
        .await
    }

    /// Sends `bytes` with an upload grant, as a browser would.
    pub async fn upload_with(&self, grant: &Value, bytes: &[u8]) -> u16 {
        let headers: Vec<(String, String)> = grant["headers"]
            .as_object()
            .expect("the grant's headers")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        let url = grant["url"].as_str().expect("the grant's URL");
        http_request(
            grant["method"].as_str().unwrap_or("PUT"),
            url,
            &headers,
            bytes,
        )
        .await
        .0
    }

    /// Runs the ingest handler for the object of `asset_id`, as the S3
    /// trigger would (the key URL-encoded as in real S3 events).
    pub async fn ingest(&self, asset_id: &str) {
        devserver::pumps::ingest_asset(&self.services, asset_id)
            .await
            .expect("ingest succeeds");
    }
}
