//! Embedding the passages of a build, and the optional embedding cache: one vector per distinct
//! passage, keyed by a 128-bit hash of its encoder input, for one model. A rebuild of a changed
//! corpus re-embeds only the passages that changed. The cache stores vectors (1.5 KB a passage at
//! 384 dimensions), so it is a build-host convenience, never part of an index. One of another model,
//! truncated, or with damaged vectors is ignored (what it lacks is embedded); one that cannot be
//! written costs a warning, never the build; `build` refuses to replace a file that is not a cache.
//!
//! File: `"LEANNEMB" | version u16 (1) | dim u32 | fingerprint length u16 | fingerprint |
//! count u64 | count × (key u128 | dim × f32)`, all little-endian.
use super::builder::{IndexBuilder, Phase, ProgressFn};
use crate::embed::{EmbedError, Embedder};
use crate::error::{Error, Result};
use crate::passages::content_key;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

const MAGIC: &[u8; 8] = b"LEANNEMB";
const VERSION: u16 = 1;

/// What [`IndexBuilder::embed_all_counted`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmbedReport {
    /// Passages whose vector came from the cache.
    pub reused: u64,
    /// Passages the encoder embedded.
    pub embedded: u64,
    /// Size of the cache file written (0 without a cache).
    pub cache_bytes: u64,
}

/// The cached vectors of one model, by key; empty when `path` holds another model's, another
/// dimension's, or nothing readable.
fn load(path: &Path, fingerprint: &str, dim: usize) -> HashMap<u128, Vec<f32>> {
    let mut out = HashMap::new();
    // Read the header first: the file's size must be what its count says before it is read whole.
    let Ok(mut f) = crate::flash::open_regular(path) else {
        return out;
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let mut b = vec![0u8; (16 + fingerprint.len() + 8).min(len as usize)];
    if std::io::Read::read_exact(&mut f, &mut b).is_err() {
        return out;
    }
    let fp = fingerprint.as_bytes();
    let head = 8 + 2 + 4 + 2 + fp.len() + 8;
    let ok = b.len() >= head
        && &b[..8] == MAGIC
        && b[8..10] == VERSION.to_le_bytes()
        && b[10..14] == (dim as u32).to_le_bytes()
        && b[14..16] == (fp.len() as u16).to_le_bytes()
        && &b[16..16 + fp.len()] == fp;
    if !ok {
        log::info!(
            "embedding cache {} is for another model or format; not used",
            path.display()
        );
        return out;
    }
    let count = u64::from_le_bytes(b[head - 8..head].try_into().unwrap_or([0; 8]));
    let entry = 16 + 4 * dim;
    if (count as u128) * (entry as u128) != (len as u128).saturating_sub(head as u128) {
        log::info!("embedding cache {} is truncated; not used", path.display());
        return out;
    }
    b.resize(len as usize, 0);
    if std::io::Read::read_exact(&mut f, &mut b[head..]).is_err() {
        return out;
    }
    for e in b[head..].chunks_exact(entry) {
        let k = u128::from_le_bytes(e[..16].try_into().unwrap_or([0; 16]));
        let v: Vec<f32> = e[16..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        // A damaged vector is re-embedded rather than trusted (no CRC: a cache is a convenience).
        let norm: f32 = v.iter().map(|x| x * x).sum();
        if v.iter().all(|x| x.is_finite()) && (norm - 1.0).abs() < 1e-2 {
            out.insert(k, v);
        }
    }
    out
}

/// Write the vectors of this corpus (`keys[i]` ↔ row `i` of `vectors`), one entry per key.
fn store(path: &Path, fingerprint: &str, dim: usize, keys: &[u128], vectors: &[f32]) -> u64 {
    let fp = fingerprint.as_bytes();
    let mut seen = std::collections::HashSet::new();
    let mut body = Vec::with_capacity(keys.len() * (16 + 4 * dim));
    for (i, k) in keys.iter().enumerate() {
        if seen.insert(*k) {
            body.extend_from_slice(&k.to_le_bytes());
            body.extend(
                vectors[i * dim..(i + 1) * dim]
                    .iter()
                    .flat_map(|x| x.to_le_bytes()),
            );
        }
    }
    let mut b = Vec::with_capacity(32 + fp.len() + body.len());
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.extend_from_slice(&(dim as u32).to_le_bytes());
    b.extend_from_slice(&(fp.len().min(u16::MAX as usize) as u16).to_le_bytes());
    b.extend_from_slice(&fp[..fp.len().min(u16::MAX as usize)]);
    b.extend_from_slice(&(seen.len() as u64).to_le_bytes());
    b.extend_from_slice(&body);
    match crate::format::write_file_atomic(path, &b) {
        Ok(()) => b.len() as u64,
        Err(e) => {
            log::warn!(
                "could not write the embedding cache {}: {e} (the index is built anyway)",
                path.display()
            );
            0
        }
    }
}

impl IndexBuilder {
    /// Embed every passage (length-sorted batches), taking what the embedding cache holds.
    /// Returns the vectors (insertion order) and whether all came from the cache.
    pub fn embed_all<E: Embedder + ?Sized>(
        &self,
        e: &E,
        progress: ProgressFn,
        cancel: &AtomicBool,
    ) -> Result<(Vec<f32>, bool)> {
        let (v, r) = self.embed_all_counted(e, progress, cancel)?;
        Ok((v, r.embedded == 0))
    }

    /// [`IndexBuilder::embed_all`], saying how many passages the cache served.
    pub fn embed_all_counted<E: Embedder + ?Sized>(
        &self,
        e: &E,
        progress: ProgressFn,
        cancel: &AtomicBool,
    ) -> Result<(Vec<f32>, EmbedReport)> {
        let dim = e.dim();
        let fp = e.fingerprint();
        let inputs: Vec<String> = self.passages().iter().map(|p| p.embed_input()).collect();
        let cache_path = self.params().embed_cache.as_deref();
        let cached = cache_path.map(|c| load(c, &fp, dim)).unwrap_or_default();
        let keys: Vec<u128> = inputs.iter().map(|s| content_key(s)).collect();
        let mut out = vec![0f32; inputs.len() * dim];
        let mut missing = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            match cached.get(k) {
                Some(v) if v.len() == dim => out[i * dim..(i + 1) * dim].copy_from_slice(v),
                _ => missing.push(i),
            }
        }
        drop(cached);
        let todo: Vec<String> = missing.iter().map(|&i| inputs[i].clone()).collect();
        let fresh = embed_sorted(e, &todo, self.params().embed_batch, progress, cancel)?;
        for (j, &i) in missing.iter().enumerate() {
            out[i * dim..(i + 1) * dim].copy_from_slice(&fresh[j * dim..(j + 1) * dim]);
        }
        let mut report = EmbedReport {
            reused: (inputs.len() - missing.len()) as u64,
            embedded: missing.len() as u64,
            cache_bytes: 0,
        };
        if let Some(c) = cache_path {
            report.cache_bytes = store(c, &fp, dim, &keys, &out);
        }
        progress(Phase::Embed, inputs.len() as u64, inputs.len() as u64);
        Ok((out, report))
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
