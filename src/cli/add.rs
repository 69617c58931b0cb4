//! `leann-edge add`: index more files, folders or JSONL passages into an existing index.
use super::common::{open_index, Global};
use super::ingest_opts::IngestArgs;
use anyhow::{bail, Result};
use clap::Args;
use leann_edge::index::{change, Change, ChangeReport};
use leann_edge::ingest::collect;
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
    let idx = open_index(&a.index)?;
    let b = g.board()?;
    let enc = g.encoder_for(&b, &idx)?;
    drop(idx);
    let (recs, sum) = collect(&a.paths, &opts);
    super::build::print_summary(&sum, recs.len());
    if recs.is_empty() {
        bail!("no passages found in {:?}", a.paths);
    }
    let r = change(&a.index, &enc, Change::Add(recs))?;
    super::common::follow_vectors(&a.index, &r.order, leann_edge::Embedder::dim(&enc));
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
