//! Executing a build: the [`BuildPlan`] in stages — order, graph, prune, PQ, hubs, seeds — then the
//! sections of every part written atomically.
use super::parts;
use super::plan::{BudgetChoice, BuildParams, BuildPlan, Navigation};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::format::{self, Kind, Meta, Sections};
use crate::graph::build::{build as build_graph, Graph};
use crate::graph::prune::{by_in_degree, prune, PruneReport};
use crate::passages::PassageRecord;
use crate::pq::{self, Pq, PqParams};
use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Build phases, for progress reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Embedding passages.
    Embed,
    /// Building the graph.
    Graph,
    /// Training PQ and encoding.
    Pq,
    /// Writing the file.
    Write,
}

impl Phase {
    /// Short name (`embed`, `graph`, `pq`, `write`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Embed => "embed",
            Phase::Graph => "graph",
            Phase::Pq => "pq",
            Phase::Write => "write",
        }
    }
}

/// Progress callback: phase, done, total.
pub type ProgressFn<'a> = &'a (dyn Fn(Phase, u64, u64) + Sync);

/// What a build did.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct BuildReport {
    /// Passages indexed.
    pub passages: u64,
    /// Edges stored.
    pub edges: u64,
    /// Pruning summary.
    pub prune: Option<PruneReport>,
    /// Budget choice, if a budget was given.
    pub budget: Option<BudgetChoice>,
    /// Index file bytes.
    pub file_bytes: u64,
    /// Whether embeddings came from the embedding cache.
    pub embed_cache_hit: bool,
    /// Hub embeddings stored.
    pub hub_vectors: u64,
    /// What the index was built for (`Scan` or `Graph`, never `Auto`).
    #[serde(default)]
    pub navigation: Navigation,
}

/// Collects passages and builds an index file.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    params: BuildParams,
    passages: Vec<PassageRecord>,
}

/// The corpus in storage order.
struct Ordered<'a> {
    vectors: Cow<'a, [f32]>,
    passages: Cow<'a, [PassageRecord]>,
}

/// Everything computed from the vectors, ready to be written.
struct Built {
    graph: Graph,
    prune: Option<PruneReport>,
    pq: Pq,
    codes: Vec<u8>,
    calibration: Option<crate::search::Calibration>,
    hubs: Vec<u32>,
    seeds: Vec<u32>,
}

impl IndexBuilder {
    /// A builder.
    pub fn new(params: BuildParams) -> Self {
        IndexBuilder {
            params,
            passages: Vec::new(),
        }
    }
    /// Add one passage (kept in insertion order; its position is its id).
    pub fn add_passage(&mut self, p: PassageRecord) {
        self.passages.push(p);
    }
    /// Passages added.
    pub fn len(&self) -> usize {
        self.passages.len()
    }
    /// Whether none were added.
    pub fn is_empty(&self) -> bool {
        self.passages.is_empty()
    }
    /// The passages, in insertion order.
    pub fn passages(&self) -> &[PassageRecord] {
        &self.passages
    }
    /// The build parameters.
    pub fn params(&self) -> &BuildParams {
        &self.params
    }

    /// Embed with `e` and build the index at `path`.
    pub fn build<E: Embedder + ?Sized>(
        &self,
        e: &E,
        path: &Path,
        progress: ProgressFn,
        cancel: &AtomicBool,
    ) -> Result<BuildReport> {
        // Fail on bad parameters before the embedding, not after.
        BuildPlan::new(&self.params, self.passages.len().max(1), e.dim())?;
        let (v, hit) = self.embed_all(e, progress, cancel)?;
        let mut r = self.build_with_vectors_progress(
            &v,
            e.dim(),
            &e.fingerprint(),
            path,
            progress,
            cancel,
        )?;
        r.embed_cache_hit = hit;
        Ok(r)
    }

    /// Build from precomputed unit vectors (`passages × dim`), recording `fingerprint` as the encoder.
    pub fn build_with_vectors(
        &self,
        vectors: &[f32],
        dim: usize,
        fingerprint: &str,
        path: &Path,
    ) -> Result<BuildReport> {
        let none = AtomicBool::new(false);
        self.build_with_vectors_progress(vectors, dim, fingerprint, path, &|_, _, _| {}, &none)
    }

