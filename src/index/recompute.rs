//! The recompute policy: where a candidate's exact embedding comes from — its stored hub vector
//! when it has one, else the encoder on its passage text (title + body), all misses of a batch in
//! one encoder call.
use super::Index;
use crate::embed::{EmbedError, Embedder};
use crate::error::Result;
use crate::flash::FlashSource;
use crate::search::SearchStats;
use alloc::string::String;
use alloc::vec::Vec;

/// Exact vectors for `ids`, row-major into `out`; counts hub hits, recomputes and encoder time.
pub(crate) fn exact_vectors<S: FlashSource, E: Embedder + ?Sized>(
    index: &Index<S>,
    embedder: &E,
    ids: &[u32],
    out: &mut Vec<f32>,
    stats: &mut SearchStats,
) -> Result<()> {
    let dim = index.meta().dim as usize;
    out.clear();
    out.resize(ids.len() * dim, 0.0);
    let mut texts: Vec<String> = Vec::new();
    let mut which = Vec::new();
    let mut hv = Vec::with_capacity(dim);
    for (i, &v) in ids.iter().enumerate() {
        hv.clear();
        if index.hub_vector(v, &mut hv)? {
            out[i * dim..(i + 1) * dim].copy_from_slice(&hv);
            stats.hub_hits += 1;
        } else {
            texts.push(index.embed_input(v)?);
            which.push(i);
        }
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
        out[i * dim..(i + 1) * dim].copy_from_slice(&vecs[j * dim..(j + 1) * dim]);
    }
    Ok(())
}
