//! What requests carry and what errors say: the service's typed requests (shared by HTTP and MCP)
//! and [`ApiError`], the one error shape every route answers with
//! (`{"error": {"code", "message"}}` and an HTTP status).
use super::{ServiceConfig, MAX_SERVED_K};
use crate::error::Error;
use crate::index::filter::Filter;
use crate::index::{AnswerOptions, Ranking};
use crate::ingest::{jsonl_records, IngestOptions};
use crate::passages::PassageRecord;
use crate::search::{check_query, Mode, SearchParams};

/// Largest search beam a request may ask for.
pub const MAX_SERVED_EF: usize = 1024;
/// Most passages one request recomputes (the default recomputes 20).
pub const MAX_SERVED_RECOMPUTE: usize = 256;

/// Most documents one add request may carry.
pub const MAX_DOCUMENTS: usize = 10_000;

/// A search request (`GET /v1/search?q=…&k=…` or `POST /v1/search` with this JSON). Unset fields
/// take the service's defaults (the board profile's).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The question.
    #[serde(alias = "q")]
    pub query: String,
    /// Hits wanted (≤ 100).
    #[serde(alias = "top_k")]
    pub k: Option<usize>,
    /// Search beam.
    pub ef: Option<usize>,
    /// Recall target of the adaptive recompute, in (0, 1].
    pub recall: Option<f32>,
    /// Recompute a fixed share of the beam instead, in (0, 1].
    pub rerank_ratio: Option<f32>,
    /// Encoder batch for recompute.
    pub batch: Option<usize>,
    /// Ranking: `dense`, `keyword` or `hybrid` (default: the service's).
    pub mode: Option<String>,
    /// Graph walk: `pq-first` or `two-level` (graph indexes).
    pub walk: Option<String>,
    /// Drop hits scoring below this (default: the service's `--min-score`).
    pub min_score: Option<f32>,
    /// One hit per document.
    pub group_by_doc: Option<bool>,
    /// Keep hits that repeat a better hit's text (default: dropped).
    pub keep_overlaps: Option<bool>,
    /// Filter clauses, all must hold (`["source=docs/faq/**", "type=md"]`; in a query string one
    /// string, clauses separated by `;`).
    pub filter: Option<Clauses>,
    /// Regular expression the passage title or text must match.
    pub grep: Option<String>,
}

/// Filter clauses: a list, or one string with clauses separated by `;`.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum Clauses {
    /// A list.
    List(Vec<String>),
    /// `a=b;c=d`.
    Joined(String),
}

impl Clauses {
    fn list(&self) -> Vec<String> {
        match self {
            Clauses::List(v) => v.clone(),
            Clauses::Joined(s) => s
                .split(';')
                .filter(|c| !c.trim().is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

impl SearchRequest {
    /// A request for `query` with every default.
    pub fn new(query: &str) -> Self {
        SearchRequest {
            query: query.to_string(),
            ..Default::default()
        }
    }

    /// The search parameters and answer options this request means, validated.
    pub fn resolve(&self, cfg: &ServiceConfig) -> Result<(SearchParams, AnswerOptions), ApiError> {
        check_query(&self.query)?;
        let mut p = cfg.params.clone();
        if let Some(k) = self.k {
            if k == 0 || k > MAX_SERVED_K {
                return Err(ApiError::bad_request(format!(
                    "k must be in 1..={MAX_SERVED_K}, got {k}"
                )));
            }
            p.k = k;
        }
        if let Some(e) = self.ef {
            p.ef = e;
        }
        if let Some(r) = self.rerank_ratio {
            p.rerank_ratio = r;
            p.recall = 0.0;
        }
        if let Some(r) = self.recall {
            crate::search::check_recall(r)?;
            p.recall = r;
        }
        if let Some(b) = self.batch {
            p.batch_size = b;
        }
        if let Some(m) = &self.walk {
            p.mode = match m.as_str() {
                "pq-first" => Mode::PqFirst,
                "two-level" => Mode::TwoLevel,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "walk must be pq-first or two-level, got {m:?}"
                    )))
                }
            };
        }
        let ranking = match &self.mode {
            Some(m) => Ranking::parse(m)?,
            None => cfg.ranking,
        };
        p.validate()?;
        let clauses = self.filter.as_ref().map(Clauses::list).unwrap_or_default();
        if clauses.len() > 32 {
            return Err(ApiError::bad_request("at most 32 filter clauses"));
        }
        let opts = AnswerOptions {
            filter: Filter::parse(&clauses, self.grep.as_deref())?,
            min_score: self.min_score.or(cfg.min_score),
            group_by_doc: self.group_by_doc.unwrap_or(false),
            keep_overlaps: self.keep_overlaps.unwrap_or(false),
            ranking,
            recompute_cache: None,
        };
        opts.validate()?;
        Ok((p, opts))
    }
}

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
) -> Result<Vec<PassageRecord>, ApiError> {
    if docs.is_empty() {
        return Err(ApiError::bad_request("no documents given"));
    }
    if docs.len() > MAX_DOCUMENTS {
        return Err(ApiError::bad_request(format!(
            "{} documents in one request; at most {MAX_DOCUMENTS}",
            docs.len()
        )));
    }
    let mut jsonl = String::new();
    for (i, d) in docs.iter().enumerate() {
        if d.id.trim().is_empty() || d.text.trim().is_empty() {
            return Err(ApiError::bad_request(format!(
                "document {}: id and text must not be empty",
                i + 1
            )));
        }
        let line = serde_json::to_string(d).map_err(|e| ApiError::internal(e.to_string()))?;
        jsonl.push_str(&line);
        jsonl.push('\n');
    }
    let (recs, sum) = jsonl_records(&jsonl, "request", opts);
    if let Some(why) = sum.skipped.keys().find(|r| r.contains("metadata")) {
        return Err(ApiError::bad_request(why.clone()));
    }
    Ok(recs)
}

/// An error answer: HTTP status, a stable machine code and a one-line message.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable code (`invalid_param`, `not_found`, `read_only`, `busy`, …).
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }
    /// 400 `invalid_param`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_param", message)
    }
    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }
    /// 403 with `code`.
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(403, code, message)
    }
    /// 409 with `code`.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }
    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }
    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl core::fmt::Display for ApiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match &e {
            Error::InvalidParam(_) | Error::Dimension { .. } => Self::bad_request(e.to_string()),
            Error::Locked { .. } => Self::conflict("locked", e.to_string()),
            Error::NotImplemented(_) => Self::new(501, "not_implemented", e.to_string()),
            _ => Self::internal(e.to_string()),
        }
    }
}
