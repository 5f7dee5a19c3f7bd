//! Image providers and the optional moderation provider.
//!
//! An [`ImageModel`] answers a generation with an image, or with a job to
//! poll until it has one. Two implementations:
//! - [`Procedural`]: the offline generator ([`crate::generator`]), the
//!   default (`STUDIO_IMAGE_PROVIDER=procedural`);
//! - [`OpenAiImages`]: OpenAI's Images API, `POST /v1/images/generations`
//!   answered as `b64_json`; base URL and model are configuration,
//!   and locally a stand-in (infra/openai_standin.py) answers.
//!
//! [`Moderation`] checks a prompt before any image provider is called:
//! OpenAI's `POST /v1/moderations` when `STUDIO_MODERATION=openai`.

use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::generator::{self, DesignInputs};

/// What a provider answered.
#[derive(Debug)]
pub enum Generated {
    /// The image (PNG bytes) and what drew it.
    Image(Image),
    /// The provider is still drawing: poll this job later.
    Pending { job: String },
}

#[derive(Debug)]
pub struct Image {
    pub png: Vec<u8>,
    pub seed: String,
    pub parameters: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider's moderation refused the prompt or the image.
    #[error("the provider's moderation refused it: {0}")]
    Blocked(String),
    /// The provider refused the request for good (bad request, auth).
    #[error("the provider refused the request: {0}")]
    Rejected(String),
    /// Worth a retry later (network, 429, 5xx).
    #[error("the provider is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

pub trait ImageModel: Send + Sync {
    /// `procedural`, `openai`.
    fn provider(&self) -> &'static str;
    fn model(&self) -> String;
    fn generate(
        &self,
        inputs: &DesignInputs,
    ) -> impl Future<Output = Result<Generated, ProviderError>> + Send;
    fn poll(&self, job: &str) -> impl Future<Output = Result<Generated, ProviderError>> + Send;
}

/// The offline generator: always answers at once.
#[derive(Debug, Clone, Default)]
pub struct Procedural;

impl ImageModel for Procedural {
    fn provider(&self) -> &'static str {
        "procedural"
    }

    fn model(&self) -> String {
        format!("bodega-procedural-v{}", generator::GENERATOR_VERSION)
    }

    async fn generate(&self, inputs: &DesignInputs) -> Result<Generated, ProviderError> {
        let inputs = inputs.clone();
        let drawing = tokio::task::spawn_blocking(move || generator::draw(&inputs))
            .await
            .map_err(|e| ProviderError::Unavailable(e.into()))?;
        Ok(Generated::Image(Image {
            png: drawing.png,
            seed: format!("{:016x}", drawing.seed),
            parameters: drawing.parameters,
        }))
    }

    async fn poll(&self, job: &str) -> Result<Generated, ProviderError> {
        Err(ProviderError::Rejected(format!(
            "the procedural generator has no jobs ({job})"
        )))
    }
}

/// OpenAI's Images API.
#[derive(Debug, Clone)]
pub struct OpenAiImages {
    http: reqwest::Client,
    base_url: String,
    model: String,
    api_key: String,
}

/// OpenAI's error body: `{"error": {"code", "message", "type"}}`.
#[derive(Debug, Deserialize)]
struct OpenAiError {
    error: OpenAiErrorBody,
}

#[derive(Debug, Deserialize)]
struct OpenAiErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct ImagesResponse {
    data: Vec<ImageData>,
}

#[derive(Debug, Deserialize)]
struct ImageData {
    #[serde(default)]
    b64_json: Option<String>,
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(90))
        .build()
        .expect("an HTTP client builds")
}

impl OpenAiImages {
    /// The size OpenAI draws portraits at.
    pub const SIZE: &'static str = "1024x1536";

    pub fn new(base_url: &str, model: &str, api_key: &str) -> Self {
        Self {
            http: http_client(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            api_key: api_key.to_owned(),
        }
    }

    fn prompt(inputs: &DesignInputs) -> String {
        format!(
            "A flat, front-facing print design for a {} in a {} style, using only these colours: {}. {}",
            inputs.category,
            inputs.style,
            inputs.colors.join(", "),
            inputs.prompt
        )
    }
}

impl ImageModel for OpenAiImages {
    fn provider(&self) -> &'static str {
        "openai"
    }

    fn model(&self) -> String {
        self.model.clone()
    }

    async fn generate(&self, inputs: &DesignInputs) -> Result<Generated, ProviderError> {
        let mut body = json!({
            "model": self.model,
            "prompt": Self::prompt(inputs),
            "n": 1,
            "size": Self::SIZE,
        });
        // The GPT image models always answer base64 and refuse the
        // parameter; the DALL-E models answer URLs unless asked.
        if !self.model.starts_with("gpt-image") {
            body["response_format"] = json!("b64_json");
        }
        let response = self
            .http
            .post(format!("{}/v1/images/generations", self.base_url))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(e.into()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| ProviderError::Unavailable(e.into()))?;
        if !status.is_success() {
            return Err(classify_error(status, &text));
        }
        let parsed: ImagesResponse = serde_json::from_str(&text).map_err(|e| {
            ProviderError::Unavailable(anyhow::Error::new(e).context("reading OpenAI's answer"))
        })?;
        let b64 = parsed
            .data
            .into_iter()
            .find_map(|d| d.b64_json)
            .ok_or_else(|| ProviderError::Rejected("OpenAI answered without an image".into()))?;
        let png = STANDARD
            .decode(b64.trim())
            .map_err(|e| ProviderError::Rejected(format!("OpenAI's image is not base64: {e}")))?;
        Ok(Generated::Image(Image {
            png,
            seed: format!("{:016x}", inputs.seed()),
            parameters: json!({ "size": Self::SIZE, "prompt": Self::prompt(inputs) }),
        }))
    }

