//! Sizing a build: [`BuildParams`] (what the caller asks for) becomes a [`BuildPlan`] (what will be
//! built: scan or graph, PQ shape, pruned degree) in one pure step, before any graph or PQ work,
//! so a bad parameter fails in milliseconds, not after the graph.
use crate::error::{Error, Result};
use crate::graph::build::GraphParams;
use crate::graph::prune::PruneParams;
use std::path::PathBuf;

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
    /// Optional file caching passage embeddings by content for this model: a rebuild re-embeds only
    /// passages that changed (see `index/embed_cache.rs`).
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

/// What a build will make, decided from the parameters, the corpus size and the dimension alone.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildPlan {
    /// Scan (no graph) or graph; never `Auto`.
    pub navigation: Navigation,
    /// PQ sub-spaces.
    pub pq_m: usize,
    /// PQ bits per code.
    pub pq_bits: u32,
    /// OPQ projection dimension (0 = none).
    pub rotate_dim: usize,
    /// Pruning of the graph (graph indexes only).
    pub prune: Option<PruneParams>,
    /// What the byte budget chose, if one was given.
    pub budget: Option<BudgetChoice>,
}

impl BuildParams {
    /// Check the parameters that do not depend on the corpus, for vectors of dimension `dim`.
    pub fn validate(&self, dim: usize) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParam(m));
        if dim == 0 {
            return bad("the embedding dimension is 0".into());
        }
        if let Some(b) = self.budget_bytes_per_passage {
            if !(b.is_finite() && b > 0.0) {
                return bad(format!("a budget of {b} bytes per passage cannot hold PQ codes; give a positive number such as 24"));
            }
        }
        if !self.pq_auto && self.budget_bytes_per_passage.is_none() {
            if !(self.pq_bits == 4 || self.pq_bits == 8) {
                return bad(format!(
                    "--pq-bits {}: PQ codes are 4 or 8 bits",
                    self.pq_bits
                ));
            }
            let pdim = if self.pq_rotate_dim == 0 {
                dim
            } else {
                self.pq_rotate_dim.min(dim)
            };
            if self.pq_subspaces == 0 || pdim % self.pq_subspaces != 0 {
                return bad(format!(
                    "PQ sub-spaces {} must divide the {} dimension {pdim}; try one of {:?}",
                    self.pq_subspaces,
                    if self.pq_rotate_dim == 0 {
                        "embedding"
                    } else {
                        "projected"
                    },
                    (1..=pdim.min(64))
                        .filter(|m| pdim % m == 0)
                        .collect::<Vec<_>>()
                ));
            }
        }
        if let Some(pp) = &self.prune {
            if pp.degree == 0 || pp.degree > crate::graph::MAX_DEGREE {
                return bad(format!(
                    "degree {} is out of range: give 1 to {}",
                    pp.degree,
                    crate::graph::MAX_DEGREE
                ));
            }
        }
        if self.graph.max_degree == 0
            || self.graph.max_degree > crate::graph::MAX_DEGREE
            || self.graph.beam == 0
        {
            return bad(format!(
                "graph degree {} / beam {} out of range",
                self.graph.max_degree, self.graph.beam
            ));
        }
        if self.embed_batch == 0 || self.embed_batch > 1024 {
            return bad(format!(
                "embedding batch {} is out of range: give 1 to 1024",
                self.embed_batch
            ));
        }
        Ok(())
    }
}

/// Code bytes of `m` sub-spaces at `bits` bits.
fn code_bytes(m: usize, bits: u32) -> u64 {
    (if bits == 8 { m } else { m.div_ceil(2) }) as u64
}

impl BuildPlan {
    /// Plan a build of `n` passages of dimension `dim` (`n ≥ 1`).
    pub fn new(p: &BuildParams, n: usize, dim: usize) -> Result<Self> {
        p.validate(dim)?;
        let scan = scan_chosen(p, n);
        let mut plan = BuildPlan {
            navigation: if scan {
                Navigation::Scan
            } else {
                Navigation::Graph
            },
            pq_m: p.pq_subspaces,
            pq_bits: p.pq_bits,
            rotate_dim: p.pq_rotate_dim.min(dim),
            prune: p.prune.clone(),
            budget: None,
        };
        if !scan && p.pq_auto && n < OPQ_MIN_PASSAGES && plan.pq_bits == 8 {
            plan.small_corpus_pq(n, dim);
        }
        if let Some(b) = scan_budget(p, scan, n) {
            let c = choose_budget_scan(b, n, dim)?;
            log::info!(
                "scan index, PQ budget {b} B/passage: {} x {} bits, projection {}, estimated {:.1} B/passage",
                c.pq_subspaces, c.pq_bits, c.pq_rotate_dim, c.estimate
            );
            (plan.pq_m, plan.pq_bits, plan.rotate_dim) =
                (c.pq_subspaces, c.pq_bits, c.pq_rotate_dim);
            plan.budget = p.budget_bytes_per_passage.map(|_| c);
        } else if let Some(b) = p.budget_bytes_per_passage {
            let hub = plan.prune.clone().unwrap_or_default();
            let c = choose_budget(b, n, dim, plan.rotate_dim, &hub)?;
            log::info!(
                "budget {b} B/passage: PQ {}x{} bits, degree {}, estimated {:.1} B/passage",
                c.pq_subspaces,
                c.pq_bits,
                c.degree,
                c.estimate
            );
            (plan.pq_m, plan.pq_bits) = (c.pq_subspaces, c.pq_bits);
            plan.prune = Some(PruneParams {
                degree: c.degree,
                ..hub
            });
            plan.budget = Some(c);
        }
        plan.fit_subspaces(dim, p.pq_auto)?;
        Ok(plan)
    }

