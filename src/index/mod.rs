//! The index: an open index file over any [`FlashSource`] ([`Index`]), the searcher that walks it
//! ([`Searcher`]), and (std) the build: a pure sizing step ([`BuildPlan`]) and its execution
//! ([`IndexBuilder`]). Each on-disk component reads and writes itself in [`parts`].
//!
//! Opening is cheap: the header, section table and meta are checked, the small sections read whole
//! (PQ codebook and projection, seeds, hub ids) are CRC-checked as they are read, and every other
//! section is only bounds-checked against the node count; [`Index::verify`] checks every CRC.
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::flash::FlashSource;
use crate::format::{self, Layout, Meta};
use crate::passages::{Passage, PassageReader};
use crate::pq::Pq;
use crate::search::{SearchParams, SearchResult};
use alloc::string::String;
use alloc::vec::Vec;

pub mod checked;
pub mod parts;
mod recompute;
#[cfg(feature = "std")]
mod recompute_cache;
mod searcher;

#[cfg(feature = "std")]
mod answer;
#[cfg(feature = "std")]
mod builder;
#[cfg(feature = "std")]
pub mod calibrate;
#[cfg(feature = "std")]
mod embed_cache;
#[cfg(feature = "std")]
pub mod filter;
#[cfg(feature = "std")]
pub mod keyword;
#[cfg(feature = "std")]
pub mod listing;
#[cfg(feature = "std")]
mod live;
#[cfg(feature = "std")]
mod lock;
#[cfg(feature = "std")]
mod plan;

#[cfg(feature = "std")]
pub use answer::{answer, source_of, Answer, AnswerHit, AnswerOptions, Ranking};
#[cfg(feature = "std")]
pub use builder::{
    cluster_order, kmeans_seeds, nearest_nodes, BuildReport, IndexBuilder, Phase, ProgressFn,
};
#[cfg(feature = "std")]
pub use embed_cache::EmbedReport;
#[cfg(feature = "std")]
pub use live::{
    apply as change, apply_locked as change_locked, apply_with as change_with, records,
    sort_for_compact, Change, ChangeReport,
};
#[cfg(feature = "std")]
pub use lock::WriteLock;
#[cfg(feature = "std")]
pub use plan::{
    choose_budget, choose_budget_scan, est_bits_per_edge, BudgetChoice, BuildParams, BuildPlan,
    Navigation, OPQ_MIN_PASSAGES, ROTATE_MIN_PASSAGES, SCAN_MAX_CODE_BYTES, SCAN_PQ_BUDGET,
    SCAN_PQ_MIN_BYTES,
};
pub use recompute::RecomputeMemo;
#[cfg(feature = "std")]
pub use recompute_cache::{RecomputeCache, RecomputeCacheStats};
pub use searcher::Searcher;

/// Options for opening an index.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Check every section's CRC at open (reads the whole file once). Off by default: open checks
    /// the structure and the small sections it reads whole, and every later read is checked as
    /// it happens ([`checked`]); [`Index::verify`] checks everything at once.
    pub verify_checksums: bool,
    /// Leave reads unchecked (a baseline for measuring what the checks cost; never for serving).
    pub unchecked_reads: bool,
}

impl OpenOptions {
    /// Options that check every section's CRC at open.
    pub fn verified() -> Self {
        OpenOptions {
            verify_checksums: true,
            ..OpenOptions::default()
        }
    }
}

/// An open index.
pub struct Index<S: FlashSource> {
    /// The source, its reads checked against the file's block (or section) CRCs.
    src: checked::Checked<S>,
    layout: Layout,
    meta: Meta,
    pq: parts::pq::PqPart,
    /// `None` for a scan index (no graph).
    graph: Option<parts::graph::GraphPart>,
    passages: PassageReader,
    hubs: parts::hubs::Hubs,
    seeds: Vec<u32>,
    /// `None` when the index stores no metadata (format 1-4, or no passage had any).
    metadata: Option<crate::metadata::MetaColumns>,
    /// The typed build record (format 7), or one read from the display text of older files.
    build_record: parts::build_record::BuildRecord,
}

/// Bytes per component, for `info`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Breakdown {
    /// Passages.
    pub passages: u64,
    /// (name, bytes) per section plus `header`.
    pub parts: Vec<(String, u64)>,
    /// Whole file.
    pub total: u64,
    /// Everything except the passage text itself.
    pub overhead: u64,
}

#[cfg(feature = "std")]
impl Index<crate::flash::MmapSource> {
    /// Open an index file through a memory map (structure checked; see the module docs).
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let src = crate::flash::MmapSource::open(path).map_err(|e| Error::io(path, e))?;
        Index::from_source(src, &OpenOptions::default())
    }
}

#[cfg(feature = "std")]
impl Index<crate::flash::FileSource> {
    /// Open an index file with positioned reads (nothing mapped, nothing kept).
    pub fn open_file(path: &std::path::Path, opts: &OpenOptions) -> Result<Self> {
        let src = crate::flash::FileSource::open(path).map_err(|e| Error::io(path, e))?;
        Index::from_source(src, opts)
    }
}

