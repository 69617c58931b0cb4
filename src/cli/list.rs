//! `leann-edge list`: the sources of an index with passage counts and bytes.
use super::common::open_index;
use anyhow::Result;
use clap::Args;
use serde_json::json;
use std::collections::BTreeMap;
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
    // source path → (passages, bytes); passages without a source are listed by id.
    let mut files: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut ids: Vec<(String, u64)> = Vec::new();
    for v in 0..idx.len() as u32 {
        let p = idx.passage(v)?;
        let bytes = (p.title.len() + p.text.len()) as u64;
        match p.source {
            Some(s) => {
                let e = files.entry(s.path).or_default();
                e.0 += 1;
                e.1 += bytes;
            }
            None => ids.push((p.id, bytes)),
        }
    }
    if a.json {
        let f: Vec<_> = files
            .iter()
            .map(|(path, (n, b))| json!({"source": path, "passages": n, "bytes": b}))
            .collect();
        let i: Vec<_> = ids
            .iter()
            .map(|(id, b)| json!({"id": id, "bytes": b}))
            .collect();
        let doc = json!({"passages": idx.len(), "sources": f, "ids": i});
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    for (path, (n, b)) in &files {
        println!(
            "{n:>6} passages {b:>10} bytes  {}",
            super::common::printable(path)
        );
    }
    for (id, b) in &ids {
        println!(
            "{:>6} passage  {b:>10} bytes  id {}",
            1,
            super::common::printable(id)
        );
    }
    println!(
        "{} passages, {} files, {} passages by id",
        idx.len(),
        files.len(),
        ids.len()
    );
    Ok(())
}
