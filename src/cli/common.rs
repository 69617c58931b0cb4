//! What several subcommands share: the global options, option groups declared once (flattened
//! into each command), the encoder and index openers, progress bars.
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use leann_edge::boards::Board;
use leann_edge::embed::tract::{
    default_model_dir, known_model_dir, Compute, EncoderConfig, TractEmbedder, KNOWN,
};
use leann_edge::flash::FileSource;
use leann_edge::index::{BuildParams, Index, Navigation, OpenOptions, Ranking};
use leann_edge::search::{Mode, SearchParams};
use std::path::{Path, PathBuf};

/// Most encoder threads `--threads` accepts (more only adds start-up time and memory).
pub const MAX_THREADS: u64 = 64;

/// Encoder arithmetic of a new index when `--compute` is not given. int8: on docs-faq its nDCG@10
/// stayed within 0.6% of f32 while queries took a third less time and builds ran 1.5× faster
/// (docs/benchmarks.md, "int8 compute"). Indexes record theirs; older ones are f32. A model
/// without int8 weights falls back to f32.
pub const NEW_INDEX_COMPUTE: Compute = Compute::Int8;

/// Options every subcommand takes.
#[derive(Args, Clone, Debug)]
pub struct Global {
    /// Board profile (see `leann-edge boards`); default: detected.
    #[arg(long, global = true)]
    pub board: Option<String>,
    /// Encoder model folder, or a model's name (`multilingual-e5-small-int8`: looked for in the
    /// same places as the default; `leann-edge models` lists them) (default: $LEANN_EDGE_MODEL,
    /// else the first folder holding the default model among ~/.local/share/leann-edge/models,
    /// /usr/local/share and /usr/share leann-edge/models, models/ next to the binary, ./models).
    #[arg(long, global = true)]
    pub model: Option<PathBuf>,
    /// Say more: every skipped file, every lossily decoded one (default: counts and a few examples).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Encoder threads (default: the board's).
    #[arg(long, global = true, value_parser = clap::value_parser!(u64).range(1..=MAX_THREADS))]
    pub threads: Option<u64>,
    /// Encoder arithmetic: int8 (activations quantised per token, integer matmul kernels) or
    /// f32. An index records the one it was built with and is searched and changed with the same
    /// (default: the index's; for a new index int8).
    #[arg(long, global = true, value_enum)]
    pub compute: Option<ComputeArg>,
}

/// Encoder arithmetic (see [`Compute`]).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComputeArg {
    /// f32 arithmetic on the int8-stored weights.
    F32,
    /// int8 × int8 matmuls, activations quantised per token.
    Int8,
}

impl From<ComputeArg> for Compute {
    fn from(c: ComputeArg) -> Compute {
        match c {
            ComputeArg::F32 => Compute::F32,
            ComputeArg::Int8 => Compute::Int8,
        }
    }
}

impl Global {
    /// The board profile: `--board`, else `$LEANN_EDGE_BOARD`, else detected.
    pub fn board(&self) -> Result<Board> {
        Ok(match &self.board {
            Some(b) => leann_edge::boards::get(b)?,
            None => leann_edge::boards::detect()?,
        })
    }

    /// Encoder threads: `--threads`, else the board's.
    pub fn threads(&self, b: &Board) -> usize {
        self.threads.map_or(b.threads, |t| t as usize).max(1)
    }

    /// The model folder: `--model` (a folder, or the name of a model of the manifest, looked
    /// for where the default one is), else the first place holding the default model.
    pub fn model_dir(&self) -> Result<std::path::PathBuf> {
        Ok(match &self.model {
            Some(m) if !m.exists() => match KNOWN.iter().find(|k| m.as_os_str() == k.name) {
                Some(k) => known_model_dir(k.name)?,
                None => m.clone(),
            },
            Some(m) => m.clone(),
            None => default_model_dir()?,
        })
    }

