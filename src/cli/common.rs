//! What several subcommands share: the global options, option groups declared once (flattened
//! into each command), the encoder and index openers, progress bars.
use anyhow::Result;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use leann_edge::boards::Board;
use leann_edge::embed::tract::{Compute, EncoderConfig, TractEmbedder};
use leann_edge::engine::build::Shape;
use leann_edge::engine::{encoder, Engine, EngineOptions, SearchRequest};
use leann_edge::flash::FileSource;
use leann_edge::index::{BuildParams, Index, Navigation, Ranking};
use leann_edge::search::{Mode, SearchParams};
use std::path::{Path, PathBuf};

/// Most encoder threads `--threads` accepts (more only adds start-up time and memory).
pub const MAX_THREADS: u64 = 64;

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
    /// (default: the index's; for a new index int8 where the CPU has integer dot products — arm64,
    /// x86 with VNNI — else f32).
    #[arg(long, global = true, value_enum)]
    pub compute: Option<ComputeArg>,
    /// Progress of long work on stderr: bars on a terminal, else (systemd, nohup, a log file) a
    /// line per phase and every 10 s with the rate and time left.
    #[arg(long, global = true, value_enum, default_value_t = super::progress::ProgressMode::Auto)]
    pub progress: super::progress::ProgressMode,
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
    /// The engine options these flags mean (everything else at the engine's defaults).
    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            model: self.model.clone(),
            threads: self.threads.map(|t| t as usize),
            board: self.board.clone(),
            compute: self.compute.map(Compute::from),
            ..EngineOptions::default()
        }
    }

    /// The board profile: `--board`, else `$LEANN_EDGE_BOARD`, else detected.
    pub fn board(&self) -> Result<Board> {
        Ok(encoder::board(&self.engine_options())?)
    }

    /// Encoder threads: `--threads`, else the board's.
    pub fn threads(&self, b: &Board) -> usize {
        encoder::threads(&self.engine_options(), b)
    }

    /// The model folder (`--model`, a folder or a manifest model's name; else the default's place).
    pub fn model_dir(&self) -> Result<PathBuf> {
        Ok(encoder::model_dir(self.model.as_deref())?)
    }

    /// The encoder for a new index (`bench-encoder`): as the engine opens it for a build.
    pub fn encoder(&self, b: &Board) -> Result<TractEmbedder> {
        Ok(encoder::for_new_index(&self.engine_options(), b)?)
    }

    /// The encoder an existing index is searched with (`bench`): as the engine opens it.
    pub fn encoder_for(&self, b: &Board, idx: &IndexFile) -> Result<TractEmbedder> {
        let config = EncoderConfig::default();
        Ok(encoder::for_index(
            &self.engine_options(),
            b,
            idx.meta(),
            config,
        )?)
    }

    /// Open the engine for the index at `path` (one command, one process: no recompute cache),
    /// `tweak` adjusting the options first.
    pub fn engine(&self, path: &Path, tweak: impl FnOnce(&mut EngineOptions)) -> Result<Engine> {
        let mut o = self.engine_options();
        o.recompute_cache_bytes = Some(0);
        tweak(&mut o);
        Engine::open(path, &o).map_err(|e| index_context(e, path))
    }
}

/// Errors of reading the index file say which file.
fn index_context(e: leann_edge::Error, path: &Path) -> anyhow::Error {
    use leann_edge::ErrorCode as C;
    match e.code() {
        C::Corrupt | C::NotAnIndex | C::UnsupportedVersion | C::Io => {
            anyhow::Error::new(e).context(format!("cannot open index {}", path.display()))
        }
        _ => e.into(),
    }
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
    #[arg(short = 'k', long = "top-k", alias = "k")]
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
    /// These options as a request for `query` (the engine resolves and validates them).
    pub fn request(&self, query: &str) -> SearchRequest {
        SearchRequest {
            query: query.to_string(),
            k: self.k,
            ef: self.ef,
            recall: self.recall,
            rerank_ratio: self.rerank_ratio,
            batch: self.batch,
            mode: Some(Ranking::from(self.mode).name().to_string()),
            walk: self.walk.map(|w| match w {
                ModeArg::PqFirst => "pq-first".to_string(),
                ModeArg::TwoLevel => "two-level".to_string(),
            }),
            ..SearchRequest::default()
        }
    }

    /// Check what only a flag's name can say (before the engine resolves the rest).
    pub fn check_flags(&self) -> Result<()> {
        if let Some(r) = self.recall {
            if leann_edge::search::check_recall(r).is_err() {
                anyhow::bail!("--recall {r} is out of range: give a number in (0, 1], e.g. 0.9");
            }
        }
        Ok(())
    }

    /// The board's search parameters with these overrides, validated.
    pub fn params(&self, b: &Board) -> Result<SearchParams> {
        self.check_flags()?;
        Ok(self
            .request("")
            .apply_params(&b.search_params(), leann_edge::search::MAX_K)?)
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
    /// Apply to `p` (the engine's rules: [`Shape::apply`]); `graph_implied`: another option (e.g.
    /// `--reorder`) asks for a graph.
    pub fn apply(&self, p: &mut BuildParams, graph_implied: bool) {
        let shape = Shape {
            budget_bytes_per_passage: self.budget_bytes_per_passage,
            no_prune: self.no_prune,
            degree: self.degree,
            pq: self.pq,
            pq_bits: self.pq_bits,
            pq_rotate: self.pq_rotate,
            navigation: self.navigation.map(|n| match n {
                NavigationArg::Auto => Navigation::Auto,
                NavigationArg::Graph => Navigation::Graph,
                NavigationArg::Scan => Navigation::Scan,
            }),
            seed: None,
        };
        shape.apply(p, graph_implied);
    }
}

/// An index the CLI reads: positioned reads, so a file replaced in place while a command runs gives
/// an error, never a crash (the supported way to deploy a new index is to rename it over the old).
pub type IndexFile = Index<FileSource>;

/// Open an index for reading (structure checked; checksums are `verify`'s job).
pub fn open_index(path: &Path) -> Result<IndexFile> {
    leann_edge::engine::open_index(path).map_err(|e| index_context(e, path))
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

/// Where `build --keep-vectors` writes the passage embeddings and `bench` reads them.
pub use leann_edge::engine::vectors_path;

/// `s` safe to print on a terminal: control characters (escape sequences, bells, carriage returns)
/// other than newline and tab are dropped. JSON output keeps them, escaped by the serializer.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.chars().filter(|&c| !bad(c)).collect())
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
    resident / (1 << 20) + leann_edge::engine::build::ENCODER_RAM_MB
}

/// Warn (one line) when `what` needs more RAM than the board's budget.
pub fn warn_over_budget(b: &Board, what: &str, need_mb: u64) {
    if need_mb > b.ram_budget_mb {
        eprintln!(
            "{}",
            leann_edge::engine::build::over_budget(b, what, need_mb)
        );
    }
}
