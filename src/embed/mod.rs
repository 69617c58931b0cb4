//! The encoder seam: texts in, L2-normalised vectors out.
//!
//! Backends: [`tract`] (default, quantised MiniLM), [`tensorrt`] (Jetson, feature `tensorrt`), and
//! [`TableEmbedder`], which serves precomputed vectors and counts every call, for tests and benchmarks.
use alloc::string::String;
use alloc::vec::Vec;
// usize atomics: 32-bit microcontrollers (thumbv7em) have no 64-bit atomics.
use core::sync::atomic::{AtomicUsize, Ordering};

#[cfg(feature = "std")]
pub mod tensorrt;
#[cfg(feature = "tract")]
pub mod tract;

/// What an encoder fingerprint ends with when the encoder computes its matmuls in int8 (tract's
/// `Compute::Int8`): such an index is searched with the same arithmetic.
pub const INT8_COMPUTE_SUFFIX: &str = "+int8-compute";

/// Errors from an embedder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// The model files are missing, the wrong size or corrupt.
    #[error("model file {path}: {problem}. Fix: run `models/fetch.sh` (or pass the right --model folder)")]
    Model {
        /// File involved.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// No folder holds the default model.
    #[error("no encoder model found (looked in: {looked}). Fix: {fix}")]
    ModelNotFound {
        /// The folders looked at, in order.
        looked: String,
        /// What to run for how this binary was installed.
        fix: String,
    },
    /// The backend is not compiled in or not installed on this machine.
    #[error("encoder backend `{backend}` unavailable: {why}")]
    BackendUnavailable {
        /// Backend name.
        backend: &'static str,
        /// Why, and what to do.
        why: String,
    },
    /// int8 compute was asked for a model without int8 weight matmuls (an f32 model, or one
    /// quantised another way).
    #[error("model file {path} has no int8 weight matmuls to compute in int8; use f32 compute (--compute f32)")]
    NoInt8Weights {
        /// The model file.
        path: String,
    },
    /// The runtime failed on an input.
    #[error("encoder failed: {0}")]
    Runtime(String),
    /// A text has no vector in a table embedder.
    #[error("no vector for text {0:?} in the embedding table")]
    Unknown(String),
}

impl EmbedError {
    /// Whether the model is missing or damaged (code `model_missing`), as opposed to failing on
    /// an input.
    pub fn is_missing_model(&self) -> bool {
        matches!(
            self,
            EmbedError::Model { .. } | EmbedError::ModelNotFound { .. }
        )
    }
}

/// Turns passage texts into L2-normalised f32 vectors of a fixed dimension.
pub trait Embedder {
    /// Output dimension.
    fn dim(&self) -> usize;
    /// Embed a batch of passages; returns `texts.len() × dim` floats, each row L2-normalised.
    fn embed(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError>;
    /// Embed a batch of questions. Models trained with a role prefix (e5: `query: ` /
    /// `passage: `) mark questions and passages differently; others embed both alike (the
    /// default).
    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError> {
        self.embed(texts)
    }
    /// Identifies the model (name + checksum); an index remembers it and refuses another.
    fn fingerprint(&self) -> String;
    /// Preferred batch size for bulk embedding.
    fn preferred_batch(&self) -> usize {
        32
    }
}

/// Call counters of an embedder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmbedCounts {
    /// `embed` calls.
    pub calls: u64,
    /// Non-empty batches.
    pub batches: u64,
    /// Texts embedded.
    pub passages: u64,
}

/// Serves precomputed vectors, looked up by text, and counts calls, batches and passages.
///
/// Texts must be the keys given at construction (e.g. the passage text, or `"p{id}"` in
/// benchmarks over raw vector tables). An unknown text is an error, not a guess.
pub struct TableEmbedder {
    dim: usize,
    keys: Vec<String>,
    order: Vec<u32>,
    rows: Vec<f32>,
    calls: AtomicUsize,
    batches: AtomicUsize,
    passages: AtomicUsize,
}

impl TableEmbedder {
    /// Build from keys and `keys.len() × dim` vectors (normalised here).
    pub fn new(dim: usize, keys: Vec<String>, mut rows: Vec<f32>) -> Self {
        assert_eq!(rows.len(), keys.len() * dim, "rows must be keys × dim");
        for r in rows.chunks_exact_mut(dim) {
            crate::kernels::normalize(r);
        }
        let mut order: Vec<u32> = (0..keys.len() as u32).collect();
        order.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
        TableEmbedder {
            dim,
            keys,
            order,
            rows,
            calls: AtomicUsize::new(0),
            batches: AtomicUsize::new(0),
            passages: AtomicUsize::new(0),
        }
    }
    /// Row of a key.
    pub fn lookup(&self, text: &str) -> Option<usize> {
        self.order
            .binary_search_by(|&i| self.keys[i as usize].as_str().cmp(text))
            .ok()
            .map(|p| self.order[p] as usize)
    }
    /// Vector of row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.rows[i * self.dim..(i + 1) * self.dim]
    }
    /// All rows.
    pub fn rows(&self) -> &[f32] {
        &self.rows
    }
    /// Counters so far.
    pub fn counts(&self) -> EmbedCounts {
        EmbedCounts {
            calls: self.calls.load(Ordering::Relaxed) as u64,
            batches: self.batches.load(Ordering::Relaxed) as u64,
            passages: self.passages.load(Ordering::Relaxed) as u64,
        }
    }
    /// Reset counters.
    pub fn reset_counts(&self) {
        self.calls.store(0, Ordering::Relaxed);
        self.batches.store(0, Ordering::Relaxed);
        self.passages.store(0, Ordering::Relaxed);
    }
}

impl Embedder for TableEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !texts.is_empty() {
            self.batches.fetch_add(1, Ordering::Relaxed);
        }
        self.passages.fetch_add(texts.len(), Ordering::Relaxed);
        let mut out = Vec::with_capacity(texts.len() * self.dim);
        for t in texts {
            let i = self
                .lookup(t)
                .ok_or_else(|| EmbedError::Unknown(String::from(*t)))?;
            out.extend_from_slice(self.row(i));
        }
        Ok(out)
    }
    fn fingerprint(&self) -> String {
        // Cheap content hash so two different tables never look alike.
        let mut h = crc32fast::Hasher::new();
        for r in self.rows.iter().step_by(97) {
            h.update(&r.to_le_bytes());
        }
        alloc::format!(
            "table:{}x{}:{:08x}",
            self.keys.len(),
            self.dim,
            h.finalize()
        )
    }
}
