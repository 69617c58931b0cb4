//! `leann-edge info`: storage breakdown and build parameters.
use super::common::{open_index, IndexFile};
use anyhow::Result;
use clap::Args;
use leann_edge::embed::tract::Compute;
use leann_edge::index::listing::text_bytes;
use leann_edge::index::Breakdown;
use std::path::PathBuf;

/// Storage breakdown and build parameters.
#[derive(Args, Clone, Debug)]
pub struct InfoArgs {
    /// Index file.
    pub index: PathBuf,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Run `info`.
pub fn run(g: &super::common::Global, a: &InfoArgs) -> Result<()> {
    let idx = open_index(&a.index)?;
    if let Ok(b) = g.board() {
        let need = super::common::search_ram_mb(&idx);
        super::common::warn_over_budget(&b, "searching this index", need);
    }
    let br = idx.breakdown();
    if a.json {
        print_json(&idx)
    } else {
        print_text(&a.index, &idx, &br);
        Ok(())
    }
}

fn print_json(idx: &IndexFile) -> Result<()> {
    let doc = leann_edge::engine::info_json(idx);
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

fn print_text(path: &std::path::Path, idx: &IndexFile, br: &Breakdown) {
    let n = br.passages.max(1) as f64;
    let text = text_bytes(br).max(1) as f64;
    let m = idx.meta();
    println!(
        "{}: {} passages, {} bytes, encoder {}",
        path.display(),
        br.passages,
        br.total,
        m.encoder
    );
    if let Some(l) = leann_edge::engine::encoder_languages(&m.encoder) {
        println!("encoder languages: {l}");
    }
    println!(
        "encoder compute: {}",
        Compute::of_fingerprint(&m.encoder).name()
    );
    println!(
        "{:<18} {:>12} {:>10} {:>9}",
        "component", "bytes", "B/passage", "% text"
    );
    let overhead = ("overhead (not text)".to_string(), br.overhead);
    for (k, v) in br.parts.iter().chain([&overhead]) {
        let vf = *v as f64;
        println!(
            "{k:<18} {v:>12} {:>10.2} {:>8.2}%",
            vf / n,
            100.0 * vf / text
        );
    }
    if idx.has_graph() {
        println!(
            "graph: {} edges ({:.1} per passage), PQ {} x {} bits",
            m.edges,
            m.edges as f64 / n,
            m.pq_m,
            m.pq_bits
        );
    } else {
        println!(
            "no graph (scan search over all PQ codes), PQ {} x {} bits",
            m.pq_m, m.pq_bits
        );
    }
    match idx.metadata() {
        Some(c) => println!(
            "metadata: fields {} ({} distinct values, {} distinct sets)",
            c.fields().join(", "),
            c.value_count(),
            c.set_count()
        ),
        None => println!("metadata: none stored"),
    }
    println!("keyword search: BM25 over the stored passage text (no index bytes)");
    for (k, v) in &m.build {
        println!("  {k}: {v}");
    }
}
