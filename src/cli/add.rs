//! `leann-edge add`: index more files, folders or JSONL passages into an existing index.
use super::common::Global;
use super::ingest_opts::IngestArgs;
use anyhow::Result;
use clap::Args;
use leann_edge::engine::Hooks;
use leann_edge::index::ChangeReport;
use leann_edge::ingest::IngestSummary;
use std::path::PathBuf;

/// Add files/folders or JSONL passages to an index. A text file already indexed (same path as
/// given to build) is replaced; a JSONL record whose id is indexed is replaced (JSONL files are not
/// tracked as a whole: `sync` makes the index match one, `remove --id` drops records).
#[derive(Args, Clone, Debug)]
pub struct AddArgs {
    /// Index file to change.
    pub index: PathBuf,
    /// Files or folders to add.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub ingest: IngestArgs,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Run `add`.
pub fn run(g: &Global, a: &AddArgs) -> Result<()> {
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
    let (r, _) = engine.add_paths(&a.paths, &opts, &hooks)?;
    print_report("add", &r, a.json)
}

/// The report of a change, as text or JSON.
pub fn print_report(what: &str, r: &ChangeReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
    } else {
        println!(
            "{what}: {} -> {} passages ({} added, {} removed, {} embedded); files: {} added, {} changed, {} removed, {} unchanged; {} bytes, {:.2} s",
            r.passages_before,
            r.passages_after,
            r.added_passages,
            r.removed_passages,
            r.embedded_passages,
            r.added,
            r.changed,
            r.removed,
            r.unchanged,
            r.file_bytes,
            r.seconds
        );
    }
    Ok(())
}
