#![allow(dead_code)]
use leann_edge::embed::TableEmbedder;
use leann_edge::rng::Rng;

/// `n` unit vectors: `clusters` centres in a `latent`-dimensional space, points scattered around
/// them, mapped into `dim` dimensions by a fixed random projection plus a little isotropic noise.
/// (Real sentence embeddings have low intrinsic dimension and cluster by topic.)
pub fn clustered(n: usize, dim: usize, clusters: usize, noise: f32, seed: u64) -> Vec<f32> {
    let latent = 24.min(dim);
    let mut prng = Rng::new(12345);
    let proj: Vec<f32> = (0..latent * dim).map(|_| prng.normal()).collect();
    let mut crng = Rng::new(777);
    let cent: Vec<f32> = (0..clusters * latent).map(|_| crng.normal()).collect();
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = rng.below(clusters);
        let z: Vec<f32> = (0..latent)
            .map(|j| cent[c * latent + j] + noise * rng.normal())
            .collect();
        let mut v: Vec<f32> = (0..dim)
            .map(|d| {
                (0..latent).map(|j| z[j] * proj[j * dim + d]).sum::<f32>() + 0.3 * rng.normal()
            })
            .collect();
        leann_edge::kernels::normalize(&mut v);
        out.extend(v);
    }
    out
}

pub fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("p{i}")).collect()
}

pub fn table(rows: &[f32], dim: usize) -> TableEmbedder {
    TableEmbedder::new(dim, keys(rows.len() / dim), rows.to_vec())
}
