//! The exact stage every search ends with: recompute candidates in encoder batches, rank by exact
//! distance; and the scan search of indexes without a graph.
use super::calibration::{Calibration, ROUND};
use super::queue::Scored;
use super::{Hit, SearchParams, SearchSpace, SearchStats};
use crate::error::Result;
use alloc::vec::Vec;

/// Passages a query recomputes: `ceil(rerank_ratio × ef)`, at least `k`, capped by `max_recompute`.
pub fn rerank_count(p: &SearchParams) -> usize {
    let ef = p.ef.max(p.k);
    capped(
        p,
        (libm::ceilf(ef as f32 * p.rerank_ratio) as usize).max(p.k),
    )
}

/// `n` capped by `max_recompute` (when set; never below `k`).
fn capped(p: &SearchParams, n: usize) -> usize {
    if p.max_recompute > 0 {
        n.min(p.max_recompute.max(p.k))
    } else {
        n
    }
}

/// Whether a search recomputes adaptively: a recall target is set and the index is calibrated.
pub fn adaptive(p: &SearchParams, cal: Option<&Calibration>) -> bool {
    p.recall > 0.0 && cal.is_some()
}

/// Candidates a search hands to the exact stage: the fixed [`rerank_count`], or, when it
/// recomputes [`adaptive`]ly, the whole beam `max(ef, k)` (capped by `max_recompute`), of which
/// [`rerank_candidates`] recomputes only as many as the recall target needs.
pub fn pool_size(p: &SearchParams, cal: Option<&Calibration>) -> usize {
    if !adaptive(p, cal) {
        return rerank_count(p);
    }
    capped(p, p.ef.max(p.k))
}

/// Recompute candidates (`(PQ distance, id)`, best first, at most [`pool_size`]) and rank them
/// exactly. Fixed: all of them. Adaptive: in rounds of [`ROUND`] (the first at least `k`; each in
/// encoder calls of at most `batch_size`), best PQ first, stopping once the candidates left are
/// unlikely to enter the top k (the top `recall_at` when set). With `d_k` the k-th best exact
/// distance so far, `m` the mean `exact − PQ` of those recomputed and `F` the calibrated
/// distribution of a candidate's error less `m`, the expected number of the rest closer than `d_k`
/// is `Σ F(d_k − pq_j − m)`; the search stops when that is at most `(1 − recall) · k`. The estimate
/// is conservative: measured recall runs above the target (docs/benchmarks.md).
pub fn rerank_candidates<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    cands: &[(f32, u32)],
    p: &SearchParams,
    stats: &mut SearchStats,
) -> Result<Vec<Hit>> {
    let cal = match space.calibration() {
        Some(c) if adaptive(p, Some(c)) => c.clone(),
        _ => {
            let ids: Vec<u32> = cands.iter().map(|c| c.1).collect();
            return rerank(space, q, &ids, p, stats);
        }
    };
    let k = p.recall_k();
    let allowed = (1.0 - p.recall) * k as f32;
    let mut exact: Vec<Scored> = Vec::with_capacity(cands.len());
    let mut vecs = Vec::new();
    let mut ids = Vec::with_capacity(p.k.max(ROUND));
    let mut done = 0;
    let mut error_sum = 0.0;
    while done < cands.len() {
        let take = if done == 0 { p.k.max(ROUND) } else { ROUND };
        let end = (done + take).min(cands.len());
        ids.clear();
        ids.extend(cands[done..end].iter().map(|c| c.1));
        let before = exact.len();
        for chunk in ids.chunks(p.batch_size.max(1)) {
            exact_scored(space, q, chunk, &mut vecs, stats, &mut exact)?;
        }
        for (e, c) in exact[before..].iter().zip(&cands[done..end]) {
            // A non-finite distance says nothing about the PQ's error; leave it out.
            if (e.dist - c.0).is_finite() {
                error_sum += e.dist - c.0;
            }
        }
        done = end;
        let offset = error_sum / done as f32;
        if exact.len() >= k && few_left(&cal, &mut exact, k, &cands[done..], offset, allowed) {
            break;
        }
    }
    exact.sort_unstable();
    Ok(hits(exact, p.k))
}

/// Whether the expected number of `rest` closer than the k-th best of `exact` is at most
/// `allowed` (stops summing once it is over).
fn few_left(
    cal: &Calibration,
    exact: &mut [Scored],
    k: usize,
    rest: &[(f32, u32)],
    offset: f32,
    allowed: f32,
) -> bool {
    exact.select_nth_unstable(k - 1);
    let dk = exact[k - 1].dist;
    let mut sum = 0.0;
    for &(pq, _) in rest {
        sum += cal.cdf(dk - pq - offset);
        if sum > allowed {
            return false;
        }
    }
    true
}

/// Scan search (index without a graph): PQ-score every node, recompute the best [`pool_size`]
/// ([`rerank_candidates`]) and rank them exactly.
pub fn scan<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    table: &[f32],
    p: &SearchParams,
    stats: &mut SearchStats,
) -> Result<Vec<Hit>> {
    let mut cands = Vec::new();
    let pool = pool_size(p, space.calibration());
    stats.pq_distances += space.pq_scan(table, pool, &mut cands)?;
    rerank_candidates(space, q, &cands, p, stats)
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
