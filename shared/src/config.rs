//! Configuration read once per cold start from the environment.
//!
//! Every function reads the same variables; template.yaml sets them in AWS and
//! `infra/stack.sh` writes them for the local stack. Nothing here knows whether
//! it runs locally: endpoints come from the SDK's own `AWS_ENDPOINT_URL_*`.

use std::time::Duration;

/// Where a secret comes from: the value itself, or a Secrets Manager secret
/// that holds it.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The value itself (e.g. `JWT_SIGNING_KEYS`), used locally and in tests.
    Inline(String),
    /// A Secrets Manager secret id or ARN (e.g. `JWT_SIGNING_KEYS_SECRET_ID`), used in AWS.
    Secret(String),
}

impl std::fmt::Debug for SecretSource {
    // The inline form holds the secret itself: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inline(_) => f.write_str("Inline(<redacted>)"),
            Self::Secret(id) => f.debug_tuple("Secret").field(id).finish(),
        }
    }
}

/// Where the JWT signing key set comes from.
pub type SigningKeysSource = SecretSource;

/// Stripe's API, where `STRIPE_API_BASE` names no other.
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";

/// Card payments through Stripe. Without a secret key the deployment takes
/// no card payments (invoices still work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeConfig {
    /// `STRIPE_API_BASE`, without a trailing slash: Stripe's, or the local stand-in's.
    pub api_base: String,
    /// `STRIPE_SECRET_KEY` (`sk_...` or a restricted `rk_...`) or `STRIPE_SECRET_KEY_SECRET_ID`.
    pub secret_key: Option<SecretSource>,
    /// `STRIPE_WEBHOOK_SECRET` (`whsec_...`) or `STRIPE_WEBHOOK_SECRET_SECRET_ID`.
    pub webhook_secret: Option<SecretSource>,
}

/// The abuse limits of the identity endpoints, each per fixed window
/// (`RATE_LIMIT_WINDOW_SECONDS`) and set by `AUTH_LIMIT_<NAME>`. Per-IP
/// limits count failures (a wrong password, a bad code), never successes,
/// and are sized for an office of a few hundred people behind one NAT;
/// per-email limits guard one account against guessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthLimits {
    /// Failed sign-ins per email address (`AUTH_LIMIT_LOGIN_FAILURES_PER_EMAIL`, 5).
    pub login_failures_per_email: u64,
    /// Failed sign-ins per client IP (`AUTH_LIMIT_LOGIN_FAILURES_PER_IP`, 100).
    pub login_failures_per_ip: u64,
    /// Bad verification and reset codes per client IP (`AUTH_LIMIT_CODE_FAILURES_PER_IP`, 100).
    pub code_failures_per_ip: u64,
    /// Registrations per client IP (`AUTH_LIMIT_REGISTRATIONS_PER_IP`, 200).
    pub registrations_per_ip: u64,
    /// Registration attempts per email address (`AUTH_LIMIT_REGISTRATIONS_PER_EMAIL`, 5).
    pub registrations_per_email: u64,
    /// Password reset requests per client IP (`AUTH_LIMIT_RESET_REQUESTS_PER_IP`, 200).
    pub reset_requests_per_ip: u64,
    /// Reset requests and verification resends per email address
    /// (`AUTH_LIMIT_EMAILS_PER_ADDRESS`, 5): how many codes one mailbox gets.
    pub emails_per_address: u64,
    /// Wrong authenticator or recovery codes per account
    /// (`AUTH_LIMIT_MFA_FAILURES_PER_USER`, 5): at most 5 guesses of a
    /// 6-digit code per window, however many sign-in challenges they use.
    pub mfa_failures_per_user: u64,
}

impl Default for AuthLimits {
    fn default() -> Self {
        Self {
            login_failures_per_email: 5,
            login_failures_per_ip: 100,
            code_failures_per_ip: 100,
            registrations_per_ip: 200,
            registrations_per_email: 5,
            reset_requests_per_ip: 200,
            emails_per_address: 5,
            mfa_failures_per_user: 5,
        }
    }
}

