//! The HTTP side of the service (axum on a small tokio runtime): routes, auth, limits, one log
//! line per request, graceful stop. Every answer is JSON except the page, the metrics text and
//! the MCP stream; every error is [`ApiError`]'s `{"error": {"code", "message"}}`.
use super::api::{ApiError, DocumentIn, SearchRequest};
use super::conn::{ConnLimits, ConnStats};
use super::metrics::rss_bytes;
use super::pool::{Busy, Panicked, Pool};
use super::Service;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

/// Largest request body (documents to add); a search body is far smaller.
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// The kiosk page (self-contained: no external script, style or font).
pub const KIOSK_HTML: &str = include_str!("kiosk.html");
/// The API description.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// How the HTTP side runs.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Bearer token every route but `/` and `/healthz` requires.
    pub token: Option<String>,
    /// Serve a non-loopback address without a token (explicitly asked for).
    pub insecure_no_auth: bool,
    /// Requests using the encoder at once.
    pub workers: usize,
    /// Requests waiting for a worker before new ones get 503.
    pub queue: usize,
    /// Most connections open at once (the longest-idle one is closed to make room).
    pub max_connections: usize,
    /// How long a client may take to send a request's headers (also the keep-alive idle time),
    /// and then its body.
    pub client_timeout: std::time::Duration,
}

impl HttpOptions {
    /// Refuse to expose an unauthenticated service beyond this machine.
    pub fn check(&self) -> Result<(), String> {
        if let Some(t) = &self.token {
            if t.trim().is_empty() || t.chars().any(|c| c.is_control() || c == ' ') {
                return Err(
                    "--token must be non-empty, without spaces or control characters".into(),
                );
            }
        }
        if self.max_connections < 2 {
            return Err("--max-connections must be at least 2".into());
        }
        if !(1..=600).contains(&self.client_timeout.as_secs()) {
            return Err("--client-timeout must be 1 to 600 seconds".into());
        }
        if !self.listen.ip().is_loopback() && self.token.is_none() && !self.insecure_no_auth {
            return Err(format!(
                "{} is reachable from other machines: give --token T (clients send \
                 `Authorization: Bearer T`) or, on a trusted network, --insecure-no-auth",
                self.listen
            ));
        }
        Ok(())
    }
}

#[derive(Clone)]
struct AppState {
    svc: Arc<Service>,
    pool: Arc<Pool>,
    token: Option<Arc<str>>,
    /// Without a token on loopback: only `Host: localhost | 127.0.0.1 | [::1]` (DNS rebinding).
    loopback_hosts_only: bool,
    started: Instant,
    conns: Arc<ConnStats>,
    client_timeout: std::time::Duration,
}

