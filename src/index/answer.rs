//! From a question to hits people can read: search, then attach each hit's passage, drop hits
//! under a score floor and (optionally) keep one hit per document. Shared by `search --json`, the
//! HTTP service and MCP, so all three print the same fields. Three rankings ([`Ranking`]): dense
//! (the LEANN search), keyword (BM25 over the stored text, [`super::keyword`]) and hybrid (both
//! fused by reciprocal rank).
use super::filter::Filter;
use super::keyword::{bm25, KeywordStats};
use super::Index;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::flash::FlashSource;
use crate::passages::{record_id, Passage};
use crate::search::{pool_size, rerank_candidates, SearchParams, SearchResult, SearchStats, MAX_K};
use std::collections::{HashMap, HashSet};

/// How hits are ranked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ranking {
    /// Exact cosine of recomputed embeddings (the LEANN search).
    Dense,
    /// BM25 over the stored passage text; no encoder work; `score` is the BM25 score.
    Keyword,
    /// Dense and keyword lists fused by reciprocal rank ([`RRF_K`]); `score` is the cosine.
    #[default]
    Hybrid,
}

impl Ranking {
    /// `dense`, `keyword` or `hybrid`.
    pub fn name(self) -> &'static str {
        match self {
            Ranking::Dense => "dense",
            Ranking::Keyword => "keyword",
            Ranking::Hybrid => "hybrid",
        }
    }

    /// Parse `dense`, `keyword` or `hybrid`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "dense" => Ok(Ranking::Dense),
            "keyword" => Ok(Ranking::Keyword),
            "hybrid" => Ok(Ranking::Hybrid),
            _ => Err(Error::InvalidParam(format!(
                "mode must be dense, keyword or hybrid, got {s:?}"
            ))),
        }
    }
}

/// Reciprocal-rank fusion constant: a hit at rank r of a list adds `1 / (RRF_K + r)` (Cormack et
/// al. 2009; the usual 60).
pub const RRF_K: f32 = 60.0;
/// Each list fused in hybrid ranking holds at least this many hits.
pub const FUSE_DEPTH: usize = 10;

/// A query term found in at most this many passages is rare (1 in 2,000 passages, at least 3):
/// a name, a code, an identifier — what embeddings blur. In hybrid ranking the passages that hold
/// a rare query term come first (in fused order among themselves), then the rest.
pub fn rare_df(passages: usize) -> u64 {
    (passages as u64 / 2000).max(3)
}

