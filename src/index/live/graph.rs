//! A change to a graph index: the passages change as in a scan index, and the graph follows
//! ([`crate::graph::update`]): nodes of removed or replaced passages are bypassed, nodes of new
//! passages are linked in. Distances come from the index's PQ — the reconstruction of a stored code,
//! or the exact embedding of a passage embedded by this change — so nothing beyond the PQ codes is
//! needed. The entry point, seeds and hub embeddings follow their nodes; one that is removed hands
//! its role to a kept neighbour.
use super::Entry;
use crate::error::Result;
use crate::flash::FileSource;
use crate::graph::build::GraphParams;
use crate::graph::update::{insert, remove, Space, UpdateParams};
use crate::index::Index;
use crate::pq::Pq;
use std::collections::HashMap;

/// The graph parts of the changed index, over the (reordered) result.
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

fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The parameters the graph was built with: beam and alpha as recorded, the degree cap of an
/// ordinary node read off the graph (the out-degree 98% of nodes stay within: pruning leaves the
/// top 2% of hubs more links).
fn params(idx: &Index<FileSource>, adj: &[Vec<u32>]) -> UpdateParams {
    let d = GraphParams::default();
    let recorded = |key: &str| {
        let build = &idx.meta().build;
        build.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    let mut degrees: Vec<usize> = adj.iter().map(Vec::len).collect();
    degrees.sort_unstable();
    let degree = match degrees.len() {
        0 => crate::graph::prune::PruneParams::default().degree,
        n => degrees[(n * 98 / 100).min(n - 1)].max(2),
    };
    UpdateParams {
        degree,
        beam: recorded("beam")
            .and_then(|b| b.parse().ok())
            .unwrap_or(d.beam),
        alpha: recorded("alpha")
            .and_then(|a| a.parse().ok())
            .unwrap_or(d.alpha),
    }
}

/// Old node of each result passage: one with the same encoder input, each old node claimed once.
fn origins(old: &[Entry], result: &[Entry]) -> Vec<Option<u32>> {
    let mut free: HashMap<u128, Vec<u32>> = HashMap::new();
    for (v, e) in old.iter().enumerate().rev() {
        free.entry(e.key).or_default().push(v as u32);
    }
    result
        .iter()
        .map(|e| free.get_mut(&e.key).and_then(Vec::pop))
        .collect()
}

/// Relink the graph of `idx` for `result` (reordered here: passages that keep their node first,
/// in node order, then the new ones). `exact` holds the embeddings of result passages embedded by
/// the change, by position in `result`.
pub(super) fn relink(
    idx: &Index<FileSource>,
    old: &[Entry],
    result: &mut Vec<Entry>,
    exact: HashMap<usize, Vec<f32>>,
) -> Result<Relinked> {
    let pq = idx.pq();
    let mut old_adj = Vec::with_capacity(old.len());
    for v in 0..old.len() as u32 {
        let mut list = Vec::new();
        idx.neighbors(v, &mut list)?;
        old_adj.push(list);
    }
    let p = params(idx, &old_adj);
    let origin = origins(old, result);
    let mut gone = vec![true; old.len()];
    origin
        .iter()
        .flatten()
        .for_each(|&v| gone[v as usize] = false);
    let old_codes: Vec<u8> = old.iter().flat_map(|e| e.code.iter().copied()).collect();
    let old_space = PqSpace {
        pq,
        codes: &old_codes,
        exact: HashMap::new(),
    };
    let mut adj = remove(&old_adj, &gone, &old_space, &p);
    let mut new_id = vec![None; old.len()];
    let mut next = 0u32;
    for v in 0..old.len() {
        if !gone[v] {
            new_id[v] = Some(next);
            next += 1;
        }
    }
    // Kept passages in node order, then new ones in the order given.
    let mut order: Vec<usize> = (0..result.len()).collect();
    order.sort_by_key(|&i| origin[i].map_or((1, i), |v| (0, v as usize)));
    let mut taken: Vec<Option<Entry>> = std::mem::take(result).into_iter().map(Some).collect();
    let mut space_exact = HashMap::new();
    for (pos, &i) in order.iter().enumerate() {
        if let Some(x) = exact.get(&i) {
            let mut y = pq.projected(x);
            normalize(&mut y);
            space_exact.insert(pos as u32, y);
        }
        result.extend(taken[i].take());
    }
    let kept = adj.len() as u32;
    adj.resize(result.len(), Vec::new());
    // A removed node hands its role to its first kept neighbour.
    let heir = |v: u32| -> Option<u32> {
        new_id[v as usize].or_else(|| old_adj[v as usize].iter().find_map(|&u| new_id[u as usize]))
    };
    let entry = if old.is_empty() {
        None
    } else {
        heir(idx.meta().entry)
    };
    let entry = entry.unwrap_or(0);
    let codes: Vec<u8> = result.iter().flat_map(|e| e.code.iter().copied()).collect();
    let space = PqSpace {
        pq,
        codes: &codes,
        exact: space_exact,
    };
    insert(&mut adj, kept, entry, &space, &p, &|_, _| {});
    let mut seeds: Vec<u32> = Vec::new();
    for s in idx.seeds().iter().filter_map(|&s| heir(s)) {
        if !seeds.contains(&s) {
            seeds.push(s);
        }
    }
    let mut hub_ids = Vec::new();
    let mut hub_rows = Vec::new();
    for (v, id) in new_id.iter().enumerate() {
        if let Some(id) = id {
            if idx.hub_vector(v as u32, &mut hub_rows)? {
                hub_ids.push(*id);
            }
        }
    }
    Ok(Relinked {
        adj,
        entry,
        seeds,
        hubs: (hub_ids, hub_rows),
    })
}
