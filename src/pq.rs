//! Product quantisation: `m` sub-spaces × 8 bits (256 centroids) or 4 bits (16 centroids),
//! codebooks stored as f16, per-query ADC lookup tables, and an optional learned projection
//! (OPQ: vectors are first mapped through `dim × out_dim` orthonormal columns, trained so that the
//! PQ error is small). PQ only *guides* the search; exact recomputed embeddings decide the ranking.
use crate::error::{Error, Result};
use alloc::vec::Vec;
use half::f16;

/// A learned projection applied before PQ (OPQ): `y = R x` with `R` of shape `out_dim × in_dim`
/// and orthonormal rows, stored as f16.
#[derive(Clone, Debug, PartialEq)]
pub struct Rotation {
    /// Input (embedding) dimension.
    pub in_dim: usize,
    /// Output dimension (the dimension PQ works in).
    pub out_dim: usize,
    /// Rows of `R`, `out_dim × in_dim`, already rounded through f16.
    pub rows: Vec<f32>,
}

impl Rotation {
    /// Project `x` (`in_dim`) into `out` (`out_dim`).
    pub fn apply(&self, x: &[f32], out: &mut [f32]) {
        project(x, &self.rows, &mut out[..self.out_dim]);
    }
    /// Serialise: `in_dim u32 | out_dim u32 | rows as f16`, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.rows.len() * 2);
        out.extend_from_slice(&(self.in_dim as u32).to_le_bytes());
        out.extend_from_slice(&(self.out_dim as u32).to_le_bytes());
        for &c in &self.rows {
            out.extend_from_slice(&f16::from_f32(c).to_le_bytes());
        }
        out
    }
    /// Read bytes written by [`Rotation::to_bytes`]; `in_dim` must match the index dimension.
    pub fn from_bytes(in_dim: usize, bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 8 {
            return Err(Error::corrupt("pq_rotation", "shorter than its header"));
        }
        let rd =
            |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let (i, o) = (rd(0) as usize, rd(4) as usize);
        if i != in_dim || o == 0 || o > in_dim {
            return Err(Error::corrupt(
                "pq_rotation",
                alloc::format!("shape {i} -> {o} does not fit dimension {in_dim}"),
            ));
        }
        if (bytes.len() - 8) as u64 != (i as u64) * (o as u64) * 2 {
            return Err(Error::corrupt(
                "pq_rotation",
                alloc::format!("{} bytes for a {i} x {o} matrix", bytes.len()),
            ));
        }
        let rows = bytes[8..]
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect();
        Ok(Rotation {
            in_dim: i,
            out_dim: o,
            rows,
        })
    }
}

/// `out[j] = dot(x, rows[j])` for the `out.len()` rows of `rows` (each `x.len()` wide).
fn project(x: &[f32], rows: &[f32], out: &mut [f32]) {
    let dot = crate::kernels::active().dot;
    for (o, r) in out.iter_mut().zip(rows.chunks_exact(x.len())) {
        *o = dot(x, r);
    }
}

/// A trained PQ codebook.
#[derive(Clone, Debug, PartialEq)]
pub struct Pq {
    /// Dimension PQ works in (the rotation's output dimension when there is one).
    pub dim: usize,
    /// Number of sub-spaces.
    pub m: usize,
    /// Bits per code: 8 or 4.
    pub bits: u32,
    /// Centroids, `m × ksub × dsub`, already rounded through f16.
    pub centroids: Vec<f32>,
    /// Optional learned projection applied before quantising (OPQ).
    pub rotation: Option<Rotation>,
}

