//! A simulated HaloPSA, Microsoft Entra token endpoint and Microsoft Graph, served by axum on
//! one loopback port, for the `demo` and `sim` commands, integration tests and benchmarks.
//!
//! It behaves like the real services including their awkward parts: Halo silently caps page
//! sizes and truncates unpaged lists, hides inactive records, answers writes with float ids
//! and rate-limits with a 429 without `Retry-After`, and runs SQL reports as real (SQLite)
//! SQL over its records; Graph hides `accountEnabled` unless
//! selected, pages with absolute `@odata.nextLink`s and opaque skip tokens, and answers
//! errors in its envelope. Faults ([`Fault`]) can be injected per request.
//!
//! URL layout (base = `http://127.0.0.1:PORT`):
//!
//! | service | base | endpoints |
//! |---|---|---|
//! | Halo | `HALO_URL` = base | `POST /auth/token`, `GET /api/authinfo`, `/api/Users`, `/api/Client`, `/api/Site`, `/api/Asset`, `/api/AssetType`, `POST /api/Report`, `GET /api/Report/{id}` |
//! | Entra | `ENTRA_AUTHORITY_HOST` = base`/entra` | `POST /entra/{tenant}/oauth2/v2.0/token` |
//! | Graph | `GRAPH_URL` = base`/graph` | `GET /graph/v1.0/users`, `GET /graph/v1.0/deviceManagement/managedDevices` |
//! | control | base`/_sim` | `GET /_sim/world`, `GET /_sim/requests`, `POST /_sim/faults`, `DELETE /_sim/faults` |
//!
//! Control requests are neither logged nor faulted. A fault in JSON, as `POST /_sim/faults`
//! takes it (`skip` defaults to 0, `times` to 1):
//!
//! ```json
//! {"target": {"service": "HaloApi", "method": "POST", "path_contains": "/api/users"},
//!  "kind": "CommitThenDrop", "skip": 0, "times": 1}
//! {"target": {"service": "Graph"}, "kind": {"TooManyRequests": {"retry_after": 2}}}
//! ```
//!
//! In-process tests on a current-thread runtime must not block it while the simulator
//! serves (e.g. waiting for a subprocess with `std::process`): use
//! [`Simulator::start_on_thread`], which serves from its own thread and runtime.

mod custom_fields;
mod demo_msp;
mod faults;
mod graph;
mod halo;
mod report;
mod seed;
mod tickets;
mod world;

#[cfg(test)]
mod tests;

pub use custom_fields::{
    ASSET_CF_IMEI, ASSET_CF_PHONE_NUMBER, ASSET_STATUS_ACTIVE, ASSET_STATUS_IN_REPAIR,
    ASSET_STATUS_RETIRED, HaloAssetStatus, HaloCustomFieldDef, HaloCustomFieldValue,
    USER_CF_DEPARTMENT, USER_CF_EMPLOYEE_ID, USER_CF_OFFICE,
};
pub use demo_msp::{DEMO_INACTIVE_SITE, DEMO_STALE_DEPARTMENT};
pub use faults::{Fault, FaultKind, Service, Target};
pub use world::{
    ASSET_FIELD_CSV_KEY, ASSET_FIELD_LAST_SEEN, ASSET_FIELD_MODEL, ASSET_FIELD_OS, ASSET_FIELD_RAM,
    ASSET_FIELD_SERIAL, ASSET_FIELD_TAG, ASSET_FIELD_WARRANTY, AzureTenant, Credentials,
    EntraTenant, EntraUser, EntraWorld, HaloAction, HaloAsset, HaloAssetFieldDef,
    HaloAssetFieldValue, HaloAssetType, HaloClient, HaloReport, HaloSite, HaloTicket, HaloUser,
    HaloWorld, ManagedDevice, OUTCOME_PRIVATE_NOTE, STATUS_CLOSED, STATUS_NEW, ServiceDesk,
    TICKET_TYPE_INCIDENT, TICKET_TYPE_PROBLEM, World,
};

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::watch;

use faults::Faults;
use seed::Rng;