    async fn poll(&self, job: &str) -> Result<Generated, ProviderError> {
        Err(ProviderError::Rejected(format!(
            "OpenAI's Images API answers at once; there is no job {job}"
        )))
    }
}

/// An OpenAI error status and body as our error: `moderation_blocked`
/// (and `content_policy_violation`, its older name) is a block; 429 and 5xx
/// are worth a retry; any other 4xx is final.
fn classify_error(status: reqwest::StatusCode, body: &str) -> ProviderError {
    let error = serde_json::from_str::<OpenAiError>(body).ok();
    let code = error.as_ref().and_then(|e| e.error.code.clone());
    let message = error
        .map(|e| e.error.message)
        .unwrap_or_else(|| format!("HTTP {status}"));
    match code.as_deref() {
        Some("moderation_blocked") | Some("content_policy_violation") => {
            ProviderError::Blocked(message)
        }
        _ if status.as_u16() == 429 || status.is_server_error() => {
            ProviderError::Unavailable(anyhow::anyhow!("OpenAI answered {status}: {message}"))
        }
        _ => ProviderError::Rejected(format!("{status}: {message}")),
    }
}

/// The configured image provider.
#[derive(Debug, Clone)]
pub enum ImageProvider {
    Procedural(Procedural),
    OpenAi(OpenAiImages),
}

impl ImageModel for ImageProvider {
    fn provider(&self) -> &'static str {
        match self {
            Self::Procedural(p) => p.provider(),
            Self::OpenAi(p) => p.provider(),
        }
    }

    fn model(&self) -> String {
        match self {
            Self::Procedural(p) => p.model(),
            Self::OpenAi(p) => p.model(),
        }
    }

    async fn generate(&self, inputs: &DesignInputs) -> Result<Generated, ProviderError> {
        match self {
            Self::Procedural(p) => p.generate(inputs).await,
            Self::OpenAi(p) => p.generate(inputs).await,
        }
    }

    async fn poll(&self, job: &str) -> Result<Generated, ProviderError> {
        match self {
            Self::Procedural(p) => p.poll(job).await,
            Self::OpenAi(p) => p.poll(job).await,
        }
    }
}

/// A moderation verdict on a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Flagged, with the first flagged category.
    Flagged(String),
}

pub trait ModerationModel: Send + Sync {
    fn check(&self, text: &str) -> impl Future<Output = anyhow::Result<Verdict>> + Send;
}

/// OpenAI's moderation endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiModeration {
    http: reqwest::Client,
    base_url: String,
    model: String,
    api_key: String,
}

#[derive(Debug, Deserialize)]
struct ModerationResponse {
    results: Vec<ModerationResult>,
}

#[derive(Debug, Deserialize)]
struct ModerationResult {
    flagged: bool,
    #[serde(default)]
    categories: serde_json::Map<String, Value>,
}

impl OpenAiModeration {
    pub fn new(base_url: &str, model: &str, api_key: &str) -> Self {
        Self {
            http: http_client(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            api_key: api_key.to_owned(),
        }
    }
}

impl ModerationModel for OpenAiModeration {
    async fn check(&self, text: &str) -> anyhow::Result<Verdict> {
        let response = self
            .http
            .post(format!("{}/v1/moderations", self.base_url))
            .bearer_auth(&self.api_key)
            .json(&json!({ "model": self.model, "input": text }))
            .send()
            .await?
            .error_for_status()?;
        let parsed: ModerationResponse = response.json().await?;
        let Some(result) = parsed.results.into_iter().next() else {
            anyhow::bail!("the moderation endpoint answered without a result");
        };
        if !result.flagged {
            return Ok(Verdict::Allowed);
        }
        let category = result
            .categories
            .into_iter()
            .find(|(_, flagged)| flagged.as_bool() == Some(true))
            .map(|(name, _)| name)
            .unwrap_or_else(|| "flagged".into());
        Ok(Verdict::Flagged(category))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_openai_errors() {
        let blocked = r#"{"error":{"code":"moderation_blocked","message":"Your request was rejected by the safety system.","type":"image_generation_user_error","param":null}}"#;
        assert!(matches!(
            classify_error(reqwest::StatusCode::BAD_REQUEST, blocked),
            ProviderError::Blocked(_)
        ));
        let limited = r#"{"error":{"code":"rate_limit_exceeded","message":"slow down"}}"#;
        assert!(matches!(
            classify_error(reqwest::StatusCode::TOO_MANY_REQUESTS, limited),
            ProviderError::Unavailable(_)
        ));
        assert!(matches!(
            classify_error(reqwest::StatusCode::UNAUTHORIZED, "not json"),
            ProviderError::Rejected(_)
        ));
    }
}
