//! The exact stage every search ends with: recompute candidates in encoder batches, rank by exact
//! distance; and the scan search of indexes without a graph.
use super::queue::Scored;
use super::{Hit, SearchParams, SearchSpace, SearchStats};
use crate::error::Result;
use alloc::vec::Vec;

/// Passages a query recomputes: `ceil(rerank_ratio × ef)`, at least `k`, capped by `max_recompute`.
pub fn rerank_count(p: &SearchParams) -> usize {
    let ef = p.ef.max(p.k);
    let mut r = (libm::ceilf(ef as f32 * p.rerank_ratio) as usize).max(p.k);
    if p.max_recompute > 0 {
        r = r.min(p.max_recompute.max(p.k));
    }
    r
}

/// Scan search (index without a graph): PQ-score every node, recompute the best
/// [`rerank_count`] in batches and rank them exactly.
pub fn scan<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    table: &[f32],
    p: &SearchParams,
    stats: &mut SearchStats,
) -> Result<Vec<Hit>> {
    let mut cands = Vec::new();
    stats.pq_distances += space.pq_scan(table, rerank_count(p), &mut cands)?;
    let ids: Vec<u32> = cands.iter().map(|x| x.1).collect();
    rerank(space, q, &ids, p, stats)
}

/// Embed `ids` in batches of `batch_size` and return the best `k` by exact distance.
pub fn rerank<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    ids: &[u32],
    p: &SearchParams,
    stats: &mut SearchStats,
) -> Result<Vec<Hit>> {
    let mut exact: Vec<Scored> = Vec::with_capacity(ids.len());
    let mut vecs = Vec::new();
    for chunk in ids.chunks(p.batch_size.max(1)) {
        exact_scored(space, q, chunk, &mut vecs, stats, &mut exact)?;
    }
    exact.sort_unstable();
    Ok(hits(exact, p.k))
}

/// Recompute `ids` in one encoder call (through `vecs`) and append each with its exact distance
/// to `q` (`1 - cosine`) to `out`.
pub(super) fn exact_scored<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    ids: &[u32],
    vecs: &mut Vec<f32>,
    stats: &mut SearchStats,
    out: &mut Vec<Scored>,
) -> Result<()> {
    let dot = crate::kernels::active().dot;
    let dim = q.len();
    space.exact(ids, vecs, stats)?;
    for (i, &v) in ids.iter().enumerate() {
        out.push(Scored::new(1.0 - dot(q, &vecs[i * dim..(i + 1) * dim]), v));
    }
    Ok(())
}

/// The first `k` of `sorted` (best first) as hits with cosine scores.
pub(super) fn hits(sorted: Vec<Scored>, k: usize) -> Vec<Hit> {
    sorted
        .into_iter()
        .take(k)
        .map(|s| Hit {
            id: s.id,
            score: 1.0 - s.dist,
        })
        .collect()
}
