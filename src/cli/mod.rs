//! The `leann-edge` command line: one file per subcommand, shared options in [`common`].
use anyhow::Result;
use clap::{Parser, Subcommand};

pub mod bench;
pub mod bench_encoder;
pub mod bench_table;
pub mod boards;
pub mod build;
pub mod common;
pub mod demo;
pub mod info;
pub mod search;
pub mod verify;

/// The parsed command line.
#[derive(Parser)]
#[command(
    name = "leann-edge",
    version,
    about = "Semantic search over your own documents in a tiny fraction of the storage (LEANN on the edge)"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: common::Global,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Subcommand)]
pub enum Cmd {
    /// Index files/folders (text, Markdown, reST, HTML) or JSONL passages.
    Build(build::BuildArgs),
    /// Search an index.
    Search(search::SearchArgs),
    /// Storage breakdown and build parameters.
    Info(info::InfoArgs),
    /// Check every section checksum and the model files (sha256 recomputed).
    Verify(verify::VerifyArgs),
    /// Benchmark with the real encoder: queries.jsonl (+ qrels.tsv) against the index and exact search.
    Bench(bench::BenchArgs),
    /// List board profiles (and which one this machine is).
    Boards,
    /// Encoder speed: passages/s for batch × length, and model load time.
    BenchEncoder(bench_encoder::BenchEncoderArgs),
    /// Build an index over the bundled example corpus and answer a few questions.
    Demo,
    /// Benchmark the index alone on raw f32 embedding tables (passages + queries).
    BenchTable(bench_table::BenchTableArgs),
}

/// Run the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    let g = &cli.global;
    match &cli.cmd {
        Cmd::Build(a) => build::run(g, a),
        Cmd::Search(a) => search::run(g, a),
        Cmd::Info(a) => info::run(a),
        Cmd::Verify(a) => verify::run(g, a),
        Cmd::Bench(a) => bench::run(g, a),
        Cmd::Boards => boards::run(),
        Cmd::BenchEncoder(a) => bench_encoder::run(g, a),
        Cmd::Demo => demo::run(g),
        Cmd::BenchTable(a) => bench_table::run(a),
    }
}