/// Behaviour knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Halo silently caps `page_size` to this.
    pub halo_page_cap: usize,
    /// Graph answers 400 to a `$top` above this.
    pub graph_page_cap: usize,
    pub halo_token_ttl: Duration,
    pub graph_token_ttl: Duration,
    /// `(requests, window)`: a sliding window over all Halo requests; `None` = no limit.
    pub halo_rate_limit: Option<(u32, Duration)>,
    /// Added to every request (benchmarks).
    pub latency: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            halo_page_cap: 100,
            graph_page_cap: 999,
            halo_token_ttl: Duration::from_secs(3600),
            graph_token_ttl: Duration::from_secs(3599),
            halo_rate_limit: Some((300, Duration::from_secs(300))),
            latency: Duration::ZERO,
        }
    }
}

/// One request as the simulator saw it (control requests are not logged).
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// Arrival order, from 0.
    pub seq: u64,
    pub service: Service,
    pub method: String,
    pub path: String,
    /// The raw query string, `""` if none.
    pub query: String,
    /// The status sent; `None` when the connection was dropped without a response.
    pub status: Option<u16>,
    /// The injected fault applied to this request, if any.
    pub fault: Option<String>,
    /// Halo's `x-request-id` / Graph's and Entra's `request-id`.
    pub request_id: String,
    /// The Entra tenant: from the token URL, or the tenant a Graph token is bound to.
    pub tenant: Option<String>,
    /// The request body of Halo API and Graph writes (not GET); never of token requests.
    pub body: Option<String>,
    /// Halo API answers: the property names of the records answered (list items, the one
    /// record, or the saved records), child arrays as `name[].child`; what a contract test
    /// holds against Halo's models.
    pub response_properties: Vec<String>,
    /// When the request arrived.
    #[serde(skip)]
    pub at: Instant,
    /// Arrival time since the simulator started.
    pub elapsed: Duration,
    /// Time to handle it (including injected delays and latency).
    pub duration: Duration,
}

impl RequestRecord {
    /// The decoded query parameter `name` (case-insensitive), if present.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.into_owned())
    }
}

/// Which token endpoint issued a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Issuer {
    Halo,
    Entra,
}

impl Issuer {
    fn of(service: Service) -> Issuer {
        if service.is_halo() {
            Issuer::Halo
        } else {
            Issuer::Entra
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub(crate) issuer: Issuer,
    /// Entra tokens are bound to a tenant.
    pub(crate) tenant: Option<String>,
    pub(crate) expires: Instant,
    pub(crate) revoked: bool,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    Missing,
    Invalid,
    Expired,
}

/// The mutable state behind the lock.
pub(crate) struct State {
    pub(crate) world: World,
    tokens: HashMap<String, IssuedToken>,
    faults: Faults,
    requests: Vec<RequestRecord>,
    halo_window: VecDeque<Instant>,
    rng: Rng,
    seq: u64,
}

impl State {
    /// A fresh random token string.
    pub(crate) fn random_hex(&mut self, bytes: usize) -> String {
        let mut out = String::with_capacity(bytes * 2);
        while out.len() < bytes * 2 {
            out.push_str(&format!("{:016x}", self.rng.next_u64()));
        }
        out.truncate(bytes * 2);
        out
    }

    pub(crate) fn issue_token(&mut self, token: String, info: IssuedToken) {
        self.tokens.insert(token, info);
    }

    /// The token in the `Authorization: Bearer` header, if it was issued by `issuer` and is
    /// neither expired nor revoked.
    pub(crate) fn check_bearer(
        &self,
        headers: &HeaderMap,
        issuer: Issuer,
        now: Instant,
    ) -> Result<&IssuedToken, TokenError> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim();
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ if value.is_empty() => return Err(TokenError::Missing),
            _ => return Err(TokenError::Invalid),
        };
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        let info = self
            .tokens
            .get(token)
            .filter(|t| t.issuer == issuer && !t.revoked)
            .ok_or(TokenError::Invalid)?;
        if info.expires <= now {
            return Err(TokenError::Expired);
        }
        Ok(info)
    }

    fn revoke_tokens(&mut self, issuer: Issuer) {
        for token in self.tokens.values_mut() {
            if token.issuer == issuer {
                token.revoked = true;
            }
        }
    }
}

/// What every handler sees of a request.
pub(crate) struct Ctx<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a Bytes,
    pub(crate) ids: &'a RequestIds,
    pub(crate) opts: &'a SimOptions,
    /// `http://127.0.0.1:PORT`
    pub(crate) base: &'a str,
    pub(crate) now: Instant,
}

impl Ctx<'_> {
    /// The last value of query parameter `name`, matched case-insensitively.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The correlation ids of one request.
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    pub(crate) request_id: String,
    pub(crate) client_request_id: String,
}

