//! Two-level search with dynamic batching (LEANN Alg. 2).
//!
//! Best-first over the graph from the entry point. Each expansion PQ-scores every newly seen
//! neighbour into an approximate queue; only the best `rerank_ratio` share of those (taken from the
//! whole approximate queue, so earlier near-misses can still win) is queued for exact recompute.
//! Queued nodes are gathered across expansions up to `batch_size` and embedded in one encoder call.
//! Results are ranked by exact distance only.
//!
//! Also here: PQ-first beam search ([`pq_first`], the default on graph indexes) and the scan search
//! of indexes without a graph ([`scan`]: every PQ code scored, the best reranked exactly).
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;

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

#[derive(Clone, Copy, PartialEq, PartialOrd)]
pub(crate) struct D(pub f32, pub u32);
impl Eq for D {}
#[allow(clippy::derive_ord_xor_partial_ord)]
impl Ord for D {
    fn cmp(&self, o: &Self) -> core::cmp::Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
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
    /// Neighbours of `v` into `out`.
    fn neighbors(&mut self, v: u32, out: &mut Vec<u32>) -> crate::error::Result<()>;
    /// PQ distance of `v` under the query's table.
    fn pq_distance(&mut self, table: &[f32], v: u32) -> crate::error::Result<f32>;
    /// Whether the index has a graph. Without one (a scan index) every search scores all PQ codes
    /// with [`SearchSpace::pq_scan`] and reranks the best exactly; `entry`, `seeds` and `neighbors`
    /// are then never called.
    fn has_graph(&self) -> bool {
        true
    }
    /// The `keep` nodes with the smallest PQ distance over the whole index, best first, into `out`.
    /// Returns the number of distances computed. The default scores node by node through
    /// [`SearchSpace::pq_distance`]; an index overrides it to stream its code section.
    fn pq_scan(
        &mut self,
        table: &[f32],
        keep: usize,
        out: &mut Vec<(f32, u32)>,
    ) -> crate::error::Result<u64> {
        let mut top = TopK::new(keep);
        for v in 0..self.len() as u32 {
            top.push(self.pq_distance(table, v)?, v);
        }
        top.into_sorted(out);
        Ok(self.len() as u64)
    }
    /// Exact vectors for `ids` (row-major into `out`); updates `stats`.
    fn exact(
        &mut self,
        ids: &[u32],
        out: &mut Vec<f32>,
        stats: &mut SearchStats,
    ) -> crate::error::Result<()>;
}

