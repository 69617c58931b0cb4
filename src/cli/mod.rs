//! The `leann-edge` command line: one file per subcommand, shared options in [`common`].
use anyhow::Result;
use clap::{Parser, Subcommand};

pub mod add;
pub mod bench;
pub mod bench_encoder;
pub mod bench_table;
pub mod boards;
pub mod build;
pub mod common;
pub mod compact;
pub mod demo;
pub mod help;
pub mod info;
pub mod ingest_opts;
pub mod list;
pub mod models;
pub mod progress;
pub mod remove;
pub mod search;
#[cfg(feature = "serve")]
pub mod serve;
pub mod sync;
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
    /// Index files/folders (text, Markdown, reST, HTML, man pages, PDF, DOCX; .gz read through) or JSONL passages.
    Build(build::BuildArgs),
    /// Search an index.
    Search(search::SearchArgs),
    /// Add files/folders or JSONL passages to an index (same file path or JSONL id: replaced).
    Add(add::AddArgs),
    /// Remove passages by JSONL id or by source file/folder.
    Remove(remove::RemoveArgs),
    /// Make an index reflect exactly these paths (unchanged passages cost no encoder work).
    Sync(sync::SyncArgs),
    /// Run the index as a resident service: HTTP JSON API, kiosk page at /, MCP at /mcp.
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
    /// Serve the index's MCP tools over stdin/stdout (for assistants that start it themselves).
    #[cfg(feature = "serve")]
    Mcp(serve::McpArgs),
    /// The sources of an index with passage counts and bytes.
    List(list::ListArgs),
    /// Rewrite an index; say when a fresh build would choose another PQ.
    Compact(compact::CompactArgs),
    /// Storage breakdown and build parameters.
    Info(info::InfoArgs),
    /// Check every section checksum and the model files (sha256 recomputed).
    Verify(verify::VerifyArgs),
    /// Benchmark with the real encoder: queries.jsonl (+ qrels.tsv) against the index and exact search.
    Bench(bench::BenchArgs),
    /// List board profiles (and which one this machine is).
    Boards,
    /// Where the encoder model is looked for, what is there and whether it verifies.
    Models(models::ModelsArgs),
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
        Cmd::Add(a) => add::run(g, a),
        Cmd::Remove(a) => remove::run(g, a),
        Cmd::Sync(a) => sync::run(g, a),
        Cmd::List(a) => list::run(a),
        #[cfg(feature = "serve")]
        Cmd::Serve(a) => serve::run(g, a),
        #[cfg(feature = "serve")]
        Cmd::Mcp(a) => serve::run_mcp(g, a),
        Cmd::Compact(a) => compact::run(g, a),
        Cmd::Info(a) => info::run(g, a),
        Cmd::Verify(a) => verify::run(g, a),
        Cmd::Bench(a) => bench::run(g, a),
        Cmd::Boards => boards::run(),
        Cmd::Models(a) => models::run(g, a),
        Cmd::BenchEncoder(a) => bench_encoder::run(g, a),
        Cmd::Demo => demo::run(g),
        Cmd::BenchTable(a) => bench_table::run(a),
    }
}
