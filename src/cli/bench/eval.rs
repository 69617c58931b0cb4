//! The end-to-end benchmark behind `leann-edge bench`: real encoder doing the recompute, every query
//! of a BEIR-layout set, recall@3 against exact search over the same encoder's embeddings, and
//! success@10 / nDCG@10 against qrels for both leann-edge and exact search.
use crate::cli::bench_table::table::percentile;
use leann_edge::embed::Embedder;
use leann_edge::error::{Error, Result};
use leann_edge::flash::FlashSource;
use leann_edge::index::{answer, AnswerOptions, Index, Ranking};
use leann_edge::search::SearchParams;
use std::collections::HashMap;
use std::path::PathBuf;

/// Benchmark inputs.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// queries.jsonl (`{"id","text"}`).
    pub queries: PathBuf,
    /// qrels.tsv (`query-id corpus-id score`, header line).
    pub qrels: Option<PathBuf>,
    /// Only the first N queries.
    pub limit: Option<usize>,
    /// Exact passage vectors (storage order); computed and written here if missing or stale.
    pub vectors: PathBuf,
    /// Ranking measured.
    pub ranking: Ranking,
    /// A recompute cache of this many bytes kept across the queries of a point (fresh per point).
    pub recompute_cache_bytes: Option<usize>,
}

/// Per-query record.
#[derive(Clone, Debug, serde::Serialize)]
pub struct QueryRecord {
    /// Query id.
    pub id: String,
    /// Top-k passage ids (as given in the corpus).
    pub hits: Vec<String>,
    /// Milliseconds, query embedding included.
    pub ms: f64,
    /// Passages recomputed.
    pub recomputed: u64,
    /// Exact vectors served by the recompute cache.
    pub recompute_cache_hits: u64,
}

/// One parameter point.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchPoint {
    /// Parameters.
    pub params: SearchParams,
    /// Ranking.
    pub mode: Ranking,
    /// Mean recall@3 vs exact search.
    pub recall3: f64,
    /// success@10 vs qrels (leann-edge).
    pub success10: Option<f64>,
    /// nDCG@10 vs qrels (leann-edge).
    pub ndcg10: Option<f64>,
    /// Mean passages recomputed.
    pub recompute_mean: f64,
    /// p95 passages recomputed.
    pub recompute_p95: u64,
    /// Share of exact vectors the recompute cache served (None without one).
    pub recompute_cache_hit_rate: Option<f64>,
    /// Latency p50, ms.
    pub p50_ms: f64,
    /// Latency p95, ms.
    pub p95_ms: f64,
    /// Per query.
    pub queries: Vec<QueryRecord>,
}

/// Whole report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchReport {
    /// Passages.
    pub passages: u64,
    /// Queries run.
    pub queries: usize,
    /// Index bytes on disk.
    pub index_bytes: u64,
    /// Overhead (all but passage text) per passage.
    pub overhead_per_passage: f64,
    /// Overhead as % of the passage text.
    pub overhead_percent_of_text: f64,
    /// success@10 of exact search.
    pub exact_success10: Option<f64>,
    /// nDCG@10 of exact search.
    pub exact_ndcg10: Option<f64>,
    /// Peak resident memory of this process, MB (VmHWM).
    pub peak_rss_mb: f64,
    /// Points.
    pub points: Vec<BenchPoint>,
}

fn read_lines(p: &PathBuf) -> Result<String> {
    std::fs::read_to_string(p).map_err(|e| Error::io(p, e))
}

