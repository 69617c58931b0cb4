//! The recompute policy: where a candidate's exact embedding comes from — its stored hub vector
//! when it has one, else the process's recompute cache when it holds the passage, else the
//! encoder on its passage text (title + body), all misses of a batch in one encoder call.
use super::Index;
use crate::embed::{EmbedError, Embedder};
use crate::error::Result;
use crate::flash::FlashSource;
use crate::search::SearchStats;
use alloc::string::String;
use alloc::vec::Vec;

/// Where recomputed vectors are remembered across queries, keyed by the content key of the
/// encoder input ([`crate::passages::content_key`]): the std recompute cache
/// ([`super::RecomputeCache`]).
pub trait RecomputeMemo: Sync {
    /// Copy the vector of `key` into `out`; false when it is not held.
    fn get(&self, key: u128, out: &mut [f32]) -> bool;
    /// Remember `v` under `key`.
    fn insert(&self, key: u128, v: &[f32]);
}

/// Exact vectors for `ids`, row-major into `out`; counts hub hits, recomputes and encoder time.
pub(crate) fn exact_vectors<S: FlashSource, E: Embedder + ?Sized>(
    index: &Index<S>,
    embedder: &E,
    cache: Option<&dyn RecomputeMemo>,
    ids: &[u32],
    out: &mut Vec<f32>,
    stats: &mut SearchStats,
) -> Result<()> {
    let dim = index.meta().dim as usize;
    out.clear();
    out.resize(ids.len() * dim, 0.0);
    let mut texts: Vec<String> = Vec::new();
    let mut which = Vec::new();
    let mut keys = Vec::new();
    let mut hv = Vec::with_capacity(dim);
    for (i, &v) in ids.iter().enumerate() {
        hv.clear();
        if index.hub_vector(v, &mut hv)? {
            out[i * dim..(i + 1) * dim].copy_from_slice(&hv);
            stats.hub_hits += 1;
            continue;
        }
        let text = index.embed_input(v)?;
        if let Some(c) = cache {
            let key = crate::passages::content_key(&text);
            if c.get(key, &mut out[i * dim..(i + 1) * dim]) {
                stats.recompute_cache_hits += 1;
                continue;
            }
            keys.push(key);
        }
        texts.push(text);
        which.push(i);
    }
    if which.is_empty() {
        return Ok(());
    }
    let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let t = super::searcher::now();
    let vecs = embedder.embed(&refs)?;
    stats.embed_micros += super::searcher::micros_since(t);
    if vecs.len() != which.len() * dim {
        let why = alloc::format!(
            "embedder returned {} floats for {} texts",
            vecs.len(),
            which.len()
        );
        return Err(EmbedError::Runtime(why).into());
    }
    stats.embed_calls += 1;
    stats.recomputed += which.len() as u64;
    for (j, &i) in which.iter().enumerate() {
        let v = &vecs[j * dim..(j + 1) * dim];
        out[i * dim..(i + 1) * dim].copy_from_slice(v);
        if let (Some(c), Some(&key)) = (cache, keys.get(j)) {
            c.insert(key, v);
        }
    }
    Ok(())
}