/// What to do with the hits after the search.
#[derive(Clone, Debug, Default)]
pub struct AnswerOptions {
    /// Only passages passing this are ranked and returned.
    pub filter: Filter,
    /// Drop hits scoring below this cosine similarity (not applied to keyword ranking).
    pub min_score: Option<f32>,
    /// One hit per document (source file, or JSONL record): its best passage.
    pub group_by_doc: bool,
    /// Keep every hit, also one whose text overlaps a better hit of the same document (by default
    /// such near-duplicates — neighbouring chunks sharing their overlap, or identical passages —
    /// are dropped, see [`overlaps`]).
    pub keep_overlaps: bool,
    /// How hits are ranked.
    pub ranking: Ranking,
    /// Recomputed vectors kept across queries (a long-running process's; ignored when it belongs
    /// to another encoder).
    pub recompute_cache: Option<std::sync::Arc<super::RecomputeCache>>,
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
    /// Which rankings found it: `dense`, `keyword`.
    pub signals: Vec<&'static str>,
    /// Metadata fields (a file's `mtime`, a JSONL record's `metadata`); left out when none.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// Metadata as a JSON object: numbers as JSON numbers, text as strings.
pub fn metadata_json(md: &crate::metadata::Metadata) -> serde_json::Map<String, serde_json::Value> {
    use crate::metadata::MetaValue;
    md.iter()
        .map(|(k, v)| {
            let v = match v {
                MetaValue::Number(n) => serde_json::from_str::<serde_json::Number>(n)
                    .map_or_else(|_| n.clone().into(), serde_json::Value::Number),
                MetaValue::Text(t) => t.clone().into(),
            };
            (k.clone(), v)
        })
        .collect()
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
    /// Score of the best passage found, also when `min_score` dropped it (hybrid: of those with a
    /// cosine — keyword-only candidates get one only when reached; with no hits, all were).
    pub best_score: Option<f32>,
    /// The ranking used.
    pub mode: Ranking,
    /// What the keyword side cost (keyword and hybrid rankings).
    pub keyword: Option<KeywordStats>,
    /// Hits left out because they repeated a better hit's text (see
    /// [`AnswerOptions::keep_overlaps`]).
    pub overlaps_dropped: usize,
}

/// One ranked candidate; `score` is its cosine, `None` until computed (a keyword-only hit of
/// hybrid ranking: its vector is recomputed only if it is shown).
#[derive(Clone, Debug)]
struct Ranked {
    id: u32,
    score: Option<f32>,
    signals: Vec<&'static str>,
}

/// Answer `query`: rank with `opts.ranking` and `params`, then apply the floor and grouping.
pub fn answer<S: FlashSource, E: Embedder + ?Sized>(
    idx: &Index<S>,
    enc: &E,
    query: &str,
    params: &SearchParams,
    opts: &AnswerOptions,
) -> Result<Answer> {
    opts.validate()?;
    crate::search::check_query(query)?;
    params.validate()?;
    let k = params.k;
    let mut p = params.clone();
    if opts.group_by_doc || !opts.keep_overlaps {
        // More candidates, so that k hits remain after grouping or dropping overlaps; the
        // adaptive recompute still aims at the k shown. (Dense k ≤ 4 and hybrid k ≤ 5 recompute
        // no more for it: their first round or fused lists already hold 2k.)
        p.k = (k * if opts.group_by_doc { 4 } else { 2 }).min(MAX_K);
        p.recall_at = params.recall_k();
    }
    let t = std::time::Instant::now();
    let allow = if opts.filter.is_empty() {
        None
    } else {
        Some(opts.filter.allowed(idx)?)
    };
    let memo = opts
        .recompute_cache
        .as_deref()
        .filter(|c| c.serves(&enc.fingerprint(), idx.meta().dim as usize))
        .map(|c| c as &dyn super::RecomputeMemo);
    let how = How {
        ranking: opts.ranking,
        allow: allow.as_deref(),
        memo,
    };
    let (ranked, mut stats, kw, q) = rank(idx, enc, query, &p, &how)?;
    let mut pick = Pick {
        idx,
        enc,
        opts,
        memo,
        q,
        stats: &mut stats,
    };
    let (hits, best_score, overlaps_dropped) = pick.hits(ranked, k)?;
    stats.micros = t.elapsed().as_micros() as u64;
    Ok(Answer {
        query: query.to_string(),
        hits,
        stats,
        best_score,
        mode: opts.ranking,
        keyword: kw,
        overlaps_dropped,
    })
}

/// Bytes a split record's part must share with its neighbour to count as a repeat: more than a
/// few words, so that a shared phrase is not taken for the chunks' overlap.
const OVERLAP_PROBE: usize = 48;

/// Whether passage `b` of document `db` repeats passage `a` of document `da`: the same text (any
/// documents); two passages of one file whose byte ranges intersect (neighbouring chunks share
/// `--overlap-tokens`); or two parts of one split JSONL record where one starts with the other's
/// end (at least [`OVERLAP_PROBE`] bytes of it).
pub fn overlaps(da: &str, a: &Passage, db: &str, b: &Passage) -> bool {
    if a.text == b.text {
        return true;
    }
    if da != db {
        return false;
    }
    match (&a.source, &b.source) {
        (Some(x), Some(y)) => x.byte_start < y.byte_end && y.byte_start < x.byte_end,
        (None, None) => continues(&a.text, &b.text) || continues(&b.text, &a.text),
        _ => false,
    }
}

/// Whether `next` starts with the end of `prev` (at least [`OVERLAP_PROBE`] bytes of it).
fn continues(prev: &str, next: &str) -> bool {
    let (prev, next) = (prev.trim(), next.trim());
    let Some(probe) = head(next) else {
        return false;
    };
    prev.match_indices(probe)
        .any(|(i, _)| next.starts_with(&prev[i..]))
}

/// The first [`OVERLAP_PROBE`] bytes of `t` (to a character boundary), if `t` is longer.
fn head(t: &str) -> Option<&str> {
    if t.len() <= OVERLAP_PROBE {
        return None;
    }
    let mut end = OVERLAP_PROBE;
    while !t.is_char_boundary(end) {
        end += 1;
    }
    Some(&t[..end])
}

/// What [`answer`] needs to turn ranked candidates into hits.
struct Pick<'a, S: FlashSource, E: Embedder + ?Sized> {
    idx: &'a Index<S>,
    enc: &'a E,
    opts: &'a AnswerOptions,
    memo: Option<&'a dyn super::RecomputeMemo>,
    /// The query vector (dense and hybrid rankings).
    q: Option<Vec<f32>>,
    stats: &'a mut SearchStats,
}

