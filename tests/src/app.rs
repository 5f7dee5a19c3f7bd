//! The harness: a fresh table on the local stack per test, the whole API over
//! it, and the raw request methods every endpoint method builds on.

use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use devserver::pumps::TableStream;
use serde_json::Value;
use shared::FullServices;
use shared::clock::TestClock;
use shared::config::Config;

pub const PASSWORD: &str = "correct horse battery staple";

/// The repository root (tests/ is one level below it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub(crate) fn require_stack() {
    if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
        panic!(
            "these tests run against the local stack: run `make test`, or `source .local/run/stack.env` \
             after `infra/stack.sh start`"
        );
    }
}

/// The stack's configuration with a table of our own.
pub fn stack_config(table: &str) -> Config {
    require_stack();
    let mut config = Config::from_env().expect("the local stack environment is complete");
    config.table_name = table.to_owned();
    config
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer <access token or API key>`.
    Bearer(&'a str),
    /// `X-Api-Key: <API key>`.
    ApiKeyHeader(&'a str),
}

pub struct TestApp {
    /// The whole API, every request run under `clock`.
    pub router: Router,
    pub services: FullServices,
    /// The time this app's requests see; tests advance it instead of sleeping.
    pub clock: TestClock,
    /// The table's stream, read on from where the last drain stopped.
    stream: tokio::sync::Mutex<Option<TableStream>>,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The `error.code` of an error envelope.
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts the envelope of a failure, and returns self for more checks.
    pub fn assert_error(&self, status: StatusCode, code: &str) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.body["success"], false, "{}", self.body);
        assert_eq!(self.error_code(), code, "{}", self.body);
        assert!(
            self.body["meta"]["requestId"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{}",
            self.body
        );
        self
    }

    pub fn assert_ok(&self, status: StatusCode) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.body["success"], true, "{}", self.body);
        &self.body["data"]
    }
}

impl From<devserver::client::Reply> for TestResponse {
    fn from(reply: devserver::client::Reply) -> Self {
        Self {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
        }
    }
}

/// Runs each request under the app's clock.
async fn run_under_clock(
    State(clock): State<TestClock>,
    request: Request<Body>,
    next: Next,
) -> Response {
    clock.run(next.run(request)).await
}

/// A fresh table on the local stack and the whole API over it.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with the configuration adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::new(fresh_services(adjust).await)
}

/// Like `spawn_app`, with every DynamoDB call of the API, its stream and
/// its workers going to `dynamodb_endpoint` (a [`crate::FaultProxy`] in
/// front of the stack's DynamoDB Local).
pub async fn spawn_app_via(dynamodb_endpoint: &str) -> TestApp {
    let services = fresh_services(|_| {}).await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&services.sdk)
            .endpoint_url(dynamodb_endpoint)
            .build(),
    );
    let table = services.config.table_name.clone();
    TestApp::new(services.with_store(shared::store::Store::new(client, table.as_str())))
}

/// The stack's services over a fresh table (and queues of its own).
async fn fresh_services(adjust: impl FnOnce(&mut Config)) -> FullServices {
    if std::env::var_os("TEST_LOG").is_some() {
        shared::telemetry::init();
    }
    let table = format!("test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let sdk = shared::services::load_sdk_config().await;
    let mut config = stack_config(&table);
    // Queues of its own, so a test drains only its designs and emails.
    if let Some(url) = config.studio_queue_url.take() {
        config.studio_queue_url = Some(format!("{url}-{table}"));
    }
    if let Some(url) = config.platform_email_queue_url.take() {
        config.platform_email_queue_url = Some(format!("{url}-{table}"));
    }
    if let Some(url) = config.manufacturing_queue_url.take() {
        config.manufacturing_queue_url = Some(format!("{url}-{table}"));
    }
    if let Some(url) = config.shipment_queue_url.take() {
        config.shipment_queue_url = Some(format!("{url}-{table}"));
    }
    if let Some(url) = config.sourcing_matching_queue_url.take() {
        config.sourcing_matching_queue_url = Some(format!("{url}-{table}"));
    }
    adjust(&mut config);
    let services = FullServices::build(config, &sdk)
        .await
        .expect("services build");
    devserver::resources::ensure_all(&services)
        .await
        .expect("local resources are created");
    services
}

impl TestApp {
    pub fn new(services: FullServices) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            shared::telemetry::init();
        }
        let clock = TestClock::default();
        let router = devserver::app(&services).layer(middleware::from_fn_with_state(
            clock.clone(),
            run_under_clock,
        ));
        Self {
            router,
            services,
            clock,
            stream: tokio::sync::Mutex::new(None),
        }
    }

    /// Stops this app's clock at the start of the next fixed window of
    /// `window` (rate limits count per window), so that what a test sends
    /// next falls in one window however long it takes.
    pub fn freeze_clock_at_next_window(&self, window: std::time::Duration) {
        let window = window.as_secs().max(1) as i64;
        let now = self.clock.now_epoch();
        self.clock.freeze_at(now - now % window + window);
    }

    /// Runs the stream function on every record the table's stream holds
    /// that it has not seen yet, and on the records its reactions write,
    /// until nothing is left: what the devserver's pump would do a moment
    /// later. Returns how many records it handled.
    pub async fn drain_stream(&self) -> usize {
        let mut stream = self.stream.lock().await;
        if stream.is_none() {
            let opened = TableStream::open(&self.services)
                .await
                .expect("the table's stream opens");
            *stream = Some(opened);
        }
        let stream = stream.as_mut().expect("the stream was just opened");
        self.clock
            .run(stream.drain())
            .await
            .expect("the stream function handles every record")
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let reply = devserver::client::Api::over(self.router.clone())
            .send(request)
            .await
            .expect("the router answers");
        reply.into()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> TestResponse {
        let auth = token.map_or(Auth::None, Auth::Bearer);
        self.request(method, path, auth, body, &[]).await
    }

    /// A request with any credential and extra headers.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let (token, mut all_headers) = match auth {
            Auth::None => (None, Vec::new()),
            Auth::Bearer(token) => (Some(token), Vec::new()),
            Auth::ApiKeyHeader(key) => (None, vec![("x-api-key", key)]),
        };
        all_headers.extend_from_slice(headers);
        let reply = devserver::client::Api::over(self.router.clone())
            .call(method, path, token, body, &all_headers)
            .await
            .expect("the router answers");
        reply.into()
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut request = Request::post(path);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        self.send(request.body(body.into()).expect("a valid request"))
            .await
    }

    /// A request with an optional bearer token, `If-Match` and JSON body.
    pub async fn call_if_match(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> TestResponse {
        let auth = token.map_or(Auth::None, Auth::Bearer);
        let headers: Vec<(&str, &str)> = if_match
            .map(|etag| ("if-match", etag))
            .into_iter()
            .collect();
        self.request(method, path, auth, body, &headers).await
    }

    /// The raw item at (pk, sk), to check what is stored.
    pub async fn stored_item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.services
            .store
            .get_raw(pk, sk)
            .await
            .expect("GetItem works")
    }

    /// Writes an item directly in the table, as no API would (a record
    /// the stream function cannot read, a shape DynamoDB Local renders
    /// oddly in its stream).
    pub async fn put_raw_item(&self, item: std::collections::HashMap<String, AttributeValue>) {
        self.services
            .store
            .client()
            .put_item()
            .table_name(self.services.store.table())
            .set_item(Some(item))
            .send()
            .await
            .expect("PutItem");
    }

    /// Sets one attribute of an existing item directly in the table, for
    /// what no API does (granting admin, ageing an item).
    pub async fn set_stored_attribute(
        &self,
        pk: &str,
        sk: &str,
        name: &str,
        value: AttributeValue,
    ) {
        let update = shared::store::Update::new(pk, sk, "SET #attr = :value")
            .condition("attribute_exists(PK)")
            .name("#attr", name)
            .value(":value", value);
        self.services
            .store
            .apply_update(update)
            .await
            .unwrap_or_else(|e| panic!("setting {name} on {pk}/{sk}: {e:?}"));
    }

    /// Serves the app on a free loopback port (for callers outside the
    /// process, such as localstripe delivering webhooks); returns its base URL.
    /// The server runs until the test's runtime ends.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("a bound address");
        let app = self
            .router
            .clone()
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        format!("http://{address}")
    }
}

/// Puts a secret into the local Secrets Manager: its ARN.
pub async fn kept_secret(name: &str, value: &str) -> String {
    let sdk = shared::services::load_sdk_config().await;
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(format!(
            "test/{name}-{}",
            ulid::Ulid::new().to_string().to_lowercase()
        ))
        .secret_string(value)
        .send()
        .await
        .expect("moto creates the secret")
        .arn
        .expect("an ARN")
}
