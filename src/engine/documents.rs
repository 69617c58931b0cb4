//! Documents given by a caller (HTTP body, MCP tool, C JSON, Python dicts): JSONL-shaped passages
//! read exactly as `add` reads a JSONL file.
use crate::error::{Error, Result};
use crate::ingest::{jsonl_records, IngestOptions};
use crate::passages::PassageRecord;

/// Most documents one call may carry.
pub const MAX_DOCUMENTS: usize = 10_000;

/// A document to add: one JSONL-shaped passage. A long text is split into `ID`, `ID#2`, … like a
/// long JSONL record; an existing id is replaced.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentIn {
    /// Its id (required: it is how the document is replaced or removed later).
    pub id: String,
    /// Title (optional).
    #[serde(default)]
    pub title: String,
    /// Text.
    pub text: String,
    /// String/number fields to filter on (`lang`, `year`, …), as a JSONL record's `metadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Passages of `docs`, read as `add` reads a JSONL file; empty ids or texts are refused.
pub fn documents_to_records(
    docs: &[DocumentIn],
    opts: &IngestOptions,
) -> Result<Vec<PassageRecord>> {
    if docs.is_empty() {
        return Err(Error::NoPassages("no documents given".into()));
    }
    if docs.len() > MAX_DOCUMENTS {
        return Err(Error::InvalidParam(format!(
            "{} documents in one request; at most {MAX_DOCUMENTS}",
            docs.len()
        )));
    }
    let mut jsonl = String::new();
    for (i, d) in docs.iter().enumerate() {
        if d.id.trim().is_empty() || d.text.trim().is_empty() {
            return Err(Error::InvalidParam(format!(
                "document {}: id and text must not be empty",
                i + 1
            )));
        }
        let line = serde_json::to_string(d)
            .map_err(|e| Error::InvalidParam(format!("document {}: {e}", i + 1)))?;
        jsonl.push_str(&line);
        jsonl.push('\n');
    }
    let (recs, sum) = jsonl_records(&jsonl, "request", opts);
    if let Some(why) = sum.skipped.keys().find(|r| r.contains("metadata")) {
        return Err(Error::InvalidParam(why.clone()));
    }
    Ok(recs)
}
