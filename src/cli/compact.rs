//! `leann-edge compact`: rewrite an index and say whether a fresh build would shape it differently.
use super::add::print_report;
use super::common::{open_index, Global};
use anyhow::Result;
use clap::Args;
use leann_edge::index::{change, BuildParams, BuildPlan, Change};
use std::path::PathBuf;

/// Rewrite an index (checking every record and code). Changes already drop removed passages
/// physically, so this reclaims nothing; it reports when the PQ chosen for the original corpus
/// differs from what a fresh build of the current passages would choose (then `build` again).
#[derive(Args, Clone, Debug)]
pub struct CompactArgs {
    /// Index file.
    pub index: PathBuf,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Run `compact`.
pub fn run(g: &Global, a: &CompactArgs) -> Result<()> {
    let idx = open_index(&a.index)?;
    let (n, dim) = (idx.len(), idx.meta().dim as usize);
    let (m, bits) = (idx.meta().pq_m as usize, idx.meta().pq_bits);
    let rotate = idx.pq().rotation.as_ref().map_or(0, |r| r.out_dim);
    let b = g.board()?;
    let enc = g.encoder_for(&b, &idx)?;
    drop(idx);
    let r = change(&a.index, &enc, Change::Rewrite)?;
    print_report("compact", &r, a.json)?;
    if let Ok(fresh) = BuildPlan::new(&BuildParams::default(), n.max(1), dim) {
        if (fresh.pq_m, fresh.pq_bits, fresh.rotate_dim) != (m, bits, rotate) && !a.json {
            eprintln!(
                "note: a fresh build of {n} passages would use PQ {} x {} bits (projection {}) \
                 instead of this index's {m} x {bits} (projection {rotate}); `leann-edge build` \
                 again to get it (it re-embeds every passage; --embed-cache makes the next one cheap)",
                fresh.pq_m, fresh.pq_bits, fresh.rotate_dim
            );
        }
    }
    Ok(())
}
