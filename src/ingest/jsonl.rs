//! JSONL passages (`{"id","title","text","metadata"}` per line): one passage per record, long
//! records split (every part keeps the record's metadata).
use super::chunk::{chunk_into, unit_tokens};
use super::{file_title, IngestOptions, IngestSummary};
use crate::metadata::{MetaValue, Metadata, MAX_FIELDS, MAX_FIELD_BYTES, MAX_VALUE_BYTES};
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
        let at = || p.join(format!("line {}", ln + 1));
        let metadata = record_metadata(v.get("metadata"), &at, sum);
        if unit_tokens(text) > LONG_RECORD_CHUNKS.saturating_mul(opts.max_tokens.max(16)) {
            if ids.contains_key(&id) {
                sum.skip(
                    &p.join(format!("line {}", ln + 1)),
                    "duplicate JSONL id (the first record kept)",
                );
                continue;
            }
            ids.insert(id.clone(), out.len());
            long_record(&id, &title, text, &metadata, opts, out);
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
            metadata,
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
    metadata: &Metadata,
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
        r.metadata = metadata.clone();
        out.push(r);
    }
}

/// Names the filter gives its own meaning; a JSONL metadata field may not take them.
pub const RESERVED_FIELDS: [&str; 6] = ["source", "path", "type", "ext", "title", "id"];

/// Whether `name` can be a metadata field: 1-64 bytes of `A-Z a-z 0-9 _ . -`, not reserved.
pub fn valid_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FIELD_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && !RESERVED_FIELDS.contains(&name)
}

/// A record's `"metadata"` object as sorted pairs. Kept: strings and numbers (booleans as
/// `true`/`false`) under valid names ([`valid_field_name`]), values up to 1 KiB, 32 fields; the
/// rest is dropped and counted once per record.
fn record_metadata(
    v: Option<&serde_json::Value>,
    at: &dyn Fn() -> std::path::PathBuf,
    sum: &mut IngestSummary,
) -> Metadata {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(obj) = v.as_object() else {
        sum.skip(&at(), "JSONL metadata is not an object (ignored)");
        return Vec::new();
    };
    let mut out: Metadata = Vec::new();
    let mut dropped = false;
    for (k, v) in obj {
        let value = match v {
            serde_json::Value::String(s) => MetaValue::Text(s.clone()),
            serde_json::Value::Number(n) => MetaValue::Number(n.to_string()),
            serde_json::Value::Bool(b) => MetaValue::Text(b.to_string()),
            _ => {
                dropped = true;
                continue;
            }
        };
        if !valid_field_name(k) || value.as_str().len() > MAX_VALUE_BYTES || out.len() >= MAX_FIELDS
        {
            dropped = true;
            continue;
        }
        out.push((k.clone(), value));
    }
    if dropped {
        sum.skip(
            &at(),
            "JSONL metadata fields dropped (kept: string/number values up to 1 KiB under names of \
             A-Z a-z 0-9 _ . - that are not source/type/title/id, at most 32)",
        );
    }
    out.sort();
    out
}
