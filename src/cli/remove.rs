//! `leann-edge remove`: passages by JSONL id, or everything from a file or folder.
use super::add::print_report;
use super::common::Global;
use anyhow::{bail, Result};
use clap::Args;
use leann_edge::engine::Hooks;
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
    if a.ids.is_empty() == a.sources.is_empty() {
        bail!("give --id ID... or --source PATH... (one of them)");
    }
    let engine = g.engine(&a.index, |_| {})?;
    let hooks = Hooks::default();
    let r = if a.ids.is_empty() {
        engine.remove_sources(&a.sources, &hooks)?
    } else {
        engine.remove_ids(&a.ids, &hooks)?
    };
    print_report("remove", &r, a.json)
}
