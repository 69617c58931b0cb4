//! `leann-edge serve` and `leann-edge mcp`: the index and encoder loaded once, answering HTTP
//! (JSON API, kiosk page, MCP at `/mcp`) or MCP over stdio. The service itself is
//! [`leann_edge::service`]; this file turns options into its configuration and runs it.
use super::common::{Global, SearchOpts};
use super::ingest_opts::IngestArgs;
use anyhow::{bail, Context, Result};
use clap::Args;
use leann_edge::service::http::{self, HttpOptions};
use leann_edge::service::pool::Pool;
use leann_edge::service::{Service, ServiceConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Most requests that may wait for a worker (`--queue`).
pub const MAX_QUEUE: usize = 4096;

/// What `serve` and `mcp` share: the index, writes, search defaults.
#[derive(Args, Clone, Debug)]
pub struct ServiceArgs {
    /// Index file.
    pub index: PathBuf,
    /// Refuse every write (add, remove, sync).
    #[arg(long)]
    pub read_only: bool,
    /// A file or folder `POST /v1/sync` makes the index reflect (repeatable). Requests name no
    /// paths, so nothing a client sends reaches other files.
    #[arg(long = "sync", value_name = "PATH")]
    pub sync_paths: Vec<PathBuf>,
    /// Default score floor (cosine): hits below it are dropped, so a question with no good answer
    /// gets none (a request's `min_score` overrides it; -1 keeps every hit).
    #[arg(long, default_value_t = DEFAULT_MIN_SCORE, allow_hyphen_values = true)]
    pub min_score: f32,
    /// RAM for recently recomputed embeddings (f16, never written to disk), MB; a repeated or
    /// related question skips the encoder for passages already embedded (default: the board's;
    /// 0 = off).
    #[arg(long)]
    pub recompute_cache_mb: Option<u64>,
    #[command(flatten)]
    pub s: SearchOpts,
    #[command(flatten)]
    pub ingest: IngestArgs,
}

/// The service's default `--min-score`: a voice assistant should say "nothing found" rather than
/// read out an unrelated passage. On docs-faq no relevant top-10 hit scores below 0.30 while 60% of
/// off-topic questions get no answer at all (docs/benchmarks.md, "Score floor"); `-1` keeps all.
pub const DEFAULT_MIN_SCORE: f32 = 0.30;

/// Run the index as a resident HTTP service.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub svc: ServiceArgs,
    /// Address to listen on (loopback by default; any other address needs --token or
    /// --insecure-no-auth).
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,
    /// Bearer token clients must send (`Authorization: Bearer T`); the page takes it as `/#token=T`.
    #[arg(long, conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the bearer token from this file (keeps it out of the process list).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Serve a non-loopback address without a token (trusted networks only).
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// Requests using the encoder at once (default: cores / encoder threads, at least 1).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Requests that may wait for a worker; more get 503 with Retry-After.
    #[arg(long, default_value_t = 32)]
    pub queue: usize,
    /// Most client connections open at once; when full, the one idle the longest is closed to
    /// make room (default: the board's, also kept under the open-file limit).
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Seconds a client may take to send a request's headers (also how long a kept-alive
    /// connection may sit idle), and then its body.
    #[arg(long, default_value_t = 10)]
    pub client_timeout: u64,
}

/// Serve MCP over stdin/stdout (for desktop assistants that start the server themselves).
#[derive(Args, Clone, Debug)]
pub struct McpArgs {
    #[command(flatten)]
    pub svc: ServiceArgs,
}

