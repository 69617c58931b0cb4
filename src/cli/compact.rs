//! `leann-edge compact`: rewrite an index, retraining its PQ when a fresh build would shape it
//! differently.
use super::add::print_report;
use super::common::Global;
use anyhow::Result;
use clap::{Args, ValueEnum};
use leann_edge::engine::{CompactOptions, Hooks, Retrain};
use std::path::PathBuf;

/// Rewrite an index (checking every record and code), passages sorted by id, then file and
/// position, as a fresh build of sorted input stores them: changes drop removed passages
/// physically, but leave ids in arrival order (a bigger id table and, in a graph, neighbour ids far
/// apart). What also drifts is the PQ, chosen and trained for the passages of the first build. When
/// a fresh build of today's passages would choose another PQ (`--retrain auto`: only for a PQ the
/// build chose itself, and within the board's RAM), or always (`--retrain always`), compact
/// re-embeds every passage from the text the index stores, trains a new PQ (and builds a fresh
/// graph, for a graph index) and writes the passages sorted by id: the cost of a build
/// (`--embed-cache` makes it cheap for passages embedded before). A scan index stays a scan index,
/// a graph index a graph index.
#[derive(Args, Clone, Debug)]
pub struct CompactArgs {
    /// Index file.
    pub index: PathBuf,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
    /// Retrain the PQ: when a fresh build would choose another one (auto), always, or never.
    #[arg(long, value_enum, default_value_t = RetrainArg::Auto)]
    pub retrain: RetrainArg,
    /// Embedding cache for a retrain (as `build --embed-cache`).
    #[arg(long)]
    pub embed_cache: Option<PathBuf>,
}

/// When `compact` retrains the PQ.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetrainArg {
    /// When a fresh build of the current passages would choose other PQ parameters.
    Auto,
    /// Every time (re-embeds every passage).
    Always,
    /// Never: rewrite with the index's PQ.
    Never,
}

impl From<RetrainArg> for Retrain {
    fn from(r: RetrainArg) -> Retrain {
        match r {
            RetrainArg::Auto => Retrain::Auto,
            RetrainArg::Always => Retrain::Always,
            RetrainArg::Never => Retrain::Never,
        }
    }
}

/// Run `compact`.
pub fn run(g: &Global, a: &CompactArgs) -> Result<()> {
    let engine = g.engine(&a.index, |_| {})?;
    let o = CompactOptions {
        retrain: a.retrain.into(),
        embed_cache: a.embed_cache.clone(),
    };
    let bars = super::progress::Progress::new(g.progress);
    let progress = |ph, done, total| bars.update(ph, done, total);
    let hooks = Hooks {
        progress: Some(&progress),
        ..Hooks::default()
    };
    let r = engine.compact(&o, &hooks)?;
    bars.finish();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    let what = if r.retrained {
        "compact (PQ retrained)"
    } else {
        "compact"
    };
    print_report(what, &r.change, false)?;
    if let Some(n) = &r.note {
        eprintln!("note: {n}");
    }
    Ok(())
}
