//! `leann-edge build`: index files, folders or JSONL passages.
use super::common::{bar, vectors_path, Global, ShapeOpts};
use super::ingest_opts::IngestArgs;
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use leann_edge::boards::Board;
use leann_edge::embed::tract::TractEmbedder;
use leann_edge::embed::Embedder;
use leann_edge::index::{
    BuildParams, BuildPlan, BuildReport, EmbedReport, IndexBuilder, Navigation, Phase, WriteLock,
};
use leann_edge::ingest::{collect, IngestOptions, IngestSummary};
use leann_edge::passages::PassageRecord;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

/// Index files/folders (text, Markdown, reST, HTML) or JSONL passages.
#[derive(Args, Clone, Debug)]
pub struct BuildArgs {
    /// Files or folders to index.
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
        hub_cache_bytes: a.hub_cache_bytes.unwrap_or(b.hub_cache_bytes),
        embed_batch: b.encoder_batch,
        ..BuildParams::default()
    };
    params.graph.seed = a.seed;
    a.shape.apply(&mut params, false);
    let ingest = a.ingest.options()?;
    let job = Job {
        paths: &a.paths,
        output: &a.output,
        params,
        ingest,
        keep_vectors: a.keep_vectors,
        quiet: false,
    };
    job.run(g, &b).map(|_| ())
}

/// One build, as `build` and `demo` run it.
pub struct Job<'a> {
    pub paths: &'a [PathBuf],
    pub output: &'a Path,
    pub params: BuildParams,
    pub ingest: IngestOptions,
    pub keep_vectors: bool,
    pub quiet: bool,
}

impl Job<'_> {
    /// Check everything that can be checked before reading and embedding the documents.
    pub fn validate(&self, dim: usize) -> Result<()> {
        check_output(self.output, self.paths)?;
        check_not_a_document(self.output)?;
        if self.keep_vectors {
            check_output(&vectors_path(self.output), self.paths)?;
        }
        if let Some(c) = &self.params.embed_cache {
            check_output(c, self.paths).context("--embed-cache")?;
            check_is_or_absent(c, b"LEANNEMB", "an embedding cache")?;
        }
        self.params.validate(dim)?;
        Ok(())
    }

    /// Validate, read the documents, embed them and write the index.
    pub fn run(&self, g: &Global, b: &Board) -> Result<BuildReport> {
        check_output(self.output, self.paths)?;
        check_not_a_document(self.output)?;
        let enc = g.encoder(b)?;
        self.validate(enc.dim())?;
        let _lock = WriteLock::acquire(self.output)?;
        let (recs, sum) = collect(self.paths, &self.ingest);
        if !self.quiet {
            print_summary(&sum, recs.len());
        }
        if recs.is_empty() {
            bail!("no passages found in {:?}: give folders or files of text, Markdown, reST, HTML or JSONL", self.paths);
        }
        Ok(self.build_from(b, recs, &enc)?.0)
    }

    /// Embed `recs` with `enc` and write the index (the caller validated and holds the write
    /// lock); returns what was built and how many passages the encoder embedded.
    pub fn build_from(
        &self,
        b: &Board,
        recs: Vec<PassageRecord>,
        enc: &TractEmbedder,
    ) -> Result<(BuildReport, EmbedReport)> {
        // Sizing errors (a budget too small for this corpus, PQ that cannot fit) before embedding.
        BuildPlan::new(&self.params, recs.len(), enc.dim())?;
        let text: usize = recs.iter().map(|r| r.title.len() + r.text.len()).sum();
        super::common::warn_over_budget(
            b,
            &format!("building {} passages", recs.len()),
            super::common::build_ram_mb(recs.len(), enc.dim(), text as u64),
        );
        let mut builder = IndexBuilder::new(self.params.clone());
        for r in recs {
            builder.add_passage(r);
        }
        let (report, embedded) = self.embed_and_write(&builder, enc)?;
        if !self.quiet {
            print_report(self.output, &report);
        }
        Ok((report, embedded))
    }

    fn embed_and_write(
        &self,
        builder: &IndexBuilder,
        enc: &TractEmbedder,
    ) -> Result<(BuildReport, EmbedReport)> {
        let bars = Bars::new(self.quiet);
        let progress = |ph: Phase, done: u64, total: u64| bars.update(ph, done, total);
        let cancel = AtomicBool::new(false);
        let (vecs, embedded) = builder.embed_all_counted(enc, &progress, &cancel)?;
        if let (Some(c), false) = (&self.params.embed_cache, self.quiet) {
            eprintln!(
                "embedding cache {}: {} passages reused, {} embedded, {:.1} MB",
                c.display(),
                embedded.reused,
                embedded.embedded,
                embedded.cache_bytes as f64 / 1e6
            );
        }
        if self.keep_vectors {
            // Before the index: an index is never left without the vectors it was built from, and
            // a failure here costs a warning, not the build. Storage order is insertion order
            // (the order the records were given: a retraining `compact` gives them sorted).
            let bytes: Vec<u8> = vecs.iter().flat_map(|x| x.to_le_bytes()).collect();
            let vp = vectors_path(self.output);
            if let Err(e) = leann_edge::format::write_file_atomic(&vp, &bytes) {
                log::warn!(
                    "could not write {}: {e} (the index is built anyway)",
                    vp.display()
                );
            }
        }
        let report = builder.build_with_vectors_progress(
            &vecs,
            enc.dim(),
            &enc.fingerprint(),
            self.output,
            &progress,
            &cancel,
        )?;
        if !self.keep_vectors {
            self.drop_stale_vectors();
        }
        bars.finish();
        Ok((report, embedded))
    }
}

