//! Two-level search with dynamic batching (LEANN Alg. 2, [`Mode::TwoLevel`](super::Mode)).
//!
//! Best-first over the graph from the entry point. Each expansion PQ-scores every newly seen
//! neighbour into an approximate queue; only the best `rerank_ratio` share of those (taken from the
//! whole approximate queue, so earlier near-misses can still win) is queued for exact recompute.
//! Queued nodes are gathered across expansions up to `batch_size` and embedded in one encoder call.
//! Results are ranked by exact distance only.
use super::queue::{Scored, TopK, Visited};
use super::rerank::{exact_scored, hits};
use super::{Hit, SearchParams, SearchSpace, SearchStats};
use crate::error::Result;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;

/// The walk's state.
struct Walk<'q> {
    q: &'q [f32],
    table: &'q [f32],
    n: usize,
    batch: usize,
    /// Most passages recomputed.
    cap: usize,
    rerank_ratio: f32,
    visited: Visited,
    /// Exact nodes not yet expanded (min-heap).
    frontier: BinaryHeap<Reverse<Scored>>,
    /// Best `ef` exact nodes.
    results: TopK,
    /// PQ-scored nodes not yet recomputed (min-heap).
    approx: BinaryHeap<Reverse<Scored>>,
    /// Nodes queued for the next encoder call.
    pending: Vec<u32>,
    recomputed: usize,
    vecs: Vec<f32>,
}

/// Run the two-level search (a scan index, which has no graph, is scanned). `q` is the unit query
/// vector, `table` its PQ table.
pub fn two_level<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    table: &[f32],
    p: &SearchParams,
    stats: &mut SearchStats,
) -> Result<Vec<Hit>> {
    // Callable on its own (it was the entry point before `search::run`): the same guards.
    p.validate()?;
    let n = space.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    if !space.has_graph() {
        return super::scan(space, q, table, p, stats);
    }
    let ef = p.ef.max(p.k);
    let mut w = Walk {
        q,
        table,
        n,
        batch: p.batch_size.max(1),
        cap: if p.max_recompute == 0 {
            usize::MAX
        } else {
            p.max_recompute.max(1)
        },
        rerank_ratio: p.rerank_ratio,
        visited: Visited::new(n),
        frontier: BinaryHeap::new(),
        results: TopK::new(ef),
        approx: BinaryHeap::new(),
        pending: Vec::new(),
        recomputed: 0,
        vecs: Vec::new(),
    };
    w.start(space, p.seed_recompute, stats)?;
    w.walk(space, stats)?;
    Ok(hits(w.results.into_sorted_vec(), p.k))
}

impl Walk<'_> {
    /// Queue `v` for recompute.
    fn queue(&mut self, v: u32) {
        self.pending.push(v);
        self.recomputed += 1;
    }

    /// Queue the best PQ candidate, if any and the cap allows.
    fn promote(&mut self) -> bool {
        if self.recomputed >= self.cap {
            return false;
        }
        match self.approx.pop() {
            Some(Reverse(s)) => {
                self.queue(s.id);
                true
            }
            None => false,
        }
    }

    /// PQ-score `v` into the approximate queue if it is new.
    fn offer<S: SearchSpace>(
        &mut self,
        space: &mut S,
        v: u32,
        st: &mut SearchStats,
    ) -> Result<bool> {
        if (v as usize) >= self.n || !self.visited.insert(v) {
            return Ok(false);
        }
        let d = space.pq_distance(self.table, v)?;
        st.pq_distances += 1;
        self.approx.push(Reverse(Scored::new(d, v)));
        Ok(true)
    }

    /// Recompute the queued nodes in one encoder call; they become exact candidates.
    fn flush<S: SearchSpace>(&mut self, space: &mut S, st: &mut SearchStats) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut scored = Vec::with_capacity(self.pending.len());
        exact_scored(
            space,
            self.q,
            &self.pending,
            &mut self.vecs,
            st,
            &mut scored,
        )?;
        for s in scored {
            self.frontier.push(Reverse(s));
            if s.dist < self.results.bound() {
                self.results.push(s.dist, s.id);
            }
        }
        self.pending.clear();
        Ok(())
    }

    /// Recompute the entry point and the best PQ-scored seeds. Seeds spread over the data are
    /// PQ-scored up front, so the search starts in the right region even when the graph has few
    /// long-range links.
    fn start<S: SearchSpace>(
        &mut self,
        space: &mut S,
        seeds: usize,
        st: &mut SearchStats,
    ) -> Result<()> {
        let entry = space.entry();
        self.visited.insert(entry);
        self.queue(entry);
        for i in 0..space.seeds().len() {
            let v = space.seeds()[i];
            self.offer(space, v, st)?;
        }
        for _ in 0..seeds.min(self.cap.saturating_sub(1)) {
            if !self.promote() {
                break;
            }
        }
        self.flush(space, st)
    }

    /// Expand exact nodes best first until none can improve the results.
    fn walk<S: SearchSpace>(&mut self, space: &mut S, st: &mut SearchStats) -> Result<()> {
        let mut nb = Vec::new();
        loop {
            let Some(Reverse(c)) = self.frontier.pop() else {
                if !self.pending.is_empty() {
                    self.flush(space, st)?;
                    continue;
                }
                // Nothing exact left to expand: promote the best approximate candidate, if any.
                if self.promote() {
                    continue;
                }
                return Ok(());
            };
            if c.dist > self.results.bound() {
                if self.pending.is_empty() {
                    return Ok(());
                }
                // Pending nodes may beat the current worst: embed them first, then decide again.
                self.frontier.push(Reverse(c));
                self.flush(space, st)?;
                continue;
            }
            st.hops += 1;
            space.neighbors(c.id, &mut nb)?;
            let mut fresh = 0usize;
            for &u in &nb {
                fresh += self.offer(space, u, st)? as usize;
            }
            if fresh > 0 {
                let take = (libm::ceilf(fresh as f32 * self.rerank_ratio) as usize).max(1);
                for _ in 0..take {
                    if !self.promote() {
                        break;
                    }
                }
            }
            if self.pending.len() >= self.batch {
                self.flush(space, st)?;
            }
        }
    }
}
