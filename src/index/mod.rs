//! The index: builder (std) and reader over any [`FlashSource`].
use crate::cache::{CacheStats, NeighborCache};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::flash::{read_vec, FlashSource};
use crate::format::{self, Kind, Layout, Meta};
use crate::graph::codec::{decode_in_block, BLOCK};
use crate::passages::{Passage, PassageReader};
use crate::pq::Pq;
use crate::search::{two_level, SearchParams, SearchResult, SearchSpace, SearchStats};
use alloc::string::String;
use alloc::vec::Vec;

#[cfg(feature = "std")]
mod builder;
#[cfg(feature = "std")]
pub use builder::*;

/// Options for opening an index.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Check every section's CRC at open (reads the whole file once). Meta and the section table are
    /// always checked.
    pub verify_checksums: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            verify_checksums: true,
        }
    }
}

/// An open index.
pub struct Index<S: FlashSource> {
    src: S,
    layout: Layout,
    meta: Meta,
    pq: Pq,
    /// Graph offsets and graph sections; `None` for a scan index (no graph).
    graph: Option<GraphSections>,
    codes: u64,
    passages: PassageReader,
    hub_ids: Vec<u32>,
    hub_vecs: u64,
    seeds: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
struct GraphSections {
    goff: u64,
    graph: (u64, u64),
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
    /// Open an index file through a memory map (checksums verified).
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
        let dim = meta.dim as usize;
        if n > u32::MAX as u64 - 1 || dim == 0 || dim > 65536 {
            return Err(Error::corrupt(
                "meta",
                alloc::format!("n={n} dim={dim} out of range"),
            ));
        }
        if n > 0 && meta.entry as u64 >= n {
            return Err(Error::corrupt("meta", "entry point out of range"));
        }
        let rotation = match layout.get(Kind::PqRotation) {
            Some(r) if r.len > (1 << 26) => {
                return Err(Error::corrupt("pq_rotation", "larger than any projection"))
            }
            Some(r) => Some(crate::pq::Rotation::from_bytes(
                dim,
                &read_vec(&src, r.offset, r.len as usize)?,
            )?),
            None => None,
        };
        let pq_dim = rotation.as_ref().map_or(dim, |r| r.out_dim);
        let cb = layout.need(Kind::PqCodebook)?;
        let pq_m = meta.pq_m as usize;
        if pq_m == 0
            || pq_dim % pq_m != 0
            || !(meta.pq_bits == 4 || meta.pq_bits == 8)
            || cb.len > (1 << 26)
        {
            return Err(Error::corrupt("pq_codebook", "bad PQ shape"));
        }
        let mut pq = Pq::from_codebook_bytes(
            pq_dim,
            pq_m,
            meta.pq_bits,
            &read_vec(&src, cb.offset, cb.len as usize)?,
        )?;
        pq.rotation = rotation;
        let codes = layout.need(Kind::PqCodes)?;
        if codes.len != n * pq.code_bytes() as u64 {
            return Err(Error::corrupt(
                "pq_codes",
                alloc::format!(
                    "{} bytes, expected {}",
                    codes.len,
                    n * pq.code_bytes() as u64
                ),
            ));
        }
        let graph = match (layout.get(Kind::GraphOffsets), layout.get(Kind::Graph)) {
            (Some(go), Some(g)) => {
                let gnb = n.div_ceil(BLOCK as u64);
                if go.len != (gnb + 1) * 8 {
                    return Err(Error::corrupt(
                        "graph_offsets",
                        "length does not match the node count",
                    ));
                }
                Some(GraphSections {
                    goff: go.offset,
                    graph: (g.offset, g.len),
                })
            }
            (None, None) if meta.edges == 0 && layout.version >= 3 => None,
            (None, _) => return Err(Error::MissingSection(Kind::GraphOffsets.name())),
            (_, None) => return Err(Error::MissingSection(Kind::Graph.name())),
        };
        let passages = PassageReader::new(
            n,
            span(&layout, Kind::PassageText)?,
            span(&layout, Kind::PassageOffsets)?,
            span(&layout, Kind::PassageIds)?,
            layout.version,
        )?;
        let mut hub_ids = Vec::new();
        let mut hub_vecs = 0;
        if meta.hub_vectors > 0 {
            let hi = layout.need(Kind::HubIds)?;
            let hv = layout.need(Kind::HubVectors)?;
            if hi.len != meta.hub_vectors * 4
                || hv.len != meta.hub_vectors * dim as u64 * 2
                || meta.hub_vectors > n
            {
                return Err(Error::corrupt(
                    "hub_ids",
                    "sizes do not match the hub count",
                ));
            }
            let b = read_vec(&src, hi.offset, hi.len as usize)?;
            hub_ids = b
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if hub_ids.windows(2).any(|w| w[0] >= w[1])
                || hub_ids.last().is_some_and(|&l| l as u64 >= n)
            {
                return Err(Error::corrupt("hub_ids", "ids not sorted or out of range"));
            }
            hub_vecs = hv.offset;
        }
        let mut seeds = Vec::new();
        if let Some(sd) = layout.get(Kind::Seeds) {
            if sd.len % 4 != 0 || sd.len > 4 * n.max(1) {
                return Err(Error::corrupt("seeds", "length is not a list of node ids"));
            }
            let b = read_vec(&src, sd.offset, sd.len as usize)?;
            seeds = b
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if seeds.iter().any(|&s| s as u64 >= n) {
                return Err(Error::corrupt("seeds", "seed id out of range"));
            }
        }
        Ok(Index {
            seeds,
            graph,
            codes: codes.offset,
            pq,
            passages,
            hub_ids,
            hub_vecs,
            src,
            layout,
            meta,
        })
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
        &self.pq
    }
    /// The flash source.
    pub fn source(&self) -> &S {
        &self.src
    }
    /// Section layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Check every section's CRC.
    pub fn verify(&self) -> Result<()> {
        for s in &self.layout.sections {
            format::verify_section(&self.src, s)?;
        }
        Ok(())
    }

