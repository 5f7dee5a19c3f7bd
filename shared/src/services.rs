//! What a function builds once per cold start.
//!
//! Every function gets [`Services`]: configuration, the SDK configuration,
//! DynamoDB (its connection opened during init), the rate limiter and the
//! public keys that verify access tokens, which are configuration
//! (`JWT_PUBLIC_KEYS`), so no secret is read at start. Anything else a
//! function says it needs in two places, and gets only then:
//! - its crate turns on the `shared` feature (`s3`, `outbox`, `mail`,
//!   `signing`, `payments`, `secrets`), so a function without it neither links nor can
//!   build the client;
//! - its state's constructor asks for it: a client that opens no
//!   connection until used comes from a method here (`services.s3()`,
//!   `services.outbox()`); what is read from Secrets Manager at start
//!   ([`Services::signing_keys`], [`Services::payments`]) is loaded by the
//!   function's `main` and handed to the constructor, so it is visible there
//!   which functions pay for it. Secrets come through one client, and
//!   those a function needs together in one call ([`Services::read_secrets`]).
//!
//! The composition roots (the devserver, the test crate) link every context
//! and build everything once: [`FullServices`] (feature `full`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::auth::TokenKeys;
#[cfg(feature = "signing")]
use crate::auth::tokens::SigningKeys;
use crate::config::Config;
#[cfg(feature = "secrets")]
use crate::config::SecretSource;
use crate::ratelimit::RateLimiter;
use crate::store::Store;

/// What every function has. Cheap to clone: clients and keys are shared.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub rate_limiter: RateLimiter,
    /// The public keys that verify access tokens.
    pub tokens: Arc<TokenKeys>,
    /// The SDK configuration, for the clients a function asks for.
    pub sdk: SdkConfig,
    /// One Secrets Manager client for every secret read at start, so they
    /// share one connection (a client per read opened one each).
    #[cfg(feature = "secrets")]
    secrets_manager: aws_sdk_secretsmanager::Client,
}

impl Services {
    /// Cold-start set-up for a Lambda function: configuration from the
    /// environment, DynamoDB, the public token keys, and a first DynamoDB
    /// call so the connection is open before the first request.
    pub async fn init() -> anyhow::Result<Self> {
        let services = Self::from_env().await?;
        services.open_dynamodb().await;
        Ok(services)
    }

    /// Cold-start set-up with the function's own start-up work (reading its
    /// secrets, building its state), which runs while the DynamoDB
    /// connection opens. Each is a TLS handshake to another endpoint on
    /// AWS, so a function that reads secrets at start waits for the longer
    /// of the two, not for both in turn. The work must not call DynamoDB
    /// itself: it would open a second connection beside the one opening.
    /// Its error stops the start.
    pub async fn init_with<T>(
        start: impl AsyncFnOnce(&Services) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        Self::from_env().await?.start_with(start).await
    }

    /// `start` over these services while the DynamoDB connection opens
    /// (`init_with` without reading the environment): its value, or its
    /// error.
    pub async fn start_with<T>(
        &self,
        start: impl AsyncFnOnce(&Services) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let (started, ()) = tokio::join!(start(self), self.open_dynamodb());
        started
    }

