//! Building a new index: the output checks (never overwrite an input, a folder or a file that is
//! not an index), reading the inputs, the RAM estimate, embedding and writing — what `build`,
//! `demo`, `compact --retrain` and every binding share.
use super::Hooks;
use crate::boards::Board;
use crate::embed::tract::TractEmbedder;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::index::{
    BuildParams, BuildPlan, BuildReport, EmbedReport, IndexBuilder, Navigation, WriteLock,
};
use crate::ingest::{collect, IngestOptions};
use crate::passages::PassageRecord;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// What a new index is built from.
#[derive(Clone, Debug)]
pub enum Inputs {
    /// Files and folders, read as `build` reads them.
    Paths(Vec<PathBuf>, IngestOptions),
    /// Passage records made by the caller (Python dicts, C JSON lines, a rebuild's own records).
    Records(Vec<PassageRecord>),
}

impl Inputs {
    fn paths(&self) -> &[PathBuf] {
        match self {
            Inputs::Paths(p, _) => p,
            Inputs::Records(_) => &[],
        }
    }
}

/// How to build (the shape of the index; what a board decides is filled in by [`for_board`]).
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Index shape (PQ, graph, budget, embedding cache).
    pub params: BuildParams,
    /// Also write the passage embeddings beside the index (`INDEX.vectors`: `bench`'s baseline).
    pub keep_vectors: bool,
}

/// `params` with what the board decides when the caller left it at the default: hub cache bytes
/// and encoder batch.
pub fn for_board(mut params: BuildParams, b: &Board, hub_cache_bytes: Option<u64>) -> BuildParams {
    params.hub_cache_bytes = hub_cache_bytes.unwrap_or(b.hub_cache_bytes);
    params.embed_batch = b.encoder_batch;
    params
}

/// The shape options of a build, as a user gives them (CLI flags, Python keywords, C JSON): any
/// PQ option turns the corpus-size automatic PQ choice off; graph options imply a graph.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// Target bytes per passage for graph + PQ (chooses the degree and PQ size).
    pub budget_bytes_per_passage: Option<f32>,
    /// Turn high-degree-preserving pruning off (implies a graph).
    #[serde(default)]
    pub no_prune: bool,
    /// Non-hub degree after pruning (implies a graph).
    pub degree: Option<usize>,
    /// PQ sub-spaces.
    pub pq: Option<usize>,
    /// PQ bits per code, 4 or 8.
    pub pq_bits: Option<u32>,
    /// Learned OPQ projection to this many dimensions (0 = off).
    pub pq_rotate: Option<usize>,
    /// `auto`, `graph` or `scan`.
    pub navigation: Option<Navigation>,
    /// Build seed (default 42).
    pub seed: Option<u64>,
}

impl Shape {
    /// Apply to `p`; `graph_implied`: another option asks for a graph.
    pub fn apply(&self, p: &mut BuildParams, graph_implied: bool) {
        p.budget_bytes_per_passage = self.budget_bytes_per_passage;
        if self.no_prune {
            p.prune = None;
        }
        if let (Some(d), Some(pp)) = (self.degree, p.prune.as_mut()) {
            pp.degree = d;
        }
        if let Some(m) = self.pq {
            p.pq_subspaces = m;
        }
        if let Some(b) = self.pq_bits {
            p.pq_bits = b;
        }
        if let Some(r) = self.pq_rotate {
            p.pq_rotate_dim = r;
        }
        if let Some(s) = self.seed {
            p.graph.seed = s;
        }
        p.pq_auto = self.pq.is_none() && self.pq_bits.is_none() && self.pq_rotate.is_none();
        let graph_opts = graph_implied || self.no_prune || self.degree.is_some();
        p.navigation = match self.navigation {
            Some(n) => n,
            None if graph_opts => Navigation::Graph,
            None => Navigation::Auto,
        };
    }
}

/// What a build did.
#[derive(Clone, Debug)]
pub struct BuildOutcome {
    /// The index written.
    pub report: BuildReport,
    /// How many passages were embedded and how many reused from the embedding cache.
    pub embedded: EmbedReport,
}

