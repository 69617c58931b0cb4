//! The table benchmark: index a raw embedding table (little-endian f32, `N × dim`) and sweep
//! `ef × rerank_ratio`, reporting recall@1/3/10 against exact search, recomputes per query, encoder
//! calls, index bytes per passage by component, and latency. The encoder is a [`TableEmbedder`], so
//! this measures the index, not the model. Driven by `leann-edge bench-table`.
use leann_edge::embed::TableEmbedder;
use leann_edge::error::{Error, Result};
use leann_edge::index::{BuildParams, BuildReport, Index, IndexBuilder};
use leann_edge::passages::PassageRecord;
use leann_edge::search::SearchParams;
use std::path::Path;

/// Read a raw little-endian f32 table with rows of `dim`.
pub fn read_f32_table(path: &Path, dim: usize) -> Result<Vec<f32>> {
    let mut b = Vec::new();
    leann_edge::flash::open_regular(path)
        .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut b))
        .map_err(|e| Error::io(path, e))?;
    if dim == 0 || b.len() % (4 * dim) != 0 {
        return Err(Error::InvalidParam(format!(
            "{}: {} bytes is not a whole number of {dim}-d f32 rows",
            path.display(),
            b.len()
        )));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// One point of the sweep.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SweepPoint {
    /// Beam.
    pub ef: usize,
    /// Rerank share (fixed recompute count; 0 when adaptive).
    pub rerank_ratio: f32,
    /// Recall target (adaptive recompute; 0 when fixed).
    pub recall: f32,
    /// Mean recall@1 vs exact.
    pub recall1: f64,
    /// Mean recall@3 vs exact.
    pub recall3: f64,
    /// Mean recall@10 vs exact.
    pub recall10: f64,
    /// Mean passages recomputed per query.
    pub recompute_mean: f64,
    /// 95th percentile of passages recomputed.
    pub recompute_p95: u64,
    /// Mean encoder calls per query.
    pub calls_mean: f64,
    /// Mean PQ distances per query.
    pub pq_mean: f64,
    /// Median search time (µs), table embedder (no model cost).
    pub micros_p50: u64,
}

/// Whole report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TableBenchReport {
    /// Passages.
    pub passages: usize,
    /// Queries.
    pub queries: usize,
    /// Build summary.
    pub build: BuildReport,
    /// Bytes per passage by component.
    pub bytes_per_passage: Vec<(String, f64)>,
    /// Overhead (all but passage text) per passage.
    pub overhead_per_passage: f64,
    /// Build seconds.
    pub build_secs: f64,
    /// Sweep.
    pub sweep: Vec<SweepPoint>,
}

/// Percentile of a sorted slice.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Build an index of `passages` and sweep search parameters with `queries`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    passages: &[f32],
    queries: &[f32],
    dim: usize,
    params: &BuildParams,
    efs: &[usize],
    ratios: &[f32],
    recalls: &[f32],
    base: &SearchParams,
    index_path: &Path,
    check: Option<&super::calibration_check::Check>,
) -> Result<TableBenchReport> {
    let n = passages.len() / dim;
    let keys: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let emb = TableEmbedder::new(dim, keys.clone(), passages.to_vec());
    let mut b = IndexBuilder::new(params.clone());
    for k in &keys {
        b.add_passage(PassageRecord::plain(k));
    }
    let t = std::time::Instant::now();
    let build = b.build_with_vectors(
        emb.rows(),
        dim,
        &leann_edge::Embedder::fingerprint(&emb),
        index_path,
    )?;
    let build_secs = t.elapsed().as_secs_f64();
    let index = Index::open(index_path)?;
    let br = index.breakdown();
    let bytes_per_passage = br
        .parts
        .iter()
        .map(|(k, v)| (k.clone(), *v as f64 / n as f64))
        .collect();
    let qs: Vec<Vec<f32>> = queries
        .chunks_exact(dim)
        .map(|q| {
            let mut q = q.to_vec();
            leann_edge::kernels::normalize(&mut q);
            q
        })
        .collect();
    let truth: Vec<Vec<u32>> = {
        use rayon::prelude::*;
        qs.par_iter()
            .map(|q| {
                leann_edge::exact::top_k(emb.rows(), dim, q, 10)
                    .into_iter()
                    .map(|x| x.0)
                    .collect()
            })
            .collect()
    };
    if let Some(c) = check {
        // The index was built on the embedder's (normalised) rows; the queries are normalised too.
        let flat: Vec<f32> = qs.concat();
        super::calibration_check::run(&index, emb.rows(), &flat, dim, params.graph.seed, c)?;
    }
    let mut sweep = Vec::new();
    for &ef in efs {
        let fixed = ratios.iter().map(|&r| (r, 0.0));
        let adaptive = recalls.iter().map(|&r| (base.rerank_ratio, r));
        for (ratio, recall) in fixed.chain(adaptive) {
            let sp = SearchParams {
                ef,
                rerank_ratio: ratio,
                recall,
                ..base.clone()
            };
            sweep.push(sweep_point(&index, &emb, &qs, &truth, &sp)?);
        }
    }
    Ok(TableBenchReport {
        passages: n,
        queries: qs.len(),
        build,
        bytes_per_passage,
        overhead_per_passage: br.overhead as f64 / n as f64,
        build_secs,
        sweep,
    })
}