/// Tags a response with the Entra tenant it concerned (for the request log).
#[derive(Debug, Clone)]
pub(crate) struct TenantTag(pub(crate) String);

struct Shared {
    state: Mutex<State>,
    opts: SimOptions,
    addr: SocketAddr,
    base: String,
    started: Instant,
    shutdown: watch::Sender<bool>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A handle on a running simulator; cheap to clone.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Binds `addr` (port 0 picks a free port) and serves `world` in a spawned task.
    pub async fn start(addr: SocketAddr, world: World, opts: SimOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, mut stop) = watch::channel(false);
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(addr.port()).rotate_left(48);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                world,
                tokens: HashMap::new(),
                faults: Faults::default(),
                requests: Vec::new(),
                halo_window: VecDeque::new(),
                rng: Rng::new(seed),
                seq: 0,
            }),
            opts,
            addr,
            base: format!("http://{addr}"),
            started: Instant::now(),
            shutdown,
        });
        let app = Router::new()
            .fallback(dispatch)
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                // An error means every sender is gone: stop as well.
                let _ = stop.wait_for(|stopped| *stopped).await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "simulator stopped with an error");
            }
        });
        Ok(Simulator { shared })
    }

    /// Like [`Simulator::start`], but serves from a new thread with its own runtime, so the
    /// caller may block (synchronous tests, running the binary with `std::process`). The
    /// thread ends on [`Simulator::shutdown`].
    pub fn start_on_thread(
        addr: SocketAddr,
        world: World,
        opts: SimOptions,
    ) -> std::io::Result<Self> {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("halo-sim".to_string())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = started_tx.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match Simulator::start(addr, world, opts).await {
                        Ok(sim) => {
                            let mut stop = sim.shared.shutdown.subscribe();
                            let _ = started_tx.send(Ok(sim));
                            let _ = stop.wait_for(|stopped| *stopped).await;
                        }
                        Err(error) => {
                            let _ = started_tx.send(Err(error));
                        }
                    }
                });
            })?;
        started_rx
            .recv()
            .map_err(|_| std::io::Error::other("the simulator thread ended before starting"))?
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    /// The environment a client needs to talk to this simulator.
    pub fn env(&self) -> Vec<(String, String)> {
        let base = &self.shared.base;
        let creds = self.shared.lock().world.credentials.clone();
        let mut env = vec![
            ("HALO_URL".to_string(), base.clone()),
            ("HALO_CLIENT_ID".to_string(), creds.halo_client_id),
            ("HALO_CLIENT_SECRET".to_string(), creds.halo_client_secret),
        ];
        if let Some(tenant) = creds.halo_tenant {
            env.push(("HALO_TENANT".to_string(), tenant));
        }
        env.extend([
            ("ENTRA_CLIENT_ID".to_string(), creds.entra_client_id),
            ("ENTRA_CLIENT_SECRET".to_string(), creds.entra_client_secret),
            ("ENTRA_AUTHORITY_HOST".to_string(), format!("{base}/entra")),
            ("GRAPH_URL".to_string(), format!("{base}/graph")),
        ]);
        env
    }

    /// Adds a fault (after the ones already injected).
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// A snapshot of the data.
    pub fn world(&self) -> World {
        self.shared.lock().world.clone()
    }

    /// Changes the data in place (e.g. source data between two runs).
    pub fn update_world(&self, f: impl FnOnce(&mut World)) {
        f(&mut self.shared.lock().world);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        let mut requests = self.shared.lock().requests.clone();
        requests.sort_by_key(|r| r.seq);
        requests
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Every access token issued so far (tests check that none leaks into output).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.lock().tokens.keys().cloned().collect()
    }

    /// Makes every issued token of `service`'s issuer (Halo or Entra) expired now.
    pub fn expire_tokens(&self, service: Service) {
        let issuer = Issuer::of(service);
        let now = Instant::now();
        for token in self.shared.lock().tokens.values_mut() {
            if token.issuer == issuer {
                token.expires = now;
            }
        }
    }

    /// Stops accepting connections and ends the server once open connections are done.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }
}

/// Maximum request body the simulator reads.
const BODY_LIMIT: usize = 32 * 1024 * 1024;

fn classify(path: &str) -> Option<Service> {
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("/auth/") {
        Some(Service::HaloAuth)
    } else if lower == "/api" || lower.starts_with("/api/") {
        Some(Service::HaloApi)
    } else if lower.starts_with("/entra/") {
        Some(Service::EntraAuth)
    } else if lower.starts_with("/graph/") {
        Some(Service::Graph)
    } else {
        None
    }
}

