//! Changing a built graph in place, FreshDiskANN-style but without full-precision vectors (LEANN
//! stores none): a removed node is bypassed — each node that linked to it takes over its
//! neighbours and re-prunes — and a new node is linked in by a beam search from the entry point
//! under PQ distances, alpha-RNG pruning of what the search saw, and back-links that re-prune a
//! neighbour that overflows. Pairwise distances come from a [`Space`]: exact vectors for the nodes
//! embedded by the change, PQ reconstructions for the others.
use super::build::{greedy_by, robust_prune};
use super::prune::by_in_degree;
use super::{dist, MAX_DEGREE};
use crate::search::queue::Visited;
use rayon::prelude::*;

/// The vectors a graph change measures with.
pub trait Space: Sync {
    /// Dimension of [`Space::vector`].
    fn dim(&self) -> usize;
    /// Node `v`'s vector (unit length) into `out`.
    fn vector(&self, v: u32, out: &mut Vec<f32>);
    /// Approximate distance from the query `q` (a [`Space::query`] of a vector) to node `v`.
    fn approx(&self, q: &[f32], v: u32) -> f32;
    /// What [`Space::approx`] needs for the query vector `x` (an ADC table).
    fn query(&self, x: &[f32]) -> Vec<f32>;
}

/// Parameters of a graph change (those the graph was built with, where the index records them).
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateParams {
    /// Out-degree cap of a new node and of an ordinary node (m).
    pub degree: usize,
    /// Out-degree cap of a hub (M): a node linked to more than `degree` nodes before the change.
    /// As in LEANN's pruning, hubs are never dropped from a list by the occlusion rule, so new
    /// nodes join the hubs' highway.
    pub hub_degree: usize,
    /// Share of nodes that are hubs (LEANN's top 2% by in-degree): after the change the nodes
    /// with most in-links become hubs and take back-links up to `hub_degree`.
    pub hub_fraction: f32,
    /// Beam width of the insertion search.
    pub beam: usize,
    /// RNG pruning slack.
    pub alpha: f32,
}

/// Pick at most `cap` of `cands` as neighbours of `p` (alpha-RNG pruning in `space`; `hub`
/// candidates are exempt from occlusion).
fn prune_with(
    space: &dyn Space,
    p: u32,
    cands: &[u32],
    alpha: f32,
    cap: usize,
    hub: &dyn Fn(u32) -> bool,
) -> Vec<u32> {
    let dim = space.dim();
    let mut buf = Vec::with_capacity(dim);
    let mut slab = Vec::with_capacity((cands.len() + 1) * dim);
    space.vector(p, &mut buf);
    slab.extend_from_slice(&buf);
    let mut local = Vec::with_capacity(cands.len());
    for (j, &c) in cands.iter().enumerate() {
        space.vector(c, &mut buf);
        local.push((dist(&slab[..dim], &buf), j as u32 + 1));
        slab.extend_from_slice(&buf);
    }
    let exempt = |j: u32| hub(cands[j as usize - 1]);
    let kept = robust_prune(&slab, dim, 0, &mut local, alpha, cap, &exempt);
    kept.into_iter().map(|j| cands[j as usize - 1]).collect()
}

/// Whether a node whose list had `len` links before the change is a hub.
fn is_hub(len: usize, p: &UpdateParams) -> bool {
    len > p.degree
}

/// The cap of a node whose list had `len` links before the change.
fn cap_of(len: usize, p: &UpdateParams) -> usize {
    let cap = if is_hub(len, p) {
        p.hub_degree
    } else {
        p.degree
    };
    cap.max(len).clamp(1, MAX_DEGREE)
}

