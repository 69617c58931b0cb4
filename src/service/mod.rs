//! The resident service: one loaded encoder and index answering many requests.
//!
//! - [`Service`] (this file): an [`Engine`] (the library's front door: every search and change
//!   is the engine's, so the service decides nothing a library user cannot get) plus counters, the
//!   sync paths fixed at start and HTTP-shaped errors.
//! - [`pool`]: the bounded worker pool and queue every encoder-using request goes through.
//! - [`http`]: the HTTP JSON API under `/v1`, `/healthz`, `/metrics`, the kiosk page at `/`, MCP at
//!   `/mcp`; auth, body limits, one log line per request, graceful stop.
//! - [`mcp`]: the MCP tools (`search_documents`, `list_sources`, `add_document`), over stdio
//!   (`leann-edge mcp`) or streamable HTTP.
//! - [`metrics`]: Prometheus text.
use crate::engine::{Engine, Hooks};
use crate::error::Error;
use crate::flash::FileSource;
use crate::index::listing::Sources;
use crate::index::{Answer, ChangeReport, Index, RecomputeCacheStats};
use crate::ingest::IngestOptions;
use crate::search::MAX_K;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// How often, at most, the service checks whether its index file was replaced.
const FOLLOW_EVERY_MS: u64 = 500;

pub mod api;
pub mod conn;
pub mod http;
pub mod mcp;
pub mod metrics;
pub mod pool;

pub use api::{ApiError, DocumentIn, SearchRequest};

/// Most hits one request may ask for (the CLI allows more; a served page or agent never needs it).
pub const MAX_SERVED_K: usize = 100;

/// What the service adds to its engine.
#[derive(Clone, Debug, Default)]
pub struct ServiceConfig {
    /// Paths `POST /v1/sync` makes the index reflect (fixed at start: requests name no paths).
    pub sync_paths: Vec<PathBuf>,
    /// Ingest options for sync and added documents.
    pub ingest: IngestOptions,
}

/// One loaded engine answering many requests (see the module docs). Every operation is the
/// engine's; the service adds counters, the configured sync paths and HTTP-shaped errors.
pub struct Service {
    cfg: ServiceConfig,
    engine: Engine,
    /// The damage a read found in the current snapshot (bad checksum), for `/healthz` and
    /// `/metrics`; cleared when another file is swapped in.
    corrupt: std::sync::Mutex<Option<String>>,
    /// When the index file was last checked for a replacement (ms since `started`).
    followed_ms: AtomicU64,
    started: Instant,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
}

