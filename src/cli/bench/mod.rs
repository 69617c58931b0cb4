//! `leann-edge bench`: the real encoder doing the recompute over a BEIR-layout query set, against
//! exact search and qrels ([`eval`]).
use super::common::{open_index, vectors_path, Global, SearchOpts};
use anyhow::{bail, Result};
use clap::Args;
use leann_edge::search::SearchParams;
use std::path::PathBuf;

pub mod eval;

/// Benchmark with the real encoder: queries.jsonl (+ qrels.tsv) against the index and exact search.
#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    /// Index file (built with --keep-vectors for a free exact baseline).
    pub index: PathBuf,
    /// queries.jsonl (`{"id","text"}` per line).
    #[arg(long)]
    pub queries: PathBuf,
    /// qrels.tsv (`query-id corpus-id score`, header line).
    #[arg(long)]
    pub qrels: Option<PathBuf>,
    #[command(flatten)]
    pub s: SearchOpts,
    /// Only the first N queries.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Sweep: comma-separated ef values (with --sweep-ratio).
    #[arg(long, value_delimiter = ',')]
    pub sweep_ef: Vec<usize>,
    /// Sweep: comma-separated fixed rerank ratios.
    #[arg(long, value_delimiter = ',')]
    pub sweep_ratio: Vec<f32>,
    /// Sweep: comma-separated recall targets (adaptive recompute), after the fixed ratios.
    #[arg(long, value_delimiter = ',')]
    pub sweep_recall: Vec<f32>,
    /// Keep a recompute cache of this many MB across the queries of each point (as `serve` does).
    #[arg(long)]
    pub recompute_cache_mb: Option<u64>,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Run `bench`.
pub fn run(g: &Global, a: &BenchArgs) -> Result<()> {
    let b = g.board()?;
    let base = a.s.params(&b)?;
    let points = sweep(&base, &a.sweep_ef, &a.sweep_ratio, &a.sweep_recall)?;
    for f in std::iter::once(&a.queries).chain(&a.qrels) {
        if !f.is_file() {
            bail!("{} is not a file", f.display());
        }
    }
    let idx = open_index(&a.index)?;
    let enc = g.encoder_for(&b, &idx)?;
    let cfg = eval::BenchConfig {
        queries: a.queries.clone(),
        qrels: a.qrels.clone(),
        limit: a.limit,
        vectors: vectors_path(&a.index),
        ranking: a.s.mode.into(),
        recompute_cache_bytes: a
            .recompute_cache_mb
            .map(|m| usize::try_from(m.saturating_mul(1 << 20)).unwrap_or(usize::MAX)),
    };
    let rep = eval::run(&idx, &enc, &cfg, &points, !a.json)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        eval::print(&rep);
    }
    Ok(())
}

/// The parameter points: `base` alone, or for every ef (the base one when none is given) each
/// fixed ratio, then each recall target; every point validated.
fn sweep(
    base: &SearchParams,
    efs: &[usize],
    ratios: &[f32],
    recalls: &[f32],
) -> Result<Vec<SearchParams>> {
    if efs.is_empty() && ratios.is_empty() && recalls.is_empty() {
        return Ok(vec![base.clone()]);
    }
    let efs = if efs.is_empty() {
        vec![base.ef]
    } else {
        efs.to_vec()
    };
    let mut kinds: Vec<(f32, f32)> = ratios.iter().map(|&r| (r, 0.0)).collect();
    for &r in recalls {
        if leann_edge::search::check_recall(r).is_err() {
            bail!("--sweep-recall {r} is out of range: give numbers in (0, 1]");
        }
        kinds.push((base.rerank_ratio, r));
    }
    if kinds.is_empty() {
        kinds.push((base.rerank_ratio, base.recall));
    }
    let mut points = Vec::new();
    for &ef in &efs {
        for &(rerank_ratio, recall) in &kinds {
            let p = SearchParams {
                ef,
                rerank_ratio,
                recall,
                ..base.clone()
            };
            p.validate()?;
            points.push(p);
        }
    }
    Ok(points)
}