/// Hits, the best score seen, and how many repeats were dropped.
type Picked = (Vec<AnswerHit>, Option<f32>, usize);

impl<S: FlashSource, E: Embedder + ?Sized> Pick<'_, S, E> {
    /// The first `k` candidates, in order, that do not repeat a shown hit ([`overlaps`], unless
    /// kept), belong to a document already shown (`group_by_doc`) or score under the floor.
    fn hits(&mut self, ranked: Vec<Ranked>, k: usize) -> Result<Picked> {
        let opts = self.opts;
        let floor = opts.min_score.filter(|_| opts.ranking != Ranking::Keyword);
        let mut best = ranked.iter().filter_map(|r| r.score).reduce(f32::max);
        let (mut seen, mut shown) = (HashSet::new(), Vec::<(String, Passage)>::new());
        let (mut hits, mut dropped) = (Vec::new(), 0);
        for r in ranked {
            // A known score under the floor: out before it can count as a repeat.
            if r.score.zip(floor).is_some_and(|(s, m)| s < m) {
                continue;
            }
            let ps = self.idx.passage(r.id)?;
            let doc = doc_of(&ps, r.id);
            if opts.group_by_doc && seen.contains(&doc) {
                continue;
            }
            if !opts.keep_overlaps && shown.iter().any(|(d, s)| overlaps(d, s, &doc, &ps)) {
                dropped += 1;
                continue;
            }
            let score = match r.score {
                Some(s) => s,
                None => self.cosine(r.id)?,
            };
            best = Some(best.map_or(score, |b| b.max(score)));
            if floor.is_some_and(|m| score < m) {
                continue;
            }
            seen.insert(doc.clone());
            if !opts.keep_overlaps {
                shown.push((doc, ps.clone()));
            }
            hits.push(AnswerHit {
                rank: hits.len() + 1,
                id: ps.id.clone(),
                node: r.id,
                score,
                source: source_of(&ps),
                title: ps.title,
                text: ps.text,
                signals: r.signals,
                metadata: metadata_json(&self.idx.passage_metadata(r.id)),
            });
            if hits.len() == k {
                break;
            }
        }
        Ok((hits, best, dropped))
    }

    /// The cosine of passage `id` to the query, its vector recomputed (no query vector: 0).
    fn cosine(&mut self, id: u32) -> Result<f32> {
        let Some(q) = &self.q else { return Ok(0.0) };
        let mut v = Vec::new();
        super::recompute::exact_vectors(self.idx, self.enc, self.memo, &[id], &mut v, self.stats)?;
        Ok((crate::kernels::active().dot)(q, &v[..q.len()]))
    }
}

type RankOut = (
    Vec<Ranked>,
    SearchStats,
    Option<KeywordStats>,
    Option<Vec<f32>>,
);

/// How [`rank`] ranks: the ranking, the filter's allowed passages, the recompute cache.
struct How<'a> {
    ranking: Ranking,
    allow: Option<&'a [bool]>,
    memo: Option<&'a dyn super::RecomputeMemo>,
}