/// Peak RSS in MB from /proc/self/status (0 where unavailable).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn ndcg10(ranked: &[String], rel: &HashMap<String, f64>) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, id)| rel.get(id).copied().unwrap_or(0.0) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<f64> = rel.values().copied().collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, r)| r / ((i + 2) as f64).log2())
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// Exact top-10 of every query over the passage vectors in storage order, streamed from
/// `cfg.vectors` in chunks (the table is never held in RAM whole). A missing or stale file is
/// rebuilt with the encoder into a temporary file that replaces it only when complete.
fn exact_top10<S: FlashSource, E: Embedder>(
    idx: &Index<S>,
    enc: &E,
    cfg: &BenchConfig,
    qv: &[f32],
    progress: bool,
) -> Result<Vec<Vec<u32>>> {
    use std::io::{Read, Write};
    let n = idx.len();
    let dim = idx.meta().dim as usize;
    let nq = qv.len() / dim;
    let mut best: Vec<Vec<(u32, f32)>> = vec![Vec::with_capacity(11); nq];
    let mut merge = |rows: &[f32], first: u32| {
        for (q, b) in qv.chunks_exact(dim).zip(best.iter_mut()) {
            leann_edge::exact::top_k_into(rows, first, dim, q, 10, b);
        }
    };
    let want = (n * dim * 4) as u64;
    let fresh = std::fs::metadata(&cfg.vectors).is_ok_and(|m| m.len() == want);
    if fresh {
        let mut f = std::fs::File::open(&cfg.vectors).map_err(|e| Error::io(&cfg.vectors, e))?;
        const ROWS: usize = 4096;
        let mut buf = vec![0u8; ROWS * dim * 4];
        let mut rows = vec![0f32; ROWS * dim];
        let mut first = 0usize;
        while first < n {
            let cnt = ROWS.min(n - first);
            f.read_exact(&mut buf[..cnt * dim * 4])
                .map_err(|e| Error::io(&cfg.vectors, e))?;
            for (r, c) in rows.iter_mut().zip(buf[..cnt * dim * 4].chunks_exact(4)) {
                *r = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
            merge(&rows[..cnt * dim], first as u32);
            first += cnt;
        }
    } else {
        log::warn!(
            "{} missing or stale: embedding all {n} passages for the exact baseline",
            cfg.vectors.display()
        );
        let tmp = cfg.vectors.with_extension("vectors.partial");
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?);
        let all: Vec<u32> = (0..n as u32).collect();
        for chunk in all.chunks(32) {
            let texts: Vec<String> = chunk
                .iter()
                .map(|&i| idx.embed_input(i))
                .collect::<Result<_>>()?;
            let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
            let v = enc.embed(&refs)?;
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            f.write_all(&bytes).map_err(|e| Error::io(&tmp, e))?;
            merge(&v, chunk[0]);
            let done = chunk[0] as usize + chunk.len();
            if progress && done % 3200 < 32 {
                eprintln!("  exact baseline: {done}/{n}");
            }
        }
        f.flush().map_err(|e| Error::io(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, &cfg.vectors).map_err(|e| Error::io(&cfg.vectors, e))?;
    }
    Ok(best
        .into_iter()
        .map(|b| b.into_iter().map(|x| x.0).collect())
        .collect())
}

/// `(id, text)` of every non-empty query in a queries.jsonl, at most `limit`.
fn read_queries(path: &PathBuf, limit: Option<usize>) -> Result<Vec<(String, String)>> {
    let mut qs = Vec::new();
    for line in read_lines(path)?.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Error::InvalidParam(format!("{}: bad JSON line ({e})", path.display())))?;
        let id = v
            .get("id")
            .or_else(|| v.get("_id"))
            .map(|x| {
                x.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| x.to_string())
            })
            .unwrap_or_default();
        let text = v.get("text").and_then(|t| t.as_str()).unwrap_or("");
        if !text.trim().is_empty() {
            qs.push((id, cap_query(text).to_string()));
        }
    }
    if let Some(l) = limit {
        qs.truncate(l);
    }
    Ok(qs)
}

/// A query cut to the longest the search accepts (at a character boundary).
fn cap_query(text: &str) -> &str {
    let max = leann_edge::search::MAX_QUERY_BYTES;
    if text.len() > max {
        log::warn!("a query of {} bytes is cut to {max}", text.len());
    }
    leann_edge::passages::prefix(text, max)
}

/// Document ids of ranked nodes, each document once, at its best rank (qrels label documents).
fn ranked_docs(nodes: &[u32], ids: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    nodes
        .iter()
        .map(|&i| leann_edge::passages::record_id(&ids[i as usize]).to_string())
        .filter(|d| seen.insert(d.clone()))
        .collect()
}

/// Relevance labels: query id → passage id → grade (only grades above 0 kept).
struct Qrels(HashMap<String, HashMap<String, f64>>);

impl Qrels {
    fn read(path: Option<&PathBuf>) -> Result<Self> {
        let mut q: HashMap<String, HashMap<String, f64>> = HashMap::new();
        let Some(p) = path else { return Ok(Qrels(q)) };
        for (i, line) in read_lines(p)?.lines().enumerate() {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 3 || (i == 0 && f[2].parse::<f64>().is_err()) {
                continue;
            }
            let score: f64 = f[2].trim().parse().unwrap_or(0.0);
            if score > 0.0 {
                q.entry(f[0].to_string())
                    .or_default()
                    .insert(f[1].to_string(), score);
            }
        }
        Ok(Qrels(q))
    }