/// Check everything that can be checked before reading and embedding the inputs.
pub fn validate(inputs: &[PathBuf], output: &Path, o: &BuildOptions, dim: usize) -> Result<()> {
    check_outputs(inputs, output, o)?;
    o.params.validate(dim)?;
    Ok(())
}

/// The output paths (index, kept vectors, embedding cache) may be written: checked before the
/// encoder is even loaded.
pub fn check_outputs(inputs: &[PathBuf], output: &Path, o: &BuildOptions) -> Result<()> {
    check_output(output, inputs)?;
    check_is_or_absent(output, &crate::format::MAGIC, "a leann-edge index")?;
    if o.keep_vectors {
        check_output(&super::vectors_path(output), inputs)?;
    }
    if let Some(c) = &o.params.embed_cache {
        check_output(c, inputs).map_err(|e| Error::OutputRefused(format!("--embed-cache: {e}")))?;
        check_is_or_absent(c, b"LEANNEMB", "an embedding cache")?;
    }
    Ok(())
}

/// Build a new index at `output` from `inputs` with the encoder `opts` chooses for a new index
/// (outputs checked before the encoder loads), dropping vectors an earlier build left there.
pub fn build_index(
    inputs: Inputs,
    output: &Path,
    o: &BuildOptions,
    opts: &super::EngineOptions,
    hooks: &Hooks,
) -> Result<BuildOutcome> {
    let paths = inputs.paths().to_vec();
    check_outputs(&paths, output, o)?;
    let board = super::encoder::board(opts)?;
    let enc = super::encoder::for_new_index(opts, &board)?;
    let out = build(&board, &enc, inputs, output, o, hooks)?;
    if !o.keep_vectors {
        drop_stale_vectors(output, &paths, o.params.embed_cache.as_ref());
    }
    Ok(out)
}

/// Validate, read the inputs, embed them and write the index at `output` (under its write lock).
pub fn build(
    b: &Board,
    enc: &TractEmbedder,
    inputs: Inputs,
    output: &Path,
    o: &BuildOptions,
    hooks: &Hooks,
) -> Result<BuildOutcome> {
    validate(inputs.paths(), output, o, enc.dim())?;
    let _lock = WriteLock::acquire(output)?;
    let recs = match inputs {
        Inputs::Paths(paths, ingest) => {
            let (recs, sum) = collect(&paths, &ingest.for_board(b));
            hooks.ingested(&sum, recs.len());
            if recs.is_empty() {
                return Err(Error::NoPassages(format!(
                    "no passages found in {paths:?}: give folders or files of text, Markdown, \
                     reST, HTML, man pages, PDF, DOCX or JSONL"
                )));
            }
            recs
        }
        Inputs::Records(r) => r,
    };
    build_records(b, enc, recs, output, o, hooks)
}

/// Embed `recs` with `enc` and write the index (the caller validated and holds the write lock).
pub fn build_records(
    b: &Board,
    enc: &TractEmbedder,
    recs: Vec<PassageRecord>,
    output: &Path,
    o: &BuildOptions,
    hooks: &Hooks,
) -> Result<BuildOutcome> {
    if recs.is_empty() {
        return Err(Error::NoPassages("no passages to index".into()));
    }
    // Sizing errors (a budget too small for this corpus, PQ that cannot fit) before embedding.
    BuildPlan::new(&o.params, recs.len(), enc.dim())?;
    let text: usize = recs.iter().map(|r| r.title.len() + r.text.len()).sum();
    let need = build_ram_mb(recs.len(), enc.dim(), text as u64);
    if need > b.ram_budget_mb {
        hooks.note(&over_budget(
            b,
            &format!("building {} passages", recs.len()),
            need,
        ));
    }
    let mut builder = IndexBuilder::new(o.params.clone());
    for r in recs {
        builder.add_passage(r);
    }
    let never = AtomicBool::new(false);
    let cancel = hooks.cancel.unwrap_or(&never);
    let progress = |ph, done, total| hooks.progress(ph, done, total);
    let (vecs, embedded) = builder.embed_all_counted(enc, &progress, cancel)?;
    if o.keep_vectors {
        // Before the index: an index is never left without the vectors it was built from, and a
        // failure here costs a warning, not the build. Storage order is insertion order.
        let bytes: Vec<u8> = vecs.iter().flat_map(|x| x.to_le_bytes()).collect();
        let vp = super::vectors_path(output);
        if let Err(e) = crate::format::write_file_atomic(&vp, &bytes) {
            hooks.note(&format!(
                "could not write {}: {e} (the index is built anyway)",
                vp.display()
            ));
        }
    }
    let report = builder.build_with_vectors_progress(
        &vecs,
        enc.dim(),
        &enc.fingerprint(),
        output,
        &progress,
        cancel,
    )?;
    Ok(BuildOutcome { report, embedded })
}