/// The best `p.k` candidates of `query` by `ranking`, best first.
fn rank<S: FlashSource, E: Embedder + ?Sized>(
    idx: &Index<S>,
    enc: &E,
    query: &str,
    p: &SearchParams,
    how: &How<'_>,
) -> Result<RankOut> {
    let (ranking, allow) = (how.ranking, how.allow);
    let pass = |v: u32| allow.is_none_or(|a| a.get(v as usize).copied().unwrap_or(false));
    let kw_allow: Option<&dyn Fn(u32) -> bool> = if allow.is_some() { Some(&pass) } else { None };
    if ranking == Ranking::Keyword {
        let (hits, kw) = bm25(idx, query, p.k, 0, kw_allow)?;
        let ranked = hits
            .into_iter()
            .map(|h| Ranked {
                id: h.id,
                score: Some(h.score),
                signals: vec!["keyword"],
            })
            .collect();
        return Ok((ranked, SearchStats::default(), Some(kw), None));
    }
    let mut se = idx.searcher(enc, p.cache_capacity)?;
    if let Some(m) = how.memo {
        se = se.with_recompute_cache(m);
    }
    let te = std::time::Instant::now();
    let q = enc.embed_queries(&[query])?;
    let embed_query = te.elapsed().as_micros() as u64;
    let dense_search = |se: &mut super::Searcher<'_, S, E>, dp: &SearchParams| match allow {
        None => se.search_vector(&q, dp),
        Some(a) => filtered_dense(idx, se, &q, dp, a),
    };
    if ranking == Ranking::Dense {
        let r = dense_search(&mut se, p)?;
        let mut st = r.stats;
        st.embed_micros += embed_query;
        let ranked = r
            .hits
            .into_iter()
            .map(|h| Ranked {
                id: h.id,
                score: Some(h.score),
                signals: vec!["dense"],
            })
            .collect();
        return Ok((ranked, st, None, Some(q)));
    }
    // Hybrid: both lists FUSE_DEPTH deep, fused by reciprocal rank; keyword-only hits that make
    // the cut are recomputed so every hit carries its cosine.
    let depth = p.k.max(FUSE_DEPTH);
    let dp = SearchParams {
        k: depth,
        recall_at: p.recall_k(),
        ..p.clone()
    };
    let dense = dense_search(&mut se, &dp)?;
    let mut st = dense.stats;
    st.embed_micros += embed_query;
    // An index too large for the keyword scan ranks by the dense side alone.
    let (kw_hits, kw) = match bm25(idx, query, depth, rare_df(idx.len()), kw_allow) {
        Err(Error::NotImplemented(_)) => (Vec::new(), KeywordStats::default()),
        r => r?,
    };
    // id → (fused score, cosine if known, signals); a rare-term hit's fused score gets +1, which
    // outranks every fused score without it (each is at most 2 / 61).
    let mut fused: HashMap<u32, (f32, Option<f32>, Vec<&'static str>)> = HashMap::new();
    for (r, h) in dense.hits.iter().enumerate() {
        let e = fused
            .entry(h.id)
            .or_insert((0.0, Some(h.score), Vec::new()));
        e.0 += 1.0 / (RRF_K + r as f32 + 1.0);
        e.2.push("dense");
    }
    for (r, h) in kw_hits.iter().enumerate() {
        let e = fused.entry(h.id).or_insert((0.0, None, Vec::new()));
        e.0 += 1.0 / (RRF_K + r as f32 + 1.0) + if h.rare { 1.0 } else { 0.0 };
        e.2.push("keyword");
    }
    let mut order: Vec<(u32, f32)> = fused.iter().map(|(&id, e)| (id, e.0)).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(p.k);
    // Keyword-only hits get their cosine when shown ([`Pick::cosine`]), not every candidate.
    let ranked = order
        .into_iter()
        .map(|(id, _)| {
            let e = &fused[&id];
            Ranked {
                id,
                score: e.1,
                signals: e.2.clone(),
            }
        })
        .collect();
    Ok((ranked, st, Some(kw), Some(q)))
}

/// A filter passing at most one passage in this many is scored passage by passage; above that the
/// code section is streamed once.
const SPARSE_FILTER: usize = 32;

