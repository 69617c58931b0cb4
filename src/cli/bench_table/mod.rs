//! `leann-edge bench-table`: the index alone on raw f32 embedding tables ([`table`]).
use super::common::{ModeArg, ShapeOpts};
use anyhow::{bail, Context, Result};
use clap::Args;
use leann_edge::index::BuildParams;
use leann_edge::search::SearchParams;
use std::path::PathBuf;

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
    let p = table::read_f32_table(&a.passages, a.dim)?;
    let q = table::read_f32_table(&a.queries, a.dim)?;
    let r = table::run(&p, &q, a.dim, &bp, &a.ef, &a.ratio, &base, &a.index)
        .context("table benchmark")?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        table::print(&r);
    }
    Ok(())
}
