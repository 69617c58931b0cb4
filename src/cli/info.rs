//! `leann-edge info`: storage breakdown and build parameters.
use super::common::{open_index, IndexFile};
use anyhow::Result;
use clap::Args;
use leann_edge::index::Breakdown;
use serde_json::json;
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
pub fn run(a: &InfoArgs) -> Result<()> {
    let idx = open_index(&a.index)?;
    let br = idx.breakdown();
    if a.json {
        print_json(&idx, &br)
    } else {
        print_text(&a.index, &idx, &br);
        Ok(())
    }
}

/// Bytes of passage text (the 100% of the "% text" column).
pub fn text_bytes(br: &Breakdown) -> u64 {
    br.parts
        .iter()
        .find(|p| p.0 == "passage_text")
        .map_or(0, |p| p.1)
}

fn print_json(idx: &IndexFile, br: &Breakdown) -> Result<()> {
    let n = br.passages.max(1) as f64;
    let text = text_bytes(br).max(1) as f64;
    let parts: serde_json::Map<String, serde_json::Value> = br
        .parts
        .iter()
        .map(|(k, v)| {
            let v = *v as f64;
            let part = json!({"bytes": v as u64, "bytes_per_passage": v / n, "percent_of_text": 100.0 * v / text});
            (k.clone(), part)
        })
        .collect();
    let m = idx.meta();
    let build: std::collections::BTreeMap<_, _> = m.build.iter().cloned().collect();
    let doc = json!({
        "passages": br.passages, "total_bytes": br.total, "overhead_bytes": br.overhead,
        "overhead_bytes_per_passage": br.overhead as f64 / n, "passage_text_bytes": text_bytes(br),
        "components": parts, "dim": m.dim, "encoder": m.encoder, "edges": m.edges,
        "navigation": if idx.has_graph() { "graph" } else { "scan" }, "build": build,
    });
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
    for (k, v) in &m.build {
        println!("  {k}: {v}");
    }
}