impl Service {
    /// Take the engine (opened with the service's defaults, `max_k` at most [`MAX_SERVED_K`]) and
    /// warm it up with one search, so that the first request is as fast as the next ones.
    pub fn open(cfg: ServiceConfig, engine: Engine) -> Result<Self, Error> {
        engine.warm_up()?;
        Ok(Service {
            cfg,
            engine,
            corrupt: std::sync::Mutex::new(None),
            followed_ms: AtomicU64::new(0),
            started: Instant::now(),
            metrics: metrics::Metrics::default(),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The current snapshot of the index.
    pub fn index(&self) -> Arc<Index<FileSource>> {
        self.engine.index()
    }

    /// Before a search or a listing, on a worker thread (never on the network thread: it may open
    /// a file), at most every half second: swap to the index file if another process
    /// replaced it (`leann-edge sync` from cron, a rename-deploy), logged and counted; a
    /// replacement that cannot be served is logged and the previous snapshot stays.
    pub fn follow_file(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.followed_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < FOLLOW_EVERY_MS
            || self
                .followed_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let path = self.engine.path().display();
        match self.engine.follow_replaced() {
            Ok(false) => {}
            Ok(true) => {
                self.metrics.record_reload();
                self.set_corrupt(None);
                eprintln!(
                    "leann-edge: {path} was replaced by another process; now serving it ({} passages)",
                    self.engine.index().len()
                );
            }
            Err(e) => eprintln!(
                "leann-edge: {path} was replaced by a file this service cannot serve ({e}); still serving the previous one"
            ),
        }
    }

    /// The recompute cache's counters (`None`: no cache).
    pub fn recompute_cache_stats(&self) -> Option<RecomputeCacheStats> {
        self.engine.recompute_cache_stats()
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.cfg
    }

    /// Damage a read found in the index being served (a bad checksum), if any: `/healthz`
    /// answers 503 with it and `/metrics` sets `leann_index_corrupt`.
    pub fn corrupt(&self) -> Option<String> {
        self.corrupt
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_corrupt(&self, what: Option<String>) {
        *self.corrupt.lock().unwrap_or_else(|e| e.into_inner()) = what;
    }

    /// Note damage an engine error reports about snapshot `generation` (and pass the error on):
    /// an error from a snapshot swapped out since says nothing about the current one.
    fn seen(&self, e: Error, generation: u64) -> Error {
        if e.code() == crate::ErrorCode::Corrupt && generation == self.engine.generation() {
            eprintln!("leann-edge: {e}");
            self.set_corrupt(Some(e.to_string()));
        }
        e
    }

    /// Answer a search request.
    pub fn search(&self, req: &SearchRequest) -> Result<Answer, ApiError> {
        self.follow_file();
        let g = self.engine.generation();
        let a = self.engine.search(req).map_err(|e| self.seen(e, g))?;
        self.metrics.record_search(&a.stats);
        Ok(a)
    }

    /// Check a request before it takes a place in the queue.
    pub fn check(&self, req: &SearchRequest) -> Result<(), ApiError> {
        req.resolve(self.engine.defaults())?;
        Ok(())
    }

    /// Storage breakdown and build parameters (`info --json`), plus the service's settings.
    pub fn info(&self) -> serde_json::Value {
        let mut v = self.engine.info();
        let d = self.engine.defaults();
        v["service"] = serde_json::json!({
            "index": self.engine.path().display().to_string(),
            "read_only": self.engine.read_only(),
            "sync_configured": !self.cfg.sync_paths.is_empty(),
            "search_defaults": d.params,
            "min_score": d.min_score,
            "mode": d.ranking,
            "recompute_cache": self.recompute_cache_stats(),
            "max_k": d.max_k.min(MAX_K),
        });
        v
    }

    /// The sources of the index (`list --json`).
    pub fn sources(&self) -> Result<Sources, ApiError> {
        self.follow_file();
        let g = self.engine.generation();
        Ok(self.engine.list().map_err(|e| self.seen(e, g))?)
    }

    /// Add or replace passages given as JSONL-shaped documents.
    pub fn add_documents(&self, docs: &[DocumentIn]) -> Result<ChangeReport, ApiError> {
        self.config_writable()?;
        let r = self
            .engine
            .add_documents(docs, &self.cfg.ingest, &Hooks::default());
        self.wrote(r)
    }

    /// Remove passages by JSONL id (a long record's parts `ID#2`… go with it).
    pub fn remove_document(&self, id: &str) -> Result<ChangeReport, ApiError> {
        self.config_writable()?;
        self.wrote(self.engine.remove_ids(&[id.to_string()], &Hooks::default()))
    }

    /// Make the index reflect the paths given at start (`serve --sync PATH`).
    pub fn sync(&self) -> Result<ChangeReport, ApiError> {
        self.config_writable()?;
        if self.cfg.sync_paths.is_empty() {
            return Err(ApiError::conflict(
                "sync_not_configured",
                "this service syncs nothing: start it with `serve --sync PATH` (requests cannot name paths)",
            ));
        }
        let r = self.engine.sync(
            &self.cfg.sync_paths,
            &self.cfg.ingest,
            false,
            &Hooks::default(),
        );
        self.wrote(r.map(|(r, _)| r))
    }

    /// 403 when the service is read-only (checked before a write takes a place in the queue).
    pub fn config_writable(&self) -> Result<(), ApiError> {
        Ok(self.engine.writable()?)
    }

    fn wrote(&self, r: Result<ChangeReport, Error>) -> Result<ChangeReport, ApiError> {
        let g = self.engine.generation();
        let r = r.map_err(|e| self.seen(e, g))?;
        self.set_corrupt(None);
        self.metrics.record_write();
        Ok(r)
    }
}
