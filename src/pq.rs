//! Product quantisation: `m` sub-spaces × 8 bits (256 centroids) or 4 bits (16 centroids),
//! codebooks stored as f16, per-query ADC lookup tables. PQ only *guides* the search; exact
//! recomputed embeddings decide the ranking.
use crate::error::{Error, Result};
use alloc::vec::Vec;
use half::f16;

/// A trained PQ codebook.
#[derive(Clone, Debug, PartialEq)]
pub struct Pq {
    /// Vector dimension.
    pub dim: usize,
    /// Number of sub-spaces.
    pub m: usize,
    /// Bits per code: 8 or 4.
    pub bits: u32,
    /// Centroids, `m × ksub × dsub`, already rounded through f16.
    pub centroids: Vec<f32>,
}

impl Pq {
    /// Centroids per sub-space.
    pub fn ksub(&self) -> usize {
        1 << self.bits
    }
    /// Dimensions per sub-space.
    pub fn dsub(&self) -> usize {
        self.dim / self.m
    }
    /// Bytes of one encoded vector.
    pub fn code_bytes(&self) -> usize {
        if self.bits == 4 {
            self.m.div_ceil(2)
        } else {
            self.m
        }
    }
    /// Serialise the codebook (f16 little-endian).
    pub fn codebook_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.centroids.len() * 2);
        for &c in &self.centroids {
            out.extend_from_slice(&f16::from_f32(c).to_le_bytes());
        }
        out
    }
    /// Read a codebook written by [`Pq::codebook_bytes`].
    pub fn from_codebook_bytes(dim: usize, m: usize, bits: u32, bytes: &[u8]) -> Result<Self> {
        if m == 0 || dim % m != 0 || !(bits == 4 || bits == 8) {
            return Err(Error::corrupt(
                "pq",
                alloc::format!("bad PQ shape dim={dim} m={m} bits={bits}"),
            ));
        }
        let want = (1usize << bits) * dim;
        if bytes.len() != want * 2 {
            return Err(Error::corrupt(
                "pq",
                alloc::format!("codebook has {} bytes, expected {}", bytes.len(), want * 2),
            ));
        }
        let centroids = bytes
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect();
        Ok(Pq {
            dim,
            m,
            bits,
            centroids,
        })
    }
    fn centroid(&self, s: usize, c: usize) -> &[f32] {
        let dsub = self.dsub();
        let o = (s * self.ksub() + c) * dsub;
        &self.centroids[o..o + dsub]
    }
    /// ADC table for a query: `table[s*ksub + c] = -dot(q_s, centroid_{s,c})`, so that
    /// `1 + adc(codes)` approximates the distance `1 - dot(q, x)`.
    pub fn table(&self, q: &[f32]) -> Vec<f32> {
        let dsub = self.dsub();
        let ksub = self.ksub();
        let k = crate::kernels::active();
        let mut t = Vec::with_capacity(self.m * ksub);
        for s in 0..self.m {
            let qs = &q[s * dsub..(s + 1) * dsub];
            for c in 0..ksub {
                t.push(-(k.dot)(qs, self.centroid(s, c)));
            }
        }
        t
    }
    /// Expand stored code bytes to one byte per sub-space.
    pub fn unpack<'a>(&self, stored: &'a [u8], scratch: &'a mut [u8]) -> &'a [u8] {
        if self.bits == 8 {
            return stored;
        }
        for s in 0..self.m {
            let b = stored[s / 2];
            scratch[s] = if s % 2 == 0 { b & 0x0f } else { b >> 4 };
        }
        &scratch[..self.m]
    }
    /// Approximate distance of stored codes under an ADC table.
    #[inline]
    pub fn distance(&self, table: &[f32], stored: &[u8]) -> f32 {
        let k = crate::kernels::active();
        if self.bits == 4 {
            return 1.0 + (k.adc4)(table, stored, self.m);
        }
        1.0 + (k.adc)(table, self.ksub(), stored)
    }
    /// Encode one vector.
    pub fn encode(&self, v: &[f32], out: &mut Vec<u8>) {
        let dsub = self.dsub();
        let l2 = crate::kernels::active().l2sq;
        let mut codes = [0u8; 256];
        for (s, code) in codes.iter_mut().enumerate().take(self.m) {
            let vs = &v[s * dsub..(s + 1) * dsub];
            let mut best = (f32::MAX, 0usize);
            for c in 0..self.ksub() {
                let d = l2(vs, self.centroid(s, c));
                if d < best.0 {
                    best = (d, c);
                }
            }
            *code = best.1 as u8;
        }
        if self.bits == 8 {
            out.extend_from_slice(&codes[..self.m]);
        } else {
            for p in codes[..self.m].chunks(2) {
                out.push(p[0] | (p.get(1).copied().unwrap_or(0) << 4));
            }
        }
    }
}

