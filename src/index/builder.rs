//! Building an index: embed passages, build and prune the graph, train PQ, write atomically.
use super::*;
use crate::graph::build::{build as build_graph, GraphParams};
use crate::graph::prune::{by_in_degree, prune, PruneParams, PruneReport};
use crate::passages::PassageRecord;
use crate::pq::{self, PqParams};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Build parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BuildParams {
    /// Graph construction.
    pub graph: GraphParams,
    /// High-degree-preserving pruning; `None` keeps the built graph as is.
    pub prune: Option<PruneParams>,
    /// PQ sub-spaces (must divide the dimension).
    pub pq_subspaces: usize,
    /// PQ bits per code (8 or 4).
    pub pq_bits: u32,
    /// Learned projection (OPQ) to this many dimensions before PQ, clamped to the embedding
    /// dimension; 0 quantises the raw vectors. Stored as `dim × pq_rotate_dim` f16 values.
    #[serde(default)]
    pub pq_rotate_dim: usize,
    /// Fit the PQ to the corpus size. Below [`OPQ_MIN_PASSAGES`] the 256-centroid codebooks (64 KB)
    /// would cost more than they buy, so 8-bit codes become 4-bit codes on twice the sub-spaces
    /// (same code bytes, 4 KB of codebook); below [`ROTATE_MIN_PASSAGES`] the projection (98 KB) is
    /// dropped too. The CLI turns this off when any PQ option is given.
    #[serde(default)]
    pub pq_auto: bool,
    /// Target bytes per passage for graph + PQ; when set, chooses the pruned degree and the PQ size
    /// (overriding `prune.degree`, `pq_subspaces` and `pq_bits`) and reports the choice.
    pub budget_bytes_per_passage: Option<f32>,
    /// Bytes of f16 hub embeddings to store (0 = off): the highest in-degree nodes are never recomputed.
    pub hub_cache_bytes: u64,
    /// Embedding batch size while building.
    pub embed_batch: usize,
    /// Optional file caching the passage embeddings of this corpus + model (skips re-embedding).
    pub embed_cache: Option<PathBuf>,
    /// Graph or scan search (see [`Navigation`]); `Auto` by default.
    #[serde(default)]
    pub navigation: Navigation,
    /// Store nodes in cluster order (k-means clusters chained by similarity) so neighbour ids are
    /// close and delta-code into fewer bits. Node ids then differ from insertion order: a passage
    /// given without id or source gets its insertion index as id.
    pub reorder: bool,
}

impl Default for BuildParams {
    fn default() -> Self {
        BuildParams {
            graph: GraphParams::default(),
            prune: Some(PruneParams::default()),
            pq_subspaces: 16,
            pq_bits: 8,
            pq_rotate_dim: 128,
            pq_auto: true,
            budget_bytes_per_passage: None,
            hub_cache_bytes: 0,
            embed_batch: 32,
            embed_cache: None,
            reorder: false,
            navigation: Navigation::Auto,
        }
    }
}

/// How searches find the passages worth recomputing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Navigation {
    /// Scan while the PQ codes are at most [`SCAN_MAX_CODE_BYTES`], a graph above.
    #[default]
    Auto,
    /// A pruned proximity graph, navigated by PQ distance (LEANN).
    Graph,
    /// No graph: every query scores all PQ codes (one sequential read of the code section) and
    /// recomputes the best. Exhaustive, so its candidates are the true PQ top, and no bytes go to
    /// edges; the cost per query grows with the corpus.
    Scan,
}

/// Largest code section [`Navigation::Auto`] scans (16 MiB: a million passages at 16 bytes). A
/// scan of it is one sequential read plus a table lookup per code byte — ~10 ms on a desktop core,
/// well under the cost of embedding one passage on the boards — while a graph costs 16–30 bytes per
/// passage and, at equal recompute count, finds fewer of the true PQ neighbours.
pub const SCAN_MAX_CODE_BYTES: u64 = 16 << 20;

