//! `leann-edge bench-table`: the index alone on raw f32 embedding tables ([`table`]).
use super::common::{ModeArg, ShapeOpts};
use anyhow::{bail, Context, Result};
use clap::Args;
use leann_edge::index::BuildParams;
use leann_edge::search::SearchParams;
use std::path::PathBuf;

pub mod calibration_check;
pub mod table;

/// Benchmark the index alone on raw f32 embedding tables (passages + queries).
#[derive(Args, Clone, Debug)]
pub struct BenchTableArgs {
    /// Passage vectors: little-endian f32, `dim` per row.
    #[arg(long)]
    pub passages: PathBuf,
    /// Query vectors, same layout.
    #[arg(long)]
    pub queries: PathBuf,
    /// Vector dimension.
    #[arg(long, default_value_t = 384)]
    pub dim: usize,
    /// Beam widths to sweep.
    #[arg(long, value_delimiter = ',', default_value = "32,64,96,128")]
    pub ef: Vec<usize>,
    /// Rerank ratios to sweep.
    #[arg(long, value_delimiter = ',', default_value = "0.25,0.5")]
    pub ratio: Vec<f32>,
    /// Recall targets to sweep (adaptive recompute), after the fixed ratios.
    #[arg(long, value_delimiter = ',')]
    pub recall: Vec<f32>,
    /// Results per query (recall@k is measured at k ≤ this).
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Recompute batch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[command(flatten)]
    pub shape: ShapeOpts,
    /// Store nodes in cluster order (implies a graph).
    #[arg(long)]
    pub reorder: bool,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
    /// How the graph is walked (graph indexes).
    #[arg(long, value_enum, default_value = "pq-first")]
    pub walk: ModeArg,
    /// Print the stored PQ calibration next to one measured with the real queries.
    #[arg(long)]
    pub calibration_check: bool,
    /// With --calibration-check: write every query's 128 best PQ candidates as (PQ, exact)
    /// distance pairs (little-endian f32) to this file.
    #[arg(long, requires = "calibration_check")]
    pub dump_candidates: Option<PathBuf>,
    /// Where to write the index built for the benchmark.
    #[arg(long, default_value = "target/bench-table.leann")]
    pub index: PathBuf,
}

/// Run `bench-table`.
pub fn run(a: &BenchTableArgs) -> Result<()> {
    if a.dim == 0 || a.dim > 65_536 {
        bail!("--dim {} is out of range (1-65536)", a.dim);
    }
    let mut bp = BuildParams {
        reorder: a.reorder,
        ..BuildParams::default()
    };
    a.shape.apply(&mut bp, a.reorder);
    bp.validate(a.dim)?;
    let base = SearchParams {
        k: a.k,
        batch_size: a.batch,
        mode: a.walk.into(),
        ..Default::default()
    };
    for &ef in &a.ef {
        for &rerank_ratio in &a.ratio {
            SearchParams {
                ef,
                rerank_ratio,
                ..base.clone()
            }
            .validate()?;
        }
    }
    for &recall in &a.recall {
        if leann_edge::search::check_recall(recall).is_err() {
            bail!("--recall {recall} is out of range: give numbers in (0, 1]");
        }
    }
    let p = table::read_f32_table(&a.passages, a.dim)?;
    let q = table::read_f32_table(&a.queries, a.dim)?;
    let r = table::run(
        &p,
        &q,
        a.dim,
        &bp,
        &a.ef,
        &a.ratio,
        &a.recall,
        &base,
        &a.index,
        a.calibration_check
            .then(|| calibration_check::Check {
                dump: a.dump_candidates.clone(),
            })
            .as_ref(),
    )
    .context("table benchmark")?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        table::print(&r);
    }
    Ok(())
}
