//! High-degree-preserving pruning (LEANN Alg. 3).
//!
//! Proximity graphs route most searches through a few hub nodes. Keep the top `hub_fraction` of nodes
//! (by in-degree in the built graph) at up to `hub_degree` (M) links, cap every other node at
//! `degree` (m < M), and let hubs gain back-links from the nodes that point at them. Hub neighbours are
//! never dropped by the occlusion rule, so routing through hubs survives the cut.
use super::{dist, MAX_DEGREE};
use crate::graph::build::{robust_prune, Graph};
use rayon::prelude::*;

/// Pruning parameters.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct PruneParams {
    /// Share of nodes treated as hubs (0.02 = top 2% by degree).
    pub hub_fraction: f32,
    /// Max out-degree of hubs (M).
    pub hub_degree: usize,
    /// Max out-degree of all other nodes (m).
    pub degree: usize,
    /// RNG slack used when selecting the kept edges.
    pub alpha: f32,
}

impl Default for PruneParams {
    fn default() -> Self {
        PruneParams {
            hub_fraction: 0.02,
            hub_degree: 64,
            degree: 16,
            alpha: 1.2,
        }
    }
}

/// Summary of a pruning run.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct PruneReport {
    /// Edges before.
    pub edges_before: u64,
    /// Edges after.
    pub edges_after: u64,
    /// Hub count.
    pub hubs: u64,
}

/// Node ids sorted by in-degree (highest first, ties by id).
pub fn by_in_degree(adj: &[Vec<u32>]) -> Vec<u32> {
    let mut indeg = vec![0u32; adj.len()];
    for l in adj {
        for &u in l {
            indeg[u as usize] += 1;
        }
    }
    let mut ids: Vec<u32> = (0..adj.len() as u32).collect();
    ids.sort_by(|&a, &b| indeg[b as usize].cmp(&indeg[a as usize]).then(a.cmp(&b)));
    ids
}

/// Prune `g` in place.
pub fn prune(g: &mut Graph, vectors: &[f32], dim: usize, p: &PruneParams) -> PruneReport {
    let n = g.adj.len();
    let edges_before = g.adj.iter().map(|l| l.len() as u64).sum();
    let hub_m = p.hub_degree.clamp(1, MAX_DEGREE);
    let m = p.degree.clamp(1, hub_m);
    let nhubs = ((n as f64 * p.hub_fraction as f64).ceil() as usize).min(n);
    let mut is_hub = vec![false; n];
    for &h in by_in_degree(&g.adj).iter().take(nhubs) {
        is_hub[h as usize] = true;
    }
    is_hub[g.entry as usize] = true;
    let row = |i: u32| &vectors[i as usize * dim..(i as usize + 1) * dim];
    let adj = &g.adj;
    let hub_ref = &is_hub;
    let mut new_adj: Vec<Vec<u32>> = (0..n as u32)
        .into_par_iter()
        .map(|v| {
            let cap = if hub_ref[v as usize] { hub_m } else { m };
            let vv = row(v);
            let mut cands: Vec<(f32, u32)> = adj[v as usize]
                .iter()
                .map(|&u| (dist(vv, row(u)), u))
                .collect();
            robust_prune(vectors, dim, v, &mut cands, p.alpha, cap, &|c| {
                hub_ref[c as usize]
            })
        })
        .collect();
    // Back-links into hubs, in node order (deterministic), while the hub has room.
    let mut extra: Vec<Vec<(f32, u32)>> = vec![Vec::new(); n];
    for (v, list) in new_adj.iter().enumerate() {
        if is_hub[v] {
            continue;
        }
        for &h in list {
            if is_hub[h as usize] {
                extra[h as usize].push((dist(row(h), row(v as u32)), v as u32));
            }
        }
    }
    for (h, mut e) in extra.into_iter().enumerate() {
        if e.is_empty() {
            continue;
        }
        e.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let list = &mut new_adj[h];
        for (_, v) in e {
            if list.len() >= hub_m {
                break;
            }
            if !list.contains(&v) {
                list.push(v);
            }
        }
    }
    g.adj = new_adj;
    PruneReport {
        edges_before,
        edges_after: g.adj.iter().map(|l| l.len() as u64).sum(),
        hubs: nhubs as u64,
    }
}