/// PQ bytes per passage (codes + codebook + projection, amortised) a scan index spends by default
/// (see also [`SCAN_PQ_MIN_BYTES`]).
/// On docs-faq (45k passages) this buys 21-byte codes after a 168-d projection (26.4 B/passage of
/// overhead in all); the table benchmark there put the exact top-3 among the best 16 PQ
/// candidates 0.94 of the time, against 0.91 for the 16-byte codes of a graph index.
pub const SCAN_PQ_BUDGET: f32 = 25.0;
/// Bytes a scan index's PQ may take in all, however small the corpus (the default budget is
/// `max(SCAN_PQ_BUDGET, SCAN_PQ_MIN_BYTES / passages)` from [`ROTATE_MIN_PASSAGES`] passages on). Small corpora need the projection most and
/// can least amortise it: on 3,000 docs-faq passages the exact top-3 was among the best 16 PQ
/// candidates 0.87 of the time with OPQ 128 + 16-byte codes (54 B/passage) and 0.73 with the 16
/// bytes of raw PQ that 25 B/passage buys.
pub const SCAN_PQ_MIN_BYTES: usize = 160 * 1024;

/// Choose the PQ for a scan index: the most code bytes whose codes, codebook and OPQ projection
/// fit `budget` bytes per passage at `n` passages. Projected candidates use 8 dimensions per 8-bit
/// sub-space or 4 per 4-bit one (the projection picks the dimension); at equal code bytes 8-bit
/// codes win (they guided slightly better), then the cheaper one. When no projected code of at least
/// 8 bytes fits (small corpora: the projection is `dim × rotated × 2` bytes), PQ runs on the raw
/// vectors, and when nothing fits (tiny corpora, where the codebook alone is over budget) raw 4-bit
/// PQ with ~12 dimensions a sub-space is taken whatever it costs.
pub fn choose_budget_scan(budget: f32, n: usize, dim: usize) -> Result<BudgetChoice> {
    if budget.is_nan() || budget <= 0.0 {
        return Err(Error::InvalidParam(format!(
            "a budget of {budget} bytes per passage cannot hold PQ codes; give a positive number such as 24"
        )));
    }
    let nf = n.max(1) as f32;
    let code = |m: usize, bits: u32| if bits == 8 { m } else { m.div_ceil(2) };
    let better = |a: &BudgetChoice, b: &BudgetChoice| {
        let (ca, cb) = (
            code(a.pq_subspaces, a.pq_bits),
            code(b.pq_subspaces, b.pq_bits),
        );
        ca > cb
            || (ca == cb
                && (a.pq_bits > b.pq_bits || (a.pq_bits == b.pq_bits && a.estimate < b.estimate)))
    };
    let mut best: Option<BudgetChoice> = None;
    // (best so far, sub-spaces, bits, estimate, projection dimension)
    let offer = |best: &mut Option<BudgetChoice>, m: usize, bits: u32, est: f32, pdim: usize| {
        let c = BudgetChoice {
            budget,
            pq_subspaces: m,
            pq_bits: bits,
            degree: 0,
            estimate: est,
            pq_rotate_dim: pdim,
        };
        if best.as_ref().is_none_or(|b| better(&c, b)) {
            *best = Some(c);
        }
    };
    for (bits, dsub) in [(8u32, 8usize), (4, 4)] {
        for m in (2..=dim / dsub).filter(|m| bits == 8 || m % 2 == 0) {
            let pdim = m * dsub;
            let est =
                code(m, bits) as f32 + (((1usize << bits) * pdim * 2) + dim * pdim * 2) as f32 / nf;
            if est <= budget && code(m, bits) >= 8 {
                offer(&mut best, m, bits, est, pdim);
            }
        }
    }
    if best.is_none() {
        for bits in [8u32, 4] {
            for m in (2..=dim).filter(|m| dim % m == 0 && (bits == 8 || m % 2 == 0)) {
                let est = code(m, bits) as f32 + ((1usize << bits) * dim * 2) as f32 / nf;
                if est <= budget {
                    offer(&mut best, m, bits, est, 0);
                }
            }
        }
    }
    Ok(best.unwrap_or_else(|| {
        // Raw 4-bit PQ with ~12 dims a sub-space (32 × 4 bits for 384 dims): its codebook (16 ×
        // dim × 2 bytes) is the same for any sub-space count, and the codes are small next to it.
        let m = (2..=dim)
            .find(|m| dim % m == 0 && m % 2 == 0 && dim / m <= 12)
            .unwrap_or(dim);
        BudgetChoice {
            budget,
            pq_subspaces: m,
            pq_bits: 4,
            degree: 0,
            estimate: m.div_ceil(2) as f32 + (16 * dim * 2) as f32 / nf,
            pq_rotate_dim: 0,
        }
    }))
}