    /// Configuration and clients from the environment, without calling AWS.
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let sdk = load_sdk_config().await;
        Self::build(config, &sdk)
    }

    pub fn build(config: Config, sdk: &SdkConfig) -> anyhow::Result<Self> {
        let tokens = public_token_keys(&config)?;
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(sdk),
            config.table_name.as_str(),
        );
        Ok(Self {
            rate_limiter: RateLimiter::new(
                store.clone(),
                config.rate_limit_window,
                config.api_key_rate_limit,
            ),
            store,
            tokens: Arc::new(tokens),
            config: Arc::new(config),
            sdk: sdk.clone(),
            #[cfg(feature = "secrets")]
            secrets_manager: aws_sdk_secretsmanager::Client::new(sdk),
        })
    }

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

    async fn open_dynamodb(&self) {
        match self.store.ping().await {
            Ok(()) => {}
            // Not fatal: requests will report 503 until DynamoDB answers.
            Err(err @ crate::store::StoreError::Unavailable(_)) => {
                tracing::warn!(error = ?err, "DynamoDB did not answer during init");
            }
            // It answered (the connection is open), only this function may
            // not describe the table: most have no dynamodb:DescribeTable.
            Err(err) => tracing::debug!(error = ?err, "DynamoDB answered the init ping"),
        }
    }

    /// An S3 client (no connection until its first call).
    #[cfg(feature = "s3")]
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.config.s3_force_path_style)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// An SES v2 client (no connection until its first call).
    #[cfg(feature = "ses")]
    pub fn ses(&self) -> aws_sdk_sesv2::Client {
        aws_sdk_sesv2::Client::new(&self.sdk)
    }

    /// Where the platform's own emails are queued for the mail context's
    /// outbox worker (no connection until its first call).
    #[cfg(feature = "outbox")]
    pub fn outbox(&self) -> crate::outbox::Outbox {
        crate::outbox::Outbox::new(
            aws_sdk_sqs::Client::new(&self.sdk),
            self.config.platform_email_queue_url.clone(),
        )
    }

    /// The platform's mailer over SES, from the configured sender.
    #[cfg(feature = "ses")]
    pub fn mailer(&self) -> crate::mail::Mailer {
        crate::mail::Mailer::new(
            self.ses(),
            self.config.sender_email.clone(),
            self.config.ses_configuration_set.clone(),
        )
    }

    /// The private signing key set (Secrets Manager in AWS), checked against
    /// the published public keys: only for functions that issue tokens or
    /// signed links.
    #[cfg(feature = "signing")]
    pub async fn signing_keys(&self) -> anyhow::Result<Arc<SigningKeys>> {
        let source = self.config.signing_keys.as_ref().context(
            "this function issues tokens: set JWT_SIGNING_KEYS_SECRET_ID (or JWT_SIGNING_KEYS)",
        )?;
        let json = self.read_secret(source, "the signing key set").await?;
        self.signing_keys_from(&json)
    }

    /// The signing key set from its JSON (read by the caller, e.g. in one
    /// [`Services::read_secrets`] call with the function's other secrets),
    /// checked against the published public keys.
    #[cfg(feature = "signing")]
    pub fn signing_keys_from(&self, json: &str) -> anyhow::Result<Arc<SigningKeys>> {
        let keys = SigningKeys::from_json(
            json,
            self.config.token_issuer.clone(),
            self.config.access_token_ttl,
        )
        .context("loading the signing key set")?
        .verified_by((*self.tokens).clone())
        .context("checking the signing key set against JWT_PUBLIC_KEYS")?;
        Ok(Arc::new(keys))
    }

    /// The payment providers: Stripe only when a secret key is configured
    /// (read from Secrets Manager in AWS, with the webhook secret).
    #[cfg(feature = "payments")]
    pub async fn payments(&self) -> anyhow::Result<crate::payments::Payments> {
        use crate::payments::{InvoiceProvider, Payments, StripeProvider};
        let config = &self.config.stripe;
        let [key, webhook_secret] = self
            .read_secrets([
                (config.secret_key.as_ref(), "the Stripe secret key"),
                (config.webhook_secret.as_ref(), "the Stripe webhook secret"),
            ])
            .await?;
        let stripe = match key {
            Some(key) => Some(Arc::new(StripeProvider::new(&config.api_base, key.trim())?)),
            None => None,
        };
        Ok(Payments {
            stripe,
            invoice: Arc::new(InvoiceProvider),
            webhook_secret: webhook_secret.map(|s| s.trim().to_owned()),
        })
    }
}

/// The public keys from `JWT_PUBLIC_KEYS`, or, where only an inline signing
/// key set is configured (locally), its public halves.
fn public_token_keys(config: &Config) -> anyhow::Result<TokenKeys> {
    let issuer = config.token_issuer.clone();
    match (&config.public_keys, &config.signing_keys) {
        (Some(jwks), _) => {
            TokenKeys::from_public_keys(jwks, issuer).context("reading JWT_PUBLIC_KEYS")
        }
        (None, Some(crate::config::SecretSource::Inline(json))) => {
            crate::auth::tokens::public_keys_of_key_set(json, issuer)
                .context("reading the public halves of JWT_SIGNING_KEYS")
        }
        (None, _) => anyhow::bail!("JWT_PUBLIC_KEYS is not set"),
    }
}

/// Everything every context may ask for, built once: for the composition
/// roots (the devserver, the test crate), which link every context. Reads
/// as the [`Services`] it holds.
#[cfg(feature = "full")]
#[derive(Clone)]
pub struct FullServices {
    pub services: Services,
    pub s3: aws_sdk_s3::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub mailer: crate::mail::Mailer,
    pub signing: Arc<SigningKeys>,
    pub payments: crate::payments::Payments,
}

#[cfg(feature = "full")]
impl std::ops::Deref for FullServices {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

#[cfg(feature = "full")]
impl std::ops::DerefMut for FullServices {
    fn deref_mut(&mut self) -> &mut Services {
        &mut self.services
    }
}

#[cfg(feature = "full")]
impl FullServices {
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let sdk = load_sdk_config().await;
        Self::build(config, &sdk).await
    }

