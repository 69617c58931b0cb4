#![allow(dead_code)]
use leann_edge::embed::TableEmbedder;
use leann_edge::rng::Rng;

/// `n` unit vectors around `clusters` random centres (clustered like real embeddings).
pub fn clustered(n: usize, dim: usize, clusters: usize, noise: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let cent: Vec<f32> = (0..clusters * dim).map(|_| rng.normal()).collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = rng.below(clusters);
        let mut v: Vec<f32> = (0..dim).map(|j| cent[c * dim + j] + noise * rng.normal()).collect();
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