    /// Open the encoder for a new index (`build`, `demo`, `bench-encoder`): `--compute`, else
    /// [`NEW_INDEX_COMPUTE`].
    /// A model without int8 weights (an f32 one) computes in f32 unless `--compute int8` was given.
    pub fn encoder(&self, b: &Board) -> Result<TractEmbedder> {
        let config = EncoderConfig {
            compute: NEW_INDEX_COMPUTE,
            ..EncoderConfig::with_threads(self.threads(b))
        };
        match self.encoder_with(b, config.clone()) {
            Err(e) if self.compute.is_none() && no_int8_weights(&e) => {
                log::info!("{e}: computing in f32");
                self.encoder_with(
                    b,
                    EncoderConfig {
                        compute: Compute::F32,
                        ..config
                    },
                )
            }
            r => r,
        }
    }

    /// Open the encoder an existing index is searched and changed with: the compute it records
    /// (`--compute`, when given, must be that one).
    pub fn encoder_for(&self, b: &Board, idx: &IndexFile) -> Result<TractEmbedder> {
        self.encoder_for_with(b, idx, EncoderConfig::with_threads(self.threads(b)))
    }

    /// [`Global::encoder_for`] with `config` (its compute replaced by the index's).
    pub fn encoder_for_with(
        &self,
        b: &Board,
        idx: &IndexFile,
        config: EncoderConfig,
    ) -> Result<TractEmbedder> {
        let built = Compute::of_fingerprint(&idx.meta().encoder);
        if let Some(asked) = self.compute.map(Compute::from) {
            if asked != built {
                bail!(
                    "the index was built with {} encoder compute and is searched and changed with \
                     the same: leave out --compute {} (to change it, build the index again from \
                     its documents with --compute {})",
                    built.name(),
                    asked.name(),
                    asked.name()
                );
            }
        }
        self.encoder_with(
            b,
            EncoderConfig {
                compute: built,
                ..config
            },
        )
    }

    /// Open the encoder with `config` (its thread count is replaced by `--threads` / the board's).
    pub fn encoder_with(&self, b: &Board, config: EncoderConfig) -> Result<TractEmbedder> {
        let dir = self.model_dir()?;
        let config = EncoderConfig {
            threads: self.threads(b),
            compute: self.compute.map_or(config.compute, Compute::from),
            ..config
        };
        Ok(TractEmbedder::open(&dir, config)?)
    }
}

/// Whether opening the encoder failed because the model has nothing to compute in int8.
fn no_int8_weights(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<leann_edge::embed::EmbedError>(),
        Some(leann_edge::embed::EmbedError::NoInt8Weights { .. })
    )
}

/// Search strategy on graph indexes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeArg {
    /// PQ-guided beam search, then exact rerank of the best candidates (default).
    PqFirst,
    /// LEANN Alg. 2: recompute while navigating.
    TwoLevel,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::PqFirst => Mode::PqFirst,
            ModeArg::TwoLevel => Mode::TwoLevel,
        }
    }
}

/// How searches navigate an index.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NavigationArg {
    /// Scan while the PQ codes total at most 16 MiB, else a graph.
    Auto,
    /// A pruned proximity graph.
    Graph,
    /// No graph: every query scores all PQ codes.
    Scan,
}

/// Search parameters (defaults: the board profile's).
#[derive(Args, Clone, Debug, Default)]
pub struct SearchOpts {
    /// Results to show (default: the board's).
    #[arg(short, long, visible_alias = "top-k")]
    pub k: Option<usize>,
    /// Search beam (more = better recall, more PQ work).
    #[arg(long)]
    pub ef: Option<usize>,
    /// Recall vs time: the share of the exact top k a search aims for, in (0, 1]; it recomputes
    /// passages in rounds until the rest are unlikely to enter the top k (default: the board's).
    #[arg(long)]
    pub recall: Option<f32>,
    /// Recompute a fixed share of the beam instead, in (0, 1] (turns the adaptive recompute off
    /// unless --recall is given too).
    #[arg(long)]
    pub rerank_ratio: Option<f32>,
    /// Encoder batch for recompute.
    #[arg(long)]
    pub batch: Option<usize>,
    /// How the graph is walked (graph indexes).
    #[arg(long, value_enum)]
    pub walk: Option<ModeArg>,
    /// Ranking: dense (recomputed embeddings), keyword (BM25 over the stored text, no encoder)
    /// or hybrid (both, fused by reciprocal rank).
    #[arg(long, value_enum, default_value_t = RankingArg::Hybrid)]
    pub mode: RankingArg,
}