    /// [`IndexBuilder::build_with_vectors`] with progress reporting and cancellation.
    pub fn build_with_vectors_progress(
        &self,
        vectors: &[f32],
        dim: usize,
        fingerprint: &str,
        path: &Path,
        progress: ProgressFn,
        cancel: &AtomicBool,
    ) -> Result<BuildReport> {
        let n = self.passages.len();
        if n == 0 {
            return Err(Error::NoPassages(
                "no passages to index (every input was empty or skipped)".into(),
            ));
        }
        if dim == 0 || vectors.len() != n * dim {
            let why = format!(
                "{} floats for {n} passages of dimension {dim}",
                vectors.len()
            );
            return Err(Error::InvalidParam(why));
        }
        let plan = BuildPlan::new(&self.params, n, dim)?;
        let ordered = self.storage_order(vectors, dim);
        let built = self.compute(&plan, &ordered.vectors, dim, progress, cancel)?;
        progress(Phase::Write, 0, 1);
        let (sections, edges) = self.sections(&plan, &ordered, &built, dim, fingerprint)?;
        let file_bytes = format::write_atomic(path, &sections)?;
        progress(Phase::Write, 1, 1);
        Ok(BuildReport {
            passages: n as u64,
            edges,
            prune: built.prune,
            budget: plan.budget.clone(),
            file_bytes,
            embed_cache_hit: false,
            navigation: plan.navigation,
            hub_vectors: built.hubs.len() as u64,
        })
    }

    /// Insertion order, or cluster order with [`BuildParams::reorder`] (passages without id or
    /// source then keep their insertion index as id).
    fn storage_order<'a>(&'a self, vectors: &'a [f32], dim: usize) -> Ordered<'a> {
        let cents = if self.params.reorder {
            kmeans_seeds(vectors, dim, self.params.graph.seed).0
        } else {
            Vec::new()
        };
        if cents.is_empty() {
            return Ordered {
                vectors: Cow::Borrowed(vectors),
                passages: Cow::Borrowed(&self.passages),
            };
        }
        let perm = cluster_order(vectors, dim, &cents);
        let mut v = Vec::with_capacity(vectors.len());
        let mut ps = Vec::with_capacity(perm.len());
        for &old in &perm {
            v.extend_from_slice(&vectors[old as usize * dim..(old as usize + 1) * dim]);
            let mut r = self.passages[old as usize].clone();
            if r.id.is_none() && r.source.is_none() {
                r.id = Some(old.to_string());
            }
            ps.push(r);
        }
        Ordered {
            vectors: Cow::Owned(v),
            passages: Cow::Owned(ps),
        }
    }

    /// Graph (pruned), PQ codes, hubs and seeds of the vectors in storage order.
    fn compute(
        &self,
        plan: &BuildPlan,
        vectors: &[f32],
        dim: usize,
        progress: ProgressFn,
        cancel: &AtomicBool,
    ) -> Result<Built> {
        let n = vectors.len() / dim;
        let p = &self.params;
        let scan = plan.scan();
        let mut graph = if scan {
            Graph {
                adj: Vec::new(),
                entry: 0,
            }
        } else {
            let total = 2 * n as u64;
            build_graph(vectors, dim, &p.graph, &|d, _| {
                progress(Phase::Graph, d, total)
            })
        };
        check_cancel(cancel)?;
        let prune = match (&plan.prune, scan) {
            (Some(pp), false) => Some(prune(&mut graph, vectors, dim, pp)),
            _ => None,
        };
        progress(Phase::Pq, 0, n as u64);
        let pq = pq::train(
            vectors,
            dim,
            &PqParams {
                m: plan.pq_m,
                bits: plan.pq_bits,
                seed: p.graph.seed.wrapping_add(1),
                rotate_dim: plan.rotate_dim,
                ..PqParams::default()
            },
        )?;
        let codes = encode_codes(&pq, vectors, dim);
        let calibration = super::calibrate::measure(vectors, dim, &pq, &codes, None, p.graph.seed);
        progress(Phase::Pq, n as u64, n as u64);
        check_cancel(cancel)?;
        if scan && p.hub_cache_bytes > 0 {
            log::warn!("the hub-embedding cache needs a graph (hubs are its best-linked nodes): none stored in a scan index");
        }
        let nhub = ((p.hub_cache_bytes / (dim * 2 + 4) as u64) as usize).min(n);
        let mut hubs: Vec<u32> = by_in_degree(&graph.adj).into_iter().take(nhub).collect();
        hubs.sort_unstable();
        let seeds = if scan {
            Vec::new()
        } else {
            nearest_nodes(vectors, dim, &kmeans_seeds(vectors, dim, p.graph.seed).0)
        };
        Ok(Built {
            graph,
            prune,
            pq,
            codes,
            calibration,
            hubs,
            seeds,
        })
    }

