//! The studio context: people describe a garment, an image provider draws
//! it in the background, and public designs are shown in a gallery where
//! people like them.
//!
//! - [`designs`]: create (202, then the worker draws), read, list mine,
//!   edit (If-Match), delete; a private design is a 404 to everyone else.
//! - [`worker`]: the `studio-worker` Lambda, fed by the generation queue.
//! - [`gallery`]: public ready designs, newest or popular; likes and views.
//! - [`limits`] and [`blocklist`]: ten designs per rolling hour, the prompt
//!   blocklist and the escalation to a temporary generation ban.
//! - [`publish`] and [`garments`]: a ready design sold as a made-to-order
//!   garment, created by catalog's own command; print readiness at 150 DPI.
//! - [`grants`]: a design's owner lets a seller organization publish it.
//! - [`manufacturing`]: paid order lines of design products made by the
//!   print partner (the `studio-manufacturing` worker, fed by the queue the
//!   stream puts paid orders on), the seller's view of them.
//! - [`generator`], [`palette`], [`providers`]: the offline generator, the
//!   palette score, and the provider traits with their OpenAI clients.

pub mod blocklist;
pub mod designs;
pub mod gallery;
pub mod garments;
pub mod generator;
pub mod grants;
pub mod limits;
pub mod manufacturing;
pub mod model;
pub mod moderation;
pub mod palette;
pub mod providers;
pub mod publish;
pub mod worker;

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::FromRef;
use shared::auth::{SigningKeys, TokenKeys};
use shared::config::SecretSource;
use shared::http::RouteSink;
use shared::ratelimit::RateLimiter;
use shared::routes;
use shared::store::Store;
use utoipa_axum::router::OpenApiRouter;

use shared::print_partner::{DEFAULT_PRINTFUL_API_BASE, PrintfulClient};

use crate::providers::{ImageProvider, OpenAiImages, OpenAiModeration, Procedural};

/// Where designs' images go under the bucket's public prefix
/// (`shared::asset_refs::PUBLIC_PREFIX`), which the public media CDN serves
/// at `PUBLIC_MEDIA_URL`: stable URLs.
pub const IMAGES_PATH: &str = "studio/designs";

pub const DEFAULT_OPENAI_API_BASE: &str = "https://api.openai.com";

/// The studio's own configuration, read once per cold start.
#[derive(Debug, Clone)]
pub struct StudioSettings {
    /// `STUDIO_IMAGE_PROVIDER`: `procedural` (default) or `openai`.
    pub image_provider: String,
    /// `STUDIO_MODERATION`: `none` (default) or `openai`.
    pub moderation: String,
    /// `OPENAI_API_BASE`, without a trailing slash.
    pub openai_api_base: String,
    /// `OPENAI_IMAGE_MODEL` (default `gpt-image-1`).
    pub openai_image_model: String,
    /// `OPENAI_MODERATION_MODEL` (default `omni-moderation-latest`).
    pub openai_moderation_model: String,
    /// `OPENAI_API_KEY` or `OPENAI_API_KEY_SECRET_ID`.
    pub openai_api_key: Option<SecretSource>,
    /// `PRINTFUL_API_BASE` (default Printful's), without a trailing slash.
    pub printful_api_base: String,
    /// `PRINTFUL_TOKEN` or `PRINTFUL_TOKEN_SECRET_ID`; without it nothing
    /// is manufactured.
    pub printful_token: Option<SecretSource>,
    /// `PRINTFUL_WEBHOOK_SECRET` or `PRINTFUL_WEBHOOK_SECRET_ID`: the
    /// webhook's `secret_key`; without it every webhook is refused.
    pub printful_webhook_secret: Option<SecretSource>,
    /// `PRINTFUL_STORE_ID`, for account-level tokens.
    pub printful_store_id: Option<String>,
}

