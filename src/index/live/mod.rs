//! Changing an index in place: add, replace and remove passages, or make it reflect a set of paths
//! (`sync`) — without stored embeddings and without re-embedding what did not change.
//!
//! Design: every change writes a complete new index file — the kept passages' PQ codes and
//! records copied, new passages embedded and encoded with the index's existing PQ (and projection)
//! — and renames it over the old one under a write lock ([`super::lock`]). So the file on disk is
//! always the state before or after a change, readers that have it open keep their snapshot,
//! removed passages are gone physically the moment the call returns, and there is nothing to
//! compact. A passage whose encoder input is already in the index reuses its PQ code (keyed by a
//! 128-bit hash of the input), so unchanged files and records cost no encoder work. A graph index
//! relinks its graph on the way ([`graph`]: removed nodes bypassed, new ones inserted under PQ
//! distances). The cost that does grow with the index is the copy: reading and rewriting its bytes
//! (docs-faq, 14 MB: see docs/benchmarks.md).
mod graph;

use super::lock::WriteLock;
use super::Index;
use super::{Phase, ProgressFn};
use crate::embed::{EmbedError, Embedder};
use crate::error::{Error, Result};
use crate::flash::{read_vec, FileSource};
use crate::format::{self, Kind, Meta};
use crate::passages::{content_key, record_id, PassageRecord};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// What to change.
#[derive(Clone, Debug, Default)]
pub enum Change {
    /// Add passages; an existing passage with the same JSONL id, or from the same source file, is
    /// replaced.
    Add(Vec<PassageRecord>),
    /// Remove passages by JSONL id.
    RemoveIds(Vec<String>),
    /// Remove every passage whose source path is one of these or lies under one of these folders.
    RemoveSources(Vec<String>),
    /// The index becomes exactly these passages (what `collect` made of the synced paths), plus
    /// the passages it has of the `keep` sources (files or folders that exist but could not be
    /// read this time: a passing permission or I/O problem must not delete them).
    Sync {
        /// The passages of the synced paths.
        passages: Vec<PassageRecord>,
        /// Sources whose passages stay as they are.
        keep: Vec<String>,
    },
    /// Rewrite, passages in [`sort_for_compact`] order (checks every record and code on the way;
    /// [`ChangeReport::order`] says where each passage was).
    #[default]
    Rewrite,
}

/// What a change did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ChangeReport {
    /// Passages before.
    pub passages_before: u64,
    /// Passages after.
    pub passages_after: u64,
    /// Passages in the result that were not in the index before.
    pub added_passages: u64,
    /// Passages of the index before that are gone.
    pub removed_passages: u64,
    /// Passages the encoder embedded (the others reused their PQ code).
    pub embedded_passages: u64,
    /// Source files in the result not in the index before.
    pub added: u64,
    /// Source files in both, with different passages.
    pub changed: u64,
    /// Source files of the index before that are gone.
    pub removed: u64,
    /// Source files in both, with the same passages.
    pub unchanged: u64,
    /// Size of the new index file.
    pub file_bytes: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// For each passage of the new index, the position in the index before of a passage with the
    /// same encoder input — itself, or an identical twin, so the same embedding — (`u32::MAX`:
    /// new): what a caller permutes vectors kept beside the index with (`compact` sorts).
    #[serde(skip)]
    pub order: Vec<u32>,
}

/// One passage: its record, the key of its encoder input ([`content_key`], computed once) and its
/// PQ code (empty until found or embedded).
#[derive(Clone)]
struct Entry {
    rec: PassageRecord,
    key: u128,
    code: Vec<u8>,
}

impl Entry {
    fn new(rec: PassageRecord, code: Vec<u8>) -> Self {
        let key = content_key(&rec.embed_input());
        Entry { rec, key, code }
    }
}

/// Apply `change` to the index at `path`, embedding new passages with `enc` (which must be the
/// index's model).
pub fn apply<E: Embedder + ?Sized>(path: &Path, enc: &E, change: Change) -> Result<ChangeReport> {
    apply_with(path, enc, change, &|_, _, _| {}, &AtomicBool::new(false))
}

