//! `leann-edge sync`: make the index reflect exactly these paths.
use super::add::print_report;
use super::common::Global;
use super::ingest_opts::IngestArgs;
use anyhow::Result;
use clap::Args;
use leann_edge::engine::Hooks;
use leann_edge::ingest::IngestSummary;
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
    let engine = g.engine(&a.index, |_| {})?;
    let summary = |sum: &IngestSummary, n: usize| super::build::print_summary(sum, n);
    let bars = super::progress::Progress::new(g.progress);
    let progress = |ph, done, total| bars.update(ph, done, total);
    let hooks = Hooks {
        ingested: Some(&summary),
        progress: Some(&progress),
        ..Hooks::default()
    };
    let (r, _) = engine.sync(&a.paths, &opts, a.allow_empty, &hooks)?;
    print_report("sync", &r, a.json)
}