/// What a storage budget chose.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BudgetChoice {
    /// Budget asked for (bytes per passage, graph + PQ).
    pub budget: f32,
    /// PQ sub-spaces chosen.
    pub pq_subspaces: usize,
    /// PQ bits.
    pub pq_bits: u32,
    /// Pruned out-degree of non-hub nodes (m).
    pub degree: usize,
    /// Estimated bytes per passage of that choice.
    pub estimate: f32,
    /// OPQ projection dimension chosen (scan indexes; 0 = none or the build's own setting).
    #[serde(default)]
    pub pq_rotate_dim: usize,
}

/// Estimated graph bits per edge at `n` nodes (calibrated on MiniLM embeddings of ~45k passages in
/// document order: ~13.5 bits/edge incl. headers at degree 8).
pub fn est_bits_per_edge(n: usize, degree: usize) -> f32 {
    let id_bits = (n.max(2) as f32).log2() - (degree.max(1) as f32).log2() + 2.0;
    id_bits.max(4.0) + 18.0 / degree.max(1) as f32
}

/// Choose PQ size and pruned degree for a budget of graph + PQ bytes per passage.
///
/// Spends at most 45% of the budget on PQ (codes plus codebook and projection amortised over `n`; PQ
/// guides the search, the graph bounds how many nodes must be recomputed), the rest on edges,
/// counting hub edges (2% of nodes at up to 64 links) and the graph offset table. `rotate_dim` is
/// the OPQ projection's dimension (0 = none, PQ on the raw `dim`).
pub fn choose_budget(
    budget: f32,
    n: usize,
    dim: usize,
    rotate_dim: usize,
    hub: &PruneParams,
) -> Result<BudgetChoice> {
    let pdim = if rotate_dim == 0 {
        dim
    } else {
        rotate_dim.min(dim)
    };
    let rotation = if rotate_dim == 0 {
        0.0
    } else {
        (dim * pdim * 2) as f32 / n.max(1) as f32
    };
    let divs: Vec<usize> = (1..=pdim.min(256)).filter(|m| pdim % m == 0).collect();
    let mut best: Option<BudgetChoice> = None;
    for &bits in &[8u32, 4] {
        for &m in &divs {
            let code = if bits == 8 {
                m as f32
            } else {
                (m as f32 / 2.0).ceil()
            };
            let codebook = ((1usize << bits) * pdim * 2) as f32 / n.max(1) as f32;
            let pq_cost = code + codebook + rotation;
            if pq_cost > budget * 0.45 || m < 4 {
                continue;
            }
            let rest = budget - pq_cost - 8.0 / crate::graph::codec::BLOCK as f32;
            let mut degree = 0;
            for d in (2..=32usize).rev() {
                let edges = d as f32 + hub.hub_fraction * (hub.hub_degree.saturating_sub(d)) as f32;
                if edges * est_bits_per_edge(n, d) / 8.0 <= rest {
                    degree = d;
                    break;
                }
            }
            if degree < 4 {
                continue;
            }
            let edges =
                degree as f32 + hub.hub_fraction * (hub.hub_degree.saturating_sub(degree)) as f32;
            let est = pq_cost + 0.25 + edges * est_bits_per_edge(n, degree) / 8.0;
            // Prefer the largest PQ code that leaves degree >= 8. At equal code bytes, with an OPQ
            // projection 8-bit codes on half the sub-spaces guide better (docs-faq: exact top-3 within the
            // 16 best PQ candidates 0.91 vs 0.86); without one, 4-bit codes did slightly better.
            let c = BudgetChoice {
                budget,
                pq_subspaces: m,
                pq_bits: bits,
                degree,
                estimate: est,
                pq_rotate_dim: 0,
            };
            let preferred_bits = if rotate_dim == 0 { 4 } else { 8 };
            let score = |c: &BudgetChoice| {
                let code = if c.pq_bits == 8 {
                    c.pq_subspaces as f32
                } else {
                    c.pq_subspaces as f32 / 2.0
                };
                (c.degree.min(8) as f32) * 100.0
                    + code
                    + if c.pq_bits == preferred_bits {
                        0.5
                    } else {
                        0.0
                    }
            };
            if best.as_ref().is_none_or(|b| score(&c) > score(b)) {
                best = Some(c);
            }
        }
    }
    best.ok_or_else(|| Error::InvalidParam(format!("a budget of {budget} bytes per passage is too small for graph + PQ at {n} passages; try 16 or more")))
}

