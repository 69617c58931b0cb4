//! A change to a graph index: the passages change as in a scan index, and the graph follows
//! ([`crate::graph::update`]): nodes of removed or replaced passages are bypassed, nodes of new
//! passages are linked in. Distances come from the index's PQ — the reconstruction of a stored code,
//! or the exact embedding of a passage embedded by this change — so nothing beyond the PQ codes is
//! needed. The entry point and seeds follow their nodes (one that is removed hands its role to a
//! kept neighbour); stored hub embeddings follow theirs (a removed hub's is dropped; new nodes get
//! none).
use super::Entry;
use crate::error::Result;
use crate::flash::FileSource;
use crate::graph::build::GraphParams;
use crate::graph::prune::PruneParams;
use crate::graph::update::{insert, promote_hubs, remove, Space, UpdateParams};
use crate::graph::MAX_DEGREE;
use crate::index::Index;
use crate::pq::Pq;
use std::collections::HashMap;

/// The graph parts of the changed index, over the result.
pub(super) struct Relinked {
    /// Out-neighbours per node.
    pub adj: Vec<Vec<u32>>,
    /// Search entry point.
    pub entry: u32,
    /// Search seeds.
    pub seeds: Vec<u32>,
    /// Hub node ids (sorted) and their stored embeddings, `dim` floats each.
    pub hubs: (Vec<u32>, Vec<f32>),
}

/// Distances in the space the PQ works in.
struct PqSpace<'a> {
    pq: &'a Pq,
    codes: &'a [u8],
    /// Exact vectors (projected, unit length) of the nodes embedded by this change.
    exact: HashMap<u32, Vec<f32>>,
}

impl PqSpace<'_> {
    fn code(&self, v: u32) -> &[u8] {
        let cb = self.pq.code_bytes();
        &self.codes[v as usize * cb..(v as usize + 1) * cb]
    }
}

impl Space for PqSpace<'_> {
    fn dim(&self) -> usize {
        self.pq.dim
    }
    fn vector(&self, v: u32, out: &mut Vec<f32>) {
        match self.exact.get(&v) {
            Some(x) => {
                out.clear();
                out.extend_from_slice(x);
            }
            None => {
                self.pq.decode(self.code(v), out);
                normalize(out);
            }
        }
    }
    fn approx(&self, q: &[f32], v: u32) -> f32 {
        self.pq.distance(q, self.code(v))
    }
    fn query(&self, x: &[f32]) -> Vec<f32> {
        self.pq.table_projected(x)
    }
}

/// An embedding as the graph change measures it: projected into the PQ's space, unit length.
pub(super) fn projected_unit(pq: &Pq, x: &[f32]) -> Vec<f32> {
    let mut y = pq.projected(x);
    normalize(&mut y);
    y
}

fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The parameters the graph was built with, from the index's typed build record (format 7; read
/// from the build text for older files): the degree caps of an ordinary node and a hub (the
/// pruning's, or `max_degree` for an unpruned graph; read off the graph — the out-degree 95% of
/// nodes stay within — when the record has neither), beam and alpha. Bounded: the values come
/// from the file, which may be hostile.
fn params(idx: &Index<FileSource>, adj: &[Vec<u32>]) -> UpdateParams {
    let d = GraphParams::default();
    let g = idx.build_record().graph.as_ref();
    let prune = g.and_then(|g| g.prune.as_ref());
    let recorded = prune
        .map(|p| p.degree as usize)
        .or_else(|| g.map(|g| g.max_degree as usize))
        .filter(|&m| m > 0);
    let degree = recorded.unwrap_or_else(|| {
        let mut degrees: Vec<usize> = adj.iter().map(Vec::len).collect();
        degrees.sort_unstable();
        let n = degrees.len();
        degrees
            .get((n * 95 / 100).min(n.saturating_sub(1)))
            .copied()
            .unwrap_or(d.max_degree / 2)
    });
    let degree = degree.clamp(2, MAX_DEGREE);
    let beam = g.map_or(0, |g| g.beam as usize);
    let alpha = g.map_or(0.0, |g| g.alpha);
    UpdateParams {
        degree,
        hub_degree: prune
            .map_or(degree, |p| p.hub_degree as usize)
            .clamp(degree, MAX_DEGREE),
        hub_fraction: prune
            .map(|p| p.hub_fraction)
            .filter(|s| s.is_finite())
            .map_or(PruneParams::default().hub_fraction, |s| s.clamp(0.0, 0.5)),
        beam: if beam == 0 {
            d.beam
        } else {
            beam.clamp(8, 512)
        },
        alpha: if alpha.is_finite() && alpha > 0.0 {
            alpha.clamp(1.0, 2.0)
        } else {
            d.alpha
        },
    }
}

