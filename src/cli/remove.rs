//! `leann-edge remove`: passages by JSONL id, or everything from a file or folder.
use super::add::print_report;
use super::common::{open_index, Global};
use anyhow::{bail, Result};
use clap::Args;
use leann_edge::index::{change, Change};
use std::path::PathBuf;

/// Remove passages by id, or every passage from a source file or folder.
#[derive(Args, Clone, Debug)]
pub struct RemoveArgs {
    /// Index file to change.
    pub index: PathBuf,
    /// JSONL ids to remove.
    #[arg(long = "id", num_args = 1..)]
    pub ids: Vec<String>,
    /// Source files or folders whose passages go (as given when indexed).
    #[arg(long = "source", num_args = 1..)]
    pub sources: Vec<String>,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Run `remove`.
pub fn run(g: &Global, a: &RemoveArgs) -> Result<()> {
    let what = match (a.ids.is_empty(), a.sources.is_empty()) {
        (false, true) => Change::RemoveIds(a.ids.clone()),
        (true, false) => Change::RemoveSources(a.sources.clone()),
        _ => bail!("give --id ID... or --source PATH... (one of them)"),
    };
    let idx = open_index(&a.index)?;
    let b = g.board()?;
    let enc = g.encoder_for(&b, &idx)?;
    drop(idx);
    let r = change(&a.index, &enc, what)?;
    super::common::follow_vectors(&a.index, &r.order, leann_edge::Embedder::dim(&enc));
    print_report("remove", &r, a.json)
}