/// PQ training parameters.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct PqParams {
    /// Sub-spaces (must divide the dimension).
    pub m: usize,
    /// 8 or 4.
    pub bits: u32,
    /// Training sample size (vectors).
    pub sample: usize,
    /// k-means iterations.
    pub iters: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for PqParams {
    fn default() -> Self {
        PqParams {
            m: 16,
            bits: 8,
            sample: 25_000,
            iters: 20,
            seed: 7,
        }
    }
}

/// Train a codebook with seeded k-means per sub-space (parallel over sub-spaces).
#[cfg(feature = "std")]
pub fn train(vectors: &[f32], dim: usize, p: &PqParams) -> Result<Pq> {
    use rayon::prelude::*;
    if p.m == 0 || dim % p.m != 0 || p.m > 256 {
        return Err(Error::InvalidParam(format!(
            "PQ sub-spaces {} must divide the dimension {dim} (and be <= 256)",
            p.m
        )));
    }
    if !(p.bits == 8 || p.bits == 4) {
        return Err(Error::InvalidParam(format!(
            "PQ bits must be 4 or 8, not {}",
            p.bits
        )));
    }
    let n = vectors.len() / dim;
    if n == 0 {
        return Err(Error::InvalidParam("no vectors to train PQ on".into()));
    }
    let ksub = 1usize << p.bits;
    let dsub = dim / p.m;
    let mut rng = crate::rng::Rng::new(p.seed);
    let mut ids: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut ids);
    ids.truncate(p.sample.max(ksub).min(n));
    ids.sort_unstable();
    let per_sub: Vec<Vec<f32>> = (0..p.m)
        .into_par_iter()
        .map(|s| {
            let data: Vec<f32> = ids
                .iter()
                .flat_map(|&i| {
                    vectors[i * dim + s * dsub..i * dim + (s + 1) * dsub]
                        .iter()
                        .copied()
                })
                .collect();
            kmeans(&data, dsub, ksub, p.iters, p.seed.wrapping_add(s as u64))
        })
        .collect();
    let mut centroids = Vec::with_capacity(ksub * dim);
    for c in per_sub {
        centroids.extend(c.into_iter().map(|x| f16::from_f32(x).to_f32()));
    }
    Ok(Pq {
        dim,
        m: p.m,
        bits: p.bits,
        centroids,
    })
}

/// Plain Lloyd k-means with seeded init; empty clusters are re-seeded from random points.
#[cfg(feature = "std")]
pub fn kmeans(data: &[f32], d: usize, k: usize, iters: usize, seed: u64) -> Vec<f32> {
    let n = data.len() / d;
    let mut rng = crate::rng::Rng::new(seed);
    let mut cent = vec![0f32; k * d];
    for c in 0..k {
        let i = if n >= k {
            (c * n) / k + rng.below((n / k).max(1))
        } else {
            rng.below(n)
        };
        cent[c * d..(c + 1) * d].copy_from_slice(&data[i.min(n - 1) * d..(i.min(n - 1) + 1) * d]);
    }
    let l2 = crate::kernels::active().l2sq;
    let mut assign = vec![0usize; n];
    for _ in 0..iters {
        for i in 0..n {
            let x = &data[i * d..(i + 1) * d];
            let mut best = (f32::MAX, 0);
            for c in 0..k {
                let dd = l2(x, &cent[c * d..(c + 1) * d]);
                if dd < best.0 {
                    best = (dd, c);
                }
            }
            assign[i] = best.1;
        }
        let mut sum = vec![0f64; k * d];
        let mut cnt = vec![0usize; k];
        for i in 0..n {
            cnt[assign[i]] += 1;
            for j in 0..d {
                sum[assign[i] * d + j] += data[i * d + j] as f64;
            }
        }
        for c in 0..k {
            if cnt[c] == 0 {
                let i = rng.below(n);
                cent[c * d..(c + 1) * d].copy_from_slice(&data[i * d..(i + 1) * d]);
            } else {
                for j in 0..d {
                    cent[c * d + j] = (sum[c * d + j] / cnt[c] as f64) as f32;
                }
            }
        }
    }
    cent
}
