//! The one front door of the library: [`Engine`], an open index with its encoder, owned and
//! `Send + Sync`. Every caller — the CLI, the service (HTTP, MCP), the C API and the Python
//! binding — opens, searches, changes, compacts, builds, lists and verifies through it, so every
//! policy lives here once:
//!
//! - which encoder an index needs (model discovery, the arithmetic the index records):
//!   [`encoder`];
//! - what a request means and its limits ([`SearchRequest`], [`SearchDefaults`]);
//! - safe outputs for a build ([`build`]), `INDEX.vectors` kept in step with every change
//!   ([`change`]), compact's retrain decision ([`compact`]);
//! - snapshots: a search runs on the snapshot it started with while a change writes a new file
//!   under the write lock and swaps it in.
//!
//! ```no_run
//! use leann_edge::engine::{Engine, EngineOptions, SearchRequest};
//! let engine = Engine::open("docs.leann".as_ref(), &EngineOptions::default())?;
//! let answer = engine.search(&SearchRequest::new("how do I reset the device?"))?;
//! for hit in &answer.hits {
//!     println!("{}. [{:.3}] {}", hit.rank, hit.score, hit.title);
//! }
//! # Ok::<(), leann_edge::Error>(())
//! ```
use crate::boards::Board;
use crate::embed::tract::{Checksum, TractEmbedder};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::flash::FileSource;
use crate::index::listing::{self, Sources};
use crate::index::{answer, Answer, AnswerOptions, Index, OpenOptions, RecomputeCache};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

pub mod build;
pub mod change;
pub mod compact;
mod documents;
pub mod encoder;
mod options;
mod request;

pub use build::{BuildOptions, BuildOutcome, Inputs};
pub use compact::{CompactOptions, CompactReport, Retrain};
pub use documents::{documents_to_records, DocumentIn, MAX_DOCUMENTS};
pub use encoder::NEW_INDEX_COMPUTE;
pub use options::{EngineOptions, Hooks, OptionsJson};
pub use request::{Clauses, SearchDefaults, SearchRequest, MAX_CLAUSES};

/// An open index and its encoder (see the module docs).
pub struct Engine {
    path: PathBuf,
    model_dir: PathBuf,
    board: Board,
    enc: TractEmbedder,
    snapshot: RwLock<Arc<Index<FileSource>>>,
    /// The file the snapshot was opened from (taken before opening: a replacement in between is
    /// seen by the next [`Engine::follow_replaced`]).
    file_id: Mutex<Option<FileId>>,
    /// Counts snapshot swaps: what an error is judged against (damage in a snapshot that has
    /// since been replaced says nothing about the current one).
    generation: std::sync::atomic::AtomicU64,
    /// One write at a time inside this process (the file lock guards against other processes).
    write: Mutex<()>,
    recompute_cache: Option<Arc<RecomputeCache>>,
    defaults: SearchDefaults,
    read_only: bool,
}

/// What `verify` checked.
#[derive(Clone, Debug, serde::Serialize)]
pub struct VerifyReport {
    /// Sections whose CRC matched.
    pub sections: usize,
    /// The encoder fingerprint the index records (its model files' sha256 recomputed).
    pub encoder: String,
}

impl Engine {
    /// Open the index at `path` with the encoder it was built with (model found as `opts.model`
    /// says, computing in the index's arithmetic).
    pub fn open(path: &Path, opts: &EngineOptions) -> Result<Self> {
        let file_id = FileId::of(path);
        let idx = open_index(path)?;
        let board = encoder::board(opts)?;
        let config = crate::embed::tract::EncoderConfig::default();
        let enc = encoder::for_index(opts, &board, idx.meta(), config)?;
        idx.check_embedder(&enc)?;
        let defaults = SearchDefaults::from_options(opts, &board)?;
        let cache_bytes = opts
            .recompute_cache_bytes
            .unwrap_or_else(|| board.recompute_cache_bytes());
        let recompute_cache = RecomputeCache::new(
            usize::try_from(cache_bytes).unwrap_or(usize::MAX),
            idx.meta().dim as usize,
            &enc.fingerprint(),
        )
        .map(Arc::new);
        Ok(Engine {
            path: path.to_path_buf(),
            model_dir: encoder::model_dir(opts.model.as_deref())?,
            defaults,
            board,
            enc,
            snapshot: RwLock::new(Arc::new(idx)),
            file_id: Mutex::new(file_id),
            generation: std::sync::atomic::AtomicU64::new(0),
            write: Mutex::new(()),
            recompute_cache,
            read_only: opts.read_only,
        })
    }

    /// Build a new index at `output` from `inputs` (the output checked first: never an input, a
    /// folder or a file that is not an index), then open it.
    pub fn build(
        inputs: Inputs,
        output: &Path,
        build: &BuildOptions,
        opts: &EngineOptions,
        hooks: &Hooks,
    ) -> Result<(Engine, BuildOutcome)> {
        let out = build::build_index(inputs, output, build, opts, hooks)?;
        // The new index is opened the way any index is: its recorded compute, so `opts.compute`
        // (if given) matches.
        Ok((Engine::open(output, opts)?, out))
    }

    /// Answer a search request on the current snapshot.
    pub fn search(&self, req: &SearchRequest) -> Result<Answer> {
        let (p, mut opts) = req.resolve(&self.defaults)?;
        opts.recompute_cache = self.recompute_cache.clone();
        let idx = self.index();
        answer(&idx, &self.enc, &req.query, &p, &opts)
    }

    /// Run one full search so that the first real one is as fast as the next (loads the encoder
    /// plan's buffers, pages the PQ codes and passage records in).
    pub fn warm_up(&self) -> Result<()> {
        let idx = self.index();
        if idx.is_empty() {
            return Ok(());
        }
        let opts = AnswerOptions {
            ranking: self.defaults.ranking,
            ..AnswerOptions::default()
        };
        answer(&idx, &self.enc, "warm up", &self.defaults.params, &opts)?;
        Ok(())
    }

