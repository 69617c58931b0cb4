//! [`Searcher`]: one index, one embedder and a bounded neighbour cache kept across queries; the
//! index side of the search seam ([`SearchSpace`]).
use super::recompute::RecomputeMemo;
use super::Index;
use crate::cache::{CacheStats, NeighborCache};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::flash::FlashSource;
use crate::search::{self, SearchParams, SearchResult, SearchSpace, SearchStats};
use alloc::vec::Vec;

/// Searches one index with one embedder, keeping a bounded neighbour cache across queries.
pub struct Searcher<'a, S: FlashSource, E: Embedder + ?Sized> {
    pub(super) index: &'a Index<S>,
    pub(super) embedder: &'a E,
    pub(super) cache: NeighborCache,
    pub(super) memo: Option<&'a dyn RecomputeMemo>,
}

#[cfg(feature = "std")]
pub(crate) fn now() -> Option<std::time::Instant> {
    Some(std::time::Instant::now())
}
#[cfg(not(feature = "std"))]
pub(crate) fn now() -> Option<()> {
    None
}
#[cfg(feature = "std")]
pub(crate) fn micros_since(t: Option<std::time::Instant>) -> u64 {
    t.map_or(0, |t| t.elapsed().as_micros() as u64)
}
#[cfg(not(feature = "std"))]
pub(crate) fn micros_since(_t: Option<()>) -> u64 {
    0
}

impl<S: FlashSource, E: Embedder + ?Sized> SearchSpace for Searcher<'_, S, E> {
    fn len(&self) -> usize {
        self.index.len()
    }
    fn entry(&self) -> u32 {
        self.index.meta().entry
    }
    fn seeds(&self) -> &[u32] {
        &self.index.seeds
    }
    fn neighbors(&mut self, v: u32, out: &mut Vec<u32>) -> Result<()> {
        if let Some(l) = self.cache.get(v) {
            out.clear();
            out.extend_from_slice(l);
            return Ok(());
        }
        self.index.neighbors(v, out)?;
        self.cache.insert(v, out);
        Ok(())
    }
    fn calibration(&self) -> Option<&crate::search::Calibration> {
        self.index.calibration()
    }
    fn pq_distance(&mut self, table: &[f32], v: u32) -> Result<f32> {
        self.index.pq_distance(table, v)
    }
    fn has_graph(&self) -> bool {
        self.index.has_graph()
    }
    fn pq_scan(&mut self, table: &[f32], keep: usize, out: &mut Vec<(f32, u32)>) -> Result<u64> {
        self.index.pq_scan(table, keep, out)
    }
    fn exact(&mut self, ids: &[u32], out: &mut Vec<f32>, stats: &mut SearchStats) -> Result<()> {
        super::recompute::exact_vectors(self.index, self.embedder, self.memo, ids, out, stats)
    }
}

impl<'a, S: FlashSource, E: Embedder + ?Sized> Searcher<'a, S, E> {
    /// Remember recomputed vectors across queries in `memo` (a [`super::RecomputeCache`] for the
    /// same encoder) and serve them from it.
    pub fn with_recompute_cache(mut self, memo: &'a dyn RecomputeMemo) -> Self {
        self.memo = Some(memo);
        self
    }
    /// Neighbour-cache counters (cumulative).
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }
    /// Bytes the neighbour cache occupies.
    pub fn cache_bytes(&self) -> usize {
        self.cache.memory_bytes()
    }
    /// Embed a text query and search.
    pub fn search_text(&mut self, query: &str, p: &SearchParams) -> Result<SearchResult> {
        search::check_query(query)?;
        p.validate()?;
        let t = now();
        let q = self.embedder.embed_queries(&[query])?;
        let mut r = self.search_vector(&q, p)?;
        r.stats.micros = micros_since(t);
        Ok(r)
    }
    /// Search with a unit query vector.
    pub fn search_vector(&mut self, q: &[f32], p: &SearchParams) -> Result<SearchResult> {
        let t = now();
        let idx = self.index;
        if q.len() != idx.meta().dim as usize {
            return Err(Error::Dimension {
                index: idx.meta().dim as usize,
                given: q.len(),
            });
        }
        let table = idx.pq().table(q);
        let before_cache = self.cache.stats();
        let before_bytes = idx.source().bytes_read();
        let mut stats = SearchStats::default();
        let hits = search::run(self, q, &table, p, &mut stats)?;
        let after = self.cache.stats();
        stats.cache_hits = after.hits - before_cache.hits;
        stats.cache_misses = after.misses - before_cache.misses;
        stats.bytes_read = idx.source().bytes_read() - before_bytes;
        stats.micros = micros_since(t);
        Ok(SearchResult { hits, stats })
    }
}