/// Relink the graph of `idx` for `result` (node `i` is passage `i` of `result`; `origin[i]` its
/// node before, if it had one). `exact` holds the embeddings of result passages embedded by the
/// change ([`projected_unit`]), by position in `result`.
pub(super) fn relink(
    idx: &Index<FileSource>,
    old: &[Entry],
    result: &[Entry],
    origin: &[Option<u32>],
    exact: HashMap<usize, Vec<f32>>,
) -> Result<Relinked> {
    let pq = idx.pq();
    let old_adj = adjacency(idx, old.len())?;
    let p = params(idx, &old_adj);
    // Where each old node goes (None: removed).
    let mut moved: Vec<Option<u32>> = vec![None; old.len()];
    for (i, o) in origin.iter().enumerate() {
        if let Some(v) = o {
            moved[*v as usize] = Some(i as u32);
        }
    }
    let gone: Vec<bool> = moved.iter().map(Option::is_none).collect();
    let old_codes: Vec<u8> = old.iter().flat_map(|e| e.code.iter().copied()).collect();
    let old_space = PqSpace {
        pq,
        codes: &old_codes,
        exact: HashMap::new(),
    };
    // `remove` numbers the kept nodes by rank; put each list where its passage went.
    let kept: Vec<u32> = moved.iter().flatten().copied().collect();
    let mut adj = vec![Vec::new(); result.len()];
    for (r, list) in remove(&old_adj, &gone, &old_space, &p)
        .into_iter()
        .enumerate()
    {
        adj[kept[r] as usize] = list.into_iter().map(|u| kept[u as usize]).collect();
    }
    // A kept node whose neighbours and theirs were all removed has no links left: it is linked
    // in again like a new one (first), so no dead end stays in the graph.
    let orphans = kept
        .iter()
        .copied()
        .filter(|&i| kept.len() > 1 && adj[i as usize].is_empty());
    let added: Vec<u32> = (0..result.len() as u32)
        .filter(|&i| origin[i as usize].is_none())
        .collect();
    let linked = |i: &u32| !adj[*i as usize].is_empty();
    // A removed node hands its role to its first kept neighbour.
    let heir = |v: u32| -> Option<u32> {
        let v = v as usize;
        moved[v].or_else(|| old_adj[v].iter().find_map(|&u| moved[u as usize]))
    };
    let entry = (!old.is_empty())
        .then(|| heir(idx.meta().entry))
        .flatten()
        .filter(linked)
        .or(kept.iter().copied().find(linked))
        .or(kept.first().copied())
        .or(added.first().copied())
        .unwrap_or(0);
    let new: Vec<u32> = orphans.chain(added.iter().copied()).collect();
    let codes: Vec<u8> = result.iter().flat_map(|e| e.code.iter().copied()).collect();
    let exact = exact.into_iter().map(|(i, y)| (i as u32, y)).collect();
    let space = PqSpace {
        pq,
        codes: &codes,
        exact,
    };
    insert(&mut adj, &new, entry, &space, &p, &|_, _| {});
    // Only new nodes change who is best linked (a removal or a compact leaves the hubs as they
    // are).
    if !added.is_empty() {
        promote_hubs(&mut adj, &space, &p);
    }
    let mut seeds: Vec<u32> = Vec::new();
    for s in idx.seeds().iter().filter_map(|&s| heir(s)) {
        if !seeds.contains(&s) {
            seeds.push(s);
        }
    }
    Ok(Relinked {
        adj,
        entry,
        seeds,
        hubs: hubs(idx, &moved)?,
    })
}

/// Every node's neighbours.
fn adjacency(idx: &Index<FileSource>, n: usize) -> Result<Vec<Vec<u32>>> {
    let mut adj = Vec::with_capacity(n);
    for v in 0..n as u32 {
        let mut list = Vec::new();
        idx.neighbors(v, &mut list)?;
        adj.push(list);
    }
    Ok(adj)
}

/// The stored hub embeddings of the kept nodes, under their new ids (sorted).
fn hubs(idx: &Index<FileSource>, moved: &[Option<u32>]) -> Result<(Vec<u32>, Vec<f32>)> {
    let mut found: Vec<(u32, Vec<f32>)> = Vec::new();
    for (v, to) in moved.iter().enumerate() {
        let mut row = Vec::new();
        if let Some(to) = to {
            if idx.hub_vector(v as u32, &mut row)? {
                found.push((*to, row));
            }
        }
    }
    found.sort_by_key(|h| h.0);
    let ids = found.iter().map(|h| h.0).collect();
    Ok((ids, found.into_iter().flat_map(|h| h.1).collect()))
}