    /// The sub-space count must divide the (projected) dimension, and be even for 4-bit codes
    /// (two codes a byte). An automatic PQ takes the largest such count below its choice; one the
    /// caller gave is refused here, before any graph or PQ work.
    fn fit_subspaces(&mut self, dim: usize, auto: bool) -> Result<()> {
        let pdim = if self.rotate_dim == 0 {
            dim
        } else {
            self.rotate_dim
        };
        let fits = |m: usize| m > 0 && pdim % m == 0 && (self.pq_bits == 8 || m % 2 == 0);
        if fits(self.pq_m) {
            return Ok(());
        }
        match (1..=self.pq_m.min(pdim)).rev().find(|&m| fits(m)) {
            Some(m) if auto => {
                log::info!("PQ {} sub-spaces do not divide {pdim}: using {m}", self.pq_m);
                self.pq_m = m;
                Ok(())
            }
            _ => Err(Error::InvalidParam(format!(
                "PQ {} x {} bits does not fit the dimension {pdim}: the sub-spaces must divide it{}",
                self.pq_m,
                self.pq_bits,
                if self.pq_bits == 4 { " and be even" } else { "" }
            ))),
        }
    }

    /// Whether the index is scan-only (no graph).
    pub fn scan(&self) -> bool {
        self.navigation == Navigation::Scan
    }

    /// Below [`OPQ_MIN_PASSAGES`], 8-bit codes become 4-bit codes on twice the sub-spaces (and
    /// below [`ROTATE_MIN_PASSAGES`] the projection goes too).
    fn small_corpus_pq(&mut self, n: usize, dim: usize) {
        if n < ROTATE_MIN_PASSAGES {
            self.rotate_dim = 0;
        }
        self.pq_bits = 4;
        let pdim = if self.rotate_dim == 0 {
            dim
        } else {
            self.rotate_dim
        };
        if pdim % (2 * self.pq_m) == 0 {
            self.pq_m *= 2;
        }
        log::info!(
            "{n} passages (< {OPQ_MIN_PASSAGES}): PQ {} x 4 bits, projection {}",
            self.pq_m,
            self.rotate_dim
        );
    }
}

/// Whether [`Navigation::Auto`] (or the caller) chose a scan index for `n` passages.
fn scan_chosen(p: &BuildParams, n: usize) -> bool {
    match p.navigation {
        Navigation::Scan => true,
        Navigation::Graph => false,
        // Codes a scan index would get: at most its budget per passage.
        Navigation::Auto => {
            let cb = match p.budget_bytes_per_passage {
                Some(b) => b.max(0.0) as u64,
                None if p.pq_auto => SCAN_PQ_BUDGET as u64,
                None => code_bytes(p.pq_subspaces, p.pq_bits),
            };
            n as u64 * cb <= SCAN_MAX_CODE_BYTES
        }
    }
}

/// A scan index sizes its PQ to a byte budget (given, or [`SCAN_PQ_BUDGET`] when the PQ is left
/// to the build): all of it goes to codes, none to edges.
fn scan_budget(p: &BuildParams, scan: bool, n: usize) -> Option<f32> {
    match p.budget_bytes_per_passage {
        Some(b) if scan => Some(b),
        // The 160 KB floor pays for a projection; under ROTATE_MIN_PASSAGES none pays (the
        // 7-passage demo would spend 23 KB a passage), so the plain budget applies there.
        None if scan && p.pq_auto && n >= ROTATE_MIN_PASSAGES => {
            Some(SCAN_PQ_BUDGET.max(SCAN_PQ_MIN_BYTES as f32 / n as f32))
        }
        None if scan && p.pq_auto => Some(SCAN_PQ_BUDGET),
        _ => None,
    }
}