impl Job<'_> {
    /// Vectors kept by an earlier build of this output belong to that index (perhaps another
    /// model): `bench` would take them as this one's exact baseline. Removed after a successful
    /// build, unless the path is an input, lies in one, or is the embedding cache.
    fn drop_stale_vectors(&self) {
        let vp = vectors_path(self.output);
        let Ok(canon) = vp.canonicalize() else {
            return;
        };
        let is = |p: &PathBuf| p.canonicalize().is_ok_and(|c| canon.starts_with(c));
        let input = self.paths.iter().any(is);
        let cache = self.params.embed_cache.as_ref().is_some_and(is);
        if canon.is_file() && !input && !cache && std::fs::remove_file(&vp).is_ok() {
            log::info!("removed {} (vectors of an earlier build)", vp.display());
        }
    }
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

/// The output must be a file path in an existing folder, not one of the inputs, and not an existing
/// file that is something else than an index (a document inside an input folder, say).
fn check_output(output: &Path, inputs: &[PathBuf]) -> Result<()> {
    if output.is_dir() {
        bail!(
            "{} is a folder; give a file name for the index, e.g. {}/index.leann",
            output.display(),
            output.display()
        );
    }
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        bail!(
            "the folder {} does not exist; create it first (mkdir -p {})",
            parent.display(),
            parent.display()
        );
    }
    if let Ok(out) = output.canonicalize() {
        for i in inputs {
            if i.canonicalize().is_ok_and(|c| c == out) {
                bail!(
                    "{} is one of the inputs; write the index to another file",
                    output.display()
                );
            }
        }
    }
    Ok(())
}

/// Refuse to replace an existing file that is not an index: it may be a document.
fn check_not_a_document(output: &Path) -> Result<()> {
    check_is_or_absent(output, &leann_edge::format::MAGIC, "a leann-edge index")
}

/// `path` is absent, empty, or a regular file starting with `magic` (what we may replace).
fn check_is_or_absent(path: &Path, magic: &[u8], what: &str) -> Result<()> {
    let output = path;
    use std::io::Read;
    let Ok(meta) = std::fs::metadata(output) else {
        return Ok(());
    };
    if !meta.is_file() {
        bail!(
            "{} exists and is not a regular file; write the index elsewhere",
            output.display()
        );
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let Ok(mut f) = std::fs::File::open(output) else {
        return Ok(());
    };
    let mut head = vec![0u8; magic.len()];
    if f.read_exact(&mut head).is_err() || head != magic {
        bail!(
            "{} exists and is not {what}; remove it or write elsewhere",
            output.display()
        );
    }
    Ok(())
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

/// One progress bar per build phase.
struct Bars {
    quiet: bool,
    current: Mutex<Option<(Phase, ProgressBar)>>,
}

impl Bars {
    fn new(quiet: bool) -> Self {
        Bars {
            quiet,
            current: Mutex::new(None),
        }
    }

    fn update(&self, ph: Phase, done: u64, total: u64) {
        if self.quiet {
            return;
        }
        let Ok(mut g) = self.current.lock() else {
            return;
        };
        if g.as_ref().map(|x| x.0) != Some(ph) {
            if let Some((_, pb)) = g.take() {
                pb.finish();
            }
            *g = Some((ph, bar(total, ph.name())));
        }
        if let Some((_, pb)) = g.as_ref() {
            pb.set_position(done);
        }
    }

    fn finish(&self) {
        if let Some((_, pb)) = self.current.lock().ok().and_then(|mut g| g.take()) {
            pb.finish();
        }
    }
}
