//! The one HTTP layer every remote call goes through: timeouts, the client-side rate
//! limiter, the retry policy (`backon`), per-request metrics and a span per request.
//!
//! Callers describe a request ([`Request`]) — including whether repeating it is safe — and
//! get back either a 2xx [`Response`] or an [`HttpError`] that names the API, the route
//! template, the status and the request id. Nothing here knows Halo's or Graph's
//! semantics beyond the shapes of their error bodies ([`parse_error`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::{Instrument, field};
use url::Url;

use crate::config::{RateLimit, RetryConfig, Secret};
use crate::metrics::Metrics;

/// Longest `Retry-After` honoured; a server asking for more gets this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// How much of an error body is kept for messages.
const ERROR_BODY_EXCERPT: usize = 300;

/// What an API's error body says, as far as it can be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Machine-readable code (`invalid_client`, `Authorization_RequestDenied`, ...).
    pub code: Option<String>,
    /// Human-readable message, or an excerpt of the body.
    pub message: String,
    /// Request id carried in the body (Graph puts it there as well as in a header).
    pub request_id: Option<String>,
}

/// Reads the error bodies these APIs send: OAuth (`{"error":"invalid_client",
/// "error_description":…}`), Graph's envelope (`{"error":{"code","message","innerError":
/// {"request-id"}}}`), `{"message":…}`, or plain text / HTML.
pub fn parse_error(body: &[u8]) -> ErrorDetail {
    let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice(body) else {
        return ErrorDetail {
            message: excerpt(body),
            ..ErrorDetail::default()
        };
    };
    let text =
        |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(|s| excerpt(s.as_bytes()));
    match obj.get("error") {
        Some(serde_json::Value::String(code)) => ErrorDetail {
            code: Some(excerpt(code.as_bytes())),
            message: text(obj.get("error_description")).unwrap_or_default(),
            request_id: None,
        },
        Some(serde_json::Value::Object(err)) => {
            let inner = err.get("innerError").or_else(|| err.get("innererror"));
            ErrorDetail {
                code: text(err.get("code")),
                message: text(err.get("message")).unwrap_or_default(),
                request_id: text(inner.and_then(|i| i.get("request-id"))),
            }
        }
        _ => ErrorDetail {
            code: None,
            message: text(obj.get("message").or_else(|| obj.get("Message")))
                .unwrap_or_else(|| excerpt(body)),
            request_id: None,
        },
    }
}

/// The start of a body as text, for error messages (HTML pages are summarised by title).
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.starts_with('<') {
        let lower = text.to_ascii_lowercase();
        if let (Some(a), Some(b)) = (lower.find("<title>"), lower.find("</title>"))
            && a + 7 <= b
        {
            return format!("HTML page '{}'", printable(text[a + 7..b].trim(), 100));
        }
        return "HTML page".into();
    }
    printable(text, ERROR_BODY_EXCERPT)
}

/// At most `max` characters of `text` without control characters (an ellipsis marks a cut).
fn printable(text: &str, max: usize) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// Why a request failed, after retries.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No usable response: connection refused or dropped, timeout, body cut off.
    #[error("{api} {method} {route}: {message} (after {attempts} attempt{s})", s = plural(*attempts))]
    Transport {
        api: &'static str,
        method: Method,
        route: String,
        message: String,
        /// The request may have reached the server (anything but a refused connection).
        sent: bool,
        attempts: u32,
    },
    /// The server answered with a non-2xx status.
    #[error("{api} {method} {route}: HTTP {status}{code}: {message}{rid} (after {attempts} attempt{s})",
        code = detail.code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(),
        message = detail.message,
        rid = request_id.as_deref().map(|r| format!(" [request-id {r}]")).unwrap_or_default(),
        s = plural(*attempts))]
    Status {
        api: &'static str,
        method: Method,
        route: String,
        status: u16,
        request_id: Option<String>,
        detail: Box<ErrorDetail>,
        attempts: u32,
    },
    /// A 2xx response whose body is not what the API documents.
    #[error("{api} {method} {route}: unexpected response (HTTP {status}){rid}: {message}",
        rid = request_id.as_deref().map(|r| format!(" [request-id {r}]")).unwrap_or_default())]
    Decode {
        api: &'static str,
        method: Method,
        route: String,
        status: u16,
        request_id: Option<String>,
        message: String,
    },
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl HttpError {
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            HttpError::Status { detail, .. } => detail.code.as_deref(),
            _ => None,
        }
    }

    /// Whether a write may have been applied although it did not report success: the
    /// request was sent and no definite answer came back (timeout, dropped connection,
    /// 5xx). Such a create must be reconciled before it is sent again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            HttpError::Transport { sent, .. } => *sent,
            HttpError::Status { status, .. } => *status >= 500,
            HttpError::Decode { .. } => true,
        }
    }
}