impl Pq {
    /// Dimension of the vectors given to [`Pq::table`] and [`Pq::encode`].
    pub fn input_dim(&self) -> usize {
        self.rotation.as_ref().map_or(self.dim, |r| r.in_dim)
    }
    fn project<'a>(&self, v: &'a [f32], buf: &'a mut Vec<f32>) -> &'a [f32] {
        match &self.rotation {
            None => v,
            Some(r) => {
                buf.resize(r.out_dim, 0.0);
                r.apply(v, buf);
                buf
            }
        }
    }
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
            rotation: None,
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
        let mut buf = Vec::new();
        self.table_projected(self.project(q, &mut buf))
    }
    /// [`Pq::table`] for a query already in the space PQ works in ([`Pq::projected`]).
    pub fn table_projected(&self, q: &[f32]) -> Vec<f32> {
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
    /// `v` (an embedding) in the space PQ works in: through the projection when there is one.
    pub fn projected(&self, v: &[f32]) -> Vec<f32> {
        let mut buf = Vec::new();
        self.project(v, &mut buf).to_vec()
    }
    /// The reconstruction of stored code bytes (`dim` floats, in the space PQ works in): the
    /// centroid of each sub-space.
    pub fn decode(&self, stored: &[u8], out: &mut Vec<f32>) {
        let mut scratch = alloc::vec![0u8; self.m];
        let codes = self.unpack(stored, &mut scratch);
        out.clear();
        for (s, &c) in codes.iter().enumerate().take(self.m) {
            out.extend_from_slice(self.centroid(s, c as usize));
        }
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
        let mut buf = Vec::new();
        let v = self.project(v, &mut buf);
        let dsub = self.dsub();
        let l2 = crate::kernels::active().l2sq;
        let mut codes = [0u8; 256];
        for (s, code) in codes.iter_mut().enumerate().take(self.m) {
            let vs = &v[s * dsub..(s + 1) * dsub];
            let o = s * self.ksub() * dsub;
            *code = nearest(vs, &self.centroids[o..o + self.ksub() * dsub], dsub, l2) as u8;
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
    /// Sub-spaces (must divide the dimension PQ works in).
    pub m: usize,
    /// 8 or 4.
    pub bits: u32,
    /// Training sample size (vectors).
    pub sample: usize,
    /// k-means iterations.
    pub iters: usize,
    /// Seed.
    pub seed: u64,
    /// Learn a projection to this many dimensions before PQ (OPQ); 0 = quantise the raw vectors.
    pub rotate_dim: usize,
    /// OPQ alternations between the projection and the codebooks.
    pub opq_iters: usize,
}

impl Default for PqParams {
    fn default() -> Self {
        PqParams {
            m: 16,
            bits: 8,
            sample: 20_000,
            iters: 20,
            seed: 7,
            rotate_dim: 0,
            opq_iters: 16,
        }
    }
}

/// Train a codebook with seeded k-means per sub-space (parallel over sub-spaces), optionally after
/// learning an OPQ projection (alternating: codebooks for the projected sample, then the orthonormal
/// projection that best maps the sample onto its reconstructions, an orthogonal Procrustes problem).
#[cfg(feature = "std")]
pub fn train(vectors: &[f32], dim: usize, p: &PqParams) -> Result<Pq> {
    let pdim = if p.rotate_dim == 0 { dim } else { p.rotate_dim };
    if pdim > dim {
        return Err(Error::InvalidParam(format!(
            "PQ projection to {pdim} dimensions exceeds the embedding dimension {dim}"
        )));
    }
    if p.m == 0 || pdim % p.m != 0 || p.m > 256 {
        return Err(Error::InvalidParam(format!(
            "PQ sub-spaces {} must divide the dimension {pdim} (and be <= 256)",
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
    let mut rng = crate::rng::Rng::new(p.seed);
    let mut ids: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut ids);
    ids.truncate(p.sample.max(ksub).min(n));
    ids.sort_unstable();
    let x: Vec<f32> = ids
        .iter()
        .flat_map(|&i| vectors[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    let round =
        |v: Vec<f32>| -> Vec<f32> { v.into_iter().map(|c| f16::from_f32(c).to_f32()).collect() };
    if p.rotate_dim == 0 {
        let centroids = round(codebooks(&x, dim, p.m, ksub, p.iters, p.seed, None));
        return Ok(Pq {
            dim,
            m: p.m,
            bits: p.bits,
            centroids,
            rotation: None,
        });
    }
    let mut rows = orthonormalise(random_rows(pdim, dim, &mut rng), pdim, dim, &mut rng);
    let mut cents: Option<Vec<f32>> = None;
    for it in 0..p.opq_iters {
        let xr = project_rows(&x, dim, &rows, pdim);
        let iters = if it == 0 { p.iters } else { 4 };
        let c = codebooks(&xr, pdim, p.m, ksub, iters, p.seed, cents.as_deref());
        let y = reconstruct(&xr, pdim, p.m, ksub, &c);
        rows = orthonormalise(
            polar(yt_x(&y, pdim, &x, dim), pdim, dim),
            pdim,
            dim,
            &mut rng,
        );
        cents = Some(c);
    }
    let rows = round(rows);
    let xr = project_rows(&x, dim, &rows, pdim);
    let centroids = round(codebooks(
        &xr,
        pdim,
        p.m,
        ksub,
        p.iters,
        p.seed,
        cents.as_deref(),
    ));
    Ok(Pq {
        dim: pdim,
        m: p.m,
        bits: p.bits,
        centroids,
        rotation: Some(Rotation {
            in_dim: dim,
            out_dim: pdim,
            rows,
        }),
    })
}

/// Per-sub-space k-means over rows of `x` (`d` wide): `m × ksub × d/m` centroids.
#[cfg(feature = "std")]
fn codebooks(
    x: &[f32],
    d: usize,
    m: usize,
    ksub: usize,
    iters: usize,
    seed: u64,
    init: Option<&[f32]>,
) -> Vec<f32> {
    use rayon::prelude::*;
    let dsub = d / m;
    let per_sub: Vec<Vec<f32>> = (0..m)
        .into_par_iter()
        .map(|s| {
            let data: Vec<f32> = x
                .chunks_exact(d)
                .flat_map(|r| r[s * dsub..(s + 1) * dsub].iter().copied())
                .collect();
            let init = init.map(|c| &c[s * ksub * dsub..(s + 1) * ksub * dsub]);
            kmeans_from(&data, dsub, ksub, iters, seed.wrapping_add(s as u64), init)
        })
        .collect();
    per_sub.concat()
}

/// Each row of `x` (`d` wide) replaced by its nearest centroid per sub-space.
#[cfg(feature = "std")]
fn reconstruct(x: &[f32], d: usize, m: usize, ksub: usize, cents: &[f32]) -> Vec<f32> {
    use rayon::prelude::*;
    let dsub = d / m;
    let l2 = crate::kernels::active().l2sq;
    let mut y = vec![0f32; x.len()];
    y.par_chunks_mut(d)
        .zip(x.par_chunks(d))
        .for_each(|(yr, xr)| {
            for s in 0..m {
                let xs = &xr[s * dsub..(s + 1) * dsub];
                let cs = &cents[s * ksub * dsub..(s + 1) * ksub * dsub];
                let best = nearest(xs, cs, dsub, l2);
                yr[s * dsub..(s + 1) * dsub].copy_from_slice(&cs[best * dsub..(best + 1) * dsub]);
            }
        });
    y
}

fn nearest(x: &[f32], cents: &[f32], d: usize, l2: fn(&[f32], &[f32]) -> f32) -> usize {
    let mut best = (f32::MAX, 0usize);
    for (c, cv) in cents.chunks_exact(d).enumerate() {
        let dd = l2(x, cv);
        if dd < best.0 {
            best = (dd, c);
        }
    }
    best.1
}

/// `x · Rᵀ` for every row of `x` (`d` wide; `rows` is `out × d`).
#[cfg(feature = "std")]
fn project_rows(x: &[f32], d: usize, rows: &[f32], out: usize) -> Vec<f32> {
    use rayon::prelude::*;
    let mut y = vec![0f32; x.len() / d * out];
    y.par_chunks_mut(out)
        .zip(x.par_chunks(d))
        .for_each(|(yr, xr)| project(xr, rows, yr));
    y
}

/// `Yᵀ X` (`out × d`), summed in f64 per chunk of rows.
#[cfg(feature = "std")]
fn yt_x(y: &[f32], out: usize, x: &[f32], d: usize) -> Vec<f32> {
    use rayon::prelude::*;
    let n = x.len() / d;
    let chunk = 1024;
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let mut acc = vec![0f64; out * d];
            let mut tmp = vec![0f32; out * d];
            for i in c * chunk..((c + 1) * chunk).min(n) {
                let xr = &x[i * d..(i + 1) * d];
                for j in 0..out {
                    let yj = y[i * out + j];
                    for (t, &xv) in tmp[j * d..(j + 1) * d].iter_mut().zip(xr) {
                        *t += yj * xv;
                    }
                }
            }
            for (a, t) in acc.iter_mut().zip(&tmp) {
                *a += *t as f64;
            }
            acc
        })
        .collect();
    let mut m = vec![0f64; out * d];
    for p in parts {
        for (a, b) in m.iter_mut().zip(p) {
            *a += b;
        }
    }
    m.into_iter().map(|v| v as f32).collect()
}

/// Polar factor (`U Vᵀ` of the SVD) of `m` (`r × c`, r <= c) by Newton-Schulz iteration; rows come out
/// orthonormal where `m` has full row rank ([`orthonormalise`] repairs the rest).
#[cfg(feature = "std")]
fn polar(mut z: Vec<f32>, r: usize, c: usize) -> Vec<f32> {
    let fro = z
        .iter()
        .map(|v| (*v as f64) * (*v as f64))
        .sum::<f64>()
        .sqrt();
    if fro == 0.0 {
        return z;
    }
    z.iter_mut().for_each(|v| *v = (*v as f64 / fro) as f32);
    let mut zzt = vec![0f64; r * r];
    for _ in 0..100 {
        // zzt = Z Zᵀ
        for i in 0..r {
            for j in 0..=i {
                let s: f64 = z[i * c..(i + 1) * c]
                    .iter()
                    .zip(&z[j * c..(j + 1) * c])
                    .map(|(a, b)| (*a as f64) * (*b as f64))
                    .sum();
                zzt[i * r + j] = s;
                zzt[j * r + i] = s;
            }
        }
        let off: f64 = (0..r)
            .flat_map(|i| (0..r).map(move |j| (i, j)))
            .map(|(i, j)| {
                let e = zzt[i * r + j] - if i == j { 1.0 } else { 0.0 };
                e * e
            })
            .sum();
        if off < 1e-10 {
            break;
        }
        // Z = 1.5 Z - 0.5 (Z Zᵀ) Z
        let mut next = vec![0f32; r * c];
        for i in 0..r {
            let row = &mut next[i * c..(i + 1) * c];
            for k in 0..r {
                let w = zzt[i * r + k];
                if w == 0.0 {
                    continue;
                }
                for (o, zv) in row.iter_mut().zip(&z[k * c..(k + 1) * c]) {
                    *o -= (0.5 * w) as f32 * zv;
                }
            }
            for (o, zv) in row.iter_mut().zip(&z[i * c..(i + 1) * c]) {
                *o += 1.5 * zv;
            }
        }
        z = next;
    }
    z
}

#[cfg(feature = "std")]
fn random_rows(r: usize, c: usize, rng: &mut crate::rng::Rng) -> Vec<f32> {
    (0..r * c).map(|_| rng.unit() as f32 * 2.0 - 1.0).collect()
}

/// Modified Gram-Schmidt over the rows of `z` (`r × c`); a row that collapses is replaced by a random
/// one, so the result always has orthonormal rows.
#[cfg(feature = "std")]
fn orthonormalise(mut z: Vec<f32>, r: usize, c: usize, rng: &mut crate::rng::Rng) -> Vec<f32> {
    for i in 0..r {
        for attempt in 0..8 {
            let (done, rest) = z.split_at_mut(i * c);
            let row = &mut rest[..c];
            for k in 0..i {
                let prev = &done[k * c..(k + 1) * c];
                let d: f64 = row
                    .iter()
                    .zip(prev)
                    .map(|(a, b)| (*a as f64) * (*b as f64))
                    .sum();
                for (a, b) in row.iter_mut().zip(prev) {
                    *a -= (d as f32) * b;
                }
            }
            let norm = row
                .iter()
                .map(|a| (*a as f64) * (*a as f64))
                .sum::<f64>()
                .sqrt();
            if norm > 1e-3 || attempt == 7 {
                row.iter_mut()
                    .for_each(|a| *a = (*a as f64 / norm.max(1e-30)) as f32);
                break;
            }
            for a in row.iter_mut() {
                *a = rng.unit() as f32 * 2.0 - 1.0;
            }
        }
    }
    z
}

/// Plain Lloyd k-means with seeded init; empty clusters are re-seeded from random points.
#[cfg(feature = "std")]
pub fn kmeans(data: &[f32], d: usize, k: usize, iters: usize, seed: u64) -> Vec<f32> {
    kmeans_from(data, d, k, iters, seed, None)
}

/// [`kmeans`] starting from given centroids (`k × d`) instead of sampled points.
#[cfg(feature = "std")]
pub fn kmeans_from(
    data: &[f32],
    d: usize,
    k: usize,
    iters: usize,
    seed: u64,
    init: Option<&[f32]>,
) -> Vec<f32> {
    let n = data.len() / d;
    let mut rng = crate::rng::Rng::new(seed);
    let mut cent = vec![0f32; k * d];
    for c in 0..k {
        if let Some(init) = init {
            cent.copy_from_slice(&init[..k * d]);
            break;
        }
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
            assign[i] = nearest(&data[i * d..(i + 1) * d], &cent, d, l2);
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