impl AuthLimits {
    /// Each `AUTH_LIMIT_*` variable set overrides its default.
    fn from_lookup(get: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> Self {
        let mut limits = Self::default();
        for (name, field) in [
            (
                "LOGIN_FAILURES_PER_EMAIL",
                &mut limits.login_failures_per_email,
            ),
            ("LOGIN_FAILURES_PER_IP", &mut limits.login_failures_per_ip),
            ("CODE_FAILURES_PER_IP", &mut limits.code_failures_per_ip),
            ("REGISTRATIONS_PER_IP", &mut limits.registrations_per_ip),
            (
                "REGISTRATIONS_PER_EMAIL",
                &mut limits.registrations_per_email,
            ),
            ("RESET_REQUESTS_PER_IP", &mut limits.reset_requests_per_ip),
            ("EMAILS_PER_ADDRESS", &mut limits.emails_per_address),
            ("MFA_FAILURES_PER_USER", &mut limits.mfa_failures_per_user),
        ] {
            let variable = format!("AUTH_LIMIT_{name}");
            if let Some(raw) = get(&variable) {
                match raw.parse::<u64>() {
                    Ok(max) if max > 0 => *field = max,
                    _ => problems.push(format!(
                        "{variable} must be a positive whole number, got {raw:?}"
                    )),
                }
            }
        }
        limits
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub bucket_name: String,
    pub sender_email: String,
    pub ses_configuration_set: Option<String>,
    pub token_issuer: String,
    pub access_token_ttl: Duration,
    /// How long a sign-in lasts without a new password (refresh tokens).
    pub session_ttl: Duration,
    /// The fixed window of the abuse rate limits.
    pub rate_limit_window: Duration,
    /// Requests one API key may make per window.
    pub api_key_rate_limit: u64,
    /// The abuse limits of sign-in, registration and codes, per window.
    pub auth_limits: AuthLimits,
    /// The web app's base URL, for links in emails (`<url>/reset-password?token=...`).
    pub public_app_url: Option<String>,
    /// The API's public https URL (`PUBLIC_API_URL`), for links into the API
    /// in emails (one-click unsubscribe). Unset: the mail function takes it
    /// from API Gateway's request context.
    pub public_api_url: Option<String>,
    /// The base URL that serves the bucket's `public/` prefix (a CDN in AWS,
    /// `PUBLIC_MEDIA_URL`): template images and other files meant for
    /// anyone, at stable URLs that never expire. Unset: nothing is published.
    pub public_media_url: Option<String>,
    /// The SQS queue of bulk email sends (`MAIL_SEND_QUEUE_URL`); unset:
    /// bulk sends answer 503.
    pub mail_send_queue_url: Option<String>,
    /// The SQS queue of the platform's own emails (`PLATFORM_EMAIL_QUEUE_URL`),
    /// which the mail context's `mail-outbox` worker renders and sends;
    /// unset: those emails cannot be sent (an invitation answers 503).
    pub platform_email_queue_url: Option<String>,
    /// Emails per second the send worker keeps to when SES's own quota
    /// (GetAccount) cannot be read (`MAIL_SEND_RATE`, default 10).
    pub mail_send_rate: f64,
    /// The SQS queue of design generations (`STUDIO_QUEUE_URL`); unset:
    /// new designs answer 503.
    pub studio_queue_url: Option<String>,
    /// The SQS queue of paid order lines to manufacture
    /// (`STUDIO_MANUFACTURING_QUEUE_URL`): the stream puts an order there
    /// when it is paid with made-to-order lines; unset, nothing is queued.
    pub manufacturing_queue_url: Option<String>,
    /// Orders' shipments queue (`ORDERS_SHIPMENT_QUEUE_URL`): other
    /// contexts ask orders to mark a fulfilment shipped there
    /// (`contracts::order::ShipmentNotice`).
    pub shipment_queue_url: Option<String>,
    /// The SQS queue of RFQs whose matching runs in the background
    /// (`SOURCING_MATCHING_QUEUE_URL`); unset: matching always runs in the
    /// publish request.
    pub sourcing_matching_queue_url: Option<String>,
    /// Above this many candidate suppliers, publishing leaves the RFQ
    /// `matching` and the queue's worker finishes
    /// (`SOURCING_BACKGROUND_MATCHING_ABOVE`, default 500).
    pub sourcing_background_matching_above: usize,
    /// The private signing key set (`JWT_SIGNING_KEYS` or
    /// `JWT_SIGNING_KEYS_SECRET_ID`): set only for the functions that issue
    /// tokens or signed links.
    pub signing_keys: Option<SigningKeysSource>,
    /// The public keys that verify access tokens (`JWT_PUBLIC_KEYS`: a JWKS
    /// or `kid:x[,kid:x...]`);
    /// unset only where the signing key set is inline (locally), which
    /// then verifies.
    pub public_keys: Option<String>,
    /// The key set that encrypts TOTP secrets at rest
    /// (`MFA_ENCRYPTION_KEYS`, or the Secrets Manager secret
    /// `MFA_ENCRYPTION_KEYS_SECRET_ID`); read by identity only. Unset:
    /// two-factor sign-in answers 503.
    pub mfa_keys: Option<SecretSource>,
    pub stripe: StripeConfig,
    /// Path-style S3 addressing, for S3-compatible endpoints on an IP address.
    pub s3_force_path_style: bool,
    /// The deployed version, reported by the health endpoint.
    pub version: String,
}

/// Every problem with the environment at once, so one deploy fixes them all.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("configuration is incomplete: {}", .problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut required = |name: &str| {
            get(name).unwrap_or_else(|| {
                problems.push(format!("{name} is not set"));
                String::new()
            })
        };
        let table_name = required("TABLE_NAME");
        let bucket_name = required("BUCKET_NAME");
        let sender_email = required("SENDER_EMAIL");