/// Corpus size from which [`BuildParams::pq_auto`] keeps 8-bit codes: their codebooks (64 KB) and
/// the projection (98 KB) are then at most the 16 bytes of codes per passage.
pub const OPQ_MIN_PASSAGES: usize = 10_000;
/// Corpus size below which [`BuildParams::pq_auto`] also drops the OPQ projection. Between the two,
/// the projection still pays: on 3,000 / 8,000 docs-faq passages the exact top-3 is among the best
/// 24 PQ candidates 0.94 / 0.91 of the time with it (4-bit codes) and 0.88 / 0.84 without.
pub const ROTATE_MIN_PASSAGES: usize = 1_000;

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

fn fnv64(h: &mut u64, b: &[u8]) {
    for &x in b {
        *h ^= x as u64;
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
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

    /// Embed every passage (length-bucketed batches), or load them from the embedding cache.
    pub fn embed_all<E: Embedder + ?Sized>(
        &self,
        e: &E,
        progress: ProgressFn,
        cancel: &AtomicBool,
    ) -> Result<(Vec<f32>, bool)> {
        let dim = e.dim();
        let inputs: Vec<String> = self.passages.iter().map(|p| p.embed_input()).collect();
        let mut key = 0xcbf2_9ce4_8422_2325u64;
        fnv64(&mut key, e.fingerprint().as_bytes());
        for s in &inputs {
            fnv64(&mut key, s.as_bytes());
            fnv64(&mut key, &[0xff]);
        }
        if let Some(c) = &self.params.embed_cache {
            if let Ok(b) = std::fs::read(c) {
                if b.len() == 16 + inputs.len() * dim * 4
                    && b[..8] == key.to_le_bytes()
                    && b[8..16] == (inputs.len() as u64).to_le_bytes()
                {
                    let v = b[16..]
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect();
                    progress(Phase::Embed, inputs.len() as u64, inputs.len() as u64);
                    return Ok((v, true));
                }
                log::info!(
                    "embedding cache {} is for other passages or another model; re-embedding",
                    c.display()
                );
            }
        }
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| (inputs[i].len(), i));
        let mut out = vec![0f32; inputs.len() * dim];
        let bs = self.params.embed_batch.max(1);
        let mut done = 0u64;
        for chunk in order.chunks(bs) {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            let texts: Vec<&str> = chunk.iter().map(|&i| inputs[i].as_str()).collect();
            let v = e.embed(&texts)?;
            if v.len() != texts.len() * dim {
                return Err(crate::embed::EmbedError::Runtime(format!(
                    "embedder returned {} floats for {} texts",
                    v.len(),
                    texts.len()
                ))
                .into());
            }
            for (j, &i) in chunk.iter().enumerate() {
                out[i * dim..(i + 1) * dim].copy_from_slice(&v[j * dim..(j + 1) * dim]);
            }
            done += chunk.len() as u64;
            progress(Phase::Embed, done, inputs.len() as u64);
        }
        if let Some(c) = &self.params.embed_cache {
            let mut b = Vec::with_capacity(16 + out.len() * 4);
            b.extend_from_slice(&key.to_le_bytes());
            b.extend_from_slice(&(inputs.len() as u64).to_le_bytes());
            for x in &out {
                b.extend_from_slice(&x.to_le_bytes());
            }
            let tmp = c.with_extension("tmp");
            std::fs::write(&tmp, &b)
                .and_then(|_| std::fs::rename(&tmp, c))
                .map_err(|e| Error::io(c, e))?;
        }
        Ok((out, false))
    }

    /// Embed with `e` and build the index at `path`.
    pub fn build<E: Embedder + ?Sized>(
        &self,
        e: &E,
        path: &Path,
        progress: ProgressFn,
        cancel: &AtomicBool,
    ) -> Result<BuildReport> {
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
        self.build_with_vectors_progress(
            vectors,
            dim,
            fingerprint,
            path,
            &|_, _, _| {},
            &AtomicBool::new(false),
        )
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
            return Err(Error::InvalidParam(
                "no passages to index (every input was empty or skipped)".into(),
            ));
        }
        if dim == 0 || vectors.len() != n * dim {
            return Err(Error::InvalidParam(format!(
                "{} floats for {n} passages of dimension {dim}",
                vectors.len()
            )));
        }
        let p = &self.params;
        let mut prune_p = p.prune.clone();
        let (mut pq_m, mut pq_bits, mut rotate_dim) =
            (p.pq_subspaces, p.pq_bits, p.pq_rotate_dim.min(dim));
        let code_bytes = |m: usize, bits: u32| if bits == 8 { m } else { m.div_ceil(2) } as u64;
        let scan = match p.navigation {
            Navigation::Scan => true,
            Navigation::Graph => false,
            // Codes a scan index would get: at most its budget per passage.
            Navigation::Auto => {
                let cb = match p.budget_bytes_per_passage {
                    Some(b) => b.max(0.0) as u64,
                    None if p.pq_auto => SCAN_PQ_BUDGET as u64,
                    None => code_bytes(pq_m, pq_bits),
                };
                n as u64 * cb <= SCAN_MAX_CODE_BYTES
            }
        };
        if !scan && p.pq_auto && n < OPQ_MIN_PASSAGES && pq_bits == 8 {
            if n < ROTATE_MIN_PASSAGES {
                rotate_dim = 0;
            }
            pq_bits = 4;
            let pdim = if rotate_dim == 0 { dim } else { rotate_dim };
            if pdim % (2 * pq_m) == 0 {
                pq_m *= 2;
            }
            log::info!(
                "{n} passages (< {OPQ_MIN_PASSAGES}): PQ {pq_m} x 4 bits{}",
                if rotate_dim == 0 {
                    ", no projection"
                } else {
                    " after OPQ"
                }
            );
        }
        // A scan index sizes its PQ to a byte budget (given, or SCAN_PQ_BUDGET when the PQ is
        // left to the build): all of it goes to codes, none to edges.
        let scan_budget = match p.budget_bytes_per_passage {
            Some(b) if scan => Some(b),
            // The 160 KB floor pays for a projection; under ROTATE_MIN_PASSAGES none pays (the
            // 7-passage demo would spend 23 KB a passage), so the plain budget applies there.
            None if scan && p.pq_auto && n >= ROTATE_MIN_PASSAGES => {
                Some(SCAN_PQ_BUDGET.max(SCAN_PQ_MIN_BYTES as f32 / n as f32))
            }
            None if scan && p.pq_auto => Some(SCAN_PQ_BUDGET),
            _ => None,
        };
        let budget = match p.budget_bytes_per_passage {
            _ if scan_budget.is_some() => {
                let b = scan_budget.unwrap_or(SCAN_PQ_BUDGET);
                let c = choose_budget_scan(b, n, dim)?;
                log::info!(
                    "scan index, PQ budget {b} B/passage: {} x {} bits after {}, estimated {:.1} B/passage",
                    c.pq_subspaces,
                    c.pq_bits,
                    if c.pq_rotate_dim == 0 { "no projection".to_string() } else { format!("OPQ {dim} -> {}", c.pq_rotate_dim) },
                    c.estimate
                );
                pq_m = c.pq_subspaces;
                pq_bits = c.pq_bits;
                rotate_dim = c.pq_rotate_dim;
                p.budget_bytes_per_passage.map(|_| c)
            }
            Some(b) => {
                let c = choose_budget(
                    b,
                    n,
                    dim,
                    rotate_dim,
                    prune_p.as_ref().unwrap_or(&PruneParams::default()),
                )?;
                log::info!(
                    "budget {b} B/passage: PQ {}×{} bits, degree {}, estimated {:.1} B/passage",
                    c.pq_subspaces,
                    c.pq_bits,
                    c.degree,
                    c.estimate
                );
                pq_m = c.pq_subspaces;
                pq_bits = c.pq_bits;
                let mut pp = prune_p.unwrap_or_default();
                pp.degree = c.degree;
                prune_p = Some(pp);
                Some(c)
            }
            None => None,
        };
        let cents = if p.reorder {
            kmeans_seeds(vectors, dim, p.graph.seed).0
        } else {
            Vec::new()
        };
        let reordered;
        let (vectors, passages): (&[f32], std::borrow::Cow<'_, [PassageRecord]>) =
            if p.reorder && !cents.is_empty() {
                let perm = cluster_order(vectors, dim, &cents);
                let mut v = Vec::with_capacity(vectors.len());
                let mut ps = Vec::with_capacity(n);
                for &old in &perm {
                    v.extend_from_slice(&vectors[old as usize * dim..(old as usize + 1) * dim]);
                    let mut r = self.passages[old as usize].clone();
                    if r.id.is_none() && r.source.is_none() {
                        r.id = Some(old.to_string());
                    }
                    ps.push(r);
                }
                reordered = v;
                (&reordered[..], std::borrow::Cow::Owned(ps))
            } else {
                (vectors, std::borrow::Cow::Borrowed(&self.passages[..]))
            };
        // graph (none for a scan index)
        let total = 2 * n as u64;
        let mut g = if scan {
            crate::graph::build::Graph {
                adj: Vec::new(),
                entry: 0,
            }
        } else {
            build_graph(vectors, dim, &p.graph, &|d, _| {
                progress(Phase::Graph, d, total)
            })
        };
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let prune_report = if scan {
            None
        } else {
            prune_p.as_ref().map(|pp| prune(&mut g, vectors, dim, pp))
        };
        // PQ
        progress(Phase::Pq, 0, n as u64);
        let pq = pq::train(
            vectors,
            dim,
            &PqParams {
                m: pq_m,
                bits: pq_bits,
                seed: p.graph.seed.wrapping_add(1),
                rotate_dim,
                ..PqParams::default()
            },
        )?;
        let cb = pq.code_bytes();
        let codes: Vec<u8> = {
            use rayon::prelude::*;
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
        };
        progress(Phase::Pq, n as u64, n as u64);
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        // hubs with stored embeddings
        let per_hub = (dim * 2 + 4) as u64;
        let nhub = ((p.hub_cache_bytes / per_hub) as usize).min(n);
        let mut hubs: Vec<u32> = by_in_degree(&g.adj).into_iter().take(nhub).collect();
        hubs.sort_unstable();
        let mut hub_ids = Vec::with_capacity(nhub * 4);
        let mut hub_vecs = Vec::with_capacity(nhub * dim * 2);
        for &h in &hubs {
            hub_ids.extend_from_slice(&h.to_le_bytes());
            for &x in &vectors[h as usize * dim..(h as usize + 1) * dim] {
                hub_vecs.extend_from_slice(&half::f16::from_f32(x).to_le_bytes());
            }
        }
        if scan && p.hub_cache_bytes > 0 {
            log::warn!("the hub-embedding cache needs a graph (hubs are its best-linked nodes): none stored in a scan index");
        }
        let seeds = if scan {
            Vec::new()
        } else {
            nearest_nodes(vectors, dim, &kmeans_seeds(vectors, dim, p.graph.seed).0)
        };
        // encode
        progress(Phase::Write, 0, 1);
        let eg = if scan {
            None
        } else {
            Some(crate::graph::codec::encode(&g.adj)?)
        };
        let edges = eg.as_ref().map_or(0, |e| e.edges);
        let ps = crate::passages::encode(&passages);
        let mut build = if scan {
            vec![(
                "navigation".to_string(),
                "scan (no graph: every query scores all PQ codes)".to_string(),
            )]
        } else {
            vec![
                ("navigation".to_string(), "graph".to_string()),
                ("max_degree".to_string(), p.graph.max_degree.to_string()),
                ("beam".to_string(), p.graph.beam.to_string()),
                ("alpha".to_string(), p.graph.alpha.to_string()),
                ("seed".to_string(), p.graph.seed.to_string()),
                (
                    "pruning".to_string(),
                    prune_p.as_ref().map_or("off".to_string(), |pp| {
                        format!(
                            "hubs {}% at <= {} links, others <= {}",
                            pp.hub_fraction * 100.0,
                            pp.hub_degree,
                            pp.degree
                        )
                    }),
                ),
            ]
        };
        build.push((
            "pq".to_string(),
            match &pq.rotation {
                Some(r) => format!("{pq_m} x {pq_bits} bits after OPQ {dim} -> {}", r.out_dim),
                None => format!("{pq_m} x {pq_bits} bits"),
            },
        ));
        if let Some(b) = &budget {
            build.push((
                "budget_bytes_per_passage".to_string(),
                format!("{} (estimated {:.1})", b.budget, b.estimate),
            ));
        }
        let meta = Meta {
            dim: dim as u32,
            metric: "cosine".into(),
            encoder: fingerprint.to_string(),
            n: n as u64,
            entry: g.entry,
            edges,
            pq_m: pq_m as u32,
            pq_bits,
            hub_vectors: hubs.len() as u64,
            sources: ps.sources.clone(),
            build,
            writer: format!("leann-edge {}", env!("CARGO_PKG_VERSION")),
        };
        let meta_bytes =
            postcard::to_allocvec(&meta).map_err(|e| Error::InvalidParam(format!("meta: {e}")))?;
        let mut sections = vec![(Kind::Meta, meta_bytes)];
        if let Some(eg) = eg {
            let mut goffs = Vec::with_capacity(eg.block_offsets.len() * 8);
            for o in &eg.block_offsets {
                goffs.extend_from_slice(&o.to_le_bytes());
            }
            sections.push((Kind::GraphOffsets, goffs));
            sections.push((Kind::Graph, eg.bytes));
        }
        sections.extend([
            (Kind::PqCodebook, pq.codebook_bytes()),
            (Kind::PqCodes, codes),
            (Kind::PassageOffsets, ps.offsets),
            (Kind::PassageIds, ps.ids),
            (Kind::PassageText, ps.text),
        ]);
        if !scan {
            sections.push((
                Kind::Seeds,
                seeds.iter().flat_map(|s| s.to_le_bytes()).collect(),
            ));
        }
        if !hubs.is_empty() {
            sections.push((Kind::HubIds, hub_ids));
            sections.push((Kind::HubVectors, hub_vecs));
        }
        if let Some(r) = &pq.rotation {
            sections.push((Kind::PqRotation, r.to_bytes()));
        }
        let file_bytes = format::write_atomic(path, &sections)?;
        progress(Phase::Write, 1, 1);
        Ok(BuildReport {
            passages: n as u64,
            edges,
            prune: prune_report,
            budget,
            file_bytes,
            embed_cache_hit: false,
            navigation: if scan {
                Navigation::Scan
            } else {
                Navigation::Graph
            },
            hub_vectors: hubs.len() as u64,
        })
    }
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
