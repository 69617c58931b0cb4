//! From a question to hits people can read: search, then attach each hit's passage, drop hits
//! under a score floor and (optionally) keep one hit per document. Shared by `search --json`, the
//! HTTP service and MCP, so all three print the same fields.
use super::Index;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::flash::FlashSource;
use crate::passages::{record_id, Passage};
use crate::search::{SearchParams, SearchStats, MAX_K};
use std::collections::HashSet;

/// What to do with the hits after the search.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnswerOptions {
    /// Drop hits scoring below this cosine similarity.
    pub min_score: Option<f32>,
    /// One hit per document (source file, or JSONL record): its best passage.
    pub group_by_doc: bool,
}

impl AnswerOptions {
    /// Check the options before any work.
    pub fn validate(&self) -> Result<()> {
        if let Some(m) = self.min_score {
            if !(-1.0..=1.0).contains(&m) {
                return Err(Error::InvalidParam(format!(
                    "min_score {m} is out of range: cosine similarities lie in [-1, 1]"
                )));
            }
        }
        Ok(())
    }
}

/// One hit with its passage; the field names are the CLI's `--json` ones.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AnswerHit {
    /// 1-based rank.
    pub rank: usize,
    /// External id of the passage (file passages: empty).
    pub id: String,
    /// Internal node id.
    pub node: u32,
    /// Cosine similarity to the question.
    pub score: f32,
    /// Passage title.
    pub title: String,
    /// `path:line` of a file passage.
    pub source: Option<String>,
    /// Passage text.
    pub text: String,
}

/// Hits of one question and what it cost.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Answer {
    /// The question.
    pub query: String,
    /// Hits, best first.
    pub hits: Vec<AnswerHit>,
    /// Search costs.
    pub stats: SearchStats,
    /// Score of the best passage found, also when `min_score` dropped it.
    pub best_score: Option<f32>,
}

/// Answer `query`: search `idx` with `params`, then apply `opts`.
pub fn answer<S: FlashSource, E: Embedder + ?Sized>(
    idx: &Index<S>,
    enc: &E,
    query: &str,
    params: &SearchParams,
    opts: &AnswerOptions,
) -> Result<Answer> {
    opts.validate()?;
    let k = params.k;
    let mut p = params.clone();
    if opts.group_by_doc {
        // More candidates, so that k documents remain after grouping (within the recompute
        // count at the defaults: 4 × 3 = 12 < 20).
        p.k = (k * 4).min(MAX_K);
    }
    let r = idx
        .searcher(enc, p.cache_capacity)?
        .search_text(query, &p)?;
    let best_score = r.hits.first().map(|h| h.score);
    let mut seen = HashSet::new();
    let mut hits = Vec::new();
    for h in &r.hits {
        if opts.min_score.is_some_and(|m| h.score < m) {
            break;
        }
        let ps = idx.passage(h.id)?;
        if opts.group_by_doc && !seen.insert(doc_of(&ps)) {
            continue;
        }
        hits.push(AnswerHit {
            rank: hits.len() + 1,
            id: ps.id.clone(),
            node: h.id,
            score: h.score,
            source: source_of(&ps),
            title: ps.title,
            text: ps.text,
        });
        if hits.len() == k {
            break;
        }
    }
    Ok(Answer {
        query: query.to_string(),
        hits,
        stats: r.stats,
        best_score,
    })
}

/// The document a passage belongs to: its source file, else its JSONL record id (`ID#k` → `ID`).
fn doc_of(ps: &Passage) -> String {
    match &ps.source {
        Some(s) => s.path.clone(),
        None => record_id(&ps.id).to_string(),
    }
}

/// `path:line` of a file passage.
pub fn source_of(ps: &Passage) -> Option<String> {
    ps.source.as_ref().map(|s| format!("{}:{}", s.path, s.line))
}
