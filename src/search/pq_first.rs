//! PQ-first search ([`Mode::PqFirst`](super::Mode), the default on graph indexes): a beam search of
//! width `ef` guided by PQ distances alone, then the best candidates recomputed (a fixed count or
//! adaptively, [`rerank_candidates`]) and ranked exactly.
use super::queue::{Scored, TopK, Visited};
use super::rerank::{pool_size, rerank_candidates};
use super::{Hit, SearchParams, SearchSpace, SearchStats};
use crate::error::Result;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;

/// Run the PQ-first search on a graph index.
pub fn pq_first<S: SearchSpace>(
    space: &mut S,
    q: &[f32],
    table: &[f32],
    p: &SearchParams,
    stats: &mut SearchStats,
) -> Result<Vec<Hit>> {
    let n = space.len();
    let mut visited = Visited::new(n);
    let mut frontier: BinaryHeap<Reverse<Scored>> = BinaryHeap::new();
    let mut best = TopK::new(p.ef.max(p.k));
    let mut offer = |space: &mut S, v: u32, frontier: &mut BinaryHeap<_>, best: &mut TopK| {
        if (v as usize) >= n || !visited.insert(v) {
            return Ok(());
        }
        let d = space.pq_distance(table, v)?;
        stats.pq_distances += 1;
        if d < best.bound() {
            best.push(d, v);
            frontier.push(Reverse(Scored::new(d, v)));
        }
        Ok::<(), crate::error::Error>(())
    };
    offer(space, space.entry(), &mut frontier, &mut best)?;
    for i in 0..space.seeds().len() {
        let v = space.seeds()[i];
        offer(space, v, &mut frontier, &mut best)?;
    }
    let mut nb = Vec::new();
    let mut hops = 0;
    while let Some(Reverse(c)) = frontier.pop() {
        if c.dist > best.bound() {
            break;
        }
        hops += 1;
        space.neighbors(c.id, &mut nb)?;
        for &u in &nb {
            offer(space, u, &mut frontier, &mut best)?;
        }
    }
    stats.hops += hops;
    let cands = best.into_sorted_vec();
    let r = pool_size(p, space.calibration()).min(cands.len());
    let pool: Vec<(f32, u32)> = cands[..r].iter().map(|s| (s.dist, s.id)).collect();
    rerank_candidates(space, q, &pool, p, stats)
}
