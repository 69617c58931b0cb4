//! `leann-edge compact`: rewrite an index, retraining its PQ when a fresh build would shape it
//! differently.
use super::add::print_report;
use super::build::Job;
use super::common::{build_ram_mb, follow_vectors, open_index, vectors_path, Global};
use anyhow::Result;
use clap::{Args, ValueEnum};
use leann_edge::boards::Board;
use leann_edge::embed::tract::TractEmbedder;
use leann_edge::index::{
    change, records, sort_for_compact, BuildParams, BuildPlan, Change, ChangeReport, Index,
    Navigation, OpenOptions, WriteLock,
};
use leann_edge::ingest::IngestOptions;
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
    #[arg(long, value_enum, default_value_t = Retrain::Auto)]
    pub retrain: Retrain,
    /// Embedding cache for a retrain (as `build --embed-cache`).
    #[arg(long)]
    pub embed_cache: Option<PathBuf>,
}

/// When `compact` retrains the PQ.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retrain {
    /// When a fresh build of the current passages would choose other PQ parameters.
    Auto,
    /// Every time (re-embeds every passage).
    Always,
    /// Never: rewrite with the index's PQ.
    Never,
}

/// Run `compact`.
pub fn run(g: &Global, a: &CompactArgs) -> Result<()> {
    let idx = open_index(&a.index)?;
    let (n, dim) = (idx.len(), idx.meta().dim as usize);
    let (m, bits) = (idx.meta().pq_m as usize, idx.meta().pq_bits);
    let rotate = idx.pq().rotation.as_ref().map_or(0, |r| r.out_dim);
    let graph = idx.has_graph();
    let auto_pq = idx
        .meta()
        .build
        .iter()
        .any(|(k, v)| k == "pq_chosen" && v == "auto");
    let text = idx
        .breakdown()
        .parts
        .iter()
        .find(|(k, _)| k == "passage_text")
        .map_or(0, |p| p.1);
    let b = g.board()?;
    let enc = g.encoder_for(&b, &idx)?;
    drop(idx);
    let fresh = BuildPlan::new(&params(&b, a, graph), n.max(1), dim).ok();
    let other = fresh.filter(|f| (f.pq_m, f.pq_bits, f.rotate_dim) != (m, bits, rotate));
    let ram = build_ram_mb(n, dim, text);
    let retrain = match a.retrain {
        Retrain::Always => true,
        Retrain::Never => false,
        Retrain::Auto => other.is_some() && auto_pq && ram <= b.ram_budget_mb,
    };
    if retrain {
        return rebuild(&b, a, &enc, graph);
    }
    let r = change(&a.index, &enc, Change::Rewrite)?;
    follow_vectors(&a.index, &r.order, dim);
    print(&r, false, a.json)?;
    if let (Some(f), false) = (other, a.json) {
        let why = if !auto_pq {
            "its PQ was chosen by hand (or by --budget)"
        } else if ram > b.ram_budget_mb {
            "a rebuild would need more RAM than the board's budget"
        } else {
            "--retrain never"
        };
        eprintln!(
            "note: a fresh build of {n} passages would use PQ {} x {} bits (projection {}) instead \
             of this index's {m} x {bits} (projection {rotate}); not retrained ({why}): \
             `--retrain always` re-embeds every passage and trains it",
            f.pq_m, f.pq_bits, f.rotate_dim
        );
    }
    Ok(())
}

/// What a fresh `build` would use on this board (with `--embed-cache`), with the index's
/// navigation (`graph` or scan): compact does not turn one into the other.
fn params(b: &Board, a: &CompactArgs, graph: bool) -> BuildParams {
    BuildParams {
        embed_cache: a.embed_cache.clone(),
        hub_cache_bytes: b.hub_cache_bytes,
        embed_batch: b.encoder_batch,
        navigation: if graph {
            Navigation::Graph
        } else {
            Navigation::Scan
        },
        ..BuildParams::default()
    }
}

/// Rebuild the index from its own passages under the write lock: every passage re-embedded (or
/// taken from the cache), a new PQ trained, written atomically in place.
fn rebuild(b: &Board, a: &CompactArgs, enc: &TractEmbedder, graph: bool) -> Result<()> {
    let start = std::time::Instant::now();
    let job = Job {
        paths: &[],
        output: &a.index,
        params: params(b, a, graph),
        ingest: IngestOptions::default(),
        // Vectors kept for `bench` are rewritten in the new order (they are all in memory).
        keep_vectors: vectors_path(&a.index).is_file(),
        quiet: a.json,
    };
    job.validate(leann_edge::embed::Embedder::dim(enc))?;
    let _lock = WriteLock::acquire(&a.index)?;
    // Read after taking the lock: the state rebuilt is the one no writer can change meanwhile.
    let idx = Index::open_file(&a.index, &OpenOptions::verified())?;
    idx.check_embedder(enc)?;
    let mut recs = records(&idx)?;
    sort_for_compact(&mut recs);
    drop(idx);
    let before = recs.len() as u64;
    let files: std::collections::HashSet<&str> = recs
        .iter()
        .filter_map(|r| r.source.as_ref().map(|s| s.path.as_str()))
        .collect();
    let unchanged = files.len() as u64;
    let (built, embedded) = job.build_from(b, recs, enc)?;
    let r = ChangeReport {
        passages_before: before,
        passages_after: built.passages,
        embedded_passages: embedded.embedded,
        file_bytes: built.file_bytes,
        seconds: start.elapsed().as_secs_f64(),
        unchanged,
        ..ChangeReport::default()
    };
    print(&r, true, a.json)
}

/// The change report (`--json`: with `"retrained"`).
fn print(r: &ChangeReport, retrained: bool, json: bool) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(r)?;
        v["retrained"] = retrained.into();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let what = if retrained {
        "compact (PQ retrained)"
    } else {
        "compact"
    };
    print_report(what, r, false)
}