/// Most nodes an index can hold (ids are u32; one id is kept free).
const MAX_NODES: u64 = u32::MAX as u64 - 1;
/// Largest embedding dimension accepted.
const MAX_DIM: u32 = 65_536;

impl<S: FlashSource> Index<S> {
    /// Open an index held by any flash source.
    pub fn from_source(src: S, opts: &OpenOptions) -> Result<Self> {
        let layout = format::read_layout(&src)?;
        let meta = format::read_meta(&src, &layout)?;
        if opts.verify_checksums {
            for s in &layout.sections {
                format::verify_section(&src, s)?;
            }
        }
        let n = meta.n;
        if n > MAX_NODES || meta.dim == 0 || meta.dim > MAX_DIM {
            let why = alloc::format!("n={n} dim={} out of range", meta.dim);
            return Err(Error::corrupt("meta", why));
        }
        if n > 0 && meta.entry as u64 >= n {
            return Err(Error::corrupt("meta", "entry point out of range"));
        }
        // What open reads whole is checked against its section's CRC as it is read; every later
        // read goes through the block checks.
        let pq = parts::pq::PqPart::read(&src, &layout, &meta)?;
        let graph = parts::graph::GraphPart::read(&layout, n, meta.edges)?;
        let passages = parts::passages::read(&layout, n)?;
        let hubs = parts::hubs::Hubs::read(&src, &layout, meta.hub_vectors, n, meta.dim as usize)?;
        let seeds = parts::seeds::read(&src, &layout, n)?;
        let metadata = parts::metadata::read(&src, &layout, n)?;
        let build_record = match parts::build_record::read(&src, &layout)? {
            Some(r) => r,
            None => parts::build_record::BuildRecord::from_legacy_text(
                &meta.build,
                meta.pq_m,
                meta.pq_bits,
            ),
        };
        Ok(Index {
            src: Self::checked(src, &layout, opts)?,
            layout,
            meta,
            pq,
            graph,
            passages,
            hubs,
            seeds,
            metadata,
            build_record,
        })
    }

    /// `src` with its reads checked: against the block CRCs (format 8), else section by section.
    fn checked(src: S, layout: &Layout, opts: &OpenOptions) -> Result<checked::Checked<S>> {
        if opts.unchecked_reads {
            return Ok(checked::Checked::unchecked(src));
        }
        // Without block CRCs (formats 1-7): an empty table, checked section by section.
        let (covered, crcs) = match layout.blocks() {
            Some((b, covered)) => (covered, parts::u32s(&parts::read_checked(&src, &b, b.len)?)),
            None => (0..0, Vec::new()),
        };
        let all = layout.sections.clone();
        Ok(checked::Checked::new(
            src,
            covered.start,
            covered.end,
            crcs,
            all,
        ))
    }

    /// What the build chose (typed; for files before format 7, read from their build text).
    pub fn build_record(&self) -> &parts::build_record::BuildRecord {
        &self.build_record
    }

    /// Build metadata.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }
    /// Passage count.
    pub fn len(&self) -> usize {
        self.meta.n as usize
    }
    /// Whether the index holds no passages.
    pub fn is_empty(&self) -> bool {
        self.meta.n == 0
    }
    /// The PQ codebook.
    pub fn pq(&self) -> &Pq {
        self.pq.pq()
    }
    /// The PQ error calibration adaptive recompute reads (format 6; `None` for older indexes).
    pub fn calibration(&self) -> Option<&crate::search::Calibration> {
        self.pq.calibration()
    }
    /// The flash source (reads through it are not checked: see [`Index::reader`]).
    pub fn source(&self) -> &S {
        self.src.inner()
    }
    /// The source with every read checked against the block (or section) CRCs: what anything
    /// that trusts the bytes it reads goes through.
    pub(crate) fn reader(&self) -> &checked::Checked<S> {
        &self.src
    }
    /// Section layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    /// Search seeds (graph indexes).
    pub fn seeds(&self) -> &[u32] {
        &self.seeds
    }

    /// Check every section's CRC (and so every block: the block CRCs are a section too, and
    /// what they cover is the other sections).
    pub fn verify(&self) -> Result<()> {
        for s in &self.layout.sections {
            format::verify_section(self.src.inner(), s)?;
        }
        Ok(())
    }

    /// Refuse an embedder whose model differs from the one the index was built with.
    pub fn check_embedder<E: Embedder + ?Sized>(&self, e: &E) -> Result<()> {
        use crate::embed::INT8_COMPUTE_SUFFIX as INT8;
        let fp = e.fingerprint();
        let enc = self.meta.encoder.as_str();
        // The model part and whether it computes in int8.
        let split = |f: &str| match f.strip_suffix(INT8) {
            Some(model) => (model.len(), true),
            None => (f.len(), false),
        };
        let ((fl, f8), (el, e8)) = (split(&fp), split(enc));
        let (fm, em) = (&fp[..fl], &enc[..el]);
        // Indexes built before custom models' tokenizers were fingerprinted name the model alone.
        let legacy = !em.contains(":tok:")
            && fm
                .strip_prefix(em)
                .is_some_and(|rest| rest.starts_with(":tok:"));
        if fm != em && !legacy {
            return Err(Error::ModelMismatch {
                index_model: self.meta.encoder.clone(),
                given_model: fp,
            });
        }
        if f8 != e8 {
            let name = |int8: bool| if int8 { "int8" } else { "f32" };
            return Err(Error::ComputeMismatch {
                index: name(e8),
                given: name(f8),
            });
        }
        if e.dim() != self.meta.dim as usize {
            return Err(Error::Dimension {
                index: self.meta.dim as usize,
                given: e.dim(),
            });
        }
        Ok(())
    }

