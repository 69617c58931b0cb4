//! `compact`: rewrite the index sorted, and retrain its PQ when a fresh build would shape it
//! differently (the retrain decision lives here, for every caller).
use super::build::{build_ram_mb, build_records, BuildOptions};
use super::{Engine, Hooks};
use crate::error::Result;
use crate::index::parts::build_record::PqChoice;
use crate::index::{
    records, sort_for_compact, BuildParams, BuildPlan, Change, ChangeReport, Index, Navigation,
    OpenOptions, WriteLock,
};
use crate::passages::PassageRecord;
use std::path::PathBuf;

/// When `compact` retrains the PQ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Retrain {
    /// When a fresh build of the current passages would choose other PQ parameters, the PQ was
    /// chosen by the build (not by hand or by a budget) and a rebuild fits the board's RAM.
    #[default]
    Auto,
    /// Every time (re-embeds every passage).
    Always,
    /// Never: rewrite with the index's PQ.
    Never,
}

/// How to compact.
#[derive(Clone, Debug, Default)]
pub struct CompactOptions {
    /// When to retrain the PQ.
    pub retrain: Retrain,
    /// Embedding cache for a retrain (as a build's).
    pub embed_cache: Option<PathBuf>,
}

/// What compact did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CompactReport {
    /// The rewrite.
    #[serde(flatten)]
    pub change: ChangeReport,
    /// Whether every passage was re-embedded and a new PQ trained.
    pub retrained: bool,
    /// When a fresh build would choose another PQ but compact did not retrain: why, and what to
    /// do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Engine {
    /// Rewrite the index (every record and code checked), passages sorted by id, then file and
    /// position; retrain the PQ per `o.retrain`. A scan index stays a scan index, a graph index a
    /// graph index (rebuilt with its recorded degrees, alpha and seed).
    pub fn compact(&self, o: &CompactOptions, hooks: &Hooks) -> Result<CompactReport> {
        self.writable()?;
        let idx = self.index();
        let (n, dim) = (idx.len(), idx.meta().dim as usize);
        let rec = idx.build_record().clone();
        let (m, bits) = (idx.meta().pq_m as usize, idx.meta().pq_bits);
        let rotate = idx.pq().rotation.as_ref().map_or(0, |r| r.out_dim);
        let text = crate::index::listing::text_bytes(&idx.breakdown());
        drop(idx);
        let params = self.rebuild_params(o, &rec);
        let fresh = BuildPlan::new(&params, n.max(1), dim).ok();
        let other = fresh.filter(|f| (f.pq_m, f.pq_bits, f.rotate_dim) != (m, bits, rotate));
        let auto_pq = rec.pq.chosen == PqChoice::Auto;
        let ram = build_ram_mb(n, dim, text);
        let fits = ram <= self.board.ram_budget_mb;
        let retrain = match o.retrain {
            Retrain::Always => true,
            Retrain::Never => false,
            Retrain::Auto => other.is_some() && auto_pq && fits,
        };
        if retrain {
            return self.rebuild(params, hooks);
        }
        let change = self.change(Change::Rewrite, hooks)?;
        let note = other.map(|f| {
            let why = if !auto_pq {
                "its PQ was chosen by hand (or by a budget)"
            } else if !fits {
                "a rebuild would need more RAM than the board's budget"
            } else {
                "retrain never"
            };
            format!(
                "a fresh build of {n} passages would use PQ {} x {} bits (projection {}) instead \
                 of this index's {m} x {bits} (projection {rotate}); not retrained ({why}): \
                 retrain always re-embeds every passage and trains it",
                f.pq_m, f.pq_bits, f.rotate_dim
            )
        });
        Ok(CompactReport {
            change,
            retrained: false,
            note,
        })
    }

    /// What a fresh build would use on this board, with the index's navigation and recorded graph
    /// parameters: compact does not turn one kind into the other.
    fn rebuild_params(
        &self,
        o: &CompactOptions,
        rec: &crate::index::parts::build_record::BuildRecord,
    ) -> BuildParams {
        let mut p = BuildParams {
            embed_cache: o.embed_cache.clone(),
            hub_cache_bytes: self.board.hub_cache_bytes,
            embed_batch: self.board.encoder_batch,
            navigation: if rec.graph.is_some() {
                Navigation::Graph
            } else {
                Navigation::Scan
            },
            ..BuildParams::default()
        };
        p.graph.seed = rec.seed;
        if let Some(g) = &rec.graph {
            // Bounded: the record comes from the file.
            if (2..=256).contains(&g.max_degree) {
                p.graph.max_degree = g.max_degree as usize;
            }
            if (8..=512).contains(&g.beam) {
                p.graph.beam = g.beam as usize;
            }
            if (1.0..=2.0).contains(&g.alpha) {
                p.graph.alpha = g.alpha;
            }
            match (&g.prune, p.prune.as_mut()) {
                (None, _) => p.prune = None,
                (Some(r), Some(pp)) if (2..=256).contains(&r.degree) => {
                    pp.degree = r.degree as usize
                }
                _ => {}
            }
        }
        p
    }

    /// Rebuild the index from its own passages under the write lock: every passage re-embedded
    /// (or taken from the cache), a new PQ trained, written atomically in place.
    fn rebuild(&self, params: BuildParams, hooks: &Hooks) -> Result<CompactReport> {
        let start = std::time::Instant::now();
        let o = BuildOptions {
            params,
            // Vectors kept for `bench` are rewritten in the new order (they are all in memory).
            keep_vectors: super::vectors_path(&self.path).is_file(),
        };
        super::build::validate(&[], &self.path, &o, self.dim())?;
        let _one = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let _lock = WriteLock::acquire(&self.path)?;
        // Read after taking the lock: the state rebuilt is the one no writer can change meanwhile.
        let idx = Index::open_file(&self.path, &OpenOptions::verified())?;
        idx.check_embedder(&self.enc)?;
        let mut recs = records(&idx)?;
        sort_for_compact(&mut recs);
        drop(idx);
        let before = recs.len() as u64;
        let unchanged = files(&recs);
        let built = build_records(&self.board, &self.enc, recs, &self.path, &o, hooks)?;
        self.reload()?;
        Ok(CompactReport {
            change: ChangeReport {
                passages_before: before,
                passages_after: built.report.passages,
                embedded_passages: built.embedded.embedded,
                file_bytes: built.report.file_bytes,
                seconds: start.elapsed().as_secs_f64(),
                unchanged,
                ..ChangeReport::default()
            },
            retrained: true,
            note: None,
        })
    }
}

/// Distinct source files of `recs`.
fn files(recs: &[PassageRecord]) -> u64 {
    let files: std::collections::HashSet<&str> = recs
        .iter()
        .filter_map(|r| r.source.as_ref().map(|s| s.path.as_str()))
        .collect();
    files.len() as u64
}
