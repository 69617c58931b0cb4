//! How an [`Engine`](super::Engine) is opened, and the callbacks long work reports to.
use crate::embed::tract::Compute;
use crate::index::{Phase, Ranking};
use crate::ingest::IngestSummary;
use crate::search::SearchParams;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

/// How to open an engine. Every field has a default that does what the CLI does.
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// Encoder model: a folder, or a model name of the manifest (`multilingual-e5-small-int8`),
    /// looked for where the default model is (default: `$LEANN_EDGE_MODEL`, else the first of the
    /// standard places holding the default model; see [`crate::embed::tract::model_places`]).
    pub model: Option<PathBuf>,
    /// Encoder threads (default: the board's).
    pub threads: Option<usize>,
    /// Board profile name or `.toml` path (default: `$LEANN_EDGE_BOARD`, else detected).
    pub board: Option<String>,
    /// Encoder arithmetic. For an existing index it must be the one the index was built with
    /// (default: the index's); for a new index the default is
    /// [`new_index_compute`](super::encoder::new_index_compute) (int8 where the CPU has integer
    /// dot products).
    pub compute: Option<Compute>,
    /// Refuse every change.
    pub read_only: bool,
    /// RAM for recently recomputed embeddings, bytes (default: the board's; 0: none).
    pub recompute_cache_bytes: Option<u64>,
    /// Search parameters a request does not set (default: the board's).
    pub search: Option<SearchParams>,
    /// Score floor a request does not set (default: none).
    pub min_score: Option<f32>,
    /// Ranking a request does not set (default: hybrid).
    pub ranking: Option<Ranking>,
    /// Most hits one request may ask for (default: [`crate::search::MAX_K`]).
    pub max_k: Option<usize>,
}

/// [`EngineOptions`] as the bindings take them: a JSON object, every field optional (`model`,
/// `threads`, `board`, `compute` (`int8`/`f32`), `read_only`, `min_score`, `recompute_cache_mb`).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsJson {
    model: Option<PathBuf>,
    threads: Option<usize>,
    board: Option<String>,
    compute: Option<String>,
    read_only: Option<bool>,
    min_score: Option<f32>,
    recompute_cache_mb: Option<u64>,
}

impl OptionsJson {
    /// Parse `json` (empty or blank: every default) into engine options.
    pub fn parse(json: &str) -> crate::error::Result<EngineOptions> {
        let bad = |e: String| crate::Error::InvalidParam(format!("options: {e}"));
        let o: OptionsJson = if json.trim().is_empty() {
            OptionsJson::default()
        } else {
            serde_json::from_str(json).map_err(|e| bad(e.to_string()))?
        };
        let compute = match o.compute.as_deref() {
            None => None,
            Some("int8") => Some(Compute::Int8),
            Some("f32") => Some(Compute::F32),
            Some(c) => return Err(bad(format!("compute {c:?} is not int8 or f32"))),
        };
        Ok(EngineOptions {
            model: o.model,
            threads: o.threads,
            board: o.board,
            compute,
            read_only: o.read_only.unwrap_or(false),
            min_score: o.min_score,
            recompute_cache_bytes: o.recompute_cache_mb.map(|m| m.saturating_mul(1 << 20)),
            ..EngineOptions::default()
        })
    }
}

/// What [`Hooks::ingested`] calls: the ingest summary and the passage count.
pub type IngestedFn<'a> = &'a (dyn Fn(&IngestSummary, usize) + Sync);

/// Callbacks of long work (build, changes, compact): all optional.
#[derive(Clone, Copy, Default)]
pub struct Hooks<'a> {
    /// Progress: phase, done, total (called often; keep it cheap).
    pub progress: Option<crate::index::ProgressFn<'a>>,
    /// Set to stop: the work ends with [`Error::Cancelled`](crate::Error::Cancelled) and the index
    /// on disk is what it was.
    pub cancel: Option<&'a AtomicBool>,
    /// What reading the inputs found (before any embedding): the summary and the passage count.
    pub ingested: Option<IngestedFn<'a>>,
    /// One-line notes for the user (a RAM warning, what compact did not do and why). Default:
    /// logged at `warn`.
    pub note: Option<&'a (dyn Fn(&str) + Sync)>,
}

impl Hooks<'_> {
    /// Report progress.
    pub fn progress(&self, ph: Phase, done: u64, total: u64) {
        if let Some(p) = self.progress {
            p(ph, done, total)
        }
    }
    /// Say something to the user.
    pub fn note(&self, msg: &str) {
        match self.note {
            Some(n) => n(msg),
            None => log::warn!("{msg}"),
        }
    }
    /// Report an ingest summary.
    pub fn ingested(&self, s: &IngestSummary, passages: usize) {
        if let Some(f) = self.ingested {
            f(s, passages)
        }
    }
}
