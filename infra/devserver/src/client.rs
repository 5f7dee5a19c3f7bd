//! A client of the devserver's router in-process (tower `oneshot`): what the
//! seed and the API benchmark send, so their requests pass the same
//! validation, permissions and transactions as a client's.

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub struct Api {
    router: Router,
}

/// A response: its status and the envelope.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    what: String,
}

impl Reply {
    /// The envelope's `data` if the status is one of `expected`; otherwise
    /// an error naming the request and quoting the envelope.
    pub fn data_if(self, expected: &[StatusCode]) -> anyhow::Result<Value> {
        if expected.contains(&self.status) {
            let mut body = self.body;
            Ok(body["data"].take())
        } else {
            anyhow::bail!("{} answered {}: {}", self.what, self.status, self.body)
        }
    }

    /// The envelope's `data` of a 200 or 201.
    pub fn data(self) -> anyhow::Result<Value> {
        self.data_if(&[StatusCode::OK, StatusCode::CREATED])
    }
}

impl Api {
    /// The whole API over `services`, as `make dev` serves it.
    pub fn new(services: &shared::FullServices) -> Self {
        Self::over(crate::app(services))
    }

    /// A client of an already built router.
    pub fn over(router: Router) -> Self {
        Self { router }
    }

    /// One request, with an optional bearer token, JSON body and extra headers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Reply> {
        let what = format!("{method} {path}");
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .with_context(|| format!("building {what}"))?;
        self.send(request).await
    }

    /// Sends a request as built.
    pub async fn send(&self, request: Request<Body>) -> anyhow::Result<Reply> {
        let what = format!("{} {}", request.method(), request.uri());
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .with_context(|| format!("reading the answer to {what}"))?
            .to_bytes();
        // Not JSON (a bare 404 of an unknown path): kept as text for the error.
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(Reply {
            status,
            headers,
            body,
            what,
        })
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Reply> {
        self.call(Method::GET, path, token, None, &[]).await
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Reply> {
        self.call(Method::POST, path, token, Some(body), &[]).await
    }

    /// Every item of a paginated list, following `nextCursor`.
    pub async fn list_all(&self, path: &str, token: Option<&str>) -> anyhow::Result<Vec<Value>> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_path = match &cursor {
                Some(cursor) => {
                    let cursor = percent_encoding::utf8_percent_encode(
                        cursor,
                        percent_encoding::NON_ALPHANUMERIC,
                    );
                    format!("{path}{separator}cursor={cursor}")
                }
                None => path.to_owned(),
            };
            let reply = self.get(&page_path, token).await?;
            let next = reply.body["pagination"]["nextCursor"]
                .as_str()
                .map(str::to_owned);
            match reply.data()? {
                Value::Array(page) => items.extend(page),
                other => anyhow::bail!("GET {page_path} answered {other} instead of a list"),
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }
}