    /// Mean success@10 and nDCG@10 of `ranked` (one list per query of `qs`) over labelled queries.
    fn metric(
        &self,
        qs: &[(String, String)],
        ranked: &[Vec<String>],
    ) -> (Option<f64>, Option<f64>) {
        let (mut s, mut nd, mut c) = (0.0, 0.0, 0usize);
        for ((qid, _), r) in qs.iter().zip(ranked) {
            if let Some(rel) = self.0.get(qid) {
                c += 1;
                if r.iter().take(10).any(|id| rel.contains_key(id)) {
                    s += 1.0;
                }
                nd += ndcg10(r, rel);
            }
        }
        if c == 0 {
            (None, None)
        } else {
            (Some(s / c as f64), Some(nd / c as f64))
        }
    }
}

/// What every parameter point is measured against.
struct Truth<'a> {
    qs: &'a [(String, String)],
    /// Passage ids by node.
    ids: &'a [String],
    /// Exact top-10 nodes per query.
    exact: &'a [Vec<u32>],
    qrels: &'a Qrels,
}

/// Run the benchmark for each parameter point.
pub fn run<S: FlashSource, E: Embedder>(
    idx: &Index<S>,
    enc: &E,
    cfg: &BenchConfig,
    points: &[SearchParams],
    progress: bool,
) -> Result<BenchReport> {
    idx.check_embedder(enc)?;
    let n = idx.len();
    let qs = read_queries(&cfg.queries, cfg.limit)?;
    let qrels = Qrels::read(cfg.qrels.as_ref())?;
    // A JSONL passage is judged by its record id, a file passage by its file (qrels name files
    // as the index stores their paths).
    let ids: Vec<String> = (0..n as u32)
        .map(|i| {
            idx.passage_id(i)
                .map(|(id, src)| match (id.is_empty(), src) {
                    (false, _) => id,
                    (true, Some(s)) => s.path,
                    (true, None) => i.to_string(),
                })
        })
        .collect::<Result<_>>()?;
    let mut qv = Vec::new();
    for c in qs
        .iter()
        .map(|q| q.1.as_str())
        .collect::<Vec<_>>()
        .chunks(32)
    {
        qv.extend(enc.embed_queries(c)?);
    }
    let exact = exact_top10(idx, enc, cfg, &qv, progress)?;
    let exact_ranked: Vec<Vec<String>> = exact.iter().map(|e| ranked_docs(e, &ids)).collect();
    let (es, en) = qrels.metric(&qs, &exact_ranked);
    let truth = Truth {
        qs: &qs,
        ids: &ids,
        exact: &exact,
        qrels: &qrels,
    };
    let out_points = points
        .iter()
        .map(|p| {
            let cache = cfg.recompute_cache_bytes;
            run_point(idx, enc, p, cfg.ranking, &truth, progress, cache)
        })
        .collect::<Result<Vec<_>>>()?;
    let br = idx.breakdown();
    let text = br
        .parts
        .iter()
        .find(|p| p.0 == "passage_text")
        .map_or(0, |p| p.1);
    Ok(BenchReport {
        passages: n as u64,
        queries: qs.len(),
        index_bytes: br.total,
        overhead_per_passage: br.overhead as f64 / n.max(1) as f64,
        overhead_percent_of_text: 100.0 * br.overhead as f64 / text.max(1) as f64,
        exact_success10: es,
        exact_ndcg10: en,
        peak_rss_mb: peak_rss_mb(),
        points: out_points,
    })
}