impl StudioSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let image_provider = get("STUDIO_IMAGE_PROVIDER").unwrap_or_else(|| "procedural".into());
        anyhow::ensure!(
            matches!(image_provider.as_str(), "procedural" | "openai"),
            "STUDIO_IMAGE_PROVIDER must be procedural or openai, got {image_provider:?}"
        );
        let moderation = get("STUDIO_MODERATION").unwrap_or_else(|| "none".into());
        anyhow::ensure!(
            matches!(moderation.as_str(), "none" | "openai"),
            "STUDIO_MODERATION must be none or openai, got {moderation:?}"
        );
        let secret = |inline: &str, secret_id: &str| match (get(inline), get(secret_id)) {
            (Some(inline), _) => Some(SecretSource::Inline(inline)),
            (None, Some(id)) => Some(SecretSource::Secret(id)),
            (None, None) => None,
        };
        let openai_api_key = secret("OPENAI_API_KEY", "OPENAI_API_KEY_SECRET_ID");
        anyhow::ensure!(
            openai_api_key.is_some() || (image_provider != "openai" && moderation != "openai"),
            "the OpenAI providers need OPENAI_API_KEY or OPENAI_API_KEY_SECRET_ID"
        );
        Ok(Self {
            image_provider,
            moderation,
            openai_api_base: get("OPENAI_API_BASE")
                .unwrap_or_else(|| DEFAULT_OPENAI_API_BASE.into())
                .trim_end_matches('/')
                .to_owned(),
            openai_image_model: get("OPENAI_IMAGE_MODEL").unwrap_or_else(|| "gpt-image-1".into()),
            openai_moderation_model: get("OPENAI_MODERATION_MODEL")
                .unwrap_or_else(|| "omni-moderation-latest".into()),
            openai_api_key,
            printful_api_base: get("PRINTFUL_API_BASE")
                .unwrap_or_else(|| DEFAULT_PRINTFUL_API_BASE.into())
                .trim_end_matches('/')
                .to_owned(),
            printful_token: secret("PRINTFUL_TOKEN", "PRINTFUL_TOKEN_SECRET_ID"),
            printful_webhook_secret: secret(
                "PRINTFUL_WEBHOOK_SECRET",
                "PRINTFUL_WEBHOOK_SECRET_ID",
            ),
            printful_store_id: get("PRINTFUL_STORE_ID"),
        })
    }
}

/// Secrets, read once per cold start.
#[derive(Default, Clone)]
pub struct StudioSecrets {
    pub openai_api_key: Option<String>,
    pub printful_token: Option<String>,
    pub printful_webhook_secret: Option<String>,
}

/// The generation queue.
#[derive(Clone)]
pub struct GenerationQueue {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

/// Orders' shipments queue, where a partner's shipment asks orders to mark
/// the seller's fulfilment shipped (`shared::contracts::order::ShipmentNotice`).
#[derive(Clone)]
pub struct ShipmentQueue {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

#[derive(Clone)]
pub struct StudioState {
    pub store: Store,
    pub tokens: Arc<TokenKeys>,
    /// The private key set, for the HMAC of view markers (signed links);
    /// only the API function loads it, the workers count no views.
    pub signing: Option<Arc<SigningKeys>>,
    /// API keys' failed-attempt limits (org API keys read manufacturing orders).
    pub rate_limiter: RateLimiter,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    /// The public URL of the bucket's `public/` prefix (`PUBLIC_MEDIA_URL`),
    /// without a trailing slash.
    pub public_media_url: String,
    pub queue: Option<GenerationQueue>,
    pub images: ImageProvider,
    pub moderation: Option<OpenAiModeration>,
    /// The print partner; none without a Printful token.
    pub partner: Option<PrintfulClient>,
    /// The Printful webhook's `secret_key`; none: webhooks are refused.
    pub printful_webhook_secret: Option<String>,
    pub shipments: Option<ShipmentQueue>,
}

impl StudioState {
    /// The state with secrets already resolved.
    pub fn new(
        services: &shared::Services,
        signing: Option<Arc<SigningKeys>>,
        settings: &StudioSettings,
        secrets: StudioSecrets,
    ) -> Self {
        let key = secrets.openai_api_key.unwrap_or_default();
        let partner = secrets.printful_token.and_then(|token| {
            PrintfulClient::new(
                &settings.printful_api_base,
                &token,
                settings.printful_store_id.as_deref(),
            )
            .inspect_err(|err| tracing::error!(error = ?err, "the Printful client cannot be built"))
            .ok()
        });
        let images = match settings.image_provider.as_str() {
            "openai" => ImageProvider::OpenAi(OpenAiImages::new(
                &settings.openai_api_base,
                &settings.openai_image_model,
                &key,
            )),
            _ => ImageProvider::Procedural(Procedural),
        };
        let moderation = (settings.moderation == "openai").then(|| {
            OpenAiModeration::new(
                &settings.openai_api_base,
                &settings.openai_moderation_model,
                &key,
            )
        });
        let bucket = services.config.bucket_name.clone();
        Self {
            store: services.store.clone(),
            tokens: services.tokens.clone(),
            signing,
            rate_limiter: services.rate_limiter.clone(),
            s3: services.s3(),
            // Without a CDN the bucket's own URL (only readable if the
            // bucket allows it): images are stored either way.
            public_media_url: services
                .config
                .public_media_url
                .clone()
                .unwrap_or_else(|| format!("https://{bucket}.s3.amazonaws.com/public")),
            bucket,
            queue: services
                .config
                .studio_queue_url
                .clone()
                .map(|url| GenerationQueue {
                    sqs: aws_sdk_sqs::Client::new(&services.sdk),
                    url,
                }),
            images,
            moderation,
            partner,
            printful_webhook_secret: secrets.printful_webhook_secret,
            shipments: services
                .config
                .shipment_queue_url
                .clone()
                .map(|url| ShipmentQueue {
                    sqs: aws_sdk_sqs::Client::new(&services.sdk),
                    url,
                }),
        }
    }