/// Ranking (see [`leann_edge::index::Ranking`]).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RankingArg {
    /// Exact cosine of recomputed embeddings.
    Dense,
    /// BM25 over the stored passage text.
    Keyword,
    /// Dense and keyword fused by reciprocal rank.
    #[default]
    Hybrid,
}

impl From<RankingArg> for Ranking {
    fn from(r: RankingArg) -> Ranking {
        match r {
            RankingArg::Dense => Ranking::Dense,
            RankingArg::Keyword => Ranking::Keyword,
            RankingArg::Hybrid => Ranking::Hybrid,
        }
    }
}

impl SearchOpts {
    /// The board's search parameters with these overrides, validated.
    pub fn params(&self, b: &Board) -> Result<SearchParams> {
        let mut p = b.search_params();
        if let Some(k) = self.k {
            p.k = k;
        }
        if let Some(e) = self.ef {
            p.ef = e;
        }
        if let Some(r) = self.rerank_ratio {
            p.rerank_ratio = r;
            p.recall = 0.0;
        }
        if let Some(r) = self.recall {
            if leann_edge::search::check_recall(r).is_err() {
                anyhow::bail!("--recall {r} is out of range: give a number in (0, 1], e.g. 0.9");
            }
            p.recall = r;
        }
        if let Some(bs) = self.batch {
            p.batch_size = bs;
        }
        if let Some(m) = self.walk {
            p.mode = m.into();
        }
        p.validate()?;
        Ok(p)
    }
}

/// Index shape options shared by `build` and `bench-table`: any PQ option turns the corpus-size
/// automatic PQ choice off; graph options imply a graph.
#[derive(Args, Clone, Debug, Default)]
pub struct ShapeOpts {
    /// Target bytes per passage for graph + PQ (chooses the degree and PQ size).
    #[arg(long, alias = "budget")]
    pub budget_bytes_per_passage: Option<f32>,
    /// Turn high-degree-preserving pruning off (implies a graph).
    #[arg(long)]
    pub no_prune: bool,
    /// Non-hub degree after pruning (implies a graph).
    #[arg(long)]
    pub degree: Option<usize>,
    /// PQ sub-spaces (must divide the projected dimension; default: chosen by corpus size).
    #[arg(long)]
    pub pq: Option<usize>,
    /// PQ bits per code, 4 or 8 (default: chosen by corpus size).
    #[arg(long)]
    pub pq_bits: Option<u32>,
    /// Learned OPQ projection before PQ to this many dimensions (0 = off; default: chosen by
    /// corpus size and navigation).
    #[arg(long)]
    pub pq_rotate: Option<usize>,
    /// How searches navigate the index.
    #[arg(long, value_enum)]
    pub navigation: Option<NavigationArg>,
}

impl ShapeOpts {
    /// Apply to `p`; `graph_implied`: another option (e.g. `--reorder`) asks for a graph.
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
        p.pq_auto = self.pq.is_none() && self.pq_bits.is_none() && self.pq_rotate.is_none();
        let graph_opts = graph_implied || self.no_prune || self.degree.is_some();
        p.navigation = match self.navigation {
            Some(NavigationArg::Auto) => Navigation::Auto,
            Some(NavigationArg::Graph) => Navigation::Graph,
            Some(NavigationArg::Scan) => Navigation::Scan,
            None if graph_opts => Navigation::Graph,
            None => Navigation::Auto,
        };
    }
}

/// An index the CLI reads: positioned reads, so a file replaced in place while a command runs gives
/// an error, never a crash (the supported way to deploy a new index is to rename it over the old).
pub type IndexFile = Index<FileSource>;