/// Drop the nodes `gone` flags from `adj` (FreshDiskANN's delete consolidation): a kept node that
/// linked to removed ones takes their kept neighbours as candidates and re-prunes. Returns the kept
/// nodes' lists, renumbered in order (a kept node's new id is its rank among the kept).
pub fn remove(
    adj: &[Vec<u32>],
    gone: &[bool],
    space: &dyn Space,
    p: &UpdateParams,
) -> Vec<Vec<u32>> {
    let mut new_id = vec![u32::MAX; adj.len()];
    let mut next = 0u32;
    for (v, g) in gone.iter().enumerate() {
        if !g {
            new_id[v] = next;
            next += 1;
        }
    }
    let repaired: Vec<Vec<u32>> = (0..adj.len() as u32)
        .into_par_iter()
        .filter(|&v| !gone[v as usize])
        .map(|v| {
            let list = &adj[v as usize];
            if !list.iter().any(|&u| gone[u as usize]) {
                return list.clone();
            }
            let mut cands: Vec<u32> = Vec::with_capacity(list.len() * 2);
            for &u in list {
                if !gone[u as usize] {
                    cands.push(u);
                } else {
                    let via = adj[u as usize].iter().copied();
                    cands.extend(via.filter(|&w| !gone[w as usize] && w != v));
                }
            }
            cands.sort_unstable();
            cands.dedup();
            let cap = cap_of(list.len(), p);
            if cands.len() <= cap {
                cands
            } else {
                let hub = |u: u32| is_hub(adj[u as usize].len(), p);
                prune_with(space, v, &cands, p.alpha, cap, &hub)
            }
        })
        .collect();
    repaired
        .into_iter()
        .map(|l| l.into_iter().map(|u| new_id[u as usize]).collect())
        .collect()
}

/// Link the nodes `new` (with empty lists) into the graph, searching from `entry`, in batches
/// that search the frozen graph in parallel and then apply their links in order (so the result
/// does not depend on thread timing). `progress(done, total)` after each batch.
pub fn insert(
    adj: &mut [Vec<u32>],
    new: &[u32],
    entry: u32,
    space: &dyn Space,
    p: &UpdateParams,
    progress: &dyn Fn(u64, u64),
) {
    let n = adj.len() as u32;
    let base_len: Vec<usize> = adj.iter().map(Vec::len).collect();
    let cap = p.degree.clamp(1, MAX_DEGREE);
    // Twice the build's beam: the search runs on PQ distances, and a wider beam makes up for
    // their error in the candidates it offers (measured on docs-faq: docs/benchmarks.md).
    let beam = (2 * p.beam).max(cap);
    let hub = |u: u32| is_hub(base_len[u as usize], p);
    let mut linked = adj.len() - new.len();
    let mut start = 0;
    while start < new.len() {
        // A batch is at most 2% of the linked graph: its nodes do not see each other.
        let size = (linked / 50).clamp(1, 512);
        let end = (start + size).min(new.len());
        let frozen: &[Vec<u32>] = adj;
        let lists: Vec<(u32, Vec<u32>)> = new[start..end]
            .par_iter()
            .copied()
            .map_init(
                || Visited::new(n as usize),
                |vis, v| {
                    if v == entry {
                        return (v, Vec::new());
                    }
                    let mut x = Vec::new();
                    space.vector(v, &mut x);
                    let q = space.query(&x);
                    let seen = greedy_by(frozen, entry, beam, vis, |u| space.approx(&q, u));
                    let cands: Vec<u32> = seen
                        .iter()
                        .map(|s| s.id)
                        .filter(|&u| u != v)
                        .take(2 * beam)
                        .collect();
                    (v, prune_with(space, v, &cands, p.alpha, cap, &hub))
                },
            )
            .collect();
        let mut back: Vec<(u32, u32)> = Vec::new();
        for (v, list) in lists {
            back.extend(list.iter().map(|&u| (u, v)));
            adj[v as usize] = list;
        }
        back.sort_unstable();
        let groups: Vec<(u32, Vec<u32>)> = back
            .chunk_by(|a, b| a.0 == b.0)
            .map(|g| (g[0].0, g.iter().map(|x| x.1).collect()))
            .collect();
        let frozen: &[Vec<u32>] = adj;
        let updated: Vec<(u32, Vec<u32>)> = groups
            .into_par_iter()
            .map(|(t, srcs)| {
                let mut list = frozen[t as usize].clone();
                for s in srcs {
                    if !list.contains(&s) {
                        list.push(s);
                    }
                }
                let cap = cap_of(base_len[t as usize], p);
                if list.len() > cap {
                    list = prune_with(space, t, &list, p.alpha, cap, &hub);
                }
                (t, list)
            })
            .collect();
        for (t, list) in updated {
            adj[t as usize] = list;
        }
        progress(end as u64, new.len() as u64);
        linked += end - start;
        start = end;
    }
}

