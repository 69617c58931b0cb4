//! What an index holds, as documents: the sources with passage counts (`list --json`,
//! `GET /v1/sources`) and the storage breakdown (`info --json`, `GET /v1/info`).
use super::{Breakdown, Index};
use crate::error::Result;
use crate::flash::FlashSource;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One source file.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SourceEntry {
    /// File path as given to build / add / sync.
    pub source: String,
    /// Passages from it.
    pub passages: u64,
    /// Their text bytes (title + body).
    pub bytes: u64,
}

/// One passage without a source file (a JSONL record).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct IdEntry {
    /// Its id.
    pub id: String,
    /// Text bytes (title + body).
    pub bytes: u64,
}

/// The sources of an index.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Sources {
    /// Passages in all.
    pub passages: u64,
    /// Source files, sorted by path.
    pub sources: Vec<SourceEntry>,
    /// Passages by id, in index order.
    pub ids: Vec<IdEntry>,
}

/// List the sources of `idx` (reads every passage record).
pub fn sources<S: FlashSource>(idx: &Index<S>) -> Result<Sources> {
    let mut files: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut ids = Vec::new();
    for v in 0..idx.len() as u32 {
        let p = idx.passage(v)?;
        let bytes = (p.title.len() + p.text.len()) as u64;
        match p.source {
            Some(s) => {
                let e = files.entry(s.path).or_default();
                e.0 += 1;
                e.1 += bytes;
            }
            None => ids.push(IdEntry { id: p.id, bytes }),
        }
    }
    let sources = files
        .into_iter()
        .map(|(source, (passages, bytes))| SourceEntry {
            source,
            passages,
            bytes,
        })
        .collect();
    Ok(Sources {
        passages: idx.len() as u64,
        sources,
        ids,
    })
}

/// Bytes of passage text (the 100% of the "% text" column).
pub fn text_bytes(br: &Breakdown) -> u64 {
    br.parts
        .iter()
        .find(|p| p.0 == "passage_text")
        .map_or(0, |p| p.1)
}

/// The storage breakdown and build parameters of `idx` as one JSON document.
pub fn info_json<S: FlashSource>(idx: &Index<S>) -> Value {
    let br = idx.breakdown();
    let n = br.passages.max(1) as f64;
    let text = text_bytes(&br).max(1) as f64;
    let parts: serde_json::Map<String, Value> = br
        .parts
        .iter()
        .map(|(k, v)| {
            let v = *v as f64;
            let part = json!({"bytes": v as u64, "bytes_per_passage": v / n,
                              "percent_of_text": 100.0 * v / text});
            (k.clone(), part)
        })
        .collect();
    let m = idx.meta();
    let build: BTreeMap<_, _> = m.build.iter().cloned().collect();
    let metadata = idx.metadata().map(|c| {
        json!({"fields": c.fields(), "distinct_values": c.value_count(),
               "distinct_sets": c.set_count()})
    });
    json!({
        "passages": br.passages, "total_bytes": br.total, "overhead_bytes": br.overhead,
        "overhead_bytes_per_passage": br.overhead as f64 / n, "passage_text_bytes": text_bytes(&br),
        "components": parts, "dim": m.dim, "encoder": m.encoder, "edges": m.edges,
        "navigation": if idx.has_graph() { "graph" } else { "scan" }, "build": build,
        "metadata": metadata,
    })
}
