//! Parallel, deterministic Vamana-style graph build.
//!
//! Nodes are inserted in seeded random order in batches of growing size (prefix doubling). Within a
//! batch every node searches the *frozen* graph in parallel (rayon) and picks its neighbours with
//! alpha-RNG pruning; the results, and the back-links they cause, are then applied in a fixed order.
//! So the graph depends only on the vectors, the parameters and the seed — never on thread timing.
use super::{dist, MAX_DEGREE};
use crate::rng::Rng;
use crate::search::queue::{Scored, TopK, Visited};
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Graph build parameters.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct GraphParams {
    /// Maximum out-degree while building (R).
    pub max_degree: usize,
    /// Beam width of the build-time search (L).
    pub beam: usize,
    /// RNG pruning slack of the second pass (DiskANN's alpha).
    pub alpha: f32,
    /// Seed for insertion order.
    pub seed: u64,
}

impl Default for GraphParams {
    fn default() -> Self {
        GraphParams {
            max_degree: 32,
            beam: 64,
            alpha: 1.2,
            seed: 42,
        }
    }
}

/// A built graph: adjacency lists and the entry point (medoid).
#[derive(Clone, Debug)]
pub struct Graph {
    /// Out-neighbours per node.
    pub adj: Vec<Vec<u32>>,
    /// Search entry point.
    pub entry: u32,
}

/// The node closest to the mean vector.
pub fn medoid(vectors: &[f32], dim: usize) -> u32 {
    let n = vectors.len() / dim;
    let mut mean = vec![0f32; dim];
    for row in vectors.chunks_exact(dim) {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += x;
        }
    }
    let best = (0..n)
        .into_par_iter()
        .map(|i| {
            (
                crate::kernels::dot(&vectors[i * dim..(i + 1) * dim], &mean),
                i,
            )
        })
        .reduce(
            || (f32::MIN, usize::MAX),
            |a, b| {
                if b.0 > a.0 || (b.0 == a.0 && b.1 < a.1) {
                    b
                } else {
                    a
                }
            },
        );
    best.1 as u32
}

/// Beam search on exact vectors; returns every node whose distance was computed (sorted by distance).
fn greedy(
    adj: &[Vec<u32>],
    vecs: &[f32],
    dim: usize,
    entry: u32,
    q: &[f32],
    beam: usize,
    visited: &mut Visited,
) -> Vec<Scored> {
    let row = |i: u32| &vecs[i as usize * dim..(i as usize + 1) * dim];
    greedy_by(adj, entry, beam, visited, |i| dist(q, row(i)))
}

/// Beam search from `entry` under any distance to the query (`dist_to(node)`); returns every node
/// whose distance was computed, sorted by distance.
pub fn greedy_by(
    adj: &[Vec<u32>],
    entry: u32,
    beam: usize,
    visited: &mut Visited,
    dist_to: impl Fn(u32) -> f32,
) -> Vec<Scored> {
    visited.clear();
    let mut seen = Vec::with_capacity(beam * 4);
    let mut frontier = BinaryHeap::new();
    let mut best = TopK::new(beam);
    visited.insert(entry);
    let d0 = dist_to(entry);
    frontier.push(Reverse(Scored::new(d0, entry)));
    best.push(d0, entry);
    seen.push(Scored::new(d0, entry));
    while let Some(Reverse(c)) = frontier.pop() {
        if c.dist > best.bound() {
            break;
        }
        for &w in &adj[c.id as usize] {
            if !visited.insert(w) {
                continue;
            }
            let dw = dist_to(w);
            seen.push(Scored::new(dw, w));
            if dw < best.bound() {
                best.push(dw, w);
                frontier.push(Reverse(Scored::new(dw, w)));
            }
        }
    }
    seen.sort_unstable();
    seen
}