/// LEANN's hub rule on the changed graph: the top `hub_fraction` of nodes by in-degree (new nodes
/// among them) are hubs and take back-links from the nodes that point at them, nearest first,
/// while they have room (`hub_degree`). Returns the number of hubs.
pub fn promote_hubs(adj: &mut [Vec<u32>], space: &dyn Space, p: &UpdateParams) -> usize {
    let n = adj.len();
    if p.hub_degree <= p.degree || n == 0 {
        return 0;
    }
    let nhubs = ((n as f64 * p.hub_fraction as f64).ceil() as usize).min(n);
    let mut is_hub = vec![false; n];
    for &h in by_in_degree(adj).iter().take(nhubs) {
        is_hub[h as usize] = true;
    }
    let mut into: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (v, list) in adj.iter().enumerate() {
        for &h in list.iter().filter(|&&h| is_hub[h as usize]) {
            into[h as usize].push(v as u32);
        }
    }
    let cap = p.hub_degree.clamp(1, MAX_DEGREE);
    let frozen: &[Vec<u32>] = adj;
    let grown: Vec<(usize, Vec<u32>)> = (0..n)
        .into_par_iter()
        .filter(|&h| is_hub[h] && frozen[h].len() < cap && !into[h].is_empty())
        .map(|h| {
            let (mut hv, mut buf) = (Vec::new(), Vec::new());
            space.vector(h as u32, &mut hv);
            let mut near: Vec<(f32, u32)> = into[h]
                .iter()
                .filter(|&&v| !is_hub[v as usize])
                .map(|&v| {
                    space.vector(v, &mut buf);
                    (dist(&hv, &buf), v)
                })
                .collect();
            near.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut list = frozen[h].clone();
            for (_, v) in near {
                if list.len() >= cap {
                    break;
                }
                if !list.contains(&v) {
                    list.push(v);
                }
            }
            (h, list)
        })
        .collect();
    for (h, list) in grown {
        adj[h] = list;
    }
    nhubs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::build::{build, GraphParams};

    /// Exact vectors as the space (the algorithm's own behaviour, without PQ error).
    struct Exact<'a> {
        v: &'a [f32],
        dim: usize,
    }

    impl Space for Exact<'_> {
        fn dim(&self) -> usize {
            self.dim
        }
        fn vector(&self, v: u32, out: &mut Vec<f32>) {
            out.clear();
            out.extend_from_slice(&self.v[v as usize * self.dim..(v as usize + 1) * self.dim]);
        }
        fn approx(&self, q: &[f32], v: u32) -> f32 {
            dist(
                q,
                &self.v[v as usize * self.dim..(v as usize + 1) * self.dim],
            )
        }
        fn query(&self, x: &[f32]) -> Vec<f32> {
            x.to_vec()
        }
    }

    fn unit_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::rng::Rng::new(seed);
        let mut v: Vec<f32> = (0..n * dim).map(|_| rng.normal()).collect();
        for row in v.chunks_exact_mut(dim) {
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            row.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }

    /// Share of queries whose true nearest node a beam search from `entry` finds.
    fn recall_at_1(adj: &[Vec<u32>], v: &[f32], dim: usize, entry: u32, queries: &[f32]) -> f64 {
        let n = adj.len();
        let mut vis = Visited::new(n);
        let mut hits = 0;
        let qs: Vec<&[f32]> = queries.chunks_exact(dim).collect();
        for q in &qs {
            let truth = (0..n)
                .min_by(|&a, &b| {
                    let da = dist(q, &v[a * dim..(a + 1) * dim]);
                    da.total_cmp(&dist(q, &v[b * dim..(b + 1) * dim]))
                })
                .unwrap() as u32;
            let seen = greedy_by(adj, entry, 32, &mut vis, |u| {
                dist(q, &v[u as usize * dim..(u as usize + 1) * dim])
            });
            hits += usize::from(seen[0].id == truth);
        }
        hits as f64 / qs.len() as f64
    }

    #[test]
    fn a_graph_grown_by_inserts_and_thinned_by_removals_still_finds_nearest_nodes() {
        let (dim, n) = (16, 1200);
        let v = unit_vectors(n, dim, 3);
        let queries = unit_vectors(200, dim, 4);
        let gp = GraphParams {
            max_degree: 16,
            ..GraphParams::default()
        };
        let p = UpdateParams {
            degree: 16,
            hub_degree: 16,
            hub_fraction: 0.02,
            beam: 64,
            alpha: 1.2,
        };
        // Half built, the other half inserted.
        let half = build(&v[..n / 2 * dim], dim, &gp, &|_, _| {});
        let mut adj = half.adj.clone();
        adj.resize(n, Vec::new());
        let space = Exact { v: &v, dim };
        let new: Vec<u32> = (n as u32 / 2..n as u32).collect();
        insert(&mut adj, &new, half.entry, &space, &p, &|_, _| {});
        assert!(adj.iter().all(|l| l.len() <= 16 && !l.is_empty()));
        let grown = recall_at_1(&adj, &v, dim, half.entry, &queries);
        let fresh = build(&v, dim, &gp, &|_, _| {});
        let fresh_r = recall_at_1(&fresh.adj, &v, dim, fresh.entry, &queries);
        assert!(grown >= fresh_r - 0.05, "grown {grown} fresh {fresh_r}");
        // Remove every third node (not the entry): no list may point at a removed node, and the
        // rest is still found.
        let gone: Vec<bool> = (0..n)
            .map(|i| i % 3 == 1 && i != half.entry as usize)
            .collect();
        let kept_vecs: Vec<f32> = (0..n)
            .filter(|&i| !gone[i])
            .flat_map(|i| v[i * dim..(i + 1) * dim].to_vec())
            .collect();
        let thinned = remove(&adj, &gone, &space, &p);
        assert_eq!(thinned.len(), n - gone.iter().filter(|&&g| g).count());
        assert!(thinned
            .iter()
            .flatten()
            .all(|&u| (u as usize) < thinned.len()));
        let entry = (0..half.entry as usize).filter(|&i| !gone[i]).count() as u32;
        let after = recall_at_1(&thinned, &kept_vecs, dim, entry, &queries);
        assert!(
            after >= fresh_r - 0.05,
            "after removal {after} fresh {fresh_r}"
        );
        // The best-linked 2% become hubs: they alone grow, up to the hub degree, by back-links.
        let hub_p = UpdateParams {
            hub_degree: 32,
            ..p
        };
        let mut hubbed = thinned.clone();
        let space = Exact { v: &kept_vecs, dim };
        let hubs = promote_hubs(&mut hubbed, &space, &hub_p);
        assert_eq!(hubs, (thinned.len() as f64 * 0.02).ceil() as usize);
        let grew: Vec<usize> = (0..hubbed.len())
            .filter(|&v| hubbed[v].len() > thinned[v].len())
            .collect();
        assert!(
            !grew.is_empty() && grew.len() <= hubs,
            "{} grew",
            grew.len()
        );
        for &h in &grew {
            assert!(hubbed[h].len() <= 32 && hubbed[h].starts_with(&thinned[h]));
            // Every link it gained comes from a node that links to it.
            for &v in &hubbed[h][thinned[h].len()..] {
                assert!(thinned[v as usize].contains(&(h as u32)));
            }
        }
    }
}