/// Every query at one parameter point (at least 10 results, for the qrels metrics).
fn run_point<S: FlashSource, E: Embedder>(
    idx: &Index<S>,
    enc: &E,
    p: &SearchParams,
    ranking: Ranking,
    t: &Truth,
    progress: bool,
    cache_bytes: Option<usize>,
) -> Result<BenchPoint> {
    // 10 results for the qrels metrics; the adaptive recompute still aims at the k a user sees.
    let sp = SearchParams {
        k: p.k.max(10),
        recall_at: p.k,
        ..p.clone()
    };
    // Every hit kept: recall is measured against the exact search's top k.
    let opts = AnswerOptions {
        ranking,
        keep_overlaps: true,
        recompute_cache: cache_bytes.and_then(|b| {
            leann_edge::index::RecomputeCache::new(b, idx.meta().dim as usize, &enc.fingerprint())
                .map(std::sync::Arc::new)
        }),
        ..AnswerOptions::default()
    };
    let mut recs = Vec::new();
    let mut r3 = 0.0;
    let mut ranked = Vec::new();
    for (qi, (qid, text)) in t.qs.iter().enumerate() {
        let start = std::time::Instant::now();
        let r = answer(idx, enc, text, &sp, &opts)?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let got: Vec<u32> = r.hits.iter().map(|h| h.node).collect();
        r3 += leann_edge::exact::recall(&got, &t.exact[qi], 3);
        let hit_ids = ranked_docs(&got, t.ids);
        ranked.push(hit_ids.clone());
        recs.push(QueryRecord {
            id: qid.clone(),
            hits: hit_ids,
            ms,
            recomputed: r.stats.recomputed,
            recompute_cache_hits: r.stats.recompute_cache_hits,
        });
        if progress && (qi + 1) % 100 == 0 {
            eprintln!(
                "  ef {} {}: {}/{} queries",
                sp.ef,
                recompute_label(&sp),
                qi + 1,
                t.qs.len()
            );
        }
    }
    let (s10, n10) = t.qrels.metric(t.qs, &ranked);
    let mut ms: Vec<u64> = recs.iter().map(|r| (r.ms * 1000.0) as u64).collect();
    ms.sort_unstable();
    let mut rc: Vec<u64> = recs.iter().map(|r| r.recomputed).collect();
    let mean = rc.iter().sum::<u64>() as f64 / rc.len().max(1) as f64;
    rc.sort_unstable();
    Ok(BenchPoint {
        params: p.clone(),
        mode: ranking,
        recall3: r3 / t.qs.len().max(1) as f64,
        success10: s10,
        ndcg10: n10,
        recompute_mean: mean,
        recompute_p95: percentile(&rc, 0.95),
        recompute_cache_hit_rate: opts.recompute_cache.as_ref().map(|c| {
            let s = c.stats();
            s.hits as f64 / (s.hits + s.misses).max(1) as f64
        }),
        p50_ms: percentile(&ms, 0.5) as f64 / 1000.0,
        p95_ms: percentile(&ms, 0.95) as f64 / 1000.0,
        queries: recs,
    })
}

/// Print a report.
pub fn print(r: &BenchReport) {
    println!("passages {}  queries {}  index {} bytes  overhead {:.2} B/passage ({:.2}% of text)  peak RSS {:.0} MB", r.passages, r.queries, r.index_bytes, r.overhead_per_passage, r.overhead_percent_of_text, r.peak_rss_mb);
    if let (Some(s), Some(n)) = (r.exact_success10, r.exact_ndcg10) {
        println!("exact search: success@10 {s:.3}  nDCG@10 {n:.3}");
    }
    println!(
        "{:>5} {:>14} {:>8} {:>8} {:>8} {:>8} {:>6} {:>9} {:>9}",
        "ef", "recompute", "R@3", "succ@10", "nDCG@10", "recomp", "p95", "p50_ms", "p95_ms"
    );
    for p in &r.points {
        println!(
            "{:>5} {:>14} {:>8.3} {:>8} {:>8} {:>8.1} {:>6} {:>9.1} {:>9.1}",
            p.params.ef,
            recompute_label(&p.params),
            p.recall3,
            p.success10.map_or("-".into(), |x| format!("{x:.3}")),
            p.ndcg10.map_or("-".into(), |x| format!("{x:.3}")),
            p.recompute_mean,
            p.recompute_p95,
            p.p50_ms,
            p.p95_ms
        );
        if let Some(h) = p.recompute_cache_hit_rate {
            println!(
                "      recompute cache: {:.1}% of exact vectors served from RAM",
                h * 100.0
            );
        }
    }
}

/// How a point recomputes: `ratio 0.15625` (fixed) or `recall 0.90` (adaptive; indexes without a
/// calibration fall back to the fixed ratio).
fn recompute_label(p: &SearchParams) -> String {
    if p.recall > 0.0 {
        format!("recall {:.2}", p.recall)
    } else {
        format!("ratio {}", p.rerank_ratio)
    }
}
