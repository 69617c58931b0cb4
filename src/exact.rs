//! Exact brute-force search over a vector table: the ground truth for recall.
use alloc::vec::Vec;

/// Top-`k` rows of `table` (`n × dim`) by inner product with `q`, best first: `(row, score)`.
pub fn top_k(table: &[f32], dim: usize, q: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    top_k_into(table, 0, dim, q, k, &mut best);
    best
}

/// Merge the rows of `table` (row ids starting at `first`) into a running top-`k` list `best`
/// (best first), so a table too large for RAM can be scanned in chunks.
pub fn top_k_into(
    table: &[f32],
    first: u32,
    dim: usize,
    q: &[f32],
    k: usize,
    best: &mut Vec<(u32, f32)>,
) {
    let dot = crate::kernels::active().dot;
    for (i, row) in table.chunks_exact(dim).enumerate() {
        let id = first + i as u32;
        let s = dot(q, row);
        if best.len() < k || s > best[best.len() - 1].1 {
            let pos = best.partition_point(|&(j, b)| b > s || (b == s && j < id));
            best.insert(pos, (id, s));
            best.truncate(k);
        }
    }
}

/// Recall@k of `got` against `truth` (both id lists; only the first `k` of each count).
pub fn recall(got: &[u32], truth: &[u32], k: usize) -> f64 {
    let t = &truth[..k.min(truth.len())];
    if t.is_empty() {
        return 1.0;
    }
    let hit = got.iter().take(k).filter(|g| t.contains(g)).count();
    hit as f64 / t.len() as f64
}