/// A request body.
pub enum Body<'a> {
    Empty,
    Json(&'a serde_json::Value),
    Form(&'a [(&'a str, &'a str)]),
    Text {
        content_type: &'static str,
        body: &'a str,
    },
}

/// One request, as the caller describes it.
pub struct Request<'a> {
    pub method: Method,
    pub url: Url,
    /// Route template for metrics and spans (`/api/Users`, `/v1.0/users`): never a full
    /// URL, never ids or tokens.
    pub route: &'a str,
    pub bearer: Option<&'a Secret>,
    /// Extra request headers (name, value), e.g. Graph's `ConsistencyLevel: eventual`.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Body<'a>,
    /// Whether sending it twice is harmless. Non-idempotent requests (creates) are not
    /// retried once they may have reached the server.
    pub idempotent: bool,
}

impl<'a> Request<'a> {
    pub fn get(url: Url, route: &'a str) -> Self {
        Request {
            method: Method::GET,
            url,
            route,
            bearer: None,
            headers: &[],
            body: Body::Empty,
            idempotent: true,
        }
    }

    pub fn post(url: Url, route: &'a str, body: Body<'a>, idempotent: bool) -> Self {
        Request {
            method: Method::POST,
            url,
            route,
            bearer: None,
            headers: &[],
            body,
            idempotent,
        }
    }

    pub fn bearer(mut self, token: &'a Secret) -> Self {
        self.bearer = Some(token);
        self
    }

    pub fn headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }
}

/// A successful (2xx) response, body read in full.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub request_id: Option<String>,
    pub body: bytes::Bytes,
    api: &'static str,
    method: Method,
    route: String,
}

impl Response {
    /// Parses the body as JSON into `T`, or reports what was wrong with it.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| self.unexpected(e.to_string()))
    }

    /// An error saying this response was not what the API documents.
    pub fn unexpected(&self, message: impl Into<String>) -> HttpError {
        HttpError::Decode {
            api: self.api,
            method: self.method.clone(),
            route: self.route.clone(),
            status: self.status,
            request_id: self.request_id.clone(),
            message: message.into(),
        }
    }
}

