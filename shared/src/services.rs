//! The AWS clients and keys a function needs, built once per cold start.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::auth::TokenKeys;
use crate::config::{Config, SecretSource};
use crate::mail::Mailer;
use crate::payments::{InvoiceProvider, Payments, StripeProvider};
use crate::ratelimit::RateLimiter;
use crate::store::Store;

/// Everything a handler may reach. Cheap to clone: clients and keys are shared.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub s3: aws_sdk_s3::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub mailer: Mailer,
    pub rate_limiter: RateLimiter,
    pub tokens: Arc<TokenKeys>,
    pub payments: Payments,
    /// The SDK configuration the clients were built from, for a client only
    /// one context needs (mail's SQS queue).
    pub sdk: SdkConfig,
}

impl Services {
    /// Cold-start set-up for a Lambda function: configuration from the
    /// environment, clients, signing keys, and a first DynamoDB call so the
    /// connection is open before the first request.
    pub async fn init() -> anyhow::Result<Self> {
        let services = Self::from_env().await?;
        match services.store.ping().await {
            Ok(()) => {}
            // Not fatal: requests will report 503 until DynamoDB answers.
            Err(err @ crate::store::StoreError::Unavailable(_)) => {
                tracing::warn!(error = ?err, "DynamoDB did not answer during init");
            }
            // It answered (the connection is open), only this function may
            // not describe the table: most have no dynamodb:DescribeTable.
            Err(err) => tracing::debug!(error = ?err, "DynamoDB answered the init ping"),
        }
        Ok(services)
    }

    /// Configuration and clients from the environment, without calling AWS
    /// beyond what loading the signing keys needs.
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let sdk = load_sdk_config().await;
        Self::build(config, &sdk).await
    }

    pub async fn build(config: Config, sdk: &SdkConfig) -> anyhow::Result<Self> {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let s3_config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(config.s3_force_path_style)
            .build();
        let tokens = load_token_keys(&config, sdk).await?;
        let payments = load_payments(&config, sdk).await?;
        let store = Store::new(dynamodb, config.table_name.as_str());
        let ses = aws_sdk_sesv2::Client::new(sdk);
        Ok(Self {
            mailer: Mailer::new(
                ses.clone(),
                config.sender_email.clone(),
                config.ses_configuration_set.clone(),
            ),
            rate_limiter: RateLimiter::new(
                store.clone(),
                config.rate_limit_window,
                config.api_key_rate_limit,
            ),
            store,
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            ses,
            tokens: Arc::new(tokens),
            payments,
            config: Arc::new(config),
            sdk: sdk.clone(),
        })
    }
}

impl Services {
    /// The same services over another store (a test's private DynamoDB):
    /// everything that keeps state in the table follows it.
    pub fn with_store(mut self, store: Store) -> Self {
        self.rate_limiter = RateLimiter::new(
            store.clone(),
            self.config.rate_limit_window,
            self.config.api_key_rate_limit,
        );
        self.store = store;
        self
    }
}

/// The SDK configuration every client shares. Timeouts are short enough
/// that a dependency that stops answering yields a 503 well inside the
/// function's own timeout, instead of a hung request.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(7))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}

async fn load_token_keys(config: &Config, sdk: &SdkConfig) -> anyhow::Result<TokenKeys> {
    let json = read_secret(&config.signing_keys, sdk, "the signing key set").await?;
    TokenKeys::from_json(&json, config.token_issuer.clone(), config.access_token_ttl)
        .context("loading the signing key set")
}

/// The payment providers: Stripe only when a secret key is configured.
async fn load_payments(config: &Config, sdk: &SdkConfig) -> anyhow::Result<Payments> {
    let stripe = match &config.stripe.secret_key {
        Some(source) => {
            let key = read_secret(source, sdk, "the Stripe secret key").await?;
            Some(Arc::new(StripeProvider::new(
                &config.stripe.api_base,
                key.trim(),
            )?))
        }
        None => None,
    };
    let webhook_secret = match &config.stripe.webhook_secret {
        Some(source) => Some(
            read_secret(source, sdk, "the Stripe webhook secret")
                .await?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    Ok(Payments {
        stripe,
        invoice: Arc::new(InvoiceProvider),
        webhook_secret,
    })
}

/// A secret's value: inline, or read from Secrets Manager.
pub async fn read_secret(
    source: &SecretSource,
    sdk: &SdkConfig,
    what: &str,
) -> anyhow::Result<String> {
    match source {
        SecretSource::Inline(value) => Ok(value.clone()),
        SecretSource::Secret(id) => aws_sdk_secretsmanager::Client::new(sdk)
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .with_context(|| format!("reading {what} from secret {id}"))?
            .secret_string
            .with_context(|| format!("secret {id} has no string value")),
    }
}
