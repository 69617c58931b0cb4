//! The resident service: one loaded encoder and index answering many requests.
//!
//! - [`Service`] (this file): the loaded state and its operations, blocking and transport-free
//!   (search, info, sources, add/remove documents, sync). Writes go through the live-index path
//!   ([`crate::index::change`]: a complete new file renamed over the old under the write lock), then
//!   the service swaps in the new snapshot; searches in flight keep the one they started with.
//! - [`pool`]: the bounded worker pool and queue every encoder-using request goes through.
//! - [`http`]: the HTTP JSON API under `/v1`, `/healthz`, `/metrics`, the kiosk page at `/`, MCP at
//!   `/mcp`; auth, body limits, one log line per request, graceful stop.
//! - [`mcp`]: the MCP tools (`search_documents`, `list_sources`, `add_document`), over stdio
//!   (`leann-edge mcp`) or streamable HTTP.
//! - [`metrics`]: Prometheus text.
use crate::embed::tract::TractEmbedder;
use crate::error::Error;
use crate::flash::FileSource;
use crate::index::listing::{self, Sources};
use crate::index::{
    answer, Answer, AnswerOptions, Change, ChangeReport, Index, OpenOptions, RecomputeCache,
    RecomputeCacheStats,
};
use crate::ingest::{collect, IngestOptions};
use crate::search::{SearchParams, MAX_K};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

pub mod api;
pub mod http;
pub mod mcp;
pub mod metrics;
pub mod pool;

pub use api::{ApiError, DocumentIn, SearchRequest};

/// Most hits one request may ask for (the CLI allows more; a served page or agent never needs it).
pub const MAX_SERVED_K: usize = 100;

/// How the service runs.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// The index file.
    pub index: PathBuf,
    /// Refuse every write.
    pub read_only: bool,
    /// Paths `POST /v1/sync` makes the index reflect (fixed at start: requests name no paths).
    pub sync_paths: Vec<PathBuf>,
    /// Ingest options for sync and added documents.
    pub ingest: IngestOptions,
    /// Search defaults (the board's).
    pub params: SearchParams,
    /// Score floor applied when a request gives none (`None`: keep every hit).
    pub min_score: Option<f32>,
    /// Ranking when a request gives none.
    pub ranking: crate::index::Ranking,
    /// RAM for the recompute cache (0 = none).
    pub recompute_cache_bytes: u64,
}

/// One loaded index and encoder (see the module docs).
pub struct Service {
    cfg: ServiceConfig,
    enc: TractEmbedder,
    snapshot: RwLock<Arc<Index<FileSource>>>,
    /// One write at a time inside this process (the file lock guards against other processes).
    write: Mutex<()>,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Recently recomputed embeddings, shared by every request.
    recompute_cache: Option<Arc<RecomputeCache>>,
}

impl Service {
    /// Open the index, check it against the encoder and warm both up with one search, so that the
    /// first request is as fast as the next ones.
    pub fn open(cfg: ServiceConfig, enc: TractEmbedder) -> Result<Self, Error> {
        cfg.params.validate()?;
        let idx = Index::open_file(&cfg.index, &OpenOptions::default())?;
        idx.check_embedder(&enc)?;
        let recompute_cache = RecomputeCache::new(
            usize::try_from(cfg.recompute_cache_bytes).unwrap_or(usize::MAX),
            idx.meta().dim as usize,
            &crate::embed::Embedder::fingerprint(&enc),
        )
        .map(Arc::new);
        let s = Service {
            cfg,
            enc,
            recompute_cache,
            snapshot: RwLock::new(Arc::new(idx)),
            write: Mutex::new(()),
            metrics: metrics::Metrics::default(),
        };
        s.warm_up()?;
        Ok(s)
    }

    fn warm_up(&self) -> Result<(), Error> {
        let idx = self.index();
        if idx.is_empty() {
            return Ok(());
        }
        // A full search: loads the encoder plan's buffers, pages the PQ codes in and touches the
        // passage records, like a real first query would.
        answer(
            &idx,
            &self.enc,
            "warm up",
            &self.cfg.params,
            &AnswerOptions {
                ranking: self.cfg.ranking,
                ..AnswerOptions::default()
            },
        )?;
        Ok(())
    }

