//! A fault-injecting proxy for the tests: it sits on loopback between the
//! SDK clients and a local service (DynamoDB Local, moto) and, as the test
//! says and changes mid-test, answers a share of the calls with the
//! service's own throttling error, slows calls down, or resets the
//! connection after the request went through (so the write may have
//! happened while its answer is lost).
//!
//! It speaks just enough HTTP/1.1 for the SDK: requests with a
//! `Content-Length` body, responses with a `Content-Length` or chunked body.
//! Which calls a fault hits is decided by a seeded generator over the call
//! count, so a test sees the same sequence of faults on every run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to calls, from now on.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Percent of calls answered with a throttling error (not forwarded).
    pub throttle_percent: u64,
    /// Percent of calls answered with the service's internal error (HTTP
    /// 500, not forwarded: nothing was done).
    pub fail_percent: u64,
    /// Added before each call is forwarded.
    pub latency: Duration,
    /// Percent of calls forwarded, then the connection reset before the
    /// answer reaches the caller.
    pub reset_percent: u64,
    /// Only calls whose operation contains one of these faults (DynamoDB's
    /// `X-Amz-Target` operation, else the request path); empty = all calls.
    pub only: Vec<String>,
}

impl Faults {
    pub fn throttle(percent: u64) -> Self {
        Self {
            throttle_percent: percent,
            ..Self::default()
        }
    }

    pub fn fail(percent: u64) -> Self {
        Self {
            fail_percent: percent,
            ..Self::default()
        }
    }

    pub fn latency(latency: Duration) -> Self {
        Self {
            latency,
            ..Self::default()
        }
    }

    pub fn reset(percent: u64) -> Self {
        Self {
            reset_percent: percent,
            ..Self::default()
        }
    }

    /// Narrows the faults to calls of these operations (`TransactWriteItems`).
    pub fn only(mut self, operations: &[&str]) -> Self {
        self.only = operations.iter().map(|s| (*s).to_owned()).collect();
        self
    }
}

/// What the proxy did, for a test to show the faults happened.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub calls: AtomicU64,
    pub throttled: AtomicU64,
    pub failed: AtomicU64,
    pub delayed: AtomicU64,
    pub reset: AtomicU64,
}

struct Shared {
    upstream: String,
    faults: Mutex<Faults>,
    seed: u64,
    counts: FaultCounts,
}

/// A running proxy; stops with the test's runtime.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`, for an SDK client's `endpoint_url`.
    pub endpoint: String,
    shared: Arc<Shared>,
}

enum Action {
    Forward,
    Throttle,
    Fail,
    Reset,
}

impl FaultProxy {
    /// A proxy in front of `upstream` (`http://127.0.0.1:<port>`), passing
    /// everything through until the test sets faults.
    pub async fn start(upstream: &str, seed: u64) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("bound"));
        let shared = Arc::new(Shared {
            upstream,
            faults: Mutex::new(Faults::default()),
            seed,
            counts: FaultCounts::default(),
        });
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, accepting.clone()));
            }
        });
        Self { endpoint, shared }
    }

    /// A proxy in front of the stack's DynamoDB Local.
    pub async fn dynamodb(seed: u64) -> Self {
        Self::start(&stack_endpoint("AWS_ENDPOINT_URL_DYNAMODB"), seed).await
    }

    /// A proxy in front of the stack's moto (S3, SES, SQS).
    pub async fn moto(seed: u64) -> Self {
        Self::start(&stack_endpoint("AWS_ENDPOINT_URL_S3"), seed).await
    }

    /// Replaces the faults, for the calls from now on.
    pub fn set(&self, faults: Faults) {
        *self.shared.faults.lock().expect("not poisoned") = faults;
    }

    /// Back to passing everything through.
    pub fn heal(&self) {
        self.set(Faults::default());
    }

    pub fn counts(&self) -> &FaultCounts {
        &self.shared.counts
    }
}

fn stack_endpoint(var: &str) -> String {
    crate::require_stack();
    std::env::var(var).unwrap_or_else(|_| panic!("the stack exports {var}"))
}

