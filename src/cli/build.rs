//! `leann-edge build`: index files, folders or JSONL passages.
use super::common::{Global, ShapeOpts};
use super::ingest_opts::IngestArgs;
use super::progress::{Progress, ProgressMode};
use anyhow::Result;
use clap::Args;
use leann_edge::engine::build::{self, BuildOptions, BuildOutcome, Inputs};
use leann_edge::engine::Hooks;
use leann_edge::index::{BuildParams, BuildReport, Navigation, Phase};
use leann_edge::ingest::IngestSummary;
use std::path::{Path, PathBuf};

/// Index files/folders (text, Markdown, reST, HTML, man pages, PDF, DOCX; .gz read through) or JSONL passages.
#[derive(Args, Clone, Debug)]
pub struct BuildArgs {
    /// Files or folders to index (text, Markdown, reST, HTML, man pages, PDF, DOCX, any of them
    /// gzipped, JSONL passages).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Index file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub ingest: IngestArgs,
    /// Cache passage embeddings here (by content, ~1.5 KB a passage): a rebuild re-embeds only the
    /// passages that changed. A build-host convenience; never part of the index.
    #[arg(long)]
    pub embed_cache: Option<PathBuf>,
    #[command(flatten)]
    pub shape: ShapeOpts,
    /// Store f16 embeddings of top-degree nodes, this many bytes (0 = off; default: the board's).
    #[arg(long)]
    pub hub_cache_bytes: Option<u64>,
    /// Also write the passage embeddings next to the index (for `bench` ground truth).
    #[arg(long)]
    pub keep_vectors: bool,
    /// Build seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Run `build`.
pub fn run(g: &Global, a: &BuildArgs) -> Result<()> {
    let b = g.board()?;
    let mut params = BuildParams {
        embed_cache: a.embed_cache.clone(),
        ..BuildParams::default()
    };
    params.graph.seed = a.seed;
    a.shape.apply(&mut params, false);
    let o = BuildOptions {
        params: build::for_board(params, &b, a.hub_cache_bytes),
        keep_vectors: a.keep_vectors,
    };
    let inputs = Inputs::Paths(a.paths.clone(), a.ingest.options()?);
    build_with_output(g, inputs, &a.output, &o, false).map(|_| ())
}

/// Build through the engine, with progress bars, the ingest summary and the report on stderr
/// (`quiet`: none of them).
pub fn build_with_output(
    g: &Global,
    inputs: Inputs,
    output: &Path,
    o: &BuildOptions,
    quiet: bool,
) -> Result<BuildOutcome> {
    let mode = if quiet { ProgressMode::Off } else { g.progress };
    let bars = Progress::new(mode);
    let progress = |ph: Phase, done: u64, total: u64| bars.update(ph, done, total);
    let summary = |s: &IngestSummary, n: usize| {
        if !quiet {
            print_summary(s, n)
        }
    };
    let note = |m: &str| eprintln!("{m}");
    let hooks = Hooks {
        progress: Some(&progress),
        ingested: Some(&summary),
        note: Some(&note),
        cancel: None,
    };
    let out = build::build_index(inputs, output, o, &g.engine_options(), &hooks)?;
    bars.finish();
    if quiet {
        return Ok(out);
    }
    if let Some(c) = &o.params.embed_cache {
        eprintln!(
            "embedding cache {}: {} passages reused, {} embedded, {:.1} MB",
            c.display(),
            out.embedded.reused,
            out.embedded.embedded,
            out.embedded.cache_bytes as f64 / 1e6
        );
    }
    print_report(output, &out.report);
    Ok(out)
}

/// The ingest summary: files, bytes, passages, skips by reason.
pub fn print_summary(sum: &IngestSummary, passages: usize) {
    let lossy = if sum.lossy_utf8 > 0 {
        format!(
            "; {} files had invalid UTF-8 (decoded lossily)",
            sum.lossy_utf8
        )
    } else {
        String::new()
    };
    eprintln!(
        "read {} files ({} bytes): {passages} passages; skipped {}{lossy}",
        sum.files,
        sum.bytes,
        sum.skipped_total(),
    );
    for (r, n) in &sum.skipped {
        eprintln!("  skipped {n}: {r}");
    }
    let shown = 3.min(sum.examples.len());
    for e in &sum.examples[..shown] {
        eprintln!("    e.g. {}", super::common::printable(e));
    }
    if sum.skipped_total() > shown as u64 {
        eprintln!("    (-v lists every skipped file)");
    }
}

fn print_report(output: &Path, report: &BuildReport) {
    let nav = if report.navigation == Navigation::Scan {
        "no graph (scan search)".to_string()
    } else {
        format!("{} edges", report.edges)
    };
    eprintln!(
        "wrote {} ({} bytes): {} passages, {nav}",
        output.display(),
        report.file_bytes,
        report.passages,
    );
    if let Some(c) = &report.budget {
        eprintln!(
            "budget {} B/passage chose PQ {} x {} bits and degree {} (estimated {:.1} B/passage)",
            c.budget, c.pq_subspaces, c.pq_bits, c.degree, c.estimate
        );
    }
}