async fn dispatch(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    if path == "/_sim" || path.starts_with("/_sim/") {
        return control(&shared, &parts.method, &path, body).await;
    }
    let Some(service) = classify(&path) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let arrived = Instant::now();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let method = parts.method.clone();
    let path_and_query = if raw_query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{raw_query}")
    };

    let (seq, ids, fault) = {
        let mut st = shared.lock();
        let seq = st.seq;
        st.seq += 1;
        let request_id = st.rng.guid();
        let client_request_id = parts
            .headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| request_id.clone(), str::to_string);
        let fault = st
            .faults
            .on_request(service, method.as_str(), &path_and_query);
        let ids = RequestIds {
            request_id,
            client_request_id,
        };
        (seq, ids, fault)
    };

    if !shared.opts.latency.is_zero() {
        tokio::time::sleep(shared.opts.latency).await;
    }
    if let Some(FaultKind::Delay { ms }) = fault {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => Bytes::new(),
    };
    let logged_body = (method != Method::GET
        && matches!(service, Service::HaloApi | Service::Graph)
        && !body.is_empty())
    .then(|| String::from_utf8_lossy(&body).into_owned());

    let mut response = match &fault {
        Some(FaultKind::TooManyRequests { retry_after }) => {
            too_many_requests(service, &shared.opts, &ids, *retry_after)
        }
        Some(FaultKind::Html { status }) => html_page(*status),
        Some(FaultKind::Status {
            status,
            body,
            content_type,
        }) => canned(*status, body, content_type),
        Some(FaultKind::DropBeforeCommit) => dropped(),
        _ => {
            let ctx = Ctx {
                method: &method,
                path: &path,
                query: url::form_urlencoded::parse(raw_query.as_bytes())
                    .into_owned()
                    .collect(),
                headers: &parts.headers,
                body: &body,
                ids: &ids,
                opts: &shared.opts,
                base: &shared.base,
                now: Instant::now(),
            };
            let response = process(&shared, service, fault.as_ref(), &ctx);
            match &fault {
                Some(FaultKind::CommitThenDrop) => keep_tag(response, dropped()),
                Some(FaultKind::CommitThenHtml { status }) => {
                    keep_tag(response, html_page(*status))
                }
                _ => response,
            }
        }
    };

    let is_dropped = response.extensions().get::<Dropped>().is_some();
    add_id_headers(service, &ids, response.headers_mut());
    let record = RequestRecord {
        seq,
        service,
        method: method.to_string(),
        path,
        query: raw_query,
        status: (!is_dropped).then(|| response.status().as_u16()),
        fault: fault.as_ref().map(|f| f.name().to_string()),
        request_id: ids.request_id.clone(),
        tenant: response
            .extensions()
            .get::<TenantTag>()
            .map(|t| t.0.clone()),
        body: logged_body,
        response_properties: response
            .extensions()
            .get::<ResponseProperties>()
            .map(|p| p.0.clone())
            .unwrap_or_default(),
        at: arrived,
        elapsed: arrived.duration_since(shared.started),
        duration: arrived.elapsed(),
    };
    shared.lock().requests.push(record);
    response
}

/// Handles a request for real (under the lock), after a `RevokeTokens` fault and the rate
/// limit had their say.
fn process(
    shared: &Shared,
    service: Service,
    fault: Option<&FaultKind>,
    ctx: &Ctx<'_>,
) -> Response {
    let mut st = shared.lock();
    if fault == Some(&FaultKind::RevokeTokens) {
        st.revoke_tokens(Issuer::of(service));
    }
    if let Some(limited) = rate_limited(&mut st, service, &shared.opts, ctx.now) {
        return limited;
    }
    match service {
        Service::HaloAuth => halo::token(ctx, &mut st),
        Service::HaloApi => halo::api(ctx, &mut st),
        Service::EntraAuth => graph::token(ctx, &mut st),
        Service::Graph => graph::api(ctx, &mut st),
    }
}

/// `replacement`, carrying the tenant tag of the `processed` response it replaces.
fn keep_tag(processed: Response, mut replacement: Response) -> Response {
    if let Some(tag) = processed.extensions().get::<TenantTag>().cloned() {
        replacement.extensions_mut().insert(tag);
    }
    replacement
}