    /// Storage per component.
    pub fn breakdown(&self) -> Breakdown {
        let mut parts = alloc::vec![(String::from("header"), self.layout.header_bytes())];
        for s in &self.layout.sections {
            parts.push((String::from(s.kind.name()), s.len));
        }
        let total = self.src.len();
        let text = self
            .layout
            .get(format::Kind::PassageText)
            .map_or(0, |s| s.len);
        Breakdown {
            passages: self.meta.n,
            parts,
            total,
            overhead: total.saturating_sub(text),
        }
    }

    /// Whether the index has a graph (scan indexes have none and score every PQ code per query).
    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }

    /// Neighbours of node `v`, straight from flash (an error on a scan index, which has no graph).
    pub fn neighbors(&self, v: u32, out: &mut Vec<u32>) -> Result<()> {
        match &self.graph {
            Some(g) => g.neighbors(&self.src, v, out),
            None => Err(Error::InvalidParam(
                "this index has no graph (it was built for scan search)".into(),
            )),
        }
    }

    /// PQ distance of node `v`.
    pub fn pq_distance(&self, table: &[f32], v: u32) -> Result<f32> {
        self.pq.distance(&self.src, table, v)
    }

    /// The `keep` nodes with the smallest PQ distance under `table`, best first (see
    /// [`parts::pq::PqPart::scan`]). Returns distances computed.
    pub fn pq_scan(&self, table: &[f32], keep: usize, out: &mut Vec<(f32, u32)>) -> Result<u64> {
        self.pq.scan(&self.src, table, keep, None, out)
    }

    /// [`Index::pq_scan`] over only the nodes `allow` flags (one flag per node).
    pub fn pq_scan_allowed(
        &self,
        table: &[f32],
        keep: usize,
        allow: &[bool],
        out: &mut Vec<(f32, u32)>,
    ) -> Result<u64> {
        self.pq.scan(&self.src, table, keep, Some(allow), out)
    }

    /// The passage sections' reader (text, offsets, ids).
    pub fn passage_reader(&self) -> &PassageReader {
        &self.passages
    }

    /// A stored passage.
    pub fn passage(&self, id: u32) -> Result<Passage> {
        let (title, text) = self.passages.text(&self.src, id as u64)?;
        let (pid, source) = self.passage_id(id)?;
        Ok(Passage {
            id: pid,
            title,
            text,
            source,
        })
    }

    /// The metadata columns (`None` when the index stores no metadata).
    pub fn metadata(&self) -> Option<&crate::metadata::MetaColumns> {
        self.metadata.as_ref()
    }

    /// Metadata of passage `id` (empty when it has none).
    pub fn passage_metadata(&self, id: u32) -> crate::metadata::Metadata {
        self.metadata
            .as_ref()
            .map_or_else(Vec::new, |m| m.get(id as u64))
    }

    /// External id and source of passage `id`, without reading its text.
    pub fn passage_id(&self, id: u32) -> Result<(String, Option<crate::passages::Source>)> {
        self.passages
            .id_source(&self.src, id as u64, &self.meta.sources)
    }

    /// Encoder input for passage `id` (title + body).
    pub fn embed_input(&self, id: u32) -> Result<String> {
        let (title, text) = self.passages.text(&self.src, id as u64)?;
        Ok(crate::passages::embed_input(&title, &text))
    }

    /// Stored hub embedding of `id`, if it is a hub.
    pub fn hub_vector(&self, id: u32, out: &mut Vec<f32>) -> Result<bool> {
        self.hubs.vector(&self.src, id, out)
    }

    /// A searcher with its own bounded neighbour cache.
    pub fn searcher<'a, E: Embedder + ?Sized>(
        &'a self,
        embedder: &'a E,
        cache_capacity: usize,
    ) -> Result<Searcher<'a, S, E>> {
        self.check_embedder(embedder)?;
        Ok(Searcher {
            index: self,
            embedder,
            cache: crate::cache::NeighborCache::new(cache_capacity),
            memo: None,
        })
    }

    /// One-off search for a query vector (see [`Searcher::search_vector`]).
    pub fn search<E: Embedder + ?Sized>(
        &self,
        q: &[f32],
        embedder: &E,
        p: &SearchParams,
    ) -> Result<SearchResult> {
        self.searcher(embedder, p.cache_capacity)?
            .search_vector(q, p)
    }
}
