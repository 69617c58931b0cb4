//! A search request, the one shape every caller sends (CLI flags, HTTP query or JSON body, MCP
//! tool arguments, C and Python keyword arguments), and its resolution against the engine's
//! defaults: one place where overrides are applied and validated.
use crate::error::{Error, Result};
use crate::index::filter::Filter;
use crate::index::{AnswerOptions, Ranking};
use crate::search::{check_query, Mode, SearchParams};

/// Most filter clauses one request may carry.
pub const MAX_CLAUSES: usize = 32;

/// A search request. Unset fields take the engine's defaults (the board profile's).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The question.
    #[serde(alias = "q")]
    pub query: String,
    /// Hits wanted.
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
    /// Ranking: `dense`, `keyword` or `hybrid` (default: the engine's).
    pub mode: Option<String>,
    /// Graph walk: `pq-first` or `two-level` (graph indexes).
    pub walk: Option<String>,
    /// Drop hits scoring below this (default: the engine's).
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
    /// The clauses as a list.
    pub fn list(&self) -> Vec<String> {
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

/// What a request does not say: the engine's defaults.
#[derive(Clone, Debug)]
pub struct SearchDefaults {
    /// Search parameters (the board's, or the engine's options).
    pub params: SearchParams,
    /// Score floor (`None`: keep every hit).
    pub min_score: Option<f32>,
    /// Ranking.
    pub ranking: Ranking,
    /// Most hits a request may ask for.
    pub max_k: usize,
}

impl SearchDefaults {
    /// The defaults `opts` mean on board `b` (the board's search parameters unless `opts` gives
    /// them; hybrid ranking; no floor; `MAX_K`), validated.
    pub fn from_options(opts: &super::EngineOptions, b: &crate::boards::Board) -> Result<Self> {
        let params = opts.search.clone().unwrap_or_else(|| b.search_params());
        params.validate()?;
        if let Some(m) = opts.min_score {
            AnswerOptions {
                min_score: Some(m),
                ..AnswerOptions::default()
            }
            .validate()?;
        }
        Ok(SearchDefaults {
            params,
            min_score: opts.min_score,
            ranking: opts.ranking.unwrap_or(Ranking::Hybrid),
            max_k: opts.max_k.unwrap_or(crate::search::MAX_K),
        })
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

    /// `params` with this request's search-parameter overrides, validated (k within `max_k`).
    pub fn apply_params(&self, params: &SearchParams, max_k: usize) -> Result<SearchParams> {
        let mut p = params.clone();
        if let Some(k) = self.k {
            if k == 0 || k > max_k {
                return Err(Error::InvalidParam(format!(
                    "k {k} is out of range: give 1 to {max_k} (the number of results)"
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
                    return Err(Error::InvalidParam(format!(
                        "walk must be pq-first or two-level, got {m:?}"
                    )))
                }
            };
        }
        p.validate()?;
        Ok(p)
    }

    /// The search parameters and answer options this request means, validated before any work.
    pub fn resolve(&self, d: &SearchDefaults) -> Result<(SearchParams, AnswerOptions)> {
        check_query(&self.query)?;
        let p = self.apply_params(&d.params, d.max_k)?;
        let ranking = match &self.mode {
            Some(m) => Ranking::parse(m)?,
            None => d.ranking,
        };
        let clauses = self.filter.as_ref().map(Clauses::list).unwrap_or_default();
        if clauses.len() > MAX_CLAUSES {
            return Err(Error::InvalidFilter(format!(
                "{} filter clauses; at most {MAX_CLAUSES}",
                clauses.len()
            )));
        }
        let opts = AnswerOptions {
            filter: Filter::parse(&clauses, self.grep.as_deref())?,
            min_score: self.min_score.or(d.min_score),
            group_by_doc: self.group_by_doc.unwrap_or(false),
            keep_overlaps: self.keep_overlaps.unwrap_or(false),
            ranking,
            recompute_cache: None,
        };
        opts.validate()?;
        Ok((p, opts))
    }
}
