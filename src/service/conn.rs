//! Connections: the accept loop `serve` runs (in place of `axum::serve`, which sets no deadline
//! on a client) for a board that a whole LAN can reach:
//!
//! - a request's headers must arrive within the client timeout of when the server starts waiting
//!   for them (a new connection, or the previous answer on a kept-alive one), so silent, idle and
//!   header-trickling connections are closed (hyper's header-read timer);
//! - its body within the client timeout of its headers (the `read_body_in_time` middleware in
//!   `http.rs`, after the token check, so only an authorised client ever gets that far);
//! - at most `max_connections` open: when full, the connection idle the longest (no request in
//!   flight) is closed to make room, so `/healthz` and searches still get in under hundreds of
//!   idle or trickling connections; with every connection busy the new one gets a 503.
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// How long a stop waits for the connections still open.
const DRAIN: Duration = Duration::from_secs(120);

/// Limits on clients.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and then its body.
    pub client_timeout: Duration,
}

/// Connection counters for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Connections open now.
    pub open: AtomicU64,
    /// Connections accepted since start.
    pub accepted: AtomicU64,
    /// Idle connections closed to make room for a new one.
    pub shed: AtomicU64,
    /// New connections answered 503 because every open one had a request in flight.
    pub refused: AtomicU64,
}

/// One open connection as the table sees it.
struct Conn {
    /// Requests in flight on it.
    busy: AtomicUsize,
    /// When it last became idle (milliseconds since the table started).
    idle_since_ms: AtomicU64,
    /// Told to close (shed).
    close: Notify,
}

/// The open connections, for the cap and for choosing which one to shed.
struct Table {
    open: Mutex<Vec<(u64, Arc<Conn>)>>,
    next: AtomicU64,
    epoch: Instant,
    max: usize,
    stats: Arc<ConnStats>,
}

impl Table {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// A place for a new connection: free, or made by shedding the longest-idle one; `None` when
    /// every open connection has a request in flight.
    fn admit(&self) -> Option<(u64, Arc<Conn>)> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= self.max {
            let oldest = open
                .iter()
                .enumerate()
                .filter(|(_, (_, c))| c.busy.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, (_, c))| c.idle_since_ms.load(Ordering::Relaxed))
                .map(|(i, _)| i)?;
            let (_, shed) = open.swap_remove(oldest);
            shed.close.notify_one();
            self.stats.shed.fetch_add(1, Ordering::Relaxed);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let c = Arc::new(Conn {
            busy: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(self.now_ms()),
            close: Notify::new(),
        });
        open.push((id, c.clone()));
        Some((id, c))
    }

    fn remove(&self, id: u64) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|(i, _)| *i != id);
    }
}

/// Marks a connection busy for as long as a request runs (also when the client goes away and
/// the request's future is dropped).
struct Busy<'a>(&'a Conn, &'a Table);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0
            .idle_since_ms
            .store(self.1.now_ms(), Ordering::Relaxed);
        self.0.busy.fetch_sub(1, Ordering::Release);
    }
}

/// Accept connections and serve `app` on them until `shutdown` resolves; then stop accepting,
/// let the requests in flight finish (a write commits or does not start) and return.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    stats: Arc<ConnStats>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let table = Arc::new(Table {
        open: Mutex::new(Vec::new()),
        next: AtomicU64::new(0),
        epoch: Instant::now(),
        max: limits.max_connections.max(1),
        stats,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    log::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        while tasks.try_join_next().is_some() {}
        table.stats.accepted.fetch_add(1, Ordering::Relaxed);
        let Some((id, conn)) = table.admit() else {
            table.stats.refused.fetch_add(1, Ordering::Relaxed);
            refuse(stream);
            continue;
        };
        let (app, table, stop) = (app.clone(), table.clone(), stop_rx.clone());
        tasks.spawn(async move {
            table.stats.open.fetch_add(1, Ordering::Relaxed);
            one_connection(stream, app, &table, &conn, limits, stop).await;
            table.remove(id);
            table.stats.open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Requests in flight finish (a write commits); a client that never reads its answer does not
    // hold the stop for longer than this.
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN, drain).await.is_err() {
        log::warn!(
            "stopping with connections still open after {} s",
            DRAIN.as_secs()
        );
    }
    Ok(())
}

/// Serve one connection until the client closes it, a deadline passes, it is shed, or the
/// service stops (then gracefully: the request in flight is answered first).
async fn one_connection(
    stream: TcpStream,
    app: Router,
    table: &Table,
    conn: &Conn,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let svc = hyper::service::service_fn(|req: hyper::Request<hyper::body::Incoming>| {
        conn.busy.fetch_add(1, Ordering::Acquire);
        let guard = Busy(conn, table);
        let answer = app.clone().oneshot(req.map(axum::body::Body::new));
        async move {
            let r: Result<_, Infallible> = answer.await;
            drop(guard);
            r
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.client_timeout)
        .keep_alive(true);
    let c = http.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(c);
    tokio::select! {
        r = c.as_mut() => {
            if let Err(e) = r {
                log::debug!("connection: {e}");
            }
        }
        _ = conn.close.notified() => {
            // Chosen while idle; a request that started since is answered first.
            if conn.busy.load(Ordering::Acquire) > 0 {
                c.as_mut().graceful_shutdown();
                let _ = c.as_mut().await;
            }
            log::debug!("closed an idle connection to make room");
        }
        _ = stop.changed() => {
            c.as_mut().graceful_shutdown();
            let _ = c.as_mut().await;
        }
    }
}

/// Answer a connection there is no room for with a 503 and close it (best effort: the answer is
/// small enough for an empty socket buffer).
fn refuse(stream: TcpStream) {
    const BODY: &str =
        "{\"error\":{\"code\":\"busy\",\"message\":\"too many open connections; retry shortly\"}}";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}