/// Dense search restricted to the passages `allow` keeps: each of them PQ-scored (the walk of a
/// graph could not reach a selective set), the best of them recomputed ([`rerank_candidates`]:
/// a fixed count or adaptively) and ranked exactly. Recomputes as many as an unfiltered search,
/// at most.
fn filtered_dense<S: FlashSource, E: Embedder + ?Sized>(
    idx: &Index<S>,
    se: &mut super::Searcher<'_, S, E>,
    q: &[f32],
    p: &SearchParams,
    allow: &[bool],
) -> Result<SearchResult> {
    let t = std::time::Instant::now();
    let table = idx.pq().table(q);
    let mut st = SearchStats::default();
    let mut cands: Vec<(f32, u32)> = Vec::new();
    let passing = allow.iter().filter(|&&ok| ok).count();
    let keep = pool_size(p, idx.calibration()).min(passing);
    if passing > idx.len() / SPARSE_FILTER {
        // Many pass: one streaming read of the code section beats a read per passage.
        st.pq_distances = idx.pq_scan_allowed(&table, keep, allow, &mut cands)?;
    } else {
        for (v, _) in allow.iter().enumerate().filter(|(_, &ok)| ok) {
            cands.push((idx.pq_distance(&table, v as u32)?, v as u32));
        }
        st.pq_distances = cands.len() as u64;
        if keep < cands.len() {
            cands.select_nth_unstable_by(keep, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            cands.truncate(keep);
        }
    }
    cands.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let hits = rerank_candidates(se, q, &cands, p, &mut st)?;
    st.micros = t.elapsed().as_micros() as u64;
    Ok(SearchResult { hits, stats: st })
}

/// The document a passage belongs to: its source file, else its JSONL record id (`ID#k` → `ID`),
/// else (no id: a record added through the library) the passage `node` itself.
fn doc_of(ps: &Passage, node: u32) -> String {
    match &ps.source {
        Some(s) => s.path.clone(),
        // NUL: no file path or record id holds one.
        None if ps.id.is_empty() => format!("\0{node}"),
        None => record_id(&ps.id).to_string(),
    }
}

/// `path:line` of a file passage.
pub fn source_of(ps: &Passage) -> Option<String> {
    ps.source.as_ref().map(|s| format!("{}:{}", s.path, s.line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Passage {
        Passage {
            text: text.to_string(),
            ..Passage::default()
        }
    }

    fn at(text: &str, path: &str, start: u64, end: u64) -> Passage {
        Passage {
            source: Some(crate::passages::Source {
                path: path.into(),
                byte_start: start,
                byte_end: end,
                line: 1,
            }),
            ..p(text)
        }
    }

    #[test]
    fn neighbouring_chunks_and_copies_overlap_other_passages_do_not() {
        // File passages: by byte range.
        let a = at("one two", "f.md", 0, 100);
        let b = at("two three", "f.md", 80, 180);
        let c = at("four", "f.md", 180, 250);
        assert!(overlaps("f.md", &a, "f.md", &b) && overlaps("f.md", &b, "f.md", &a));
        assert!(
            !overlaps("f.md", &b, "f.md", &c),
            "touching ranges do not overlap"
        );
        // The same closing sentence in two answers of one file is not a repeat.
        let s = "Call support on 555-0100 if this did not help.";
        let x = at(&format!("Reset the router. {s}"), "f.md", 0, 70);
        let y = at(&format!("Update the firmware. {s}"), "f.md", 300, 370);
        assert!(!overlaps("f.md", &x, "f.md", &y));
        // Identical text: a repeat across documents; other documents' passages are not.
        assert!(overlaps("f.md", &a, "g.md", &at("one two", "g.md", 0, 7)));
        assert!(!overlaps(
            "f.md",
            &a,
            "g.md",
            &at("one two three", "g.md", 0, 100)
        ));
        // Parts of a split JSONL record: one must start with the other's end.
        let s1 = "The boiler manual explains pressure and valves in the first part.";
        let s2 = "Bleed the radiators once a year, starting with the one nearest the boiler.";
        let s3 = "Check the pressure gauge afterwards and top up to 1.5 bar if it dropped.";
        let r1 = p(&format!("{s1} {s2}"));
        let r2 = p(&format!("{s2} {s3}"));
        assert!(overlaps("r", &r1, "r", &r2) && overlaps("r", &r2, "r", &r1));
        let inside = p(&format!("{s3} {s2} more words"));
        assert!(
            !overlaps("r", &r1, "r", &inside),
            "contains but does not continue"
        );
        // Multi-byte text: probes end on character boundaries.
        let u = "ü".repeat(40);
        assert!(overlaps(
            "r",
            &p(&format!("x {u}")),
            "r",
            &p(&format!("{u} y"))
        ));
    }
}
