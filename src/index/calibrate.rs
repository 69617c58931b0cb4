//! Build-time PQ error calibration ([`Calibration`]): passages of the corpus stand in for
//! queries, each PQ-scans the codes, and the `exact − PQ` distance of its best PQ candidates (the
//! ones a search would consider recomputing) is recorded, less the mean error of the best 8, 16,
//! 24 or 32 ranked above it (what a search knows after a round of recomputes). A few hundred
//! pseudo-queries over at most 64k codes: well under a second, once per build.
use crate::pq::Pq;
use crate::rng::Rng;
use crate::search::{Calibration, TopK};
use alloc::vec::Vec;

/// Pseudo-queries drawn from the corpus.
const QUERIES: usize = 256;
/// Best PQ candidates per pseudo-query whose errors are recorded.
const CANDIDATES: usize = 64;
/// Recomputed prefixes whose mean error stands for the query's offset (rounds of 8).
const PREFIXES: [usize; 4] = [8, 16, 24, 32];
/// Most codes a pseudo-query scans (a random subset above this).
const MAX_SCANNED: usize = 1 << 16;

/// Measure the calibration of `pq` over `vectors` (rows of `dim`) and their `codes`; `queries`
/// (rows of `dim`, unit) replaces the pseudo-queries when given. `None` for corpora too small to
/// say anything.
pub fn measure(
    vectors: &[f32],
    dim: usize,
    pq: &Pq,
    codes: &[u8],
    queries: Option<&[f32]>,
    seed: u64,
) -> Option<Calibration> {
    use rayon::prelude::*;
    let n = vectors.len() / dim;
    let cb = pq.code_bytes();
    if n < 8 || codes.len() != n * cb {
        return None;
    }
    let mut rng = Rng::new(seed ^ 0xca11_b7a7e);
    let mut order: Vec<u32> = (0..n as u32).collect();
    rng.shuffle(&mut order);
    let scanned: Vec<u32> = order.iter().copied().take(MAX_SCANNED).collect();
    let own: Vec<(Option<u32>, &[f32])> = match queries {
        Some(q) => q.chunks_exact(dim).map(|r| (None, r)).collect(),
        None => order
            .iter()
            .take(QUERIES)
            .map(|&i| (Some(i), &vectors[i as usize * dim..(i as usize + 1) * dim]))
            .collect(),
    };
    let dot = crate::kernels::active().dot;
    let mut errors: Vec<f32> = own
        .par_iter()
        .flat_map_iter(|&(self_id, q)| {
            let table = pq.table(q);
            let mut top = TopK::new(CANDIDATES + 1);
            for &c in &scanned {
                let code = &codes[c as usize * cb..(c as usize + 1) * cb];
                top.push(pq.distance(&table, code), c);
            }
            let errs: Vec<f32> = top
                .into_sorted_vec()
                .into_iter()
                .filter(|s| Some(s.id) != self_id)
                .take(CANDIDATES)
                .map(|s| {
                    let x = &vectors[s.id as usize * dim..(s.id as usize + 1) * dim];
                    (1.0 - dot(q, x)) - s.dist
                })
                .collect();
            let mut out = Vec::new();
            for r in PREFIXES.into_iter().filter(|&r| r < errs.len()) {
                let offset = errs[..r].iter().sum::<f32>() / r as f32;
                out.extend(errs[r..].iter().map(|e| e - offset));
            }
            out
        })
        .collect();
    Calibration::from_errors(&mut errors)
}