    /// Storage breakdown, build record and encoder (`info --json`).
    pub fn info(&self) -> serde_json::Value {
        info_json(&self.index())
    }

    /// The sources of the index with passage counts and bytes (`list --json`).
    pub fn list(&self) -> Result<Sources> {
        listing::sources(&self.index())
    }

    /// Check every section's CRC and the model files (sha256 recomputed).
    pub fn verify(&self) -> Result<VerifyReport> {
        let idx = self.index();
        idx.verify()?;
        TractEmbedder::check_files(&self.model_dir, Checksum::Always)?;
        idx.check_embedder(&self.enc)?;
        Ok(VerifyReport {
            sections: idx.layout().sections.len(),
            encoder: idx.meta().encoder.clone(),
        })
    }

    /// The current snapshot of the index.
    pub fn index(&self) -> Arc<Index<FileSource>> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The encoder.
    pub fn encoder(&self) -> &TractEmbedder {
        &self.enc
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The board profile in force.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// What a request does not set.
    pub fn defaults(&self) -> &SearchDefaults {
        &self.defaults
    }

    /// Whether changes are refused.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The recompute cache's counters (`None`: no cache).
    pub fn recompute_cache_stats(&self) -> Option<crate::index::RecomputeCacheStats> {
        self.recompute_cache.as_ref().map(|c| c.stats())
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.enc.dim()
    }

    /// [`Error::ReadOnly`] when the engine refuses changes.
    pub fn writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly(
                "this index is open read-only (started with --read-only)".into(),
            ));
        }
        Ok(())
    }

    /// Re-open the file (after a change) and swap the snapshot.
    fn reload(&self) -> Result<()> {
        let id = FileId::of(&self.path);
        let idx = Index::open_file(&self.path, &OpenOptions::default())?;
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(idx);
        *self.file_id.lock().unwrap_or_else(|e| e.into_inner()) = id;
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ok(())
    }

    /// How many times the snapshot was swapped (by a change or [`Engine::follow_replaced`]).
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Swap to the index file if another process replaced it since the snapshot was opened (a
    /// `sync` from cron, a rename-deploy): `Ok(true)` when it did. As safe as the engine's own
    /// writes: searches in flight finish on the old snapshot. A missing file keeps the snapshot; a
    /// replacement that cannot be served (corrupt, another model) is an error, reported once per
    /// file, and the old snapshot stays.
    pub fn follow_replaced(&self) -> Result<bool> {
        let seen = || *self.file_id.lock().unwrap_or_else(|e| e.into_inner());
        let now = FileId::of(&self.path);
        if now.is_none() || now == seen() {
            return Ok(false);
        }
        // Not while this process writes (its own reload records the new file); never waiting
        // for a write to end: the next request looks again.
        let _one = match self.write.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(false),
        };
        let now = FileId::of(&self.path);
        if now.is_none() || now == seen() {
            return Ok(false);
        }
        *self.file_id.lock().unwrap_or_else(|e| e.into_inner()) = now;
        let idx = Index::open_file(&self.path, &OpenOptions::default())?;
        idx.check_embedder(&self.enc)?;
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(idx);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ok(true)
    }
}

/// What tells a replaced index file from the one a snapshot was opened from: device, inode,
/// size and modification time (a rename-deploy changes the inode, an in-place rewrite the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileId {
    fn of(path: &Path) -> Option<FileId> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Some(FileId {
            dev,
            ino,
            len: m.len(),
            modified: m.modified().ok(),
        })
    }
}

/// Open an index file for reading (structure checked; checksums are `verify`'s job), with a clear
/// error for a missing file or a folder.
pub fn open_index(path: &Path) -> Result<Index<FileSource>> {
    if !path.exists() {
        return Err(Error::IndexNotFound(format!(
            "{} does not exist; build it with `leann-edge build <docs> -o {}`",
            path.display(),
            path.display()
        )));
    }
    if path.is_dir() {
        return Err(Error::IndexNotFound(format!(
            "{} is a folder; give the index file (`leann-edge build` writes one with -o FILE)",
            path.display()
        )));
    }
    Index::open_file(path, &OpenOptions::default())
}

/// Storage breakdown, typed build record, encoder languages and compute of `idx` as one JSON
/// document (`info --json`; needs no encoder).
pub fn info_json(idx: &Index<FileSource>) -> serde_json::Value {
    let mut doc = listing::info_json(idx);
    let enc = &idx.meta().encoder;
    doc["encoder_languages"] = encoder_languages(enc).into();
    doc["encoder_compute"] = crate::embed::tract::Compute::of_fingerprint(enc)
        .name()
        .into();
    doc["build_record"] = serde_json::to_value(idx.build_record()).unwrap_or_default();
    doc
}

/// Languages of the encoder with this fingerprint, when it is a model the manifest knows.
pub fn encoder_languages(fingerprint: &str) -> Option<&'static str> {
    crate::embed::tract::KNOWN
        .iter()
        .find(|k| fingerprint.starts_with(&format!("{}:", k.name)))
        .map(|k| k.languages)
}

/// Where `keep_vectors` writes the passage embeddings and `bench` reads them: `INDEX.vectors`.
pub fn vectors_path(index: &Path) -> PathBuf {
    let mut s = index.as_os_str().to_owned();
    s.push(".vectors");
    PathBuf::from(s)
}

// The engine is shared between threads (the service's workers, Python threads, C callers).
const _: fn() = || {
    fn is<T: Send + Sync>() {}
    is::<Engine>();
};
