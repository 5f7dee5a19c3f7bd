//! Configuration read once per cold start from the environment.
//!
//! Every function reads the same variables; template.yaml sets them in AWS and
//! `infra/stack.sh` writes them for the local stack. Nothing here knows whether
//! it runs locally: endpoints come from the SDK's own `AWS_ENDPOINT_URL_*`.

use std::time::Duration;

/// Where the JWT signing key set comes from.
#[derive(Clone)]
pub enum SigningKeysSource {
    /// The key set JSON itself (`JWT_SIGNING_KEYS`), used locally and in tests.
    Inline(String),
    /// A Secrets Manager secret id or ARN (`JWT_SIGNING_KEYS_SECRET_ID`), used in AWS.
    Secret(String),
}

impl std::fmt::Debug for SigningKeysSource {
    // The inline form holds private keys: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inline(_) => f.write_str("Inline(<redacted>)"),
            Self::Secret(id) => f.debug_tuple("Secret").field(id).finish(),
        }
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
    /// The web app's base URL, for links in emails (`<url>/reset-password?token=...`).
    pub public_app_url: Option<String>,
    pub signing_keys: SigningKeysSource,
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

        let signing_keys = match (get("JWT_SIGNING_KEYS"), get("JWT_SIGNING_KEYS_SECRET_ID")) {
            (Some(inline), _) => Some(SigningKeysSource::Inline(inline)),
            (None, Some(secret)) => Some(SigningKeysSource::Secret(secret)),
            (None, None) => {
                problems.push("set JWT_SIGNING_KEYS_SECRET_ID (a Secrets Manager secret) or JWT_SIGNING_KEYS (the key set JSON)".into());
                None
            }
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

        match signing_keys {
            Some(signing_keys) if problems.is_empty() => Ok(Self {
                table_name,
                bucket_name,
                sender_email,
                ses_configuration_set: get("SES_CONFIGURATION_SET"),
                token_issuer: get("TOKEN_ISSUER").unwrap_or_else(|| "bodega".into()),
                access_token_ttl,
                session_ttl,
                rate_limit_window,
                api_key_rate_limit,
                public_app_url: get("PUBLIC_APP_URL")
                    .map(|url| url.trim_end_matches('/').to_owned()),
                signing_keys,
                s3_force_path_style,
                version: get("BODEGA_VERSION")
                    .or_else(|| get("AWS_LAMBDA_FUNCTION_VERSION"))
                    .unwrap_or_else(|| env!("CARGO_PKG_VERSION").into()),
            }),
            _ => Err(ConfigError { problems }),
        }
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
    ];

    #[test]
    fn reads_a_complete_environment_with_defaults() {
        let config = Config::from_lookup(lookup(COMPLETE)).unwrap();
        assert_eq!(config.table_name, "t");
        assert_eq!(config.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.token_issuer, "bodega");
        assert!(!config.s3_force_path_style);
        assert!(
            matches!(config.signing_keys, SigningKeysSource::Secret(ref s) if s == "arn:secret")
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
            "JWT_SIGNING_KEYS_SECRET_ID",
        ] {
            assert!(text.contains(name), "{text} should mention {name}");
        }
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
    fn inline_keys_are_never_printed() {
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("JWT_SIGNING_KEYS", "PRIVATE-MATERIAL"));
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert!(!format!("{config:?}").contains("PRIVATE-MATERIAL"));
    }
}