/// Every query at one parameter point; recall against the exact top-10 `truth`.
fn sweep_point(
    index: &Index<leann_edge::flash::MmapSource>,
    emb: &TableEmbedder,
    qs: &[Vec<f32>],
    truth: &[Vec<u32>],
    sp: &SearchParams,
) -> Result<SweepPoint> {
    let mut s = index.searcher(emb, sp.cache_capacity)?;
    let (mut r1, mut r3, mut r10, mut calls, mut pq) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut rec = Vec::new();
    let mut us = Vec::new();
    for (q, tr) in qs.iter().zip(truth) {
        let res = s.search_vector(q, sp)?;
        // Passage texts are "p{row}": map hits back to table rows (storage order may differ).
        let got: Vec<u32> = res
            .hits
            .iter()
            .map(|h| {
                index
                    .passage(h.id)
                    .ok()
                    .and_then(|p| p.text.strip_prefix('p').and_then(|x| x.parse().ok()))
                    .unwrap_or(u32::MAX)
            })
            .collect();
        r1 += leann_edge::exact::recall(&got, tr, 1);
        r3 += leann_edge::exact::recall(&got, tr, 3);
        r10 += leann_edge::exact::recall(&got, tr, 10);
        rec.push(res.stats.recomputed);
        calls += res.stats.embed_calls as f64;
        pq += res.stats.pq_distances as f64;
        us.push(res.stats.micros);
    }
    let nq = qs.len().max(1) as f64;
    let mean = rec.iter().sum::<u64>() as f64 / nq;
    rec.sort_unstable();
    us.sort_unstable();
    Ok(SweepPoint {
        ef: sp.ef,
        rerank_ratio: if sp.recall > 0.0 {
            0.0
        } else {
            sp.rerank_ratio
        },
        recall: sp.recall,
        recall1: r1 / nq,
        recall3: r3 / nq,
        recall10: r10 / nq,
        recompute_mean: mean,
        recompute_p95: percentile(&rec, 0.95),
        calls_mean: calls / nq,
        pq_mean: pq / nq,
        micros_p50: percentile(&us, 0.5),
    })
}

/// Print a report as a table.
pub fn print(r: &TableBenchReport) {
    println!(
        "passages {}  queries {}  build {:.1}s  edges {}",
        r.passages, r.queries, r.build_secs, r.build.edges
    );
    if let Some(b) = &r.build.budget {
        println!(
            "budget {} B/passage -> PQ {} x {} bits, degree {} (estimated {:.1} B)",
            b.budget, b.pq_subspaces, b.pq_bits, b.degree, b.estimate
        );
    }
    print!("bytes/passage:");
    for (k, v) in &r.bytes_per_passage {
        print!("  {k} {v:.2}");
    }
    println!("\noverhead (all but passage text): {:.2} B/passage (table-bench passage text is a placeholder id, so passage_ids/offsets here are lower bounds)", r.overhead_per_passage);
    println!(
        "{:>5} {:>6} {:>6} {:>8} {:>8} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "ef", "ratio", "recall", "R@1", "R@3", "R@10", "recomp", "p95", "calls", "pq", "p50_us"
    );
    for p in &r.sweep {
        println!(
            "{:>5} {:>6.3} {:>6.3} {:>8.3} {:>8.3} {:>8.3} {:>10.1} {:>8} {:>8.1} {:>8.0} {:>8}",
            p.ef,
            p.rerank_ratio,
            p.recall,
            p.recall1,
            p.recall3,
            p.recall10,
            p.recompute_mean,
            p.recompute_p95,
            p.calls_mean,
            p.pq_mean,
            p.micros_p50
        );
    }
}