/// Client-side sliding-window limiter: at most `requests` in any `window`.
///
/// A slot is taken when a request is sent and re-stamped when it completes
/// ([`RateLimiter::release`]): the server saw the request at some point in between, so
/// counting the window from the completion keeps the server's own window (measured at
/// arrival) within the limit too, whatever the network jitter. That is what lets shards
/// share one Halo budget exactly.
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    sent: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(limit: &RateLimit) -> Self {
        RateLimiter {
            limit: limit.requests as usize,
            window: limit.window,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits for a slot; returns how long it waited and the slot's stamp (for
    /// [`RateLimiter::release`]).
    pub async fn acquire(&self) -> (Duration, Instant) {
        let start = Instant::now();
        loop {
            let wait = {
                let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    sent.pop_front();
                }
                match sent.front() {
                    Some(oldest) if sent.len() >= self.limit => *oldest + self.window - now,
                    _ => {
                        sent.push_back(now);
                        return (start.elapsed(), now);
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Marks the request of slot `stamp` complete: its slot now counts from this moment.
    pub fn release(&self, stamp: Instant) {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = sent.iter_mut().find(|t| **t == stamp) {
            *slot = Instant::now().max(stamp);
            sent.make_contiguous().sort_unstable();
        }
    }
}

/// The `reason` values of `halo_integrator_http_retries_total`.
pub const RETRY_REASONS: &[&str] = &[
    "connect",
    "timeout",
    "transport",
    "throttled",
    "server_error",
];

/// Why one attempt failed (before the retry policy has decided).
#[derive(Debug)]
enum AttemptError {
    Transport {
        message: String,
        connect: bool,
        timeout: bool,
    },
    Status {
        status: StatusCode,
        request_id: Option<String>,
        retry_after: Option<Duration>,
        body: bytes::Bytes,
    },
}

impl AttemptError {
    /// Whether another attempt may succeed and is safe.
    fn retryable(&self, idempotent: bool) -> bool {
        match self {
            // A refused connection never reached the server: always safe to repeat.
            AttemptError::Transport { connect: true, .. } => true,
            AttemptError::Transport { .. } => idempotent,
            AttemptError::Status { status, .. } => match status.as_u16() {
                // Throttled or "request timeout": the server did not process it.
                429 | 408 => true,
                500..=599 => idempotent,
                _ => false,
            },
        }
    }

    /// The `reason` label of `halo_integrator_http_retries_total` (one of
    /// [`RETRY_REASONS`]).
    fn reason(&self) -> &'static str {
        match self {
            AttemptError::Transport { connect: true, .. } => "connect",
            AttemptError::Transport { timeout: true, .. } => "timeout",
            AttemptError::Transport { .. } => "transport",
            AttemptError::Status { status, .. } => match status.as_u16() {
                429 => "throttled",
                408 => "timeout",
                _ => "server_error",
            },
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            AttemptError::Status { retry_after, .. } => *retry_after,
            AttemptError::Transport { .. } => None,
        }
    }
}

/// The retrying HTTP client of one API (`halo`, `graph`).
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    api: &'static str,
    /// Per request, so that siblings ([`HttpClient::sibling`]) keep their own.
    timeout: Duration,
    limiter: Option<Arc<RateLimiter>>,
    retry: RetryConfig,
    metrics: Metrics,
}

/// Settings of one [`HttpClient`].
pub struct ClientSettings {
    pub api: &'static str,
    pub timeout: Duration,
    pub rate_limit: Option<RateLimit>,
    pub retry: RetryConfig,
}

/// The client could not be built (e.g. no TLS root certificates in the image).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client for {api}: {message}")]
pub struct BuildError {
    api: &'static str,
    message: String,
}

impl HttpClient {
    pub fn new(settings: ClientSettings, metrics: Metrics) -> Result<Self, BuildError> {
        let inner = reqwest::Client::builder()
            .user_agent(concat!("halo-integrator/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| BuildError {
                api: settings.api,
                message: e.to_string(),
            })?;
        Ok(Self::with_inner(inner, settings, metrics))
    }

    /// The client of another API, sharing this one's connection pool and TLS setup:
    /// building a client loads the system's root certificates, a good part of the time to
    /// the first request. Connections are opened within this client's connect timeout.
    pub fn sibling(&self, settings: ClientSettings) -> Self {
        Self::with_inner(self.inner.clone(), settings, self.metrics.clone())
    }

    fn with_inner(inner: reqwest::Client, settings: ClientSettings, metrics: Metrics) -> Self {
        // Series at zero, so "no retries" is a value and not an absent series.
        for reason in RETRY_REASONS {
            metrics
                .http_retries
                .with_label_values(&[settings.api, reason]);
        }
        metrics.rate_limit_wait.with_label_values(&[settings.api]);
        HttpClient {
            inner,
            api: settings.api,
            timeout: settings.timeout,
            limiter: settings
                .rate_limit
                .map(|limit| Arc::new(RateLimiter::new(&limit))),
            retry: settings.retry,
            metrics,
        }
    }

    pub fn api(&self) -> &'static str {
        self.api
    }

    /// Sends `req`, retrying what is safe to retry, and returns a 2xx response.
    pub async fn send(&self, req: Request<'_>) -> Result<Response, HttpError> {
        let span = tracing::info_span!(
            "http_request",
            otel.name = %format!("{} {}", req.method, req.route),
            otel.kind = "client",
            http.request.method = %req.method,
            url.template = req.route,
            api = self.api,
            http.response.status_code = field::Empty,
            http.retries = field::Empty,
        );
        self.send_with_retries(&req)
            .instrument(span.clone())
            .await
            .inspect(|resp| {
                span.record("http.response.status_code", resp.status);
            })
            .inspect_err(|e| {
                if let Some(status) = e.status() {
                    span.record("http.response.status_code", status);
                }
            })
    }

    async fn send_with_retries(&self, req: &Request<'_>) -> Result<Response, HttpError> {
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.initial_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_attempts.saturating_sub(1) as usize)
            .with_jitter();
        let result = (|| async {
            attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.attempt(req).await
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|e: &AttemptError| e.retryable(req.idempotent))
        // Honour Retry-After, but never beyond the attempts the policy allows.
        .adjust(|e: &AttemptError, next: Option<Duration>| {
            next.map(|d| e.retry_after().map_or(d, |r| r.min(MAX_RETRY_AFTER)))
        })
        .notify(|e: &AttemptError, delay: Duration| {
            self.metrics
                .http_retries
                .with_label_values(&[self.api, e.reason()])
                .inc();
            tracing::warn!(
                api = self.api,
                method = %req.method,
                route = req.route,
                reason = e.reason(),
                delay_ms = delay.as_millis() as u64,
                "retrying request"
            );
        })
        .await;
        let attempts = attempts.load(std::sync::atomic::Ordering::Relaxed);
        tracing::Span::current().record("http.retries", attempts.saturating_sub(1));
        result.map_err(|e| self.final_error(req, e, attempts))
    }

    async fn attempt(&self, req: &Request<'_>) -> Result<Response, AttemptError> {
        let slot = match &self.limiter {
            Some(limiter) => {
                let (waited, stamp) = limiter.acquire().await;
                if !waited.is_zero() {
                    self.metrics
                        .rate_limit_wait
                        .with_label_values(&[self.api])
                        .inc_by(waited.as_secs_f64());
                }
                Some((limiter, stamp))
            }
            None => None,
        };
        let mut builder = self
            .inner
            .request(req.method.clone(), req.url.clone())
            .timeout(self.timeout);
        if let Some(token) = req.bearer {
            builder = builder.bearer_auth(token.expose());
        }
        for (name, value) in req.headers {
            builder = builder.header(*name, *value);
        }
        builder = match &req.body {
            Body::Empty => builder,
            Body::Json(value) => builder.json(value),
            Body::Form(pairs) => builder.form(pairs),
            Body::Text { content_type, body } => builder
                .header(reqwest::header::CONTENT_TYPE, *content_type)
                .body(body.to_string()),
        };
        let started = Instant::now();
        let outcome = match builder.send().await {
            Ok(resp) => {
                let status = resp.status();
                let request_id = request_id(resp.headers());
                let retry_after = retry_after(resp.headers());
                match resp.bytes().await {
                    Ok(body) => Ok((status, request_id, retry_after, body)),
                    Err(e) => Err(transport(e)),
                }
            }
            Err(e) => Err(transport(e)),
        };
        if let Some((limiter, stamp)) = slot {
            limiter.release(stamp);
        }
        self.metrics
            .http_duration
            .with_label_values(&[self.api])
            .observe(started.elapsed().as_secs_f64());
        let status_label = match &outcome {
            Ok((status, ..)) => status.as_str().to_string(),
            Err(_) => "error".to_string(),
        };
        self.metrics
            .http_requests
            .with_label_values(&[self.api, req.method.as_str(), &status_label])
            .inc();
        let (status, request_id, retry_after, body) = outcome?;
        tracing::debug!(
            api = self.api,
            method = %req.method,
            route = req.route,
            status = status.as_u16(),
            request_id = request_id.as_deref().unwrap_or(""),
            "response"
        );
        if status.is_success() {
            Ok(Response {
                status: status.as_u16(),
                request_id,
                body,
                api: self.api,
                method: req.method.clone(),
                route: req.route.to_string(),
            })
        } else {
            Err(AttemptError::Status {
                status,
                request_id,
                retry_after,
                body,
            })
        }
    }

    fn final_error(&self, req: &Request<'_>, e: AttemptError, attempts: u32) -> HttpError {
        match e {
            AttemptError::Transport {
                message, connect, ..
            } => HttpError::Transport {
                api: self.api,
                method: req.method.clone(),
                route: req.route.to_string(),
                message,
                sent: !connect,
                attempts,
            },
            AttemptError::Status {
                status,
                request_id,
                body,
                ..
            } => {
                let detail = parse_error(&body);
                HttpError::Status {
                    api: self.api,
                    method: req.method.clone(),
                    route: req.route.to_string(),
                    status: status.as_u16(),
                    request_id: request_id.or_else(|| detail.request_id.clone()),
                    detail: Box::new(detail),
                    attempts,
                }
            }
        }
    }
}

/// A transport failure, described without the URL (which may carry query data).
fn transport(e: reqwest::Error) -> AttemptError {
    let connect = e.is_connect();
    let timeout = e.is_timeout();
    let mut message = if timeout {
        "timed out".to_string()
    } else if connect {
        "connection failed".to_string()
    } else if e.is_body() || e.is_decode() {
        "response body cut off".to_string()
    } else {
        "request failed".to_string()
    };
    // The source chain says why (refused, reset, closed before message completed...).
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    AttemptError::Transport {
        message,
        connect,
        timeout,
    }
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    ["request-id", "x-request-id", "x-ms-request-id", "cf-ray"]
        .iter()
        .find_map(|h| headers.get(*h))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After` in seconds (the HTTP-date form is rare on these APIs and ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn limiter_allows_a_burst_then_paces_by_the_window() {
        let limiter = RateLimiter::new(&RateLimit {
            requests: 3,
            window: Duration::from_secs(10),
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.acquire().await.0, Duration::ZERO);
        }
        // The 4th waits until the first leaves the window, the 7th until the 4th does.
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        for _ in 0..2 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_counts_from_the_completion_of_its_request() {
        let limiter = RateLimiter::new(&RateLimit {
            requests: 1,
            window: Duration::from_secs(10),
        });
        let start = Instant::now();
        let (_, stamp) = limiter.acquire().await;
        // The request takes 3 s; the server may have seen it at any moment of those.
        tokio::time::sleep(Duration::from_secs(3)).await;
        limiter.release(stamp);
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(13));
    }

    #[test]
    fn retry_rules_protect_non_idempotent_writes() {
        let status = |code: u16| AttemptError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            request_id: None,
            retry_after: None,
            body: bytes::Bytes::new(),
        };
        let refused = AttemptError::Transport {
            message: String::new(),
            connect: true,
            timeout: false,
        };
        let timed_out = AttemptError::Transport {
            message: String::new(),
            connect: false,
            timeout: true,
        };
        // (case, error, retried when idempotent, retried when not)
        let cases = [
            ("429", status(429), true, true),
            ("408", status(408), true, true),
            ("502", status(502), true, false),
            ("500", status(500), true, false),
            ("400", status(400), false, false),
            ("401", status(401), false, false),
            ("403", status(403), false, false),
            ("404", status(404), false, false),
            ("refused", refused, true, true),
            ("timeout", timed_out, true, false),
        ];
        for (name, e, idem, non_idem) in cases {
            assert_eq!(e.retryable(true), idem, "{name} idempotent");
            assert_eq!(e.retryable(false), non_idem, "{name} non-idempotent");
        }
    }

    #[test]
    fn error_bodies_of_each_api_are_read() {
        let oauth = parse_error(br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret"}"#);
        assert_eq!(oauth.code.as_deref(), Some("invalid_client"));
        assert!(oauth.message.starts_with("AADSTS7000215"));
        let graph = parse_error(
            br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges","innerError":{"request-id":"r-1"}}}"#,
        );
        assert_eq!(graph.code.as_deref(), Some("Authorization_RequestDenied"));
        assert_eq!(graph.request_id.as_deref(), Some("r-1"));
        let plain = parse_error(b"Item 3: emailaddress 'x' is not a valid e-mail address");
        assert_eq!(plain.code, None);
        assert!(plain.message.contains("emailaddress"));
        let message = parse_error(br#"{"message":"Rate limited"}"#);
        assert_eq!(message.message, "Rate limited");
    }

    proptest::proptest! {
        /// Fuzzing of error-body parsing: any bytes give a bounded, printable message.
        #[test]
        fn any_error_body_is_read_without_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let detail = parse_error(&body);
            proptest::prop_assert!(detail.message.chars().count() <= ERROR_BODY_EXCERPT + 1);
            let html = [b"<html><title>".as_slice(), &body, b"</title>"].concat();
            proptest::prop_assert!(!parse_error(&html).message.chars().any(char::is_control));
            proptest::prop_assert!(!detail.message.chars().any(char::is_control));
        }
    }

    #[test]
    fn excerpts_summarise_html_and_bound_text() {
        assert_eq!(
            excerpt(b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>"),
            "HTML page '502 Bad Gateway'"
        );
        let long = "x".repeat(1000);
        assert_eq!(
            excerpt(long.as_bytes()).chars().count(),
            ERROR_BODY_EXCERPT + 1
        );
        assert_eq!(excerpt(b"bad\x00\x07 field"), "bad field");
    }
}
