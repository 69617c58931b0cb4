//! `leann-edge sync`: make the index reflect exactly these paths.
use super::add::print_report;
use super::common::{open_index, Global};
use super::ingest_opts::IngestArgs;
use anyhow::{bail, Result};
use clap::Args;
use leann_edge::index::{change, Change};
use leann_edge::ingest::collect;
use std::path::PathBuf;

/// Make the index hold exactly the passages of these paths: new files added, changed ones
/// re-chunked, vanished ones removed; passages whose text is already indexed cost no encoder work.
#[derive(Args, Clone, Debug)]
pub struct SyncArgs {
    /// Index file to change.
    pub index: PathBuf,
    /// Files or folders the index should reflect.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub ingest: IngestArgs,
    /// Allow the result to be empty (every passage removed).
    #[arg(long)]
    pub allow_empty: bool,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Run `sync`.
pub fn run(g: &Global, a: &SyncArgs) -> Result<()> {
    let opts = a.ingest.options()?;
    // A mistyped path would make the index "reflect" nothing there: refuse instead of emptying it.
    for p in &a.paths {
        if let Err(e) = std::fs::metadata(p) {
            bail!("{}: {e}; sync makes the index exactly these paths, so it refuses a path it cannot read", p.display());
        }
    }
    let idx = open_index(&a.index)?;
    let b = g.board()?;
    let enc = g.encoder_for(&b, &idx)?;
    drop(idx);
    let (recs, sum) = collect(&a.paths, &opts);
    super::build::print_summary(&sum, recs.len());
    if recs.is_empty() && !a.allow_empty {
        bail!(
            "no passages found in {:?}; sync would empty the index (give --allow-empty to do that)",
            a.paths
        );
    }
    let r = change(&a.index, &enc, Change::Sync(recs))?;
    super::common::follow_vectors(&a.index, &r.order, leann_edge::Embedder::dim(&enc));
    print_report("sync", &r, a.json)
}