/// Vectors kept by an earlier build of `output` belong to that index (perhaps another model):
/// `bench` would take them as this one's exact baseline. Removed after a successful build, unless
/// the path is an input, lies in one, or is the embedding cache.
pub fn drop_stale_vectors(output: &Path, inputs: &[PathBuf], embed_cache: Option<&PathBuf>) {
    let vp = super::vectors_path(output);
    let Ok(canon) = vp.canonicalize() else {
        return;
    };
    let is = |p: &PathBuf| p.canonicalize().is_ok_and(|c| canon.starts_with(c));
    let input = inputs.iter().any(is);
    let cache = embed_cache.is_some_and(is);
    if canon.is_file() && !input && !cache && std::fs::remove_file(&vp).is_ok() {
        log::info!("removed {} (vectors of an earlier build)", vp.display());
    }
}

/// RAM of the encoder while it runs (weights folded to f32 + plan + activations; serve's RSS on
/// docs-faq is 133 MiB in all, docs/benchmarks.md).
pub const ENCODER_RAM_MB: u64 = 130;

/// RAM a build needs, roughly: every vector (f32) twice (the vectors and the PQ/graph work on
/// them), the passage text, and the encoder.
pub fn build_ram_mb(passages: usize, dim: usize, text_bytes: u64) -> u64 {
    let vectors = passages as u64 * dim as u64 * 4 * 2;
    (vectors + text_bytes) / (1 << 20) + ENCODER_RAM_MB
}

/// The one-line warning when `what` needs more RAM than the board's budget.
pub fn over_budget(b: &Board, what: &str, need_mb: u64) -> String {
    format!(
        "warning: {what} needs about {need_mb} MB of RAM, over the {} board's budget of {} MB \
         (build on a bigger machine and copy the index, or pass --board)",
        b.name, b.ram_budget_mb
    )
}

/// The output must be a file path in an existing folder and not one of the inputs.
fn check_output(output: &Path, inputs: &[PathBuf]) -> Result<()> {
    if output.is_dir() {
        return Err(Error::OutputRefused(format!(
            "{} is a folder; give a file name for the index, e.g. {}/index.leann",
            output.display(),
            output.display()
        )));
    }
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(Error::OutputRefused(format!(
            "the folder {} does not exist; create it first (mkdir -p {})",
            parent.display(),
            parent.display()
        )));
    }
    if let Ok(out) = output.canonicalize() {
        for i in inputs {
            if i.canonicalize().is_ok_and(|c| c == out) {
                return Err(Error::OutputRefused(format!(
                    "{} is one of the inputs; write the index to another file",
                    output.display()
                )));
            }
        }
    }
    Ok(())
}

/// `path` is absent, empty, or a regular file starting with `magic` (what we may replace).
fn check_is_or_absent(path: &Path, magic: &[u8], what: &str) -> Result<()> {
    use std::io::Read;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if !meta.is_file() {
        return Err(Error::OutputRefused(format!(
            "{} exists and is not a regular file; write the index elsewhere",
            path.display()
        )));
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let Ok(mut f) = std::fs::File::open(path) else {
        return Ok(());
    };
    let mut head = vec![0u8; magic.len()];
    if f.read_exact(&mut head).is_err() || head != magic {
        return Err(Error::OutputRefused(format!(
            "{} exists and is not {what}; remove it or write elsewhere",
            path.display()
        )));
    }
    Ok(())
}
