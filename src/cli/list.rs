//! `leann-edge list`: the sources of an index with passage counts and bytes.
use super::common::open_index;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// List the indexed sources (files, or JSONL ids) with passage counts and text bytes.
#[derive(Args, Clone, Debug)]
pub struct ListArgs {
    /// Index file.
    pub index: PathBuf,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Run `list`.
pub fn run(a: &ListArgs) -> Result<()> {
    let idx = open_index(&a.index)?;
    let l = leann_edge::index::listing::sources(&idx)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&l)?);
        return Ok(());
    }
    for f in &l.sources {
        println!(
            "{:>6} passages {:>10} bytes  {}",
            f.passages,
            f.bytes,
            super::common::printable(&f.source)
        );
    }
    for i in &l.ids {
        println!(
            "{:>6} passage  {:>10} bytes  id {}",
            1,
            i.bytes,
            super::common::printable(&i.id)
        );
    }
    println!(
        "{} passages, {} files, {} passages by id",
        l.passages,
        l.sources.len(),
        l.ids.len()
    );
    Ok(())
}
