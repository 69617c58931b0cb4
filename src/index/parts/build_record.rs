//! The typed build record (format 7, optional section `build_record`): what the build chose, in
//! fields — PQ shape and whether the build chose it, graph degrees, hub share, beam, alpha, seed.
//! Relinking a graph, `compact`'s retrain decision and `info` read it; nothing parses the
//! human-readable `Meta::build` text any more, except [`BuildRecord::from_legacy_text`] for files
//! written before format 7 (which have no record).
use crate::error::{Error, Result};
use crate::flash::FlashSource;
use crate::format::{Kind, Layout};
use alloc::string::String;
use alloc::vec::Vec;

/// Version of the record's own layout (postcard is not self-describing: a later layout bumps this).
pub const RECORD_VERSION: u16 = 1;
/// Largest record accepted (it is a few dozen bytes).
const MAX_BYTES: u64 = 4096;

/// What a build chose (see the module docs).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BuildRecord {
    /// [`RECORD_VERSION`] of the writer.
    pub version: u16,
    /// The graph's parameters; `None` for a scan index.
    pub graph: Option<GraphRecord>,
    /// The PQ's shape and who chose it.
    pub pq: PqRecord,
    /// Build seed.
    pub seed: u64,
    /// Whether the index was changed in place since its build (add/remove/sync/compact).
    pub updated_in_place: bool,
}

/// Graph parameters of a build.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GraphRecord {
    /// Degree cap of the build before pruning.
    pub max_degree: u32,
    /// Construction beam.
    pub beam: u32,
    /// Robust-prune alpha.
    pub alpha: f32,
    /// High-degree-preserving pruning; `None`: pruning off.
    pub prune: Option<PruneRecord>,
}

/// LEANN's high-degree-preserving pruning as built.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PruneRecord {
    /// Degree cap of an ordinary node.
    pub degree: u32,
    /// Degree cap of a hub.
    pub hub_degree: u32,
    /// Share of nodes kept as hubs, in [0, 1].
    pub hub_fraction: f32,
}

/// The PQ of a build.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PqRecord {
    /// Sub-spaces.
    pub m: u32,
    /// Bits per code.
    pub bits: u32,
    /// OPQ projection's output dimension (0: none).
    pub rotate_dim: u32,
    /// Who chose the shape.
    pub chosen: PqChoice,
    /// The bytes-per-passage budget, when one chose it.
    pub budget: Option<f32>,
}

/// Who chose the PQ shape: `compact --retrain auto` retrains only an automatic one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PqChoice {
    /// The build, by corpus size.
    Auto,
    /// The user (`--pq`, `--pq-bits`, `--pq-rotate`).
    Given,
    /// A bytes-per-passage budget.
    Budget,
}

impl PqChoice {
    /// `auto`, `given` or `budget`.
    pub fn name(self) -> &'static str {
        match self {
            PqChoice::Auto => "auto",
            PqChoice::Given => "given",
            PqChoice::Budget => "budget",
        }
    }
}

