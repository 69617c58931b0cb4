//! Search: find the passages worth recomputing, recompute them, rank exactly.
//!
//! [`run`] is the entry point; it picks the strategy from the index and the parameters:
//! - no graph (a scan index): [`scan`], every PQ code scored, the best reranked exactly;
//! - [`Mode::PqFirst`] (default on graph indexes): [`pq_first`], a PQ-guided beam, then rerank;
//! - [`Mode::TwoLevel`]: [`two_level`], LEANN Alg. 2 (recompute while navigating).
//!
//! [`queue`] holds the scored-node, top-k and visited-set types every walk shares (the graph
//! build's too); the index side of the seam is [`SearchSpace`].
use crate::error::{Error, Result};
use alloc::vec::Vec;

pub mod calibration;
mod pq_first;
pub mod queue;
mod rerank;
mod two_level;

pub use calibration::Calibration;
pub use pq_first::pq_first;
pub use queue::TopK;
pub use rerank::{adaptive, pool_size, rerank, rerank_candidates, rerank_count, scan};
pub use two_level::two_level;

/// Most results a search returns.
pub const MAX_K: usize = 1000;
/// Largest search beam.
pub const MAX_EF: usize = 10_000;
/// Largest recompute batch.
pub const MAX_BATCH: usize = 256;
/// Longest query, in bytes (the encoder reads at most a few hundred tokens of it anyway).
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// Default recall target of the adaptive recompute ([`SearchParams::recall`]).
pub const DEFAULT_RECALL: f32 = 0.9;

fn default_recall() -> f32 {
    DEFAULT_RECALL
}

/// Check a recall target given by a user: a number in (0, 1].
pub fn check_recall(r: f32) -> Result<()> {
    if r > 0.0 && r <= 1.0 {
        return Ok(());
    }
    Err(Error::InvalidParam(alloc::format!(
        "recall {r} is out of range: give a number in (0, 1], e.g. 0.9"
    )))
}

/// Search parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchParams {
    /// Results wanted.
    pub k: usize,
    /// Size of the exact result list the search keeps (beam).
    pub ef: usize,
    /// Share of newly PQ-scored neighbours recomputed exactly, per expansion (0 < r <= 1).
    pub rerank_ratio: f32,
    /// Nodes gathered before one encoder call.
    pub batch_size: usize,
    /// Hard cap on passages recomputed per query (0 = none).
    pub max_recompute: usize,
    /// Recall target of the adaptive recompute, in (0, 1]: the share of the exact top k a search
    /// aims to return. Higher finds more and recomputes more. 0 = a fixed count instead
    /// ([`rerank_count`]); indexes without a PQ calibration (format ≤ 5) and the two-level walk
    /// ([`Mode::TwoLevel`], which recomputes while navigating) always use the fixed count.
    #[serde(default = "default_recall")]
    pub recall: f32,
    /// The top this many the recall target is about (0 = `k`): a search that returns more
    /// candidates than it will show (hybrid fusion, grouping by document) aims at the shown ones.
    #[serde(default)]
    pub recall_at: usize,
    /// Neighbour-list cache capacity (lists).
    pub cache_capacity: usize,
    /// Best PQ-scored seeds recomputed at the start (with the entry point).
    pub seed_recompute: usize,
    /// Search strategy.
    pub mode: Mode,
}

/// Search strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum Mode {
    /// LEANN Alg. 2: expand exact nodes, recompute the best `rerank_ratio` of new PQ candidates.
    TwoLevel,
    /// PQ-guided beam search of width `ef` (no recompute while navigating), then recompute the best
    /// `ceil(rerank_ratio × ef)` candidates by PQ distance, in batches, and rank them exactly.
    #[default]
    PqFirst,
}

impl Default for SearchParams {
    fn default() -> Self {
        SearchParams {
            k: 3,
            ef: 128,
            rerank_ratio: 0.15625,
            batch_size: 16,
            max_recompute: 0,
            recall: DEFAULT_RECALL,
            recall_at: 0,
            cache_capacity: 1024,
            seed_recompute: 3,
            mode: Mode::PqFirst,
        }
    }
}

/// One result.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    /// Internal node / passage id.
    pub id: u32,
    /// Cosine similarity (1 - distance).
    pub score: f32,
}

/// What a query cost.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchStats {
    /// Nodes expanded.
    pub hops: u64,
    /// PQ distances computed.
    pub pq_distances: u64,
    /// Passages embedded by the encoder.
    pub recomputed: u64,
    /// Exact vectors served by the hub-embedding cache instead.
    pub hub_hits: u64,
    /// Exact vectors served by the process's recompute cache instead.
    #[serde(default)]
    pub recompute_cache_hits: u64,
    /// Encoder calls (batches) for recompute.
    pub embed_calls: u64,
    /// Neighbour-cache hits.
    pub cache_hits: u64,
    /// Neighbour-cache misses.
    pub cache_misses: u64,
    /// Index bytes read from flash (or borrowed from the map).
    pub bytes_read: u64,
    /// Wall time, microseconds (0 without `std`).
    pub micros: u64,
    /// Of which in the encoder, microseconds.
    pub embed_micros: u64,
}