    /// Every section, in file order, and the edge count.
    fn sections(
        &self,
        plan: &BuildPlan,
        ordered: &Ordered,
        built: &Built,
        dim: usize,
        fingerprint: &str,
    ) -> Result<(Sections, u64)> {
        let (graph, edges) = if plan.scan() {
            (Vec::new(), 0)
        } else {
            parts::graph::sections(&built.graph.adj)?
        };
        let ps = crate::passages::encode(&ordered.passages);
        let meta = Meta {
            dim: dim as u32,
            metric: "cosine".into(),
            encoder: fingerprint.to_string(),
            n: ordered.passages.len() as u64,
            entry: built.graph.entry,
            edges,
            pq_m: plan.pq_m as u32,
            pq_bits: plan.pq_bits,
            hub_vectors: built.hubs.len() as u64,
            sources: ps.sources.clone(),
            build: self.described(plan, &built.pq, dim),
            writer: format!("leann-edge {}", env!("CARGO_PKG_VERSION")),
        };
        let mut sections = vec![(Kind::Meta, meta.to_bytes()?)];
        sections.push(parts::build_record::section(&self.record(plan, &built.pq))?);
        sections.extend(graph);
        sections.extend(parts::pq::sections(&built.pq, built.codes.clone()));
        sections.extend(parts::passages::sections(ps));
        if !plan.scan() {
            sections.push(parts::seeds::section(&built.seeds));
        }
        sections.extend(parts::hubs::sections(&built.hubs, &ordered.vectors, dim));
        sections.extend(parts::pq::rotation_section(&built.pq));
        sections.extend(parts::metadata::section(
            ordered.passages.iter().map(|r| &r.metadata),
        ));
        sections.extend(parts::pq::calibration_section(built.calibration.as_ref()));
        Ok((sections, edges))
    }

    /// The typed build record (what relinking and `compact` read back).
    fn record(&self, plan: &BuildPlan, pq: &Pq) -> parts::build_record::BuildRecord {
        use parts::build_record::{BuildRecord, GraphRecord, PqChoice, PqRecord, PruneRecord};
        let g = &self.params.graph;
        let graph = (!plan.scan()).then(|| GraphRecord {
            max_degree: g.max_degree as u32,
            beam: g.beam as u32,
            alpha: g.alpha,
            prune: plan.prune.as_ref().map(|pp| PruneRecord {
                degree: pp.degree as u32,
                hub_degree: pp.hub_degree as u32,
                hub_fraction: pp.hub_fraction,
            }),
        });
        let chosen = match (&plan.budget, self.params.pq_auto) {
            (Some(_), _) => PqChoice::Budget,
            (None, true) => PqChoice::Auto,
            (None, false) => PqChoice::Given,
        };
        BuildRecord {
            version: parts::build_record::RECORD_VERSION,
            graph,
            pq: PqRecord {
                m: plan.pq_m as u32,
                bits: plan.pq_bits,
                rotate_dim: pq.rotation.as_ref().map_or(0, |r| r.out_dim as u32),
                chosen,
                budget: plan.budget.as_ref().map(|b| b.budget),
            },
            seed: g.seed,
            updated_in_place: false,
        }
    }

    /// The build parameters as text, for `info`.
    fn described(&self, plan: &BuildPlan, pq: &Pq, dim: usize) -> Vec<(String, String)> {
        let g = &self.params.graph;
        let kv = |k: &str, v: String| (k.to_string(), v);
        let mut build = if plan.scan() {
            vec![kv(
                "navigation",
                "scan (no graph: every query scores all PQ codes)".into(),
            )]
        } else {
            let pruning = plan.prune.as_ref().map_or("off".to_string(), |pp| {
                format!(
                    "hubs {}% at <= {} links, others <= {}",
                    pp.hub_fraction * 100.0,
                    pp.hub_degree,
                    pp.degree
                )
            });
            vec![
                kv("navigation", "graph".into()),
                kv("max_degree", g.max_degree.to_string()),
                kv("beam", g.beam.to_string()),
                kv("alpha", g.alpha.to_string()),
                kv("seed", g.seed.to_string()),
                kv("pruning", pruning),
            ]
        };
        let (m, bits) = (plan.pq_m, plan.pq_bits);
        build.push(kv(
            "pq",
            match &pq.rotation {
                Some(r) => format!("{m} x {bits} bits after OPQ {dim} -> {}", r.out_dim),
                None => format!("{m} x {bits} bits"),
            },
        ));
        if let Some(b) = &plan.budget {
            let v = format!("{} (estimated {:.1})", b.budget, b.estimate);
            build.push(kv("budget_bytes_per_passage", v));
        }
        // `compact --retrain auto` retrains only a PQ nobody chose by hand.
        let auto = self.params.pq_auto && plan.budget.is_none();
        build.push(kv("pq_chosen", if auto { "auto" } else { "given" }.into()));
        build
    }
}