impl BuildRecord {
    /// The section's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        postcard::to_allocvec(self)
            .map_err(|e| Error::corrupt("build_record", alloc::format!("{e}")))
    }

    /// Decode and check a record's bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let r: BuildRecord = postcard::from_bytes(b)
            .map_err(|e| Error::corrupt("build_record", alloc::format!("{e}")))?;
        if r.version != RECORD_VERSION {
            return Err(Error::corrupt(
                "build_record",
                alloc::format!(
                    "record version {} (this build reads {RECORD_VERSION})",
                    r.version
                ),
            ));
        }
        let bad_f = |x: f32| !x.is_finite();
        if let Some(g) = &r.graph {
            if bad_f(g.alpha) || g.prune.as_ref().is_some_and(|p| bad_f(p.hub_fraction)) {
                return Err(Error::corrupt("build_record", "non-finite graph parameter"));
            }
        }
        Ok(r)
    }

    /// The record a build before format 7 described in `Meta::build` text (`info`'s lines), for
    /// the fields relinking and compact need; unknown or unparsable fields stay `None`/defaults.
    /// Only for old files: format 7 files carry the typed section.
    pub fn from_legacy_text(build: &[(String, String)], pq_m: u32, pq_bits: u32) -> Self {
        let get = |key: &str| {
            build
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let num = |s: Option<&str>| s.and_then(|v| v.trim().parse::<u32>().ok());
        let pruning = get("pruning");
        let prune = pruning.and_then(|p| {
            let (share, rest) = p.strip_prefix("hubs ")?.split_once('%')?;
            let (_, rest) = rest.split_once(" at <= ")?;
            let hub_degree = rest.split_whitespace().next()?.parse().ok()?;
            let (_, others) = rest.split_once("others <= ")?;
            Some(PruneRecord {
                degree: others.trim().parse().ok()?,
                hub_degree,
                hub_fraction: share.parse::<f32>().ok()? / 100.0,
            })
        });
        // Formats 1-2 had no `navigation` line: every index was a graph.
        let is_graph = match get("navigation") {
            Some(n) => n.starts_with("graph"),
            None => get("max_degree").is_some(),
        };
        let graph = is_graph.then(|| GraphRecord {
            max_degree: num(get("max_degree")).unwrap_or(0),
            beam: num(get("beam")).unwrap_or(0),
            // 0 = unknown (the reader bounds and replaces it); never NaN, which the
            // record's own check refuses once it is written back.
            alpha: get("alpha")
                .and_then(|a| a.parse::<f32>().ok())
                .filter(|a| a.is_finite())
                .unwrap_or(0.0),
            prune,
        });
        let chosen = match get("pq_chosen") {
            Some("auto") => PqChoice::Auto,
            _ if get("budget_bytes_per_passage").is_some() => PqChoice::Budget,
            _ => PqChoice::Given,
        };
        let rotate_dim = get("pq")
            .and_then(|p| p.rsplit_once("-> "))
            .and_then(|(_, d)| d.trim().parse().ok())
            .unwrap_or(0);
        BuildRecord {
            version: RECORD_VERSION,
            graph,
            pq: PqRecord {
                m: pq_m,
                bits: pq_bits,
                rotate_dim,
                chosen,
                budget: None,
            },
            seed: get("seed").and_then(|s| s.parse().ok()).unwrap_or(42),
            updated_in_place: get("updated").is_some(),
        }
    }
}

/// The record section's bytes (CRC-checked), if the file has one.
pub fn read<S: FlashSource + ?Sized>(src: &S, layout: &Layout) -> Result<Option<BuildRecord>> {
    match layout.get(Kind::BuildRecord) {
        None => Ok(None),
        Some(s) => BuildRecord::from_bytes(&super::read_checked(src, &s, MAX_BYTES)?).map(Some),
    }
}

/// The section for `r`.
pub fn section(r: &BuildRecord) -> Result<(Kind, Vec<u8>)> {
    Ok((Kind::BuildRecord, r.to_bytes()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn legacy_text_of_a_pruned_graph_reads_back_as_fields() {
        let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
        let build = [
            kv("navigation", "graph"),
            kv("max_degree", "32"),
            kv("beam", "64"),
            kv("alpha", "1.2"),
            kv("seed", "7"),
            kv("pruning", "hubs 2% at <= 30 links, others <= 9"),
            kv("pq", "24 x 4 bits after OPQ 384 -> 96"),
            kv("pq_chosen", "auto"),
        ];
        let r = BuildRecord::from_legacy_text(&build, 24, 4);
        let g = r.graph.clone().unwrap();
        assert_eq!((g.max_degree, g.beam, g.alpha), (32, 64, 1.2));
        let p = g.prune.unwrap();
        assert_eq!((p.degree, p.hub_degree), (9, 30));
        assert!((p.hub_fraction - 0.02).abs() < 1e-6);
        assert_eq!(
            (r.pq.rotate_dim, r.pq.chosen, r.seed),
            (96, PqChoice::Auto, 7)
        );
        let back = BuildRecord::from_bytes(&r.to_bytes().unwrap()).unwrap();
        assert_eq!(back.pq, r.pq);
        let mut bad = r.to_bytes().unwrap();
        bad[0] = 9;
        assert!(BuildRecord::from_bytes(&bad).is_err());
    }
}