    /// For the Lambdas: settings from the environment, and the secrets kept
    /// in Secrets Manager read in one call: the OpenAI key, the Printful
    /// token and webhook secret, and with `issues_links` (the API function
    /// alone signs links) the signing key set.
    pub async fn init(services: &shared::Services, issues_links: bool) -> anyhow::Result<Self> {
        let settings = StudioSettings::from_env()?;
        let signing_source = match issues_links {
            true => Some(services.config.signing_keys.as_ref().context(
                "the studio API signs links: set JWT_SIGNING_KEYS_SECRET_ID (or JWT_SIGNING_KEYS)",
            )?),
            false => None,
        };
        let [
            signing,
            openai_api_key,
            printful_token,
            printful_webhook_secret,
        ] = services
            .read_secrets([
                (signing_source, "the signing key set"),
                (settings.openai_api_key.as_ref(), "the OpenAI API key"),
                (settings.printful_token.as_ref(), "the Printful token"),
                (
                    settings.printful_webhook_secret.as_ref(),
                    "the Printful webhook secret",
                ),
            ])
            .await?;
        let signing = signing
            .map(|json| services.signing_keys_from(&json))
            .transpose()?;
        let secrets = StudioSecrets {
            openai_api_key,
            printful_token,
            printful_webhook_secret,
        };
        Ok(Self::new(services, signing, &settings, secrets))
    }