/// splitmix64: the n-th number of the seeded sequence, in 0..100.
fn roll(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % 100
}

struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
    operation: String,
    dynamodb: bool,
    sesv2: bool,
}

/// Reads one request; None when the client closed the connection.
async fn read_request(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<Request> {
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut target = None;
    let mut path = String::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await.ok()? == 0 {
            return None;
        }
        let text = String::from_utf8_lossy(&line).to_string();
        if head.is_empty() {
            path = text.split(' ').nth(1).unwrap_or("").to_owned();
        }
        let lower = text.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            content_length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("x-amz-target:") {
            target = text.split(':').nth(1).map(|v| v.trim().to_owned());
        }
        head.extend_from_slice(&line);
        if line == b"\r\n" {
            break;
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body).await.ok()?;
    let dynamodb = target.as_deref().is_some_and(|t| t.starts_with("DynamoDB"));
    let operation = match target {
        Some(target) => target.rsplit('.').next().unwrap_or("").to_owned(),
        None => path.clone(),
    };
    Some(Request {
        head,
        body,
        operation,
        dynamodb,
        sesv2: path.starts_with("/v2/email"),
    })
}

/// Reads one response from the upstream, whole (head and body).
/// Also says whether the upstream closes the connection after it. The
/// answer to a HEAD has no body, whatever its `Content-Length` says.
async fn read_response(
    reader: &mut BufReader<TcpStream>,
    head: bool,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut response = Vec::new();
    let mut content_length = None;
    let mut chunked = false;
    let mut close = false;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let lower = String::from_utf8_lossy(&line).to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            content_length = value.trim().parse::<usize>().ok();
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        if lower.starts_with("connection:") && lower.contains("close") {
            close = true;
        }
        response.extend_from_slice(&line);
        if line == b"\r\n" {
            break;
        }
    }
    if head {
        return Ok((response, close));
    }
    if chunked {
        loop {
            let mut size_line = Vec::new();
            reader.read_until(b'\n', &mut size_line).await?;
            response.extend_from_slice(&size_line);
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&size_line)
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or("0"),
                16,
            )
            .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await?;
            response.extend_from_slice(&chunk);
            if size == 0 {
                return Ok((response, close));
            }
        }
    }
    match content_length {
        Some(length) => {
            let mut body = vec![0; length];
            reader.read_exact(&mut body).await?;
            response.extend_from_slice(&body);
        }
        None if close => {
            reader.read_to_end(&mut response).await?;
        }
        None => {}
    }
    Ok((response, close))
}