    /// Refuse an embedder whose model differs from the one the index was built with.
    pub fn check_embedder<E: Embedder + ?Sized>(&self, e: &E) -> Result<()> {
        let fp = e.fingerprint();
        if fp != self.meta.encoder {
            return Err(Error::ModelMismatch {
                index_model: self.meta.encoder.clone(),
                given_model: fp,
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
        let text = self.layout.get(Kind::PassageText).map_or(0, |s| s.len);
        Breakdown {
            passages: self.meta.n,
            parts,
            total,
            overhead: total - text,
        }
    }

    /// Whether the index has a graph (scan indexes have none and score every PQ code per query).
    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }

    /// Neighbours of node `v`, straight from flash (an error on a scan index, which has no graph).
    pub fn neighbors(&self, v: u32, out: &mut Vec<u32>) -> Result<()> {
        let n = self.meta.n;
        if v as u64 >= n {
            return Err(Error::InvalidParam(alloc::format!("node {v} out of range")));
        }
        let Some(gs) = self.graph else {
            return Err(Error::InvalidParam(
                "this index has no graph (it was built for scan search)".into(),
            ));
        };
        let b = v as u64 / BLOCK as u64;
        let e = read_vec(&self.src, gs.goff + b * 8, 16)?;
        let start = u64::from_le_bytes(e[..8].try_into().unwrap_or([0; 8]));
        let end = u64::from_le_bytes(e[8..].try_into().unwrap_or([0; 8]));
        let max_bits = (BLOCK as u64) * (80 + 127 * 96);
        if end < start || end - start > max_bits || end.div_ceil(8) > gs.graph.1 {
            return Err(Error::corrupt(
                "graph_offsets",
                alloc::format!("block {b} range {start}..{end} invalid"),
            ));
        }
        let first = start / 8;
        let bytes = read_vec(
            &self.src,
            gs.graph.0 + first,
            (end.div_ceil(8) - first) as usize,
        )?;
        let mut r = crate::bits::BitReader::new(&bytes, start % 8);
        decode_in_block(
            &mut r,
            b * BLOCK as u64,
            (v as u64 % BLOCK as u64) as usize,
            n,
            out,
        )
    }

    /// PQ distance of node `v`.
    pub fn pq_distance(&self, table: &[f32], v: u32) -> Result<f32> {
        let cb = self.pq.code_bytes();
        let off = self.codes + v as u64 * cb as u64;
        if let Some(s) = self.src.slice(off, cb) {
            return Ok(self.pq.distance(table, s));
        }
        let mut buf = [0u8; 256];
        self.src.read_at(off, &mut buf[..cb])?;
        Ok(self.pq.distance(table, &buf[..cb]))
    }

    /// The `keep` nodes with the smallest PQ distance under `table`, best first, streaming the code
    /// section in chunks (never whole in RAM through positioned reads). Returns distances computed.
    pub fn pq_scan(&self, table: &[f32], keep: usize, out: &mut Vec<(f32, u32)>) -> Result<u64> {
        let cb = self.pq.code_bytes();
        let n = self.meta.n as usize;
        let chunk = (64 * 1024 / cb).max(1);
        let mut top = crate::search::TopK::new(keep);
        let mut buf = Vec::new();
        let mut v = 0usize;
        while v < n {
            let take = chunk.min(n - v);
            let off = self.codes + (v * cb) as u64;
            let codes = match self.src.slice(off, take * cb) {
                Some(s) => s,
                None => {
                    buf.resize(take * cb, 0);
                    self.src.read_at(off, &mut buf)?;
                    &buf[..]
                }
            };
            for (i, c) in codes.chunks_exact(cb).enumerate() {
                top.push(self.pq.distance(table, c), (v + i) as u32);
            }
            v += take;
        }
        top.into_sorted(out);
        Ok(n as u64)
    }

    /// A stored passage.
    pub fn passage(&self, id: u32) -> Result<Passage> {
        let (title, text) = self.passages.text(&self.src, id as u64)?;
        let (pid, source) = self
            .passages
            .id_source(&self.src, id as u64, &self.meta.sources)?;
        Ok(Passage {
            id: pid,
            title,
            text,
            source,
        })
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
        let Ok(pos) = self.hub_ids.binary_search(&id) else {
            return Ok(false);
        };
        let dim = self.meta.dim as usize;
        let b = read_vec(&self.src, self.hub_vecs + (pos * dim * 2) as u64, dim * 2)?;
        out.extend(
            b.chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()),
        );
        Ok(true)
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
            cache: NeighborCache::new(cache_capacity),
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

fn span(l: &Layout, k: Kind) -> Result<(u64, u64)> {
    let s = l.need(k)?;
    Ok((s.offset, s.len))
}

/// Searches one index with one embedder, keeping a bounded neighbour cache across queries.
pub struct Searcher<'a, S: FlashSource, E: Embedder + ?Sized> {
    index: &'a Index<S>,
    embedder: &'a E,
    cache: NeighborCache,
}

struct Space<'s, 'a, S: FlashSource, E: Embedder + ?Sized> {
    s: &'s mut Searcher<'a, S, E>,
    texts: Vec<String>,
}

#[cfg(feature = "std")]
fn now() -> Option<std::time::Instant> {
    Some(std::time::Instant::now())
}
#[cfg(not(feature = "std"))]
fn now() -> Option<()> {
    None
}
#[cfg(feature = "std")]
fn micros_since(t: Option<std::time::Instant>) -> u64 {
    t.map_or(0, |t| t.elapsed().as_micros() as u64)
}
#[cfg(not(feature = "std"))]
fn micros_since(_t: Option<()>) -> u64 {
    0
}

impl<S: FlashSource, E: Embedder + ?Sized> SearchSpace for Space<'_, '_, S, E> {
    fn len(&self) -> usize {
        self.s.index.len()
    }
    fn entry(&self) -> u32 {
        self.s.index.meta.entry
    }
    fn seeds(&self) -> &[u32] {
        &self.s.index.seeds
    }
    fn neighbors(&mut self, v: u32, out: &mut Vec<u32>) -> Result<()> {
        if let Some(l) = self.s.cache.get(v) {
            out.clear();
            out.extend_from_slice(l);
            return Ok(());
        }
        self.s.index.neighbors(v, out)?;
        self.s.cache.insert(v, out);
        Ok(())
    }
    fn pq_distance(&mut self, table: &[f32], v: u32) -> Result<f32> {
        self.s.index.pq_distance(table, v)
    }
    fn has_graph(&self) -> bool {
        self.s.index.has_graph()
    }
    fn pq_scan(&mut self, table: &[f32], keep: usize, out: &mut Vec<(f32, u32)>) -> Result<u64> {
        self.s.index.pq_scan(table, keep, out)
    }
    fn exact(&mut self, ids: &[u32], out: &mut Vec<f32>, stats: &mut SearchStats) -> Result<()> {
        let dim = self.s.index.meta.dim as usize;
        out.clear();
        out.resize(ids.len() * dim, 0.0);
        self.texts.clear();
        let mut which = Vec::new();
        let mut hv = Vec::with_capacity(dim);
        for (i, &v) in ids.iter().enumerate() {
            hv.clear();
            if self.s.index.hub_vector(v, &mut hv)? {
                out[i * dim..(i + 1) * dim].copy_from_slice(&hv);
                stats.hub_hits += 1;
            } else {
                self.texts.push(self.s.index.embed_input(v)?);
                which.push(i);
            }
        }
        if which.is_empty() {
            return Ok(());
        }
        let refs: Vec<&str> = self.texts.iter().map(|s| s.as_str()).collect();
        let t = now();
        let vecs = self.s.embedder.embed(&refs)?;
        stats.embed_micros += micros_since(t);
        if vecs.len() != which.len() * dim {
            return Err(crate::embed::EmbedError::Runtime(alloc::format!(
                "embedder returned {} floats for {} texts",
                vecs.len(),
                which.len()
            ))
            .into());
        }
        stats.embed_calls += 1;
        stats.recomputed += which.len() as u64;
        for (j, &i) in which.iter().enumerate() {
            out[i * dim..(i + 1) * dim].copy_from_slice(&vecs[j * dim..(j + 1) * dim]);
        }
        Ok(())
    }
}

impl<'a, S: FlashSource, E: Embedder + ?Sized> Searcher<'a, S, E> {
    /// Neighbour-cache counters (cumulative).
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }
    /// Bytes the neighbour cache occupies.
    pub fn cache_bytes(&self) -> usize {
        self.cache.memory_bytes()
    }
    /// Embed a text query and search.
    pub fn search_text(&mut self, query: &str, p: &SearchParams) -> Result<SearchResult> {
        if query.trim().is_empty() {
            return Err(Error::InvalidParam(
                "the query is empty; give some words to search for".into(),
            ));
        }
        let t = now();
        let q = self.embedder.embed(&[query])?;
        let mut r = self.search_vector(&q, p)?;
        r.stats.micros = micros_since(t);
        Ok(r)
    }
    /// Search with a unit query vector.
    pub fn search_vector(&mut self, q: &[f32], p: &SearchParams) -> Result<SearchResult> {
        let t = now();
        let idx = self.index;
        if q.len() != idx.meta.dim as usize {
            return Err(Error::Dimension {
                index: idx.meta.dim as usize,
                given: q.len(),
            });
        }
        let table = idx.pq.table(q);
        let before_cache = self.cache.stats();
        let before_bytes = idx.src.bytes_read();
        let mut stats = SearchStats::default();
        let mut space = Space {
            s: self,
            texts: Vec::new(),
        };
        let hits = two_level(&mut space, q, &table, p, &mut stats)?;
        let after = self.cache.stats();
        stats.cache_hits = after.hits - before_cache.hits;
        stats.cache_misses = after.misses - before_cache.misses;
        stats.bytes_read = idx.src.bytes_read() - before_bytes;
        stats.micros = micros_since(t);
        Ok(SearchResult { hits, stats })
    }
}