/// Run the two-level search. `q` is the unit query vector, `table` its PQ ADC table.
pub fn two_level<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    table: &[f32],
    p: &SearchParams,
    stats: &mut SearchStats,
) -> crate::error::Result<Vec<Hit>> {
    let n = space.len();
    if n == 0 || p.k == 0 {
        return Ok(Vec::new());
    }
    if !(p.rerank_ratio > 0.0 && p.rerank_ratio <= 1.0) {
        return Err(crate::error::Error::InvalidParam(alloc::format!(
            "rerank_ratio must be in (0, 1], not {}",
            p.rerank_ratio
        )));
    }
    if !space.has_graph() {
        return scan(space, q, table, p, stats);
    }
    if p.mode == Mode::PqFirst {
        return pq_first(space, q, table, p, stats);
    }
    let ef = p.ef.max(p.k);
    let batch = p.batch_size.max(1);
    let cap = if p.max_recompute == 0 {
        usize::MAX
    } else {
        p.max_recompute.max(1)
    };
    let dot = crate::kernels::active().dot;
    let dim = q.len();
    let mut visited = alloc::vec![0u64; n.div_ceil(64)];
    let mut mark = |v: u32| -> bool {
        let (w, b) = (v as usize / 64, v % 64);
        let fresh = visited[w] & (1 << b) == 0;
        visited[w] |= 1 << b;
        fresh
    };
    let mut frontier: BinaryHeap<Reverse<D>> = BinaryHeap::new();
    let mut results: BinaryHeap<D> = BinaryHeap::new();
    let mut approx: BinaryHeap<Reverse<D>> = BinaryHeap::new();
    let mut pending: Vec<u32> = Vec::with_capacity(batch);
    let mut vecs: Vec<f32> = Vec::new();
    let mut nb: Vec<u32> = Vec::new();
    let mut recomputed = 0usize;

    let mut flush = |space: &mut S,
                     pending: &mut Vec<u32>,
                     frontier: &mut BinaryHeap<Reverse<D>>,
                     results: &mut BinaryHeap<D>,
                     stats: &mut SearchStats|
     -> crate::error::Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        space.exact(pending, &mut vecs, stats)?;
        for (i, &v) in pending.iter().enumerate() {
            let d = 1.0 - dot(q, &vecs[i * dim..(i + 1) * dim]);
            frontier.push(Reverse(D(d, v)));
            if results.len() < ef || d < results.peek().map_or(f32::MAX, |x| x.0) {
                results.push(D(d, v));
                if results.len() > ef {
                    results.pop();
                }
            }
        }
        pending.clear();
        Ok(())
    };

    let entry = space.entry();
    mark(entry);
    pending.push(entry);
    recomputed += 1;
    // Seeds spread over the data are PQ-scored up front, so the search starts in the right region
    // even when the graph has few long-range links; the best of them are recomputed with the entry.
    let nseeds = space.seeds().len();
    for i in 0..nseeds {
        let v = space.seeds()[i];
        if (v as usize) < n && mark(v) {
            let pd = space.pq_distance(table, v)?;
            stats.pq_distances += 1;
            approx.push(Reverse(D(pd, v)));
        }
    }
    for _ in 0..p.seed_recompute.min(cap.saturating_sub(1)) {
        match approx.pop() {
            Some(Reverse(D(_, v))) => {
                pending.push(v);
                recomputed += 1;
            }
            None => break,
        }
    }
    flush(space, &mut pending, &mut frontier, &mut results, stats)?;
    loop {
        let Some(Reverse(D(d, c))) = frontier.pop() else {
            if !pending.is_empty() {
                flush(space, &mut pending, &mut frontier, &mut results, stats)?;
                continue;
            }
            // Nothing exact left to expand: promote the best approximate candidate, if any.
            if recomputed < cap {
                if let Some(Reverse(D(_, v))) = approx.pop() {
                    pending.push(v);
                    recomputed += 1;
                    continue;
                }
            }
            break;
        };
        if results.len() >= ef && d > results.peek().map_or(f32::MAX, |x| x.0) {
            if pending.is_empty() {
                break;
            }
            // Pending nodes may beat the current worst: embed them first, then decide again.
            frontier.push(Reverse(D(d, c)));
            flush(space, &mut pending, &mut frontier, &mut results, stats)?;
            continue;
        }
        stats.hops += 1;
        space.neighbors(c, &mut nb)?;
        let mut fresh = 0usize;
        for &u in &nb {
            if (u as usize) < n && mark(u) {
                let pd = space.pq_distance(table, u)?;
                stats.pq_distances += 1;
                approx.push(Reverse(D(pd, u)));
                fresh += 1;
            }
        }
        if fresh > 0 {
            let take = (libm::ceilf(fresh as f32 * p.rerank_ratio) as usize).max(1);
            for _ in 0..take {
                if recomputed >= cap {
                    break;
                }
                match approx.pop() {
                    Some(Reverse(D(_, v))) => {
                        pending.push(v);
                        recomputed += 1;
                    }
                    None => break,
                }
            }
        }
        if pending.len() >= batch {
            flush(space, &mut pending, &mut frontier, &mut results, stats)?;
        }
    }
    let mut hits: Vec<Hit> = results
        .into_sorted_vec()
        .into_iter()
        .take(p.k)
        .map(|D(d, id)| Hit { id, score: 1.0 - d })
        .collect();
    hits.truncate(p.k);
    Ok(hits)
}