/// [`apply`] reporting the embedding of new passages to `progress` ([`Phase::Embed`], done of
/// total) and stopping with [`Error::Cancelled`] when `cancel` is set (checked between encoder
/// batches; the file is untouched until the final rename).
pub fn apply_with<E: Embedder + ?Sized>(
    path: &Path,
    enc: &E,
    change: Change,
    progress: ProgressFn,
    cancel: &AtomicBool,
) -> Result<ChangeReport> {
    let lock = WriteLock::acquire(path)?;
    apply_locked(&lock, path, enc, change, progress, cancel)
}

/// [`apply_with`] for a caller that already holds the index's write lock (and so can keep files
/// beside the index in step before another writer gets in).
pub fn apply_locked<E: Embedder + ?Sized>(
    _lock: &WriteLock,
    path: &Path,
    enc: &E,
    change: Change,
    progress: ProgressFn,
    cancel: &AtomicBool,
) -> Result<ChangeReport> {
    let start = std::time::Instant::now();
    let idx = Index::open_file(path, &super::OpenOptions::verified())?;
    idx.check_embedder(enc)?;
    let old = read_all(&idx)?;
    let mut report = ChangeReport {
        passages_before: old.len() as u64,
        ..ChangeReport::default()
    };
    let mut result = merge(&old, change)?;
    let exact = encode_missing(
        &idx,
        enc,
        &old,
        &mut result,
        idx.has_graph(),
        progress,
        cancel,
    )?;
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    report.embedded_passages = exact.embedded;
    let origin = origins(&old, &result);
    let relinked = if idx.has_graph() {
        Some(graph::relink(&idx, &old, &result, &origin, exact.vectors)?)
    } else {
        None
    };
    report.order = origin.iter().map(|o| o.unwrap_or(u32::MAX)).collect();
    count_changes(&old, &result, &mut report);
    report.passages_after = result.len() as u64;
    report.file_bytes = write(&idx, path, &result, relinked.as_ref())?;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Every passage record of the index, in index order (what a rebuild from the index starts from:
/// `compact --retrain`).
pub fn records(idx: &Index<FileSource>) -> Result<Vec<PassageRecord>> {
    Ok(read_all(idx)?.into_iter().map(|e| e.rec).collect())
}

/// The order `compact` writes passages in (with or without a retrain): records with an id by id (a
/// trailing number compared as a number, so `faq:9` before `faq:10`; the parts `ID#2`, `ID#3`, … of
/// a split record right after `ID`), then file passages by path and position. Ids and sources are
/// front-coded against the previous record, so an index grown by changes (ids in the order they
/// arrived) gets back the size of a fresh build of sorted input.
pub fn sort_for_compact(recs: &mut [PassageRecord]) {
    recs.sort_by_cached_key(compact_key);
}

/// Sort key of [`sort_for_compact`]: (no id, the record id without its trailing number, that
/// number, the part number (1 for the record itself), the whole id, source path, first byte).
fn compact_key(r: &PassageRecord) -> (bool, String, u128, u128, String, String, u64) {
    let id = r.id.as_deref().unwrap_or("");
    let base = record_id(id);
    let part = id[base.len()..]
        .strip_prefix('#')
        .map_or(1, |k| k.parse::<u128>().unwrap_or(u128::MAX));
    let digits = base.len() - base.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (prefix, number) = base.split_at(base.len() - digits);
    // Past u128 (40 digits): after every shorter number, then by the whole id.
    let number = number.parse::<u128>().unwrap_or(u128::MAX);
    let src = r.source.as_ref();
    (
        r.id.is_none(),
        prefix.to_string(),
        number,
        part,
        id.to_string(),
        src.map_or(String::new(), |s| s.path.clone()),
        src.map_or(0, |s| s.byte_start),
    )
}

/// Every passage of the index with its PQ code.
fn read_all(idx: &Index<FileSource>) -> Result<Vec<Entry>> {
    let cb = idx.pq().code_bytes();
    let codes = idx.layout().need(Kind::PqCodes)?;
    let all = read_vec(idx.reader(), codes.offset, codes.len as usize)?;
    let mut out = Vec::with_capacity(idx.len());
    for (v, code) in all.chunks_exact(cb).enumerate() {
        let p = idx.passage(v as u32)?;
        let id = (!p.id.is_empty()).then_some(p.id);
        let rec = PassageRecord {
            id,
            title: p.title,
            text: p.text,
            source: p.source,
            metadata: idx.passage_metadata(v as u32),
        };
        out.push(Entry::new(rec, code.to_vec()));
    }
    Ok(out)
}

fn fresh(r: PassageRecord) -> Entry {
    Entry::new(r, Vec::new())
}

/// Whether `path` is `root` or lies under it (as a folder).
fn under(path: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The old passages without those `gone` says, or an error when it matches none (a removal that
/// matches nothing is almost always a mistyped id or path).
fn keep_or_refuse(old: &[Entry], gone: impl Fn(&Entry) -> bool, none: &str) -> Result<Vec<Entry>> {
    let kept: Vec<Entry> = old.iter().filter(|e| !gone(e)).cloned().collect();
    if kept.len() == old.len() {
        return Err(Error::NotFound(none.into()));
    }
    Ok(kept)
}

/// The passages of the result, in order: for add and remove the kept old ones first (in index
/// order), then new ones; for sync the order the paths produce; for a rewrite sorted
/// ([`sort_for_compact`]).
fn merge(old: &[Entry], change: Change) -> Result<Vec<Entry>> {
    Ok(match change {
        // Sorted as a fresh build of sorted input (ids and sources front-code, graph ids stay
        // close): an index grown by changes gets back a fresh build's size.
        Change::Rewrite => {
            let mut all = old.to_vec();
            all.sort_by_cached_key(|e| compact_key(&e.rec));
            all
        }
        Change::Sync { passages, keep } => {
            let kept = |e: &&Entry| {
                let src = e.rec.source.as_ref();
                src.is_some_and(|s| keep.iter().any(|k| under(&s.path, k)))
            };
            let mut out: Vec<Entry> = old.iter().filter(kept).cloned().collect();
            out.extend(passages.into_iter().map(fresh));
            out
        }
        Change::RemoveIds(ids) => {
            let ids: HashSet<String> = ids.into_iter().collect();
            let gone = |e: &Entry| {
                e.rec
                    .id
                    .as_deref()
                    .is_some_and(|i| ids.contains(record_id(i)))
            };
            keep_or_refuse(old, gone, "no passage has any of these ids")?
        }
        Change::RemoveSources(roots) => {
            if roots.iter().any(|r| r.trim_end_matches('/').is_empty()) {
                return Err(Error::InvalidParam(
                    "an empty or root --source would match everything".into(),
                ));
            }
            let gone = |e: &Entry| {
                let src = e.rec.source.as_ref();
                src.is_some_and(|s| roots.iter().any(|r| under(&s.path, r)))
            };
            keep_or_refuse(old, gone, "no passage comes from these sources (give paths as they were given to build; `leann-edge list` shows them)")?
        }
        Change::Add(new) => {
            let ids: HashSet<&str> = new.iter().filter_map(|r| r.id.as_deref()).collect();
            let files: HashSet<&str> = new
                .iter()
                .filter_map(|r| r.source.as_ref().map(|s| s.path.as_str()))
                .collect();
            let replaced = |e: &Entry| {
                e.rec
                    .id
                    .as_deref()
                    .is_some_and(|i| ids.contains(record_id(i)))
                    || e.rec
                        .source
                        .as_ref()
                        .is_some_and(|s| files.contains(s.path.as_str()))
            };
            let mut out: Vec<Entry> = old.iter().filter(|e| !replaced(e)).cloned().collect();
            out.extend(new.into_iter().map(fresh));
            out
        }
    })
}

/// What [`encode_missing`] embedded.
struct Embedded {
    /// Passages embedded.
    embedded: u64,
    /// Their embeddings (as a graph change measures them: [`graph::projected_unit`]) by position
    /// in the result, when asked to keep them.
    vectors: HashMap<usize, Vec<f32>>,
}

/// Give every passage without a code the code of an old passage with the same encoder input, or
/// embed and encode it with the index's PQ (keeping the embeddings when `keep`).
fn encode_missing<E: Embedder + ?Sized>(
    idx: &Index<FileSource>,
    enc: &E,
    old: &[Entry],
    result: &mut [Entry],
    keep: bool,
    progress: ProgressFn,
    cancel: &AtomicBool,
) -> Result<Embedded> {
    let known: HashMap<u128, &[u8]> = old.iter().map(|e| (e.key, &e.code[..])).collect();
    let mut todo = Vec::new();
    for (i, e) in result.iter_mut().enumerate() {
        if !e.code.is_empty() {
            continue;
        }
        match known.get(&e.key) {
            Some(code) => e.code = code.to_vec(),
            None => todo.push(i),
        }
    }
    let dim = enc.dim();
    let mut vectors = HashMap::new();
    let total = todo.len() as u64;
    for (n, chunk) in todo.chunks(32).enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        progress(Phase::Embed, (n * 32) as u64, total);
        let texts: Vec<String> = chunk.iter().map(|&i| result[i].rec.embed_input()).collect();
        let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let v = enc.embed(&refs)?;
        if v.len() != refs.len() * dim {
            let why = format!(
                "embedder returned {} floats for {} texts",
                v.len(),
                refs.len()
            );
            return Err(EmbedError::Runtime(why).into());
        }
        for (j, &i) in chunk.iter().enumerate() {
            let x = &v[j * dim..(j + 1) * dim];
            idx.pq().encode(x, &mut result[i].code);
            if keep {
                vectors.insert(i, graph::projected_unit(idx.pq(), x));
            }
        }
    }
    Ok(Embedded {
        embedded: todo.len() as u64,
        vectors,
    })
}

/// Old position of each result passage: one with the same encoder input (so the same PQ code and
/// embedding), each old passage claimed once.
fn origins(old: &[Entry], result: &[Entry]) -> Vec<Option<u32>> {
    let mut free: HashMap<u128, Vec<u32>> = HashMap::new();
    for (v, e) in old.iter().enumerate().rev() {
        free.entry(e.key).or_default().push(v as u32);
    }
    result
        .iter()
        .map(|e| free.get_mut(&e.key).and_then(Vec::pop))
        .collect()
}

/// Passage and source-file counts of the change.
fn count_changes(old: &[Entry], new: &[Entry], r: &mut ChangeReport) {
    let keys = |es: &[Entry]| -> HashSet<u128> { es.iter().map(|e| e.key).collect() };
    let (ok, nk) = (keys(old), keys(new));
    r.added_passages = new.iter().filter(|e| !ok.contains(&e.key)).count() as u64;
    r.removed_passages = old.iter().filter(|e| !nk.contains(&e.key)).count() as u64;
    let files = |es: &[Entry]| -> HashMap<String, Vec<u128>> {
        let mut m: HashMap<String, Vec<u128>> = HashMap::new();
        for e in es {
            if let Some(s) = &e.rec.source {
                m.entry(s.path.clone()).or_default().push(e.key);
            }
        }
        m
    };
    let (of, nf) = (files(old), files(new));
    for (path, keys) in &nf {
        match of.get(path) {
            None => r.added += 1,
            Some(k) if k == keys => r.unchanged += 1,
            Some(_) => r.changed += 1,
        }
    }
    r.removed = of.keys().filter(|p| !nf.contains_key(*p)).count() as u64;
}

/// Write the result with the old index's PQ (and `graph`, for a graph index), atomically;
/// returns its size.
fn write(
    idx: &Index<FileSource>,
    path: &Path,
    result: &[Entry],
    graph: Option<&graph::Relinked>,
) -> Result<u64> {
    let recs: Vec<PassageRecord> = result.iter().map(|e| e.rec.clone()).collect();
    let codes: Vec<u8> = result.iter().flat_map(|e| e.code.iter().copied()).collect();
    let ps = crate::passages::encode(&recs);
    let old = idx.meta();
    let mut build = old.build.clone();
    build.retain(|(k, _)| k != "updated");
    build.push((
        "updated".into(),
        "in place (add/remove/sync/compact)".into(),
    ));
    let (graph_sections, edges) = match graph {
        Some(g) => super::parts::graph::sections(&g.adj)?,
        None => (Vec::new(), 0),
    };
    let meta = Meta {
        n: result.len() as u64,
        entry: graph.map_or(0, |g| g.entry),
        edges,
        hub_vectors: graph.map_or(0, |g| g.hubs.0.len() as u64),
        sources: ps.sources.clone(),
        build,
        writer: format!("leann-edge {}", env!("CARGO_PKG_VERSION")),
        ..old.clone()
    };
    let mut sections = vec![(Kind::Meta, meta.to_bytes()?)];
    let record = super::parts::build_record::BuildRecord {
        updated_in_place: true,
        ..idx.build_record().clone()
    };
    sections.push(super::parts::build_record::section(&record)?);
    sections.extend(graph_sections);
    sections.extend(super::parts::pq::sections(idx.pq(), codes));
    sections.extend(super::parts::passages::sections(ps));
    if let Some(g) = graph {
        sections.push(super::parts::seeds::section(&g.seeds));
        let (ids, rows) = &g.hubs;
        sections.extend(super::parts::hubs::sections_of_rows(ids, rows));
    }
    sections.extend(super::parts::pq::rotation_section(idx.pq()));
    sections.extend(super::parts::metadata::section(
        recs.iter().map(|r| &r.metadata),
    ));
    // Same PQ, same error distribution: the calibration carries over.
    sections.extend(super::parts::pq::calibration_section(idx.calibration()));
    format::write_atomic(path, &sections)
}

#[cfg(test)]
mod tests {
    use super::sort_for_compact;
    use crate::passages::{PassageRecord, Source};

    fn rec(id: Option<&str>, path: &str, byte_start: u64) -> PassageRecord {
        PassageRecord {
            id: id.map(str::to_string),
            text: "t".into(),
            source: Some(Source {
                path: path.into(),
                byte_start,
                byte_end: byte_start + 1,
                line: 1,
            }),
            ..PassageRecord::default()
        }
    }

    #[test]
    fn compact_order_is_ids_by_number_then_files_by_position() {
        let mut v = vec![
            rec(None, "b.md", 0),
            rec(Some("faq:10"), "x.jsonl", 0),
            rec(None, "a.md", 50),
            rec(Some("faq:9"), "y.jsonl", 0),
            rec(Some("doc#2"), "x.jsonl", 9),
            rec(None, "a.md", 3),
            rec(Some("doc#1"), "x.jsonl", 5),
            rec(Some("faq:9x"), "x.jsonl", 7),
            rec(Some("r10#2"), "x.jsonl", 1),
            rec(Some("r9#2"), "x.jsonl", 2),
            rec(Some("r10"), "x.jsonl", 3),
            rec(Some("r9"), "x.jsonl", 4),
            rec(Some("r10#10"), "x.jsonl", 6),
        ];
        sort_for_compact(&mut v);
        let got: Vec<String> = v
            .iter()
            .map(|r| match &r.id {
                Some(id) => id.clone(),
                None => {
                    let s = r.source.as_ref().unwrap();
                    format!("{}@{}", s.path, s.byte_start)
                }
            })
            .collect();
        assert_eq!(
            got,
            [
                "doc#1", "doc#2", "faq:9", "faq:10", "faq:9x", "r9", "r9#2", "r10", "r10#2",
                "r10#10", "a.md@3", "a.md@50", "b.md@0"
            ]
        );
    }
}
