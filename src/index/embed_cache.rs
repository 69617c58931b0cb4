//! Embedding the passages of a build, and the optional embedding cache: one file holding every
//! passage vector of a corpus + model (`key u64 | count u64 | f32 rows`), so a rebuild of the same
//! corpus with other index parameters skips the encoder. A cache that cannot be written costs a
//! warning, never the build.
use super::builder::{IndexBuilder, Phase, ProgressFn};
use crate::embed::{EmbedError, Embedder};
use crate::error::{Error, Result};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// FNV-1a over `b`, continuing from `h`.
fn fnv64(h: &mut u64, b: &[u8]) {
    for &x in b {
        *h ^= x as u64;
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

/// The cache key: the model fingerprint and every encoder input, in order.
fn cache_key(fingerprint: &str, inputs: &[String]) -> u64 {
    let mut key = 0xcbf2_9ce4_8422_2325u64;
    fnv64(&mut key, fingerprint.as_bytes());
    for s in inputs {
        fnv64(&mut key, s.as_bytes());
        fnv64(&mut key, &[0xff]);
    }
    key
}

/// The cached vectors if `path` holds them for this key, count and dimension.
fn load(path: &Path, key: u64, count: usize, dim: usize) -> Option<Vec<f32>> {
    let want = 16 + count.checked_mul(dim)?.checked_mul(4)?;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() != want as u64 {
        log::info!(
            "embedding cache {} does not match; re-embedding",
            path.display()
        );
        return None;
    }
    let b = std::fs::read(path).ok()?;
    if b[..8] != key.to_le_bytes() || b[8..16] != (count as u64).to_le_bytes() {
        log::info!(
            "embedding cache {} is for other passages or another model; re-embedding",
            path.display()
        );
        return None;
    }
    Some(
        b[16..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

impl IndexBuilder {
    /// Embed every passage (length-sorted batches), or load them from the embedding cache.
    /// Returns the vectors (insertion order) and whether they came from the cache.
    pub fn embed_all<E: Embedder + ?Sized>(
        &self,
        e: &E,
        progress: ProgressFn,
        cancel: &AtomicBool,
    ) -> Result<(Vec<f32>, bool)> {
        let dim = e.dim();
        let inputs: Vec<String> = self.passages().iter().map(|p| p.embed_input()).collect();
        let key = cache_key(&e.fingerprint(), &inputs);
        let cache = self.params().embed_cache.as_deref();
        if let Some(v) = cache.and_then(|c| load(c, key, inputs.len(), dim)) {
            progress(Phase::Embed, inputs.len() as u64, inputs.len() as u64);
            return Ok((v, true));
        }
        let out = embed_sorted(e, &inputs, self.params().embed_batch, progress, cancel)?;
        if let Some(c) = cache {
            store_passages(c, key, inputs.len(), &out);
        }
        Ok((out, false))
    }
}

fn store_passages(path: &Path, key: u64, count: usize, vectors: &[f32]) {
    let mut b = Vec::with_capacity(16 + vectors.len() * 4);
    b.extend_from_slice(&key.to_le_bytes());
    b.extend_from_slice(&(count as u64).to_le_bytes());
    b.extend(vectors.iter().flat_map(|x| x.to_le_bytes()));
    if let Err(e) = crate::format::write_file_atomic(path, &b) {
        log::warn!(
            "could not write the embedding cache {}: {e} (the index is built anyway)",
            path.display()
        );
    }
}

/// Embed `inputs` in batches of `batch`, shortest first (less padding), into insertion order.
fn embed_sorted<E: Embedder + ?Sized>(
    e: &E,
    inputs: &[String],
    batch: usize,
    progress: ProgressFn,
    cancel: &AtomicBool,
) -> Result<Vec<f32>> {
    let dim = e.dim();
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| (inputs[i].len(), i));
    let mut out = vec![0f32; inputs.len() * dim];
    let mut done = 0u64;
    for chunk in order.chunks(batch.max(1)) {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let texts: Vec<&str> = chunk.iter().map(|&i| inputs[i].as_str()).collect();
        let v = e.embed(&texts)?;
        if v.len() != texts.len() * dim {
            let why = format!(
                "embedder returned {} floats for {} texts",
                v.len(),
                texts.len()
            );
            return Err(EmbedError::Runtime(why).into());
        }
        for (j, &i) in chunk.iter().enumerate() {
            out[i * dim..(i + 1) * dim].copy_from_slice(&v[j * dim..(j + 1) * dim]);
        }
        done += chunk.len() as u64;
        progress(Phase::Embed, done, inputs.len() as u64);
    }
    Ok(out)
}