    /// The current snapshot of the index.
    pub fn index(&self) -> Arc<Index<FileSource>> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The recompute cache's counters (`None`: no cache).
    pub fn recompute_cache_stats(&self) -> Option<RecomputeCacheStats> {
        self.recompute_cache.as_ref().map(|c| c.stats())
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.cfg
    }

    /// Answer a search request.
    pub fn search(&self, req: &SearchRequest) -> Result<Answer, ApiError> {
        let (p, mut opts) = req.resolve(&self.cfg)?;
        opts.recompute_cache = self.recompute_cache.clone();
        let idx = self.index();
        let a = answer(&idx, &self.enc, &req.query, &p, &opts)?;
        self.metrics.record_search(&a.stats);
        Ok(a)
    }

    /// Storage breakdown and build parameters (`info --json`), plus the service's settings.
    pub fn info(&self) -> serde_json::Value {
        let idx = self.index();
        let mut v = listing::info_json(&idx);
        v["service"] = serde_json::json!({
            "index": self.cfg.index.display().to_string(),
            "read_only": self.cfg.read_only,
            "sync_configured": !self.cfg.sync_paths.is_empty(),
            "search_defaults": self.cfg.params,
            "min_score": self.cfg.min_score,
            "mode": self.cfg.ranking,
            "recompute_cache": self.recompute_cache_stats(),
            "max_k": MAX_SERVED_K.min(MAX_K),
        });
        v
    }

    /// The sources of the index (`list --json`).
    pub fn sources(&self) -> Result<Sources, ApiError> {
        Ok(listing::sources(&self.index())?)
    }

    /// Add or replace passages given as JSONL-shaped documents.
    pub fn add_documents(&self, docs: &[DocumentIn]) -> Result<ChangeReport, ApiError> {
        self.config_writable()?;
        let recs = api::documents_to_records(docs, &self.cfg.ingest)?;
        self.change(Change::Add(recs))
    }

    /// Remove passages by JSONL id (a long record's parts `ID#2`… go with it).
    pub fn remove_document(&self, id: &str) -> Result<ChangeReport, ApiError> {
        self.config_writable()?;
        match self.change(Change::RemoveIds(vec![id.to_string()])) {
            // The live path refuses ids it does not hold as an invalid parameter; here that is
            // a missing resource.
            Err(e) if e.status == 400 => {
                Err(ApiError::not_found(format!("no passage with id {id:?}")))
            }
            r => r,
        }
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
        for p in &self.cfg.sync_paths {
            if let Err(e) = std::fs::metadata(p) {
                return Err(ApiError::conflict(
                    "sync_path_unreadable",
                    format!("{}: {e}; sync refuses to empty the index", p.display()),
                ));
            }
        }
        let (recs, _sum) = collect(&self.cfg.sync_paths, &self.cfg.ingest);
        if recs.is_empty() {
            return Err(ApiError::conflict(
                "sync_would_empty",
                "no passages found in the sync paths; sync refuses to empty the index",
            ));
        }
        self.change(Change::Sync(recs))
    }

    /// 403 when the service is read-only (checked before a write takes a place in the queue).
    pub fn config_writable(&self) -> Result<(), ApiError> {
        if self.cfg.read_only {
            return Err(ApiError::forbidden(
                "read_only",
                "this service is read-only (started with --read-only)",
            ));
        }
        Ok(())
    }

    /// Apply a change to the file, then swap in the new snapshot.
    fn change(&self, c: Change) -> Result<ChangeReport, ApiError> {
        let _one = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let r = crate::index::change(&self.cfg.index, &self.enc, c)?;
        let idx = Index::open_file(&self.cfg.index, &OpenOptions::default())?;
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(idx);
        self.metrics.record_write();
        Ok(r)
    }
}