/// Serve until `shutdown` resolves; then stop taking connections, let requests in flight finish
/// (a write commits or does not start) and return.
pub async fn serve(
    svc: Arc<Service>,
    opts: HttpOptions,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let pool = Arc::new(Pool::new(opts.workers, opts.queue));
    let mcp_cfg = rmcp::transport::streamable_http_server::StreamableHttpServerConfig::default()
        .with_sse_keep_alive(None)
        .with_json_response(true);
    let mcp_cfg = if opts.listen.ip().is_loopback() {
        mcp_cfg
    } else {
        // Reached by LAN names or addresses; the bearer token (or the explicit no-auth choice)
        // is the guard.
        mcp_cfg.disable_allowed_hosts()
    };
    let ct = mcp_cfg.cancellation_token.clone();
    let mcp = super::mcp::http_service(svc.clone(), pool.clone(), mcp_cfg);
    let state = AppState {
        svc,
        pool,
        token: opts.token.as_deref().map(Arc::from),
        loopback_hosts_only: opts.token.is_none() && opts.listen.ip().is_loopback(),
        started: Instant::now(),
        conns: Arc::new(ConnStats::default()),
        client_timeout: opts.client_timeout,
    };
    let conns = state.conns.clone();
    let app = router(state.clone()).nest_service("/mcp", mcp);
    let app = app
        .layer(middleware::from_fn_with_state(
            state.clone(),
            read_body_in_time,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn_with_state(state, log_and_count))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let limits = ConnLimits {
        max_connections: opts.max_connections,
        client_timeout: opts.client_timeout,
    };
    super::conn::serve(listener, app, limits, conns, async move {
        shutdown.await;
        ct.cancel();
    })
    .await
}

/// Read the whole body within the client timeout of its headers (after the token check: only an
/// authorised client gets this far), so a body trickled a byte at a time cannot hold a
/// connection; then hand the request on with the body in memory (at most [`MAX_BODY_BYTES`]).
async fn read_body_in_time(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let read = axum::body::to_bytes(body, MAX_BODY_BYTES);
    let bytes = match tokio::time::timeout(s.client_timeout, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|c| c.is::<http_body_util::LengthLimitError>());
            return if too_large {
                ApiError::new(
                    413,
                    "too_large",
                    format!("the body is larger than {} MiB", MAX_BODY_BYTES >> 20),
                )
            } else {
                ApiError::bad_request(format!("could not read the body: {e}"))
            }
            .into_response();
        }
        Err(_) => {
            let mut r = ApiError::new(
                408,
                "request_timeout",
                format!(
                    "the body did not arrive within {} s",
                    s.client_timeout.as_secs()
                ),
            )
            .into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/search", get(search_get).post(search_post))
        .route("/v1/info", get(info))
        .route("/v1/sources", get(sources))
        .route("/v1/documents", post(add_documents))
        .route("/v1/documents/{id}", delete(remove_document))
        .route("/v1/sync", post(sync))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (status, Json(self.body())).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

pub(super) fn busy() -> ApiError {
    ApiError::new(
        503,
        "busy",
        "every worker is busy and the queue is full; retry shortly",
    )
}

/// Run blocking `f` through the pool; a panic in it becomes a 500, a full pool a 503.
pub(super) async fn pooled<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    match pool.run(f).await {
        Err(Busy) => Err(busy()),
        Ok(Err(Panicked)) => Err(ApiError::internal("the request failed inside the service")),
        Ok(Ok(v)) => v,
    }
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        KIOSK_HTML,
    )
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

async fn healthz(State(s): State<AppState>) -> Response {
    let passages = s.svc.index().len();
    let uptime = s.started.elapsed().as_secs();
    match s.svc.corrupt() {
        None => Json(json!({"status": "ok", "passages": passages, "uptime_seconds": uptime}))
            .into_response(),
        // Serving garbage is worse than not serving: a supervisor sees the failure.
        Some(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "corrupt", "error": e, "passages": passages,
                        "uptime_seconds": uptime}),
            ),
        )
            .into_response(),
    }
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let extra = [
        (
            "leann_rss_bytes",
            "Resident memory of the process.",
            rss_bytes() as f64,
        ),
        (
            "leann_index_passages",
            "Passages in the index.",
            s.svc.index().len() as f64,
        ),
        (
            "leann_index_corrupt",
            "1 when a read found damage in the index being served (see /healthz), else 0.",
            if s.svc.corrupt().is_some() { 1.0 } else { 0.0 },
        ),
        (
            "leann_pool_in_flight",
            "Requests running or waiting for a worker.",
            s.pool.in_flight() as f64,
        ),
        (
            "leann_pool_workers",
            "Requests that may use the encoder at once.",
            s.pool.workers() as f64,
        ),
        (
            "leann_pool_rejected",
            "Requests refused with 503 since start.",
            s.pool.rejected() as f64,
        ),
        (
            "leann_http_connections_open",
            "Client connections open now.",
            s.conns.open.load(Relaxed) as f64,
        ),
        (
            "leann_http_connections_accepted",
            "Client connections accepted since start.",
            s.conns.accepted.load(Relaxed) as f64,
        ),
        (
            "leann_http_connections_shed",
            "Idle connections closed to make room for a new one since start.",
            s.conns.shed.load(Relaxed) as f64,
        ),
        (
            "leann_http_connections_refused",
            "Connections answered 503 (every open one busy) since start.",
            s.conns.refused.load(Relaxed) as f64,
        ),
    ];
    let cache = s.svc.recompute_cache_stats().unwrap_or_default();
    let extra = [
        extra.as_slice(),
        &[
            (
                "leann_recompute_cache_hits",
                "Passage embeddings served from the recompute cache since start.",
                cache.hits as f64,
            ),
            (
                "leann_recompute_cache_misses",
                "Passage embeddings the recompute cache did not hold since start.",
                cache.misses as f64,
            ),
            (
                "leann_recompute_cache_entries",
                "Passage embeddings the recompute cache holds.",
                cache.entries as f64,
            ),
        ],
    ]
    .concat();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.svc.metrics.render(&extra),
    )
}

async fn search_get(
    State(s): State<AppState>,
    q: Result<Query<SearchRequest>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(req) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    run_search(s, req).await
}

async fn search_post(
    State(s): State<AppState>,
    body: Result<Json<SearchRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(req) = body.map_err(json_rejection)?;
    run_search(s, req).await
}