/// The service's own throttling answer, as the SDK classifies it
/// (retryable throttle).
fn throttle_response(request: &Request, n: u64) -> Vec<u8> {
    let (status, content_type, extra, body) = if request.dynamodb {
        let kind = if n.is_multiple_of(2) {
            "ProvisionedThroughputExceededException"
        } else {
            "ThrottlingException"
        };
        (
            "400 Bad Request",
            "application/x-amz-json-1.0",
            String::new(),
            format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"Rate of requests exceeds the allowed throughput (injected)"}}"#
            ),
        )
    } else if request.sesv2 {
        (
            "429 Too Many Requests",
            "application/json",
            "x-amzn-ErrorType: TooManyRequestsException\r\n".to_owned(),
            r#"{"message":"Maximum sending rate exceeded (injected)"}"#.to_owned(),
        )
    } else {
        (
            "503 Slow Down",
            "application/xml",
            String::new(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate (injected)</Message></Error>".to_owned(),
        )
    };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{extra}x-amzn-requestid: injected-{n}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The service's internal error: the call did nothing, a retry may work.
fn failure_response(request: &Request, n: u64) -> Vec<u8> {
    let (content_type, extra, body) = if request.dynamodb {
        (
            "application/x-amz-json-1.0",
            String::new(),
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error (injected)"}"#.to_owned(),
        )
    } else if request.sesv2 {
        (
            "application/json",
            "x-amzn-ErrorType: InternalFailure\r\n".to_owned(),
            r#"{"message":"Internal failure (injected)"}"#.to_owned(),
        )
    } else {
        (
            "application/xml",
            String::new(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>We encountered an internal error (injected)</Message></Error>".to_owned(),
        )
    };
    format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: {content_type}\r\n{extra}x-amzn-requestid: injected-{n}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends one request upstream over the kept connection (a new one if it
/// was closed meanwhile) and reads the answer.
async fn forward(
    address: &str,
    upstream: &mut Option<BufReader<TcpStream>>,
    request: &[u8],
) -> Option<Vec<u8>> {
    for _ in 0..2 {
        if upstream.is_none() {
            *upstream = Some(BufReader::new(TcpStream::connect(address).await.ok()?));
        }
        let connection = upstream.as_mut()?;
        let answer = match connection.get_mut().write_all(request).await {
            Ok(()) => read_response(connection, request.starts_with(b"HEAD ")).await,
            Err(err) => Err(err),
        };
        match answer {
            Ok((answer, close)) => {
                if close {
                    *upstream = None;
                }
                return Some(answer);
            }
            // A kept connection the upstream had closed: once more, afresh.
            Err(_) => *upstream = None,
        }
    }
    None
}

/// One client connection: requests in turn, each forwarded over one
/// upstream connection kept for this client.
async fn serve(client: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = client.into_split();
    let mut reader = BufReader::new(read);
    let mut upstream: Option<BufReader<TcpStream>> = None;
    while let Some(request) = read_request(&mut reader).await {
        let n = shared.counts.calls.fetch_add(1, Ordering::SeqCst);
        let faults = shared.faults.lock().expect("not poisoned").clone();
        let hit =
            faults.only.is_empty() || faults.only.iter().any(|op| request.operation.contains(op));
        let dice = roll(shared.seed, n);
        let (throttle, fail) = (
            faults.throttle_percent,
            faults.throttle_percent + faults.fail_percent,
        );
        let action = if hit && dice < throttle {
            Action::Throttle
        } else if hit && dice < fail {
            Action::Fail
        } else if hit && dice < fail + faults.reset_percent {
            Action::Reset
        } else {
            Action::Forward
        };
        if hit && !faults.latency.is_zero() {
            shared.counts.delayed.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(faults.latency).await;
        }
        let refusal = match action {
            Action::Throttle => {
                shared.counts.throttled.fetch_add(1, Ordering::SeqCst);
                Some(throttle_response(&request, n))
            }
            Action::Fail => {
                shared.counts.failed.fetch_add(1, Ordering::SeqCst);
                Some(failure_response(&request, n))
            }
            Action::Forward | Action::Reset => None,
        };
        if let Some(refusal) = refusal {
            if write.write_all(&refusal).await.is_err() {
                return;
            }
            continue;
        }
        let mut forwarded = request.head.clone();
        forwarded.extend_from_slice(&request.body);
        let Some(answer) = forward(&shared.upstream, &mut upstream, &forwarded).await else {
            return;
        };
        if let Action::Reset = action {
            // The upstream did the work; the caller never hears of it.
            shared.counts.reset.fetch_add(1, Ordering::SeqCst);
            if let Ok(client) = reader.into_inner().reunite(write) {
                // A zero linger sends a reset at once; it never blocks.
                #[allow(deprecated)]
                client.set_linger(Some(Duration::ZERO)).ok();
                drop(client);
            }
            return;
        }
        if write.write_all(&answer).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::roll;

    #[test]
    fn the_seeded_rolls_are_repeatable_and_spread() {
        let first: Vec<u64> = (0..1000).map(|n| roll(7, n)).collect();
        let again: Vec<u64> = (0..1000).map(|n| roll(7, n)).collect();
        assert_eq!(first, again);
        let under_20 = first.iter().filter(|r| **r < 20).count();
        assert!((150..250).contains(&under_20), "{under_20}");
        assert_ne!(first, (0..1000).map(|n| roll(8, n)).collect::<Vec<_>>());
    }
}