        // Only the functions that issue tokens get the signing key set; all
        // verify with the public keys, which are configuration, not a secret.
        let signing_keys = match (get("JWT_SIGNING_KEYS"), get("JWT_SIGNING_KEYS_SECRET_ID")) {
            (Some(inline), _) => Some(SigningKeysSource::Inline(inline)),
            (None, Some(secret)) => Some(SigningKeysSource::Secret(secret)),
            (None, None) => None,
        };
        let public_keys = get("JWT_PUBLIC_KEYS");
        if public_keys.is_none() && !matches!(signing_keys, Some(SigningKeysSource::Inline(_))) {
            problems.push("set JWT_PUBLIC_KEYS (the signing keys' public halves: a JWKS as /.well-known/jwks.json serves it, or kid:x[,kid:x...])".into());
        }

        let stripe = stripe_config(&get, &mut problems);
        let mfa_keys = match (
            get("MFA_ENCRYPTION_KEYS"),
            get("MFA_ENCRYPTION_KEYS_SECRET_ID"),
        ) {
            (Some(inline), _) => Some(SecretSource::Inline(inline)),
            (None, Some(secret)) => Some(SecretSource::Secret(secret)),
            (None, None) => None,
        };

        let mut seconds =
            |name: &str, default: u64, range: std::ops::RangeInclusive<u64>| match get(name) {
                None => Duration::from_secs(default),
                Some(raw) => match raw.parse::<u64>() {
                    Ok(secs) if range.contains(&secs) => Duration::from_secs(secs),
                    _ => {
                        problems.push(format!(
                            "{name} must be a whole number of seconds from {} to {}, got {raw:?}",
                            range.start(),
                            range.end()
                        ));
                        Duration::ZERO
                    }
                },
            };
        let access_token_ttl = seconds("ACCESS_TOKEN_TTL_SECONDS", 15 * 60, 60..=3600);
        let session_ttl = seconds(
            "SESSION_TTL_SECONDS",
            30 * 24 * 3600,
            3600..=365 * 24 * 3600,
        );
        let rate_limit_window = seconds("RATE_LIMIT_WINDOW_SECONDS", 15 * 60, 1..=24 * 3600);
        let api_key_rate_limit = match get("API_KEY_RATE_LIMIT") {
            None => 3000,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or_else(|| {
                    problems.push(format!(
                        "API_KEY_RATE_LIMIT must be a positive whole number, got {raw:?}"
                    ));
                    0
                }),
        };
        let auth_limits = AuthLimits::from_lookup(&get, &mut problems);
        let s3_force_path_style = match get("S3_FORCE_PATH_STYLE").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                problems.push(format!(
                    "S3_FORCE_PATH_STYLE must be true or false, got {other:?}"
                ));
                false
            }
        };

        let mail_send_rate = match get("MAIL_SEND_RATE") {
            None => 10.0,
            Some(raw) => raw
                .parse::<f64>()
                .ok()
                .filter(|rate| rate.is_finite() && *rate > 0.0)
                .unwrap_or_else(|| {
                    problems.push(format!(
                        "MAIL_SEND_RATE must be a positive number of emails per second, got {raw:?}"
                    ));
                    0.0
                }),
        };

        match () {
            () if problems.is_empty() => Ok(Self {
                table_name,
                bucket_name,
                sender_email,
                ses_configuration_set: get("SES_CONFIGURATION_SET"),
                token_issuer: get("TOKEN_ISSUER").unwrap_or_else(|| "bodega".into()),
                access_token_ttl,
                session_ttl,
                rate_limit_window,
                api_key_rate_limit,
                auth_limits,
                public_app_url: get("PUBLIC_APP_URL")
                    .map(|url| url.trim_end_matches('/').to_owned()),
                public_api_url: get("PUBLIC_API_URL")
                    .map(|url| url.trim_end_matches('/').to_owned()),
                public_media_url: get("PUBLIC_MEDIA_URL")
                    .map(|url| url.trim_end_matches('/').to_owned()),
                mail_send_queue_url: get("MAIL_SEND_QUEUE_URL"),
                platform_email_queue_url: get("PLATFORM_EMAIL_QUEUE_URL"),
                mail_send_rate,
                studio_queue_url: get("STUDIO_QUEUE_URL"),
                manufacturing_queue_url: get("STUDIO_MANUFACTURING_QUEUE_URL"),
                shipment_queue_url: get("ORDERS_SHIPMENT_QUEUE_URL"),
                sourcing_matching_queue_url: get("SOURCING_MATCHING_QUEUE_URL"),
                sourcing_background_matching_above: get("SOURCING_BACKGROUND_MATCHING_ABOVE")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(500),
                signing_keys,
                mfa_keys,
                public_keys,
                stripe,
                s3_force_path_style,
                version: get("BODEGA_VERSION")
                    .or_else(|| get("AWS_LAMBDA_FUNCTION_VERSION"))
                    .unwrap_or_else(|| env!("CARGO_PKG_VERSION").into()),
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

/// The Stripe variables; an inline value must look like what it claims to
/// be, so a publishable key (`pk_...`) or swapped values fail at deploy.
fn stripe_config(
    get: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> StripeConfig {
    let api_base = get("STRIPE_API_BASE")
        .map(|url| url.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| DEFAULT_STRIPE_API_BASE.to_owned());
    if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
        problems.push(format!(
            "STRIPE_API_BASE must be an http(s) URL, got {api_base:?}"
        ));
    }
    let mut source = |name: &str, prefixes: &[&str], what: &str| match (
        get(name),
        get(&format!("{name}_SECRET_ID")),
    ) {
        (Some(inline), _) => {
            if !prefixes.iter().any(|prefix| inline.starts_with(prefix)) {
                problems.push(format!(
                    "{name} must be {what} (starting with {})",
                    prefixes.join(" or ")
                ));
            }
            Some(SecretSource::Inline(inline))
        }
        (None, Some(secret)) => Some(SecretSource::Secret(secret)),
        (None, None) => None,
    };
    let secret_key = source(
        "STRIPE_SECRET_KEY",
        &["sk_", "rk_"],
        "a secret or restricted API key",
    );
    let webhook_secret = source(
        "STRIPE_WEBHOOK_SECRET",
        &["whsec_"],
        "a webhook signing secret",
    );
    StripeConfig {
        api_base,
        secret_key,
        webhook_secret,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const COMPLETE: &[(&str, &str)] = &[
        ("TABLE_NAME", "t"),
        ("BUCKET_NAME", "b"),
        ("SENDER_EMAIL", "no-reply@example.com"),
        ("JWT_SIGNING_KEYS_SECRET_ID", "arn:secret"),
        ("JWT_PUBLIC_KEYS", r#"{"keys":[]}"#),
    ];

    #[test]
    fn reads_a_complete_environment_with_defaults() {
        let config = Config::from_lookup(lookup(COMPLETE)).unwrap();
        assert_eq!(config.table_name, "t");
        assert_eq!(config.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.token_issuer, "bodega");
        assert!(!config.s3_force_path_style);
        assert!(
            matches!(config.signing_keys, Some(SigningKeysSource::Secret(ref s)) if s == "arn:secret")
        );
    }

    #[test]
    fn names_every_missing_variable() {
        let err = Config::from_lookup(lookup(&[("TABLE_NAME", "  ")])).unwrap_err();
        let text = err.to_string();
        for name in [
            "TABLE_NAME",
            "BUCKET_NAME",
            "SENDER_EMAIL",
            "JWT_PUBLIC_KEYS",
        ] {
            assert!(text.contains(name), "{text} should mention {name}");
        }
    }

    #[test]
    fn auth_limits_default_for_an_office_and_each_can_be_set() {
        let config = Config::from_lookup(lookup(COMPLETE)).unwrap();
        assert_eq!(config.auth_limits, AuthLimits::default());
        assert_eq!(config.auth_limits.login_failures_per_ip, 100);
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("AUTH_LIMIT_LOGIN_FAILURES_PER_IP", "1000"));
        pairs.push(("AUTH_LIMIT_EMAILS_PER_ADDRESS", "2"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(config.auth_limits.login_failures_per_ip, 1000);
        assert_eq!(config.auth_limits.emails_per_address, 2);
        assert_eq!(config.auth_limits.login_failures_per_email, 5);
        pairs.push(("AUTH_LIMIT_CODE_FAILURES_PER_IP", "0"));
        let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert!(
            err.to_string().contains("AUTH_LIMIT_CODE_FAILURES_PER_IP"),
            "{err}"
        );
    }

    #[test]
    fn rejects_invalid_values() {
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("ACCESS_TOKEN_TTL_SECONDS", "forever"));
        pairs.push(("S3_FORCE_PATH_STYLE", "yes"));
        let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
    }

    #[test]
    fn stripe_is_optional_and_defaults_to_stripes_api() {
        let config = Config::from_lookup(lookup(COMPLETE)).unwrap();
        assert_eq!(
            config.stripe,
            StripeConfig {
                api_base: "https://api.stripe.com".into(),
                secret_key: None,
                webhook_secret: None,
            }
        );
    }

    #[test]
    fn reads_stripe_secrets_inline_or_from_secrets_manager() {
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("STRIPE_API_BASE", "http://127.0.0.1:8420/"));
        pairs.push(("STRIPE_SECRET_KEY", "sk_test_local"));
        pairs.push(("STRIPE_SECRET_KEY_SECRET_ID", "arn:ignored-when-inline"));
        pairs.push(("STRIPE_WEBHOOK_SECRET_SECRET_ID", "arn:whsec"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(config.stripe.api_base, "http://127.0.0.1:8420");
        assert_eq!(
            config.stripe.secret_key,
            Some(SecretSource::Inline("sk_test_local".into()))
        );
        assert_eq!(
            config.stripe.webhook_secret,
            Some(SecretSource::Secret("arn:whsec".into()))
        );
    }

    #[test]
    fn rejects_stripe_values_that_are_not_what_they_claim() {
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("STRIPE_API_BASE", "api.stripe.com"));
        pairs.push(("STRIPE_SECRET_KEY", "pk_test_publishable"));
        pairs.push(("STRIPE_WEBHOOK_SECRET", "sk_test_swapped"));
        let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
        assert!(!err.to_string().contains("pk_test_publishable"), "{err}");
    }

    #[test]
    fn stripe_secrets_are_never_printed() {
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("STRIPE_SECRET_KEY", "sk_test_PRIVATE"));
        pairs.push(("STRIPE_WEBHOOK_SECRET", "whsec_PRIVATE"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert!(!format!("{config:?}").contains("PRIVATE"));
    }

    #[test]
    fn mfa_keys_are_optional_inline_or_in_secrets_manager() {
        let config = Config::from_lookup(lookup(COMPLETE)).unwrap();
        assert_eq!(config.mfa_keys, None);
        assert_eq!(config.auth_limits.mfa_failures_per_user, 5);
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("MFA_ENCRYPTION_KEYS_SECRET_ID", "arn:mfa"));
        pairs.push(("AUTH_LIMIT_MFA_FAILURES_PER_USER", "3"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(
            config.mfa_keys,
            Some(SecretSource::Secret("arn:mfa".into()))
        );
        assert_eq!(config.auth_limits.mfa_failures_per_user, 3);
        pairs.push(("MFA_ENCRYPTION_KEYS", "PRIVATE-MFA-KEYS"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert!(matches!(config.mfa_keys, Some(SecretSource::Inline(_))));
        assert!(!format!("{config:?}").contains("PRIVATE-MFA-KEYS"));
    }

    #[test]
    fn only_an_inline_signing_key_set_stands_in_for_the_public_keys() {
        let base = &COMPLETE[..3];
        let verify_only = [base, &[("JWT_PUBLIC_KEYS", "{}")]].concat();
        let config = Config::from_lookup(lookup(&verify_only)).unwrap();
        assert_eq!(config.signing_keys, None);
        let inline = [base, &[("JWT_SIGNING_KEYS", "{}")]].concat();
        assert_eq!(
            Config::from_lookup(lookup(&inline)).unwrap().public_keys,
            None
        );
        let secret_only = [base, &[("JWT_SIGNING_KEYS_SECRET_ID", "arn:s")]].concat();
        let err = Config::from_lookup(lookup(&secret_only)).unwrap_err();
        assert!(err.to_string().contains("JWT_PUBLIC_KEYS"), "{err}");
    }

    #[test]
    fn inline_keys_are_never_printed() {
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("JWT_SIGNING_KEYS", "PRIVATE-MATERIAL"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert!(!format!("{config:?}").contains("PRIVATE-MATERIAL"));
    }
}