/// Alpha-RNG neighbour selection: keep a candidate unless an already kept one is `alpha` times closer
/// to it than it is to `p`. `keep_always(c)` exempts candidates (hubs) from occlusion.
pub fn robust_prune(
    vecs: &[f32],
    dim: usize,
    p: u32,
    cands: &mut Vec<(f32, u32)>,
    alpha: f32,
    cap: usize,
    keep_always: &dyn Fn(u32) -> bool,
) -> Vec<u32> {
    let row = |i: u32| &vecs[i as usize * dim..(i as usize + 1) * dim];
    cands.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    cands.dedup_by_key(|c| c.1);
    let mut out: Vec<u32> = Vec::with_capacity(cap);
    for &(dc, c) in cands.iter() {
        if out.len() >= cap {
            break;
        }
        if c == p {
            continue;
        }
        let occluded = !keep_always(c) && out.iter().any(|&s| alpha * dist(row(s), row(c)) <= dc);
        if !occluded {
            out.push(c);
        }
    }
    out
}

/// Build the graph. `vectors` is `n × dim`, rows L2-normalised.
pub fn build(
    vectors: &[f32],
    dim: usize,
    p: &GraphParams,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Graph {
    let n = vectors.len() / dim;
    if n == 0 {
        return Graph {
            adj: Vec::new(),
            entry: 0,
        };
    }
    let r = p.max_degree.clamp(2, MAX_DEGREE);
    let beam = p.beam.max(r);
    let entry = medoid(vectors, dim);
    let mut adj: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut order: Vec<u32> = (0..n as u32).collect();
    Rng::new(p.seed).shuffle(&mut order);
    let total = (2 * n) as u64;
    let mut done = 0u64;
    let max_batch = (n / 50).max(64);
    for (pass, alpha) in [1.0f32, p.alpha].into_iter().enumerate() {
        let mut start = 0;
        let mut bsize = 1;
        while start < n {
            let end = (start + bsize).min(n);
            let batch = &order[start..end];
            let adj_ref = &adj;
            let new_lists: Vec<(u32, Vec<u32>)> = batch
                .par_iter()
                .map_init(
                    || Visited::new(n),
                    |s, &v| {
                        let q = &vectors[v as usize * dim..(v as usize + 1) * dim];
                        let seen = greedy(adj_ref, vectors, dim, entry, q, beam, s);
                        let mut cands: Vec<(f32, u32)> =
                            seen.iter().map(|c| (c.dist, c.id)).collect();
                        if pass > 0 {
                            for &u in &adj_ref[v as usize] {
                                cands.push((
                                    dist(q, &vectors[u as usize * dim..(u as usize + 1) * dim]),
                                    u,
                                ));
                            }
                        }
                        (
                            v,
                            robust_prune(vectors, dim, v, &mut cands, alpha, r, &|_| false),
                        )
                    },
                )
                .collect();
            let mut back: Vec<(u32, u32)> = Vec::new();
            for (v, list) in new_lists {
                for &u in &list {
                    back.push((u, v));
                }
                adj[v as usize] = list;
            }
            back.sort_unstable();
            back.dedup();
            let groups: Vec<(u32, Vec<u32>)> = back
                .chunk_by(|a, b| a.0 == b.0)
                .map(|g| (g[0].0, g.iter().map(|x| x.1).collect()))
                .collect();
            let adj_ref = &adj;
            let updated: Vec<(u32, Vec<u32>)> = groups
                .into_par_iter()
                .map(|(t, srcs)| {
                    let mut list = adj_ref[t as usize].clone();
                    for s in srcs {
                        if !list.contains(&s) {
                            list.push(s);
                        }
                    }
                    if list.len() > r {
                        let tv = &vectors[t as usize * dim..(t as usize + 1) * dim];
                        let mut cands: Vec<(f32, u32)> = list
                            .iter()
                            .map(|&u| {
                                (
                                    dist(tv, &vectors[u as usize * dim..(u as usize + 1) * dim]),
                                    u,
                                )
                            })
                            .collect();
                        list = robust_prune(vectors, dim, t, &mut cands, alpha, r, &|_| false);
                    }
                    (t, list)
                })
                .collect();
            for (t, list) in updated {
                adj[t as usize] = list;
            }
            done += (end - start) as u64;
            progress(done, total);
            start = end;
            bsize = (bsize * 2).min(max_batch);
        }
    }
    Graph { adj, entry }
}
