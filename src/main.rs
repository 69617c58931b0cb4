//! The `leann-edge` command-line tool.
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use leann_edge::index::BuildParams;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "leann-edge", version, about = "Semantic search over your own documents in a tiny fraction of the storage (LEANN on the edge)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Benchmark the index alone on raw f32 embedding tables (passages + queries).
    BenchTable {
        /// Passage embeddings (N × dim little-endian f32).
        #[arg(long)]
        passages: PathBuf,
        /// Query embeddings.
        #[arg(long)]
        queries: PathBuf,
        #[arg(long, default_value_t = 384)]
        dim: usize,
        #[arg(long, value_delimiter = ',', default_value = "8,16,24,32,48")]
        ef: Vec<usize>,
        #[arg(long, value_delimiter = ',', default_value = "0.1,0.2,0.3,0.5")]
        ratio: Vec<f32>,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        #[arg(long)]
        no_prune: bool,
        #[arg(long)]
        degree: Option<usize>,
        #[arg(long)]
        pq: Option<usize>,
        #[arg(long)]
        pq_bits: Option<u32>,
        #[arg(long)]
        budget: Option<f32>,
        #[arg(long)]
        json: bool,
        /// Search mode: two-level (paper Alg. 2) or pq-first.
        #[arg(long, default_value = "pq-first")]
        mode: String,
        #[arg(long, default_value = "target/bench-table.leann")]
        index: PathBuf,
    },
}

fn main() -> Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::BenchTable { passages, queries, dim, ef, ratio, batch, no_prune, degree, pq, pq_bits, budget, json, index, mode } => {
            let p = leann_edge::tablebench::read_f32_table(&passages, dim)?;
            let q = leann_edge::tablebench::read_f32_table(&queries, dim)?;
            let mut bp = BuildParams::default();
            if no_prune {
                bp.prune = None;
            }
            if let (Some(d), Some(pp)) = (degree, bp.prune.as_mut()) {
                pp.degree = d;
            }
            if let Some(m) = pq {
                bp.pq_subspaces = m;
            }
            if let Some(b) = pq_bits {
                bp.pq_bits = b;
            }
            bp.budget_bytes_per_passage = budget;
            let base = leann_edge::search::SearchParams { batch_size: batch, mode: if mode == "two-level" { leann_edge::search::Mode::TwoLevel } else { leann_edge::search::Mode::PqFirst }, ..Default::default() };
            let r = leann_edge::tablebench::run(&p, &q, dim, &bp, &ef, &ratio, &base, &index).context("table benchmark")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                leann_edge::tablebench::print(&r);
            }
        }
    }
    Ok(())
}