fn check_cancel(cancel: &AtomicBool) -> Result<()> {
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    Ok(())
}

/// PQ codes of every vector, in parallel chunks.
fn encode_codes(pq: &Pq, vectors: &[f32], dim: usize) -> Vec<u8> {
    use rayon::prelude::*;
    let cb = pq.code_bytes();
    let parts: Vec<Vec<u8>> = vectors
        .par_chunks(dim * 1024)
        .map(|ch| {
            let mut o = Vec::with_capacity(ch.len() / dim * cb);
            for v in ch.chunks_exact(dim) {
                pq.encode(v, &mut o);
            }
            o
        })
        .collect();
    parts.concat()
}

/// k-means centroids of a sample, k = clamp(2 sqrt(n), 8, 1024) (none below 64 vectors).
pub fn kmeans_seeds(vectors: &[f32], dim: usize, seed: u64) -> (Vec<f32>, usize) {
    let n = vectors.len() / dim;
    if n < 64 {
        return (Vec::new(), 0);
    }
    let k = ((2.0 * (n as f64).sqrt()) as usize).clamp(8, 1024);
    let mut rng = crate::rng::Rng::new(seed ^ 0x5eed);
    let mut ids: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut ids);
    ids.truncate((k * 16).min(n));
    ids.sort_unstable();
    let sample: Vec<f32> = ids
        .iter()
        .flat_map(|&i| vectors[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    (pq::kmeans(&sample, dim, k, 6, seed), k)
}

/// Search seeds: the node nearest each centroid.
pub fn nearest_nodes(vectors: &[f32], dim: usize, cents: &[f32]) -> Vec<u32> {
    use rayon::prelude::*;
    let mut out: Vec<u32> = cents
        .par_chunks(dim)
        .map(|c| {
            let mut best = (f32::MIN, 0u32);
            for (i, row) in vectors.chunks_exact(dim).enumerate() {
                let s = crate::kernels::dot(c, row);
                if s > best.0 {
                    best = (s, i as u32);
                }
            }
            best.1
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A storage order: nodes grouped by nearest centroid, clusters chained greedily by centroid
/// similarity, insertion order inside a cluster. Returns new position → old id.
pub fn cluster_order(vectors: &[f32], dim: usize, cents: &[f32]) -> Vec<u32> {
    use rayon::prelude::*;
    let k = cents.len() / dim;
    let assign: Vec<usize> = vectors
        .par_chunks(dim)
        .map(|v| {
            let mut best = (f32::MIN, 0usize);
            for (c, cv) in cents.chunks_exact(dim).enumerate() {
                let s = crate::kernels::dot(v, cv);
                if s > best.0 {
                    best = (s, c);
                }
            }
            best.1
        })
        .collect();
    let mut rank = vec![usize::MAX; k];
    let mut cur = 0usize;
    for r in 0..k {
        rank[cur] = r;
        let cv = &cents[cur * dim..(cur + 1) * dim];
        let next = (0..k).filter(|&c| rank[c] == usize::MAX).max_by(|&a, &b| {
            crate::kernels::dot(cv, &cents[a * dim..(a + 1) * dim])
                .total_cmp(&crate::kernels::dot(cv, &cents[b * dim..(b + 1) * dim]))
                .then(b.cmp(&a))
        });
        match next {
            Some(c) => cur = c,
            None => break,
        }
    }
    let mut order: Vec<u32> = (0..assign.len() as u32).collect();
    order.sort_by_key(|&i| (rank[assign[i as usize]], i));
    order
}