    pub async fn build(config: Config, sdk: &SdkConfig) -> anyhow::Result<Self> {
        let services = Services::build(config, sdk)?;
        Ok(Self {
            s3: services.s3(),
            ses: services.ses(),
            mailer: services.mailer(),
            signing: services.signing_keys().await?,
            payments: services.payments().await?,
            services,
        })
    }

    /// The same services over another store (see [`Services::with_store`]).
    pub fn with_store(mut self, store: Store) -> Self {
        self.services = self.services.with_store(store);
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

#[cfg(feature = "secrets")]
impl Services {
    /// A secret's value: inline, or read from Secrets Manager.
    pub async fn read_secret(&self, source: &SecretSource, what: &str) -> anyhow::Result<String> {
        let [value] = self.read_secrets([(Some(source), what)]).await?;
        value.with_context(|| format!("{what} has no value"))
    }

    /// The values of the secrets a function needs at start, in the order
    /// asked (`None` where a source is `None`): inline ones as they are, and
    /// all those kept in Secrets Manager with one call (`GetSecretValue` for
    /// one, `BatchGetSecretValue` for several) over this client's one
    /// connection, so a function that needs four secrets pays one round
    /// trip and one TLS handshake at start, not four.
    pub async fn read_secrets<const N: usize>(
        &self,
        wanted: [(Option<&SecretSource>, &str); N],
    ) -> anyhow::Result<[Option<String>; N]> {
        let mut ids: Vec<&str> = Vec::new();
        for (source, _) in &wanted {
            if let Some(SecretSource::Secret(id)) = source
                && !ids.contains(&id.as_str())
            {
                ids.push(id);
            }
        }
        let kept = match ids.as_slice() {
            [] => Vec::new(),
            [id] => {
                let value = self
                    .secrets_manager
                    .get_secret_value()
                    .secret_id(*id)
                    .send()
                    .await
                    .with_context(|| format!("reading {} from secret {id}", what_of(&wanted, id)))?
                    .secret_string;
                vec![(id.to_string(), value)]
            }
            _ => self.batch_read(&ids, &wanted).await?,
        };
        let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
        for ((source, what), value) in wanted.iter().zip(values.iter_mut()) {
            *value = match source {
                None => None,
                Some(SecretSource::Inline(inline)) => Some(inline.clone()),
                Some(SecretSource::Secret(id)) => Some(
                    kept.iter()
                        .find(|(kept_id, _)| kept_id == id)
                        .and_then(|(_, value)| value.clone())
                        .with_context(|| format!("secret {id} ({what}) has no string value"))?,
                ),
            };
        }
        Ok(values)
    }

    /// `BatchGetSecretValue` of `ids`: each id with its string value. A
    /// secret Secrets Manager could not read (missing, no access) fails the
    /// start with its id, its error code and what it is for.
    async fn batch_read<const N: usize>(
        &self,
        ids: &[&str],
        wanted: &[(Option<&SecretSource>, &str); N],
    ) -> anyhow::Result<Vec<(String, Option<String>)>> {
        let output = self
            .secrets_manager
            .batch_get_secret_value()
            .set_secret_id_list(Some(ids.iter().map(|id| id.to_string()).collect()))
            .send()
            .await
            .with_context(|| {
                let whats: Vec<&str> = ids.iter().map(|id| what_of(wanted, id)).collect();
                format!(
                    "reading {} from secrets {}",
                    whats.join(", "),
                    ids.join(", ")
                )
            })?;
        if let Some(error) = output.errors().first() {
            let id = error.secret_id().unwrap_or("?");
            anyhow::bail!(
                "reading {} from secret {id}: {}: {}",
                what_of(wanted, id),
                error.error_code().unwrap_or("error"),
                error.message().unwrap_or("no message")
            );
        }
        // An entry names its secret by ARN and by name; the id asked may be
        // either.
        ids.iter()
            .map(|id| {
                output
                    .secret_values()
                    .iter()
                    .find(|entry| entry.arn() == Some(*id) || entry.name() == Some(*id))
                    .map(|entry| (id.to_string(), entry.secret_string().map(str::to_owned)))
                    .with_context(|| {
                        format!(
                            "Secrets Manager returned no value for secret {id} ({})",
                            what_of(wanted, id)
                        )
                    })
            })
            .collect()
    }
}

/// What the secret `id` is for, for errors.
#[cfg(feature = "secrets")]
fn what_of<'a>(wanted: &[(Option<&SecretSource>, &'a str)], id: &str) -> &'a str {
    wanted
        .iter()
        .find(|(source, _)| matches!(source, Some(SecretSource::Secret(s)) if s == id))
        .map_or("a secret", |(_, what)| what)
}