impl ServiceArgs {
    fn open(&self, g: &Global) -> Result<Service> {
        if !(-1.0..=1.0).contains(&self.min_score) {
            bail!(
                "--min-score {} is out of range: cosine similarities lie in [-1, 1]",
                self.min_score
            );
        }
        let ingest = self.ingest.options()?;
        for p in &self.sync_paths {
            std::fs::metadata(p).with_context(|| format!("--sync {}", p.display()))?;
        }
        let b = g.board()?;
        let params = self.s.params(&b)?;
        let cache_mb = self
            .recompute_cache_mb
            .unwrap_or(b.recompute_cache_bytes() >> 20);
        if cache_mb > b.ram_budget_mb {
            bail!(
                "--recompute-cache-mb {cache_mb} is more than the board's RAM budget ({} MB)",
                b.ram_budget_mb
            );
        }
        let engine = g.engine(&self.index, |o| {
            o.recompute_cache_bytes = Some(cache_mb.saturating_mul(1 << 20));
            o.read_only = self.read_only;
            o.search = Some(params);
            o.min_score = (self.min_score > -1.0).then_some(self.min_score);
            o.ranking = Some(self.s.mode.into());
            o.max_k = Some(leann_edge::service::MAX_SERVED_K);
        })?;
        let cfg = ServiceConfig {
            sync_paths: self.sync_paths.clone(),
            ingest,
        };
        Ok(Service::open(cfg, engine)?)
    }
}

/// `want`, kept under the open-file limit (raised to its hard limit first): a connection past it
/// would fail to accept and stop `/healthz` from answering; 32 descriptors stay for the index,
/// the model and the logs.
fn max_connections(want: usize) -> usize {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit read and write the one struct they are given.
        let files = unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return want;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
            lim.rlim_cur
        };
        let room = (files as u64).saturating_sub(32).max(2);
        want.min(room.min(usize::MAX as u64) as usize)
    }
    #[cfg(not(unix))]
    want
}

fn runtime(blocking: usize) -> Result<tokio::runtime::Runtime> {
    // One thread for the network (requests are small); the work runs on blocking threads, bounded
    // by the pool.
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(blocking.max(2))
        .build()?)
}

/// Run `serve`.
pub fn run(g: &Global, a: &ServeArgs) -> Result<()> {
    let token = match (&a.token, &a.token_file) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("--token-file {}", f.display()))?
                .trim()
                .to_string(),
        ),
        (None, None) => None,
    };
    if a.queue > MAX_QUEUE {
        bail!("--queue {} is too large: give at most {MAX_QUEUE}", a.queue);
    }
    let b = g.board()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = a.workers.unwrap_or(cores / g.threads(&b)).max(1);
    if workers > 64 {
        bail!("--workers {workers} is too large: give at most 64");
    }
    let opts = HttpOptions {
        listen: a.listen,
        token,
        insecure_no_auth: a.insecure_no_auth,
        workers,
        queue: a.queue,
        max_connections: max_connections(a.max_connections.unwrap_or(b.max_connections())),
        client_timeout: std::time::Duration::from_secs(a.client_timeout),
    };
    opts.check().map_err(anyhow::Error::msg)?;
    let t = std::time::Instant::now();
    let svc = Arc::new(a.svc.open(g)?);
    let rt = runtime(workers + 2)?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {} (another serve running? try --listen 127.0.0.1:7879)", a.listen))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "leann-edge serve: {} ({} passages) on http://{addr}/ — workers {workers}, queue {}, connections {}, {}{}; ready in {:.1} s",
            a.svc.index.display(),
            svc.index().len(),
            a.queue,
            opts.max_connections,
            if a.svc.read_only { "read-only" } else { "writable" },
            if opts.token.is_some() { ", token required" } else { "" },
            t.elapsed().as_secs_f64()
        );
        http::serve(svc, opts, listener, stop_signal()).await?;
        eprintln!("leann-edge serve: stopped");
        Ok(())
    })
}

/// Run `mcp` (stdio).
pub fn run_mcp(g: &Global, a: &McpArgs) -> Result<()> {
    let svc = Arc::new(a.svc.open(g)?);
    eprintln!(
        "leann-edge mcp: {} ({} passages) on stdio",
        a.svc.index.display(),
        svc.index().len()
    );
    let pool = Arc::new(Pool::new(1, MAX_QUEUE));
    runtime(3)?.block_on(leann_edge::service::mcp::serve_stdio(svc, pool))?;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                eprintln!("leann-edge serve: stopping (requests in flight finish)");
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    eprintln!("leann-edge serve: stopping (requests in flight finish)");
}