/// Counts a Halo request against the sliding window; the 429 to send if over the limit.
/// Rejected requests do not count.
fn rate_limited(
    st: &mut State,
    service: Service,
    opts: &SimOptions,
    now: Instant,
) -> Option<Response> {
    let (limit, window) = opts.halo_rate_limit?;
    if !service.is_halo() {
        return None;
    }
    while st
        .halo_window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        st.halo_window.pop_front();
    }
    if st.halo_window.len() >= limit as usize {
        return Some(halo_rate_limit_response(limit, window, None));
    }
    st.halo_window.push_back(now);
    None
}

fn halo_rate_limit_response(limit: u32, window: Duration, retry_after: Option<u64>) -> Response {
    let secs = window.as_secs();
    let window = if secs == 0 {
        format!("{} millisecond", window.as_millis())
    } else if secs.is_multiple_of(60) {
        format!("{} minute", secs / 60)
    } else {
        format!("{secs} second")
    };
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        format!("Rate Limit Reached - {limit} Requests per rolling {window} window"),
    )
        .into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn too_many_requests(
    service: Service,
    opts: &SimOptions,
    ids: &RequestIds,
    retry_after: Option<u64>,
) -> Response {
    let mut response = match service {
        Service::HaloAuth | Service::HaloApi => {
            let (limit, window) = opts
                .halo_rate_limit
                .unwrap_or((300, Duration::from_secs(300)));
            return halo_rate_limit_response(limit, window, retry_after);
        }
        Service::Graph => graph::error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests.",
            ids,
        ),
        Service::EntraAuth => graph::oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            50196,
            "The server is temporarily unable to handle the request due to throttling.",
            ids,
        ),
    };
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// A gateway's HTML error page.
fn html_page(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let page = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

fn canned(status: u16, body: &str, content_type: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body.to_string()).into_response();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// The property names of the records a Halo answer carries (see
/// [`RequestRecord::response_properties`]).
#[derive(Debug, Clone)]
pub(crate) struct ResponseProperties(Vec<String>);

/// Marks a response whose connection is dropped.
#[derive(Debug, Clone, Copy)]
struct Dropped;

/// A response whose body fails before the first byte: hyper then closes the connection
/// without writing anything (the head is still buffered), so the client sees a connection
/// error, not a status.
fn dropped() -> Response {
    let stream = futures::stream::iter([Err::<Bytes, std::io::Error>(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "simulated connection drop",
    ))]);
    let mut response = Response::new(Body::from_stream(stream));
    response.extensions_mut().insert(Dropped);
    response
}

fn add_id_headers(service: Service, ids: &RequestIds, headers: &mut HeaderMap) {
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    match service {
        Service::HaloAuth | Service::HaloApi => set("x-request-id", &ids.request_id),
        Service::EntraAuth => {
            set("x-ms-request-id", &ids.request_id);
            set("client-request-id", &ids.client_request_id);
        }
        Service::Graph => {
            set("request-id", &ids.request_id);
            set("client-request-id", &ids.client_request_id);
        }
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SS`.
pub(crate) fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

/// `/_sim/...`: inspect and steer the simulator (for the `sim` command).
async fn control(shared: &Shared, method: &Method, path: &str, body: Body) -> Response {
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
    };
    let to_json = |value: serde_json::Result<serde_json::Value>| match value {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    };
    match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/_sim/world") => to_json(serde_json::to_value(&shared.lock().world)),
        ("GET", "/_sim/requests") => {
            let mut requests = shared.lock().requests.clone();
            requests.sort_by_key(|r| r.seq);
            to_json(serde_json::to_value(&requests))
        }
        ("POST", "/_sim/faults") => match serde_json::from_slice::<Fault>(&body) {
            Ok(fault) => match fault.kind.validate() {
                Ok(()) => {
                    shared.lock().faults.push(fault);
                    StatusCode::NO_CONTENT.into_response()
                }
                Err(error) => (StatusCode::BAD_REQUEST, error).into_response(),
            },
            Err(error) => {
                (StatusCode::BAD_REQUEST, format!("invalid fault: {error}")).into_response()
            }
        },
        ("DELETE", "/_sim/faults") => {
            shared.lock().faults.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        (_, "/_sim/world" | "/_sim/requests" | "/_sim/faults") => {
            StatusCode::METHOD_NOT_ALLOWED.into_response()
        }
        _ => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}