    /// For the devserver: settings from the environment, an inline key only.
    pub fn from_env(services: &shared::Services, signing: Arc<SigningKeys>) -> Self {
        let settings =
            StudioSettings::from_env().expect("the studio settings in the environment are valid");
        let inline = |source: &Option<SecretSource>| match source {
            Some(SecretSource::Inline(value)) => Some(value.clone()),
            _ => None,
        };
        let secrets = StudioSecrets {
            openai_api_key: inline(&settings.openai_api_key),
            printful_token: inline(&settings.printful_token),
            printful_webhook_secret: inline(&settings.printful_webhook_secret),
        };
        Self::new(services, Some(signing), &settings, secrets)
    }
}

impl FromRef<StudioState> for Arc<TokenKeys> {
    fn from_ref(state: &StudioState) -> Self {
        state.tokens.clone()
    }
}

impl FromRef<StudioState> for RateLimiter {
    fn from_ref(state: &StudioState) -> Self {
        state.rate_limiter.clone()
    }
}

impl FromRef<StudioState> for Store {
    fn from_ref(state: &StudioState) -> Self {
        state.store.clone()
    }
}

fn api<R: RouteSink<StudioState>>(sink: R) -> R {
    sink
        // POST /v1/designs
        .routes(routes!(designs::create_design))
        // GET, PATCH, DELETE /v1/designs/{designId}
        .routes(routes!(
            designs::get_design,
            designs::update_design,
            designs::delete_design
        ))
        // GET /v1/me/designs
        .routes(routes!(designs::list_my_designs))
        // PUT, DELETE /v1/designs/{designId}/like
        .routes(routes!(gallery::like_design, gallery::unlike_design))
        // GET /v1/gallery
        .routes(routes!(gallery::list_gallery))
        // POST /v1/designs/{designId}/publish
        .routes(routes!(publish::publish_design))
        // GET /v1/designs/{designId}/grants
        .routes(routes!(grants::list_grants))
        // PUT, DELETE /v1/designs/{designId}/grants/{orgId}
        .routes(routes!(grants::grant_design, grants::revoke_grant))
        // GET /v1/orgs/{orgId}/manufacturing-orders
        .routes(routes!(manufacturing::list_manufacturing_orders))
        // GET /v1/orgs/{orgId}/manufacturing-orders/{manufacturingOrderId}
        .routes(routes!(manufacturing::get_manufacturing_order))
        // POST /v1/manufacturing/webhooks/{provider}
        .routes(routes!(manufacturing::webhooks::partner_webhook))
        // POST /v1/designs/{designId}/reports
        .routes(routes!(moderation::report_design))
        // POST /v1/designs/{designId}/hide
        .routes(routes!(moderation::hide_design))
        // POST /v1/designs/{designId}/clear
        .routes(routes!(moderation::clear_design))
}

/// The context's routes, without the shared layers (see `shared::http::service`).
pub fn routes(state: StudioState) -> Router {
    api(Router::new()).with_state(state)
}

/// The OpenAPI description of `routes`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(OpenApiRouter::new()).split_for_parts().1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> anyhow::Result<StudioSettings> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        StudioSettings::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_to_the_offline_generator_without_moderation() {
        let s = settings(&[]).unwrap();
        assert_eq!(
            (s.image_provider.as_str(), s.moderation.as_str()),
            ("procedural", "none")
        );
        assert_eq!(s.openai_api_base, DEFAULT_OPENAI_API_BASE);
        assert_eq!(s.openai_image_model, "gpt-image-1");
        assert!(s.openai_api_key.is_none());
    }

    #[test]
    fn the_openai_providers_need_a_key_and_known_names() {
        assert!(settings(&[("STUDIO_IMAGE_PROVIDER", "openai")]).is_err());
        assert!(settings(&[("STUDIO_MODERATION", "openai")]).is_err());
        assert!(settings(&[("STUDIO_IMAGE_PROVIDER", "midjourney")]).is_err());
        let s = settings(&[
            ("STUDIO_IMAGE_PROVIDER", "openai"),
            ("OPENAI_API_KEY_SECRET_ID", "arn:openai"),
            ("OPENAI_API_BASE", "http://127.0.0.1:8430/"),
        ])
        .unwrap();
        assert_eq!(s.openai_api_base, "http://127.0.0.1:8430");
        assert_eq!(
            s.openai_api_key,
            Some(SecretSource::Secret("arn:openai".into()))
        );
    }

    #[test]
    fn printful_is_configured_inline_or_by_secret() {
        let s = settings(&[
            ("PRINTFUL_TOKEN", "pf-PRIVATE"),
            ("PRINTFUL_WEBHOOK_SECRET_ID", "arn:hook"),
            ("PRINTFUL_API_BASE", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(s.printful_api_base, "http://127.0.0.1:9");
        assert_eq!(
            s.printful_token,
            Some(SecretSource::Inline("pf-PRIVATE".into()))
        );
        assert_eq!(
            s.printful_webhook_secret,
            Some(SecretSource::Secret("arn:hook".into()))
        );
        assert!(!format!("{s:?}").contains("PRIVATE"));
        let none = settings(&[]).unwrap();
        assert_eq!(none.printful_api_base, DEFAULT_PRINTFUL_API_BASE);
        assert!(none.printful_token.is_none() && none.printful_webhook_secret.is_none());
    }

    #[test]
    fn the_key_is_never_printed() {
        let s = settings(&[("OPENAI_API_KEY", "sk-PRIVATE")]).unwrap();
        assert!(!format!("{s:?}").contains("PRIVATE"));
    }
}
