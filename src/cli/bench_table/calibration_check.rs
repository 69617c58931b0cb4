//! `bench-table --calibration-check`: how well the stored PQ calibration (passages as
//! pseudo-queries) matches one measured with the real queries, quantile by quantile, and
//! optionally every query's best PQ candidates with their exact distances for offline analysis of
//! stopping rules (`--dump-candidates FILE`: per query, 128 × (PQ distance, exact distance) as
//! little-endian f32 pairs, best PQ first).
use leann_edge::error::{Error, Result};
use leann_edge::flash::MmapSource;
use leann_edge::index::Index;
use leann_edge::search::calibration::LEVELS;
use leann_edge::search::TopK;
use std::path::PathBuf;

/// Candidates dumped per query.
const DUMPED: usize = 128;

/// What to check.
#[derive(Clone, Debug, Default)]
pub struct Check {
    /// Where to write the candidates, if anywhere.
    pub dump: Option<PathBuf>,
}

/// Print the stored and the real-query calibration side by side (and write the dump).
pub fn run(
    index: &Index<MmapSource>,
    passages: &[f32],
    queries: &[f32],
    dim: usize,
    seed: u64,
    c: &Check,
) -> Result<()> {
    let pq = index.pq();
    let mut codes = Vec::with_capacity(passages.len() / dim * pq.code_bytes());
    for v in passages.chunks_exact(dim) {
        pq.encode(v, &mut codes);
    }
    let real =
        leann_edge::index::calibrate::measure(passages, dim, pq, &codes, Some(queries), seed);
    for (i, l) in LEVELS.iter().enumerate() {
        println!(
            "level {l:<7} stored {:>8.4}  real queries {:>8.4}",
            index.calibration().map_or(f32::NAN, |c| c.quantile(i)),
            real.as_ref().map_or(f32::NAN, |c| c.quantile(i))
        );
    }
    if let Some(path) = &c.dump {
        let dot = leann_edge::kernels::active().dot;
        let cb = pq.code_bytes();
        let mut dump: Vec<u8> = Vec::new();
        for q in queries.chunks_exact(dim) {
            let t = pq.table(q);
            let mut top = TopK::new(DUMPED);
            for (i, code) in codes.chunks_exact(cb).enumerate() {
                top.push(pq.distance(&t, code), i as u32);
            }
            for s in top.into_sorted_vec() {
                let x = &passages[s.id as usize * dim..(s.id as usize + 1) * dim];
                dump.extend(s.dist.to_le_bytes());
                dump.extend((1.0 - dot(q, x)).to_le_bytes());
            }
        }
        std::fs::write(path, dump).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}