/// Open an index for reading (structure checked; checksums are `verify`'s job).
pub fn open_index(path: &Path) -> Result<IndexFile> {
    if !path.exists() {
        bail!(
            "{} does not exist; build it with `leann-edge build <docs> -o {}`",
            path.display(),
            path.display()
        );
    }
    if path.is_dir() {
        bail!(
            "{} is a folder; give the index file (`leann-edge build` writes one with -o FILE)",
            path.display()
        );
    }
    Index::open_file(path, &OpenOptions::default())
        .with_context(|| format!("cannot open index {}", path.display()))
}

/// A progress bar on stderr.
pub fn bar(len: u64, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(msg.to_string());
    pb
}

/// Keep the vectors `build --keep-vectors` left beside the index (`bench`'s exact baseline) in step
/// with a change (`order[i]`: old position of passage `i`, `u32::MAX` for a new one): reordered
/// when the change only moved or dropped passages, deleted when it added any (their vectors are
/// not kept) — a stale file of the right length would be taken as the baseline. Vectors that did
/// not match the index before are left alone (`bench` refuses a file of the wrong length).
pub fn follow_vectors(index: &Path, order: &[u32], dim: usize) {
    let vp = vectors_path(index);
    let Ok(bytes) = std::fs::read(&vp) else {
        return;
    };
    let row = dim * 4;
    let before = bytes.len() / row.max(1);
    if bytes.len() % row.max(1) != 0 || order.iter().any(|&o| o != u32::MAX && o as usize >= before)
    {
        log::warn!("{} does not match the index: left as is", vp.display());
        return;
    }
    if order.contains(&u32::MAX) {
        match std::fs::remove_file(&vp) {
            Ok(()) => log::info!(
                "removed {} (the index gained passages it has no vectors for)",
                vp.display()
            ),
            Err(e) => log::warn!("could not remove stale {}: {e}", vp.display()),
        }
        return;
    }
    let mut out = Vec::with_capacity(order.len() * row);
    for &o in order {
        out.extend_from_slice(&bytes[o as usize * row..(o as usize + 1) * row]);
    }
    if let Err(e) = leann_edge::format::write_file_atomic(&vp, &out) {
        log::warn!("could not rewrite {}: {e}", vp.display());
    }
}

/// Where `build --keep-vectors` writes the passage embeddings and `bench` reads them.
pub fn vectors_path(index: &Path) -> PathBuf {
    let mut s = index.as_os_str().to_owned();
    s.push(".vectors");
    PathBuf::from(s)
}

/// `s` safe to print on a terminal: control characters (escape sequences, bells, carriage returns)
/// other than newline and tab are dropped. JSON output keeps them, escaped by the serializer.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.chars().filter(|&c| !bad(c)).collect())
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

/// RAM a search process needs, roughly: the encoder plus the sections an open index keeps in
/// memory (everything but the PQ codes, graph, passages and hub vectors, which are read in pieces).
pub fn search_ram_mb(idx: &IndexFile) -> u64 {
    use leann_edge::format::Kind;
    let streamed = [
        Kind::PqCodes,
        Kind::Graph,
        Kind::GraphOffsets,
        Kind::PassageText,
        Kind::PassageOffsets,
        Kind::PassageIds,
        Kind::HubVectors,
    ];
    let resident: u64 = idx
        .layout()
        .sections
        .iter()
        .filter(|s| !streamed.contains(&s.kind))
        .map(|s| s.len)
        .sum();
    resident / (1 << 20) + ENCODER_RAM_MB
}

/// Warn (one line) when `what` needs more RAM than the board's budget.
pub fn warn_over_budget(b: &Board, what: &str, need_mb: u64) {
    if need_mb > b.ram_budget_mb {
        eprintln!(
            "warning: {what} needs about {need_mb} MB of RAM, over the {} board's budget of {} MB \
             (build on a bigger machine and copy the index, or pass --board)",
            b.name, b.ram_budget_mb
        );
    }
}
