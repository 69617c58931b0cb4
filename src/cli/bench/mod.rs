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
    /// Sweep: comma-separated rerank ratios (with --sweep-ef).
    #[arg(long, value_delimiter = ',')]
    pub sweep_ratio: Vec<f32>,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Run `bench`.
pub fn run(g: &Global, a: &BenchArgs) -> Result<()> {
    let b = g.board()?;
    let base = a.s.params(&b)?;
    let points = sweep(&base, &a.sweep_ef, &a.sweep_ratio)?;
    for f in std::iter::once(&a.queries).chain(&a.qrels) {
        if !f.is_file() {
            bail!("{} is not a file", f.display());
        }
    }
    let idx = open_index(&a.index)?;
    let enc = g.encoder(&b)?;
    let cfg = eval::BenchConfig {
        queries: a.queries.clone(),
        qrels: a.qrels.clone(),
        limit: a.limit,
        vectors: vectors_path(&a.index),
        ranking: a.s.mode.into(),
    };
    let rep = eval::run(&idx, &enc, &cfg, &points, !a.json)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        eval::print(&rep);
    }
    Ok(())
}

/// The parameter points: `base` alone, or every (ef, ratio) of the sweep, each validated.
fn sweep(base: &SearchParams, efs: &[usize], ratios: &[f32]) -> Result<Vec<SearchParams>> {
    if efs.is_empty() {
        if !ratios.is_empty() {
            bail!("--sweep-ratio needs --sweep-ef");
        }
        return Ok(vec![base.clone()]);
    }
    let ratios = if ratios.is_empty() {
        vec![base.rerank_ratio]
    } else {
        ratios.to_vec()
    };
    let mut points = Vec::new();
    for &ef in efs {
        for &rerank_ratio in &ratios {
            let p = SearchParams {
                ef,
                rerank_ratio,
                ..base.clone()
            };
            p.validate()?;
            points.push(p);
        }
    }
    Ok(points)
}