async fn run_search(s: AppState, req: SearchRequest) -> Result<Json<Value>, ApiError> {
    // Parameters are checked before the request takes a place in the queue.
    s.svc.check(&req)?;
    let svc = s.svc.clone();
    let a = pooled(&s.pool, move || svc.search(&req)).await?;
    Ok(Json(
        serde_json::to_value(a).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}

async fn info(State(s): State<AppState>) -> Json<Value> {
    let mut v = s.svc.info();
    v["service"]["workers"] = json!(s.pool.workers());
    v["service"]["queue"] = json!(s.pool.queue());
    Json(v)
}

async fn sources(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let svc = s.svc.clone();
    let l = pooled(&s.pool, move || svc.sources()).await?;
    Ok(Json(
        serde_json::to_value(l).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}

/// `{"documents": [...]}` or a bare array of documents.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Documents {
    Wrapped { documents: Vec<DocumentIn> },
    Bare(Vec<DocumentIn>),
}

async fn add_documents(
    State(s): State<AppState>,
    body: Result<Json<Documents>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let docs = match body.map_err(json_rejection)?.0 {
        Documents::Wrapped { documents } | Documents::Bare(documents) => documents,
    };
    s.svc.config_writable()?;
    let svc = s.svc.clone();
    let r = pooled(&s.pool, move || svc.add_documents(&docs)).await?;
    Ok(Json(
        serde_json::to_value(r).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}

async fn remove_document(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    s.svc.config_writable()?;
    let svc = s.svc.clone();
    let r = pooled(&s.pool, move || svc.remove_document(&id)).await?;
    Ok(Json(
        serde_json::to_value(r).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}

async fn sync(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    s.svc.config_writable()?;
    let svc = s.svc.clone();
    let r = pooled(&s.pool, move || svc.sync()).await?;
    Ok(Json(
        serde_json::to_value(r).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route {} {}; see /v1/openapi.json",
        req.method(),
        req.uri().path()
    ))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        405,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

fn json_rejection(e: JsonRejection) -> ApiError {
    let status = e.status().as_u16();
    let code = if status == 413 {
        "too_large"
    } else {
        "invalid_body"
    };
    ApiError::new(status, code, e.body_text())
}

/// Bearer-token check (when a token is set); the page and the health check stay open, the page
/// sends the token it was given in its URL fragment.
async fn auth(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if s.loopback_hosts_only && !loopback_host(&req) {
        return ApiError::forbidden(
            "bad_host",
            "this service answers requests for localhost only (start it with --token to serve other names)",
        )
        .into_response();
    }
    // A cross-site form can POST without asking; it cannot send a JSON content type.
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if req.method() == Method::POST && req.uri().path().starts_with("/v1/") && !json {
        return ApiError::new(
            415,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        )
        .into_response();
    }
    let Some(token) = &s.token else {
        return next.run(req).await;
    };
    let open = req.method() == Method::GET && matches!(req.uri().path(), "/" | "/healthz");
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if open || given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
        return next.run(req).await;
    }
    let mut r = ApiError::new(
        401,
        "unauthorized",
        "send `Authorization: Bearer TOKEN` (the token serve was started with)",
    )
    .into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// Whether the request names this machine's loopback (any port) in exactly one `Host` header
/// (or, without one, in its URI), parsed strictly: `localhost`, `127.0.0.1` or `[::1]`, then
/// nothing or `:PORT` (digits). `localhost:80@evil.com`, `[::1]evil` and a second `Host` are not.
fn loopback_host(req: &Request) -> bool {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(h), None) => h.to_str().ok(),
        (None, _) => req.uri().authority().map(|a| a.as_str()),
        (Some(_), Some(_)) => None,
    };
    host.is_some_and(is_loopback_authority)
}

/// `host[:port]` naming loopback, nothing else (see [`loopback_host`]).
fn is_loopback_authority(host: &str) -> bool {
    let (name, rest) = match host.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((name, rest)) => (name, rest),
            None => return false,
        },
        None => match host.find(':') {
            Some(i) => host.split_at(i),
            None => (host, ""),
        },
    };
    let port_ok = match rest.strip_prefix(':') {
        Some(p) => !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()),
        None => rest.is_empty(),
    };
    port_ok && matches!(name, "localhost" | "127.0.0.1" | "::1")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// One log line per request (method, path, status, ms) and the request metrics. A request whose
/// client went away before the answer (its future dropped; a write it started still commits) is
/// logged and counted as status 499.
async fn log_and_count(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| {
            if path.starts_with("/mcp") {
                "/mcp".into()
            } else {
                "other".into()
            }
        });
    let mut line = RequestLog {
        s: &s,
        method,
        path,
        route,
        t: Instant::now(),
        status: None,
    };
    let r = next.run(req).await;
    line.status = Some(r.status().as_u16());
    r
}

/// Logs its request when dropped: with its status, or as 499 when the answer never came.
struct RequestLog<'a> {
    s: &'a AppState,
    method: Method,
    path: String,
    route: String,
    t: Instant,
    status: Option<u16>,
}

impl Drop for RequestLog<'_> {
    fn drop(&mut self) {
        let secs = self.t.elapsed().as_secs_f64();
        let status = self.status.unwrap_or(499);
        self.s.svc.metrics.record_request(&self.route, status, secs);
        // A URI path is printable ASCII (hyper refuses anything else), so it is safe to log as is.
        let gone = if self.status.is_none() {
            " (client went away before the answer)"
        } else {
            ""
        };
        eprintln!(
            "{} {} {status} {:.1}ms{gone}",
            self.method,
            self.path,
            secs * 1e3
        );
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback_authority as ok;

    #[test]
    fn only_loopback_names_with_an_optional_numeric_port_pass() {
        for h in [
            "localhost",
            "localhost:7878",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:80",
        ] {
            assert!(ok(h), "{h}");
        }
        for h in [
            "localhost:80@evil.com",
            "[::1]evil",
            "[::1]:",
            "localhost:",
            "localhost:8o",
            "localhost.evil.com",
            "evil.com",
            "127.0.0.1:123456",
            "[::1",
            "",
        ] {
            assert!(!ok(h), "{h}");
        }
    }
}
