//! API Gateway's CORS, emulated from the settings template.yaml gives the
//! HTTP API (`CorsConfiguration`), so a frontend on its own dev server (Vite
//! on :5173, React on :3000, Angular on :4200, ...) can call `make dev` the
//! way it will call the deployed API.
//!
//! Like the HTTP API, the layer answers preflight requests itself (before any
//! route is looked up) and adds `Access-Control-Allow-Origin` to the answers
//! of allowed origins only; the methods, headers, exposed headers and max age
//! are the template's. Origins: `CORS_ALLOWED_ORIGINS` (comma separated, as
//! the template's `AllowedOrigins` parameter), else the template's default
//! list plus any `http://localhost:<port>` or `http://127.0.0.1:<port>`.

use std::time::Duration;

use anyhow::Context as _;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method};
use serde_yaml_ng::Value;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub const TEMPLATE_YAML: &str = include_str!("../../../template.yaml");

/// The environment variable that replaces the local default origins.
pub const ORIGINS_ENV: &str = "CORS_ALLOWED_ORIGINS";

/// The HTTP API's `CorsConfiguration`, as template.yaml declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSettings {
    pub allow_methods: Vec<Method>,
    pub allow_headers: Vec<HeaderName>,
    pub expose_headers: Vec<HeaderName>,
    pub max_age: Duration,
    /// The `AllowedOrigins` parameter's default.
    pub default_origins: Vec<String>,
}

impl CorsSettings {
    /// Reads the settings from template.yaml (compiled in).
    pub fn from_template() -> anyhow::Result<Self> {
        Self::parse(TEMPLATE_YAML)
    }

    pub fn parse(template_yaml: &str) -> anyhow::Result<Self> {
        let template: Value =
            serde_yaml_ng::from_str(template_yaml).context("template.yaml is not YAML")?;
        let api = template["Resources"]
            .as_mapping()
            .context("template.yaml has no Resources")?
            .values()
            .find(|resource| resource["Type"].as_str() == Some("AWS::Serverless::HttpApi"))
            .context("template.yaml has no AWS::Serverless::HttpApi")?;
        let cors = &api["Properties"]["CorsConfiguration"];
        anyhow::ensure!(
            cors.is_mapping(),
            "the HttpApi in template.yaml has no CorsConfiguration"
        );
        let strings = |key: &str| -> anyhow::Result<Vec<String>> {
            cors[key]
                .as_sequence()
                .with_context(|| format!("CorsConfiguration.{key} is not a list"))?
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .with_context(|| format!("CorsConfiguration.{key} holds a non-string"))
                })
                .collect()
        };
        let headers = |key: &str| -> anyhow::Result<Vec<HeaderName>> {
            strings(key)?
                .iter()
                .map(|h| HeaderName::try_from(h.as_str()).context("a header name"))
                .collect()
        };
        let allow_methods = strings("AllowMethods")?
            .iter()
            .map(|m| Method::from_bytes(m.as_bytes()).context("an HTTP method"))
            .collect::<anyhow::Result<_>>()?;
        let max_age = cors["MaxAge"]
            .as_u64()
            .context("CorsConfiguration.MaxAge is not a number of seconds")?;
        let default_origins = template["Parameters"]["AllowedOrigins"]["Default"]
            .as_str()
            .context("the AllowedOrigins parameter has no default")?;
        Ok(Self {
            allow_methods,
            allow_headers: headers("AllowHeaders")?,
            expose_headers: headers("ExposeHeaders")?,
            max_age: Duration::from_secs(max_age),
            default_origins: split_origins(default_origins),
        })
    }

    /// The layer, with origins from `CORS_ALLOWED_ORIGINS` when it is set.
    pub fn layer_from_env(&self) -> CorsLayer {
        match std::env::var(ORIGINS_ENV) {
            Ok(list) if !list.trim().is_empty() => self.layer(Origins::Only(split_origins(&list))),
            _ => self.layer(Origins::LocalDevelopment),
        }
    }

    pub fn layer(&self, origins: Origins) -> CorsLayer {
        let allow_origin = match origins {
            Origins::Only(list) => AllowOrigin::list(
                list.iter()
                    .filter_map(|origin| HeaderValue::from_str(origin).ok()),
            ),
            Origins::LocalDevelopment => {
                let defaults = self.default_origins.clone();
                AllowOrigin::predicate(move |origin: &HeaderValue, _: &Parts| {
                    origin.to_str().is_ok_and(|origin| {
                        defaults.iter().any(|d| d == origin) || is_loopback_origin(origin)
                    })
                })
            }
        };
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods(self.allow_methods.clone())
            .allow_headers(self.allow_headers.clone())
            .expose_headers(self.expose_headers.clone())
            .max_age(self.max_age)
    }
}

/// Which browser origins may call the API.
#[derive(Debug, Clone)]
pub enum Origins {
    /// Exactly these (`https://shop.example.com`).
    Only(Vec<String>),
    /// The template's defaults and any origin on this machine's loopback.
    LocalDevelopment,
}

fn split_origins(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `http://localhost:<port>`, `http://127.0.0.1:<port>` or `http://[::1]:<port>`.
fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("http://") else {
        return false;
    };
    let port = ["localhost:", "127.0.0.1:", "[::1]:"]
        .iter()
        .find_map(|host| rest.strip_prefix(host));
    port.is_some_and(|port| port.parse::<u16>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_http_api_settings_of_the_template() {
        let settings = CorsSettings::from_template().unwrap();
        assert!(settings.allow_methods.contains(&Method::PATCH));
        assert!(settings.allow_methods.contains(&Method::OPTIONS));
        for header in [
            "authorization",
            "content-type",
            "idempotency-key",
            "if-match",
        ] {
            assert!(
                settings.allow_headers.iter().any(|h| h == header),
                "{header}"
            );
        }
        assert!(settings.expose_headers.iter().any(|h| h == "etag"));
        assert!(settings.max_age > Duration::ZERO);
        assert!(
            settings
                .default_origins
                .contains(&"http://localhost:5173".to_owned())
        );
    }

    #[test]
    fn loopback_origins_only_with_a_port_and_plain_http() {
        assert!(is_loopback_origin("http://localhost:5173"));
        assert!(is_loopback_origin("http://127.0.0.1:4200"));
        assert!(is_loopback_origin("http://[::1]:8080"));
        assert!(!is_loopback_origin("http://localhost"));
        assert!(!is_loopback_origin("http://localhost:5173.evil.example"));
        assert!(!is_loopback_origin("http://localhost.evil.example:80"));
        assert!(!is_loopback_origin("https://shop.example.com"));
        assert!(!is_loopback_origin("null"));
    }

    #[test]
    fn a_template_without_cors_is_refused() {
        let err = CorsSettings::parse(
            "Resources:\n  HttpApi:\n    Type: AWS::Serverless::HttpApi\n    Properties: {}\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("CorsConfiguration"), "{err}");
    }
}