/// Result of a search.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchResult {
    /// Hits, best first.
    pub hits: Vec<Hit>,
    /// Costs.
    pub stats: SearchStats,
}

/// What the search needs from an index.
pub trait SearchSpace {
    /// Node count.
    fn len(&self) -> usize;
    /// Whether empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Entry point.
    fn entry(&self) -> u32;
    /// Extra entry candidates spread over the data (PQ-scored at the start of every search).
    fn seeds(&self) -> &[u32] {
        &[]
    }
    /// The index's PQ error calibration, when it has one (adaptive recompute needs it).
    fn calibration(&self) -> Option<&Calibration> {
        None
    }
    /// Neighbours of `v` into `out`.
    fn neighbors(&mut self, v: u32, out: &mut Vec<u32>) -> Result<()>;
    /// PQ distance of `v` under the query's table.
    fn pq_distance(&mut self, table: &[f32], v: u32) -> Result<f32>;
    /// Whether the index has a graph. Without one (a scan index) every search scores all PQ codes
    /// with [`SearchSpace::pq_scan`] and reranks the best exactly; `entry`, `seeds` and `neighbors`
    /// are then never called.
    fn has_graph(&self) -> bool {
        true
    }
    /// The `keep` nodes with the smallest PQ distance over the whole index, best first, into `out`.
    /// Returns the number of distances computed. The default scores node by node through
    /// [`SearchSpace::pq_distance`]; an index overrides it to stream its code section.
    fn pq_scan(&mut self, table: &[f32], keep: usize, out: &mut Vec<(f32, u32)>) -> Result<u64> {
        let mut top = TopK::new(keep);
        for v in 0..self.len() as u32 {
            top.push(self.pq_distance(table, v)?, v);
        }
        top.into_sorted(out);
        Ok(self.len() as u64)
    }
    /// Exact vectors for `ids` (row-major into `out`); updates `stats`.
    fn exact(&mut self, ids: &[u32], out: &mut Vec<f32>, stats: &mut SearchStats) -> Result<()>;
}

/// Check a text query: not empty, at most [`MAX_QUERY_BYTES`].
pub fn check_query(query: &str) -> Result<()> {
    if query.trim().is_empty() {
        return Err(Error::InvalidQuery(
            "the query is empty; give some words to search for".into(),
        ));
    }
    if query.len() > MAX_QUERY_BYTES {
        return Err(Error::InvalidQuery(alloc::format!(
            "the query is {} bytes; give at most {MAX_QUERY_BYTES}",
            query.len()
        )));
    }
    Ok(())
}

impl SearchParams {
    /// The top this many the recall target is about: `recall_at` when set, else `k`.
    pub fn recall_k(&self) -> usize {
        if self.recall_at == 0 {
            self.k
        } else {
            self.recall_at.min(self.k)
        }
    }

    /// Check every parameter against its range (before any work is done).
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: &dyn core::fmt::Display, range: &str| {
            Err(Error::InvalidParam(alloc::format!(
                "{what} {v} is out of range: give {range}"
            )))
        };
        if self.k == 0 || self.k > MAX_K {
            return bad("k", &self.k, &alloc::format!("1 to {MAX_K}"));
        }
        if self.ef > MAX_EF {
            return bad("ef", &self.ef, &alloc::format!("at most {MAX_EF}"));
        }
        if !(self.rerank_ratio > 0.0 && self.rerank_ratio <= 1.0) {
            return bad("rerank ratio", &self.rerank_ratio, "a number in (0, 1]");
        }
        if self.batch_size == 0 || self.batch_size > MAX_BATCH {
            return bad(
                "batch",
                &self.batch_size,
                &alloc::format!("1 to {MAX_BATCH}"),
            );
        }
        if !(0.0..=1.0).contains(&self.recall) {
            return bad(
                "recall target",
                &self.recall,
                "a number in (0, 1], or 0 for a fixed recompute count",
            );
        }
        if self.cache_capacity > 1 << 24 {
            return bad("neighbour cache", &self.cache_capacity, "at most 16M lists");
        }
        Ok(())
    }
}

/// Search `space` for the unit query vector `q` (`table`: its PQ distance table): the strategy
/// follows from the index (scan or graph) and `p.mode`. Results are best first, at most `p.k`.
pub fn run<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    table: &[f32],
    p: &SearchParams,
    stats: &mut SearchStats,
) -> Result<Vec<Hit>> {
    p.validate()?;
    if space.is_empty() {
        return Ok(Vec::new());
    }
    if !space.has_graph() {
        return scan(space, q, table, p, stats);
    }
    match p.mode {
        Mode::PqFirst => pq_first(space, q, table, p, stats),
        Mode::TwoLevel => two_level(space, q, table, p, stats),
    }
}