/// PQ-guided beam search, then exact rerank of the best PQ candidates (see [`Mode::PqFirst`]).
pub fn pq_first<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    table: &[f32],
    p: &SearchParams,
    stats: &mut SearchStats,
) -> crate::error::Result<Vec<Hit>> {
    let n = space.len();
    let ef = p.ef.max(p.k);
    let mut visited = alloc::vec![0u64; n.div_ceil(64)];
    let mut mark = |v: u32| -> bool {
        let (w, b) = (v as usize / 64, v % 64);
        let fresh = visited[w] & (1 << b) == 0;
        visited[w] |= 1 << b;
        fresh
    };
    let mut frontier: BinaryHeap<Reverse<D>> = BinaryHeap::new();
    let mut best: BinaryHeap<D> = BinaryHeap::new();
    let push = |space: &mut S,
                v: u32,
                frontier: &mut BinaryHeap<Reverse<D>>,
                best: &mut BinaryHeap<D>,
                stats: &mut SearchStats|
     -> crate::error::Result<()> {
        let d = space.pq_distance(table, v)?;
        stats.pq_distances += 1;
        if best.len() < ef || d < best.peek().map_or(f32::MAX, |x| x.0) {
            best.push(D(d, v));
            if best.len() > ef {
                best.pop();
            }
            frontier.push(Reverse(D(d, v)));
        }
        Ok(())
    };
    let entry = space.entry();
    mark(entry);
    push(space, entry, &mut frontier, &mut best, stats)?;
    for i in 0..space.seeds().len() {
        let v = space.seeds()[i];
        if (v as usize) < n && mark(v) {
            push(space, v, &mut frontier, &mut best, stats)?;
        }
    }
    let mut nb = Vec::new();
    while let Some(Reverse(D(d, c))) = frontier.pop() {
        if best.len() >= ef && d > best.peek().map_or(f32::MAX, |x| x.0) {
            break;
        }
        stats.hops += 1;
        space.neighbors(c, &mut nb)?;
        for &u in &nb {
            if (u as usize) < n && mark(u) {
                push(space, u, &mut frontier, &mut best, stats)?;
            }
        }
    }
    let cands = best.into_sorted_vec();
    let r = rerank_count(p).min(cands.len());
    let ids: Vec<u32> = cands[..r].iter().map(|x| x.1).collect();
    rerank(space, q, &ids, p, stats)
}

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
) -> crate::error::Result<Vec<Hit>> {
    let mut cands = Vec::new();
    stats.pq_distances += space.pq_scan(table, rerank_count(p), &mut cands)?;
    let ids: Vec<u32> = cands.iter().map(|x| x.1).collect();
    rerank(space, q, &ids, p, stats)
}

/// Embed `ids` in batches of `batch_size` and return the best `k` by exact distance.
fn rerank<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    ids: &[u32],
    p: &SearchParams,
    stats: &mut SearchStats,
) -> crate::error::Result<Vec<Hit>> {
    let dot = crate::kernels::active().dot;
    let dim = q.len();
    let mut exact: Vec<D> = Vec::with_capacity(ids.len());
    let mut vecs = Vec::new();
    for chunk in ids.chunks(p.batch_size.max(1)) {
        space.exact(chunk, &mut vecs, stats)?;
        for (i, &v) in chunk.iter().enumerate() {
            exact.push(D(1.0 - dot(q, &vecs[i * dim..(i + 1) * dim]), v));
        }
    }
    exact.sort_unstable();
    Ok(exact
        .into_iter()
        .take(p.k)
        .map(|D(d, id)| Hit { id, score: 1.0 - d })
        .collect())
}

/// The `k` smallest `(distance, id)` pairs seen (ties by id), in a bounded max-heap.
pub struct TopK {
    k: usize,
    heap: BinaryHeap<D>,
}

impl TopK {
    /// Keep at most `k`.
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }
    /// The largest kept distance, or infinity while fewer than `k` are kept.
    #[inline]
    pub fn bound(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |x| x.0)
        }
    }
    /// Offer one pair.
    #[inline]
    pub fn push(&mut self, d: f32, id: u32) {
        if self.k == 0 || d.is_nan() {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(D(d, id));
        } else if D(d, id) < *self.heap.peek().unwrap_or(&D(f32::INFINITY, u32::MAX)) {
            self.heap.pop();
            self.heap.push(D(d, id));
        }
    }
    /// The kept pairs, best first, into `out` (cleared first).
    pub fn into_sorted(self, out: &mut Vec<(f32, u32)>) {
        out.clear();
        out.extend(
            self.heap
                .into_sorted_vec()
                .into_iter()
                .map(|D(d, v)| (d, v)),
        );
    }
}
