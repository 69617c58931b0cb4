//! JSONL passages (`{"id","title","text"}` per line): one passage per record, long records split.
use super::chunk::{chunk_into, unit_tokens};
use super::{file_title, IngestOptions, IngestSummary};
use crate::passages::PassageRecord;
use std::collections::HashMap;
use std::path::Path;

pub(super) fn read_jsonl(
    text: &str,
    p: &Path,
    opts: &IngestOptions,
    out: &mut Vec<PassageRecord>,
    sum: &mut IngestSummary,
    ids: &mut HashMap<String, usize>,
) {
    for (ln, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => {
                sum.skip(&p.join(format!("line {}", ln + 1)), "invalid JSON line");
                continue;
            }
        };
        let text = v.get("text").and_then(|t| t.as_str()).unwrap_or("");
        if text.trim().is_empty() {
            sum.skip(
                &p.join(format!("line {}", ln + 1)),
                "JSONL record without text",
            );
            continue;
        }
        let id = match v.get("id").or_else(|| v.get("_id")) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            // Unique across files (a bare line number collided when another file was added).
            None => format!("{}:{}", file_title(p), ln + 1),
        };
        let title = v
            .get("title")
            .and_then(|t| t.as_str())
            .unwrap_or("")
            .to_string();
        if unit_tokens(text) > LONG_RECORD_CHUNKS.saturating_mul(opts.max_tokens.max(16)) {
            if ids.contains_key(&id) {
                sum.skip(
                    &p.join(format!("line {}", ln + 1)),
                    "duplicate JSONL id (the first record kept)",
                );
                continue;
            }
            ids.insert(id.clone(), out.len());
            long_record(&id, &title, text, opts, out);
            log::info!(
                "{} line {}: long record {id} split into passages",
                p.display(),
                ln + 1
            );
            continue;
        }
        let rec = PassageRecord {
            id: Some(id.clone()),
            title,
            text: text.to_string(),
            source: None,
        };
        match ids.get(&id) {
            Some(&at) => {
                sum.skip(
                    &p.join(format!("line {}", ln + 1)),
                    "duplicate JSONL id (the later record kept)",
                );
                out[at] = rec;
            }
            None => {
                ids.insert(id, out.len());
                out.push(rec);
            }
        }
    }
}

/// Records longer than this many chunks are split (a 10 MB record was one passage, read whole on
/// every recompute); shorter ones stay whole, so BEIR corpora keep their ids.
const LONG_RECORD_CHUNKS: usize = 4;

/// A long JSONL record as passages of the usual size: the first keeps the id, the next ones are
/// `ID#2`, `ID#3`, …
fn long_record(
    id: &str,
    title: &str,
    text: &str,
    opts: &IngestOptions,
    out: &mut Vec<PassageRecord>,
) {
    let mut parts = Vec::new();
    chunk_into(text, title, "", opts, &mut parts, true);
    for (k, mut r) in parts.into_iter().enumerate() {
        r.id = Some(if k == 0 {
            id.to_string()
        } else {
            format!("{id}#{}", k + 1)
        });
        r.source = None;
        out.push(r);
    }
}
