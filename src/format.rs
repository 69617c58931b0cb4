//! The index file format (version 7; versions 1 to 6 are read too).
//!
//! Version history: 1 = the first release; 2 adds the optional PQ rotation section; 3 codes passage
//! ids in blocks of 64 with a "successor" bit per record (an id that is the previous one with its
//! trailing number + 1 costs one bit) and allows an index without graph sections (scan search);
//! 4 puts the header under a checksum: its last field, reserved (zero) before, holds the CRC32 of
//! the header's first 20 bytes, so every byte of a version-4 file is covered by some CRC; 5 adds
//! the optional per-passage metadata section (`passage_meta`, [`crate::metadata`]); 6 the optional
//! PQ error calibration (`pq_calibration`, [`crate::search::Calibration`]) that adaptive recompute
//! reads; 7 the optional typed build record (`build_record`,
//! [`crate::index::parts::build_record`]) that relinking, `compact` and `info` read instead of the
//! display text of `Meta::build`.
//!
//! ```text
//! header (24 B): magic "LEANNEDG" | version u16 | endian marker u16 (0xFEFF) | section count u32
//!                | crc32 of the section table u32 | crc32 of the header's first 20 bytes u32
//!                (format 4; zero before)
//! section table: count × (kind u32 | crc32 u32 | offset u64 | length u64)
//! sections:      meta (postcard) | graph offsets | graph | PQ codebook | PQ codes | passage offsets
//!                | passage text | passage ids/sources | [hub ids | hub vectors] | [PQ rotation]
//!                | [passage metadata] | [PQ calibration] | [build record] | block CRCs
//! ```
//! Format 8 ends with the block CRCs: one CRC32 per [`BLOCK`] bytes of everything between the
//! section table and that section, checked as blocks are first read
//! ([`crate::index::checked`]).
//! All integers little-endian. Every length is checked against the file size before use, every
//! section has a CRC32, and the writer goes through a temporary file + fsync + rename.
use crate::error::{Error, Result};
use crate::flash::{read_vec, FlashSource};
use alloc::string::String;
use alloc::vec::Vec;

/// File magic.
pub const MAGIC: [u8; 8] = *b"LEANNEDG";
/// Format version this build writes.
pub const VERSION: u16 = 8;
/// Oldest format version this build reads.
pub const MIN_VERSION: u16 = 1;
const ENDIAN: u16 = 0xFEFF;
const HEADER: usize = 24;
const ENTRY: usize = 24;
/// Bytes per block of the block CRCs (format 8).
pub const BLOCK: u64 = 4096;

/// Section kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Kind {
    /// Postcard [`Meta`].
    Meta = 1,
    /// Graph block offsets (u64 bit offsets).
    GraphOffsets = 2,
    /// Bit-packed neighbour lists.
    Graph = 3,
    /// f16 PQ centroids.
    PqCodebook = 4,
    /// PQ codes, one fixed-size record per node.
    PqCodes = 5,
    /// Passage text offset table.
    PassageOffsets = 6,
    /// Passage text (title + body).
    PassageText = 7,
    /// Passage ids and sources (front-coded).
    PassageIds = 8,
    /// Sorted ids of nodes with stored embeddings.
    HubIds = 9,
    /// Stored embeddings of hub nodes (f16).
    HubVectors = 10,
    /// Search seeds: nodes nearest to k-means centroids (u32 each).
    Seeds = 11,
    /// OPQ projection applied before PQ (format 2): `in_dim u32 | out_dim u32 | f16 rows`.
    PqRotation = 12,
    /// Per-passage metadata, dictionary-coded columns (format 5, optional; [`crate::metadata`]).
    PassageMeta = 13,
    /// Quantiles of the PQ distance error (format 6, optional; [`crate::search::Calibration`]).
    PqCalibration = 14,
    /// The typed build record (format 7, optional; [`crate::index::parts::build_record`]).
    BuildRecord = 15,
    /// CRC32 per [`BLOCK`] of the sections before it (format 8, last; [`crate::index::checked`]).
    BlockCrcs = 16,
}

impl Kind {
    /// All kinds.
    pub const ALL: [Kind; 16] = [
        Kind::Seeds,
        Kind::Meta,
        Kind::GraphOffsets,
        Kind::Graph,
        Kind::PqCodebook,
        Kind::PqCodes,
        Kind::PassageOffsets,
        Kind::PassageText,
        Kind::PassageIds,
        Kind::HubIds,
        Kind::HubVectors,
        Kind::PqRotation,
        Kind::PassageMeta,
        Kind::PqCalibration,
        Kind::BuildRecord,
        Kind::BlockCrcs,
    ];
    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Meta => "meta",
            Kind::GraphOffsets => "graph_offsets",
            Kind::Graph => "graph",
            Kind::PqCodebook => "pq_codebook",
            Kind::PqCodes => "pq_codes",
            Kind::PassageOffsets => "passage_offsets",
            Kind::PassageText => "passage_text",
            Kind::PassageIds => "passage_ids",
            Kind::HubIds => "hub_ids",
            Kind::HubVectors => "hub_vectors",
            Kind::Seeds => "seeds",
            Kind::PqRotation => "pq_rotation",
            Kind::PassageMeta => "passage_meta",
            Kind::PqCalibration => "pq_calibration",
            Kind::BuildRecord => "build_record",
            Kind::BlockCrcs => "block_crcs",
        }
    }
    fn from_u32(v: u32) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| *k as u32 == v)
    }
}

/// Build metadata stored in the index (postcard).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    /// Embedding dimension.
    pub dim: u32,
    /// Metric name (always "cosine": unit vectors, distance `1 - dot`).
    pub metric: String,
    /// Encoder fingerprint (model id + checksum) the index was built with.
    pub encoder: String,
    /// Node / passage count.
    pub n: u64,
    /// Search entry point.
    pub entry: u32,
    /// Edges stored.
    pub edges: u64,
    /// PQ sub-spaces.
    pub pq_m: u32,
    /// PQ bits per code (4 or 8).
    pub pq_bits: u32,
    /// Number of hub nodes with stored embeddings.
    pub hub_vectors: u64,
    /// Source paths referenced by passage records.
    pub sources: Vec<String>,
    /// Build parameters, as text (for `info`).
    pub build: Vec<(String, String)>,
    /// Version of the tool that wrote it.
    pub writer: String,
}

impl Meta {
    /// The meta section's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        postcard::to_allocvec(self).map_err(|e| Error::InvalidParam(alloc::format!("meta: {e}")))
    }
}

/// One entry of the section table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section {
    /// Kind.
    pub kind: Kind,
    /// CRC32 of the bytes.
    pub crc: u32,
    /// Absolute offset.
    pub offset: u64,
    /// Length.
    pub len: u64,
}

/// Parsed header and section table.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Sections in file order.
    pub sections: Vec<Section>,
    /// Format version of the file.
    pub version: u16,
}

impl Layout {
    /// Find a section.
    pub fn get(&self, kind: Kind) -> Option<Section> {
        self.sections.iter().copied().find(|s| s.kind == kind)
    }
    /// Find a required section.
    pub fn need(&self, kind: Kind) -> Result<Section> {
        self.get(kind).ok_or(Error::MissingSection(kind.name()))
    }
    /// Bytes of header + table.
    pub fn header_bytes(&self) -> u64 {
        (HEADER + ENTRY * self.sections.len()) as u64
    }
    /// The block CRCs section (format 8) and the bytes it covers: from the end of the table to
    /// its own start.
    pub fn blocks(&self) -> Option<(Section, core::ops::Range<u64>)> {
        let b = self.get(Kind::BlockCrcs)?;
        Some((b, self.header_bytes()..b.offset))
    }
}

/// The sections of an index image, in file order.
pub type Sections = Vec<(Kind, Vec<u8>)>;

/// Serialise an index image: header, table, the sections in the given order, then the block
/// CRCs of those sections' bytes.
pub fn assemble(sections: &[(Kind, Vec<u8>)]) -> Vec<u8> {
    let blocks = block_crcs(sections.iter().map(|(_, b)| b.as_slice()));
    let sections: Vec<(Kind, &[u8])> = sections
        .iter()
        .map(|(k, b)| (*k, b.as_slice()))
        .chain(core::iter::once((Kind::BlockCrcs, blocks.as_slice())))
        .collect();
    let mut table = Vec::with_capacity(sections.len() * ENTRY);
    let mut offset = (HEADER + ENTRY * sections.len()) as u64;
    for (kind, bytes) in &sections {
        table.extend_from_slice(&(*kind as u32).to_le_bytes());
        table.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
        table.extend_from_slice(&offset.to_le_bytes());
        table.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        offset += bytes.len() as u64;
    }
    let mut out = Vec::with_capacity(offset as usize);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&ENDIAN.to_le_bytes());
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&table).to_le_bytes());
    let header_crc = crc32fast::hash(&out[..HEADER - 4]);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(&table);
    for (_, b) in &sections {
        out.extend_from_slice(b);
    }
    out
}

/// CRC32 of each [`BLOCK`] of `parts` laid end to end (the last block may be short), as the
/// block CRCs section stores them (u32 LE each).
pub fn block_crcs<'a>(parts: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut h = crc32fast::Hasher::new();
    let mut fill = 0usize;
    for mut p in parts {
        while !p.is_empty() {
            let take = (BLOCK as usize - fill).min(p.len());
            h.update(&p[..take]);
            fill += take;
            p = &p[take..];
            if fill == BLOCK as usize {
                let done = core::mem::replace(&mut h, crc32fast::Hasher::new());
                out.extend_from_slice(&done.finalize().to_le_bytes());
                fill = 0;
            }
        }
    }
    if fill > 0 {
        out.extend_from_slice(&h.finalize().to_le_bytes());
    }
    out
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// Parse and validate the header and section table (bounds, overlaps, table CRC).
pub fn read_layout<S: FlashSource + ?Sized>(src: &S) -> Result<Layout> {
    let len = src.len();
    if len < 8 {
        return Err(if len == 0 {
            Error::Truncated {
                what: "header",
                needed: HEADER as u64,
                len,
            }
        } else {
            Error::BadMagic
        });
    }
    let magic = read_vec(src, 0, 8)?;
    if magic != MAGIC {
        return Err(Error::BadMagic);
    }
    if len < HEADER as u64 {
        return Err(Error::Truncated {
            what: "header",
            needed: HEADER as u64,
            len,
        });
    }
    let h = read_vec(src, 0, HEADER)?;
    let version = u16::from_le_bytes([h[8], h[9]]);
    if !(MIN_VERSION..=VERSION).contains(&version) {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: VERSION,
        });
    }
    if u16::from_le_bytes([h[10], h[11]]) != ENDIAN {
        return Err(Error::Endianness);
    }
    // Checked after the version and endianness fields so that those keep their own clear errors;
    // a flipped version byte still fails here (older versions need this field zero).
    let (found, stored) = (crc32fast::hash(&h[..HEADER - 4]), u32_at(&h, 20));
    if version >= 4 && found != stored {
        return Err(Error::Checksum {
            section: "header",
            expected: stored,
            found,
        });
    }
    if version < 4 && stored != 0 {
        return Err(Error::corrupt(
            "header",
            "reserved field is not zero (a version-4 header with its version changed?)",
        ));
    }
    let count = u32_at(&h, 12) as u64;
    if count > 64 {
        return Err(Error::corrupt("header", alloc::format!("{count} sections")));
    }
    let table_end = HEADER as u64 + count * ENTRY as u64;
    if table_end > len {
        return Err(Error::Truncated {
            what: "section table",
            needed: table_end,
            len,
        });
    }
    let table = read_vec(src, HEADER as u64, (count as usize) * ENTRY)?;
    let found = crc32fast::hash(&table);
    let expected = u32_at(&h, 16);
    if found != expected {
        return Err(Error::Checksum {
            section: "section_table",
            expected,
            found,
        });
    }
    let mut sections = Vec::with_capacity(count as usize);
    let mut prev_end = table_end;
    for i in 0..count as usize {
        let e = &table[i * ENTRY..(i + 1) * ENTRY];
        let kind = Kind::from_u32(u32_at(e, 0)).ok_or_else(|| {
            Error::corrupt(
                "section_table",
                alloc::format!("unknown section kind {}", u32_at(e, 0)),
            )
        })?;
        let s = Section {
            kind,
            crc: u32_at(e, 4),
            offset: u64_at(e, 8),
            len: u64_at(e, 16),
        };
        let end = s
            .offset
            .checked_add(s.len)
            .ok_or_else(|| Error::corrupt("section_table", "length overflow"))?;
        if s.offset < prev_end {
            return Err(Error::corrupt(
                "section_table",
                alloc::format!("section {} overlaps", kind.name()),
            ));
        }
        if end > len {
            return Err(Error::Truncated {
                what: kind.name(),
                needed: end,
                len,
            });
        }
        if sections.iter().any(|x: &Section| x.kind == kind) {
            return Err(Error::corrupt(
                "section_table",
                alloc::format!("section {} twice", kind.name()),
            ));
        }
        // Format 4 leaves no byte outside a checksum: sections follow the table and each other.
        if version >= 4 && s.offset != prev_end {
            return Err(Error::corrupt(
                "section_table",
                alloc::format!("a gap before section {}", kind.name()),
            ));
        }
        prev_end = end;
        sections.push(s);
    }
    if version >= 4 && prev_end != len {
        return Err(Error::corrupt(
            "section_table",
            alloc::format!("{} bytes after the last section", len - prev_end),
        ));
    }
    let layout = Layout { sections, version };
    if version < 8 && layout.get(Kind::BlockCrcs).is_some() {
        return Err(Error::corrupt(
            "section_table",
            alloc::format!("a block_crcs section in a format-{version} file"),
        ));
    }
    if version >= 8 {
        let (b, covered) = layout
            .blocks()
            .ok_or(Error::MissingSection(Kind::BlockCrcs.name()))?;
        let want = (covered.end - covered.start).div_ceil(BLOCK) * 4;
        if layout.sections.last().map(|s| s.kind) != Some(Kind::BlockCrcs) || b.len != want {
            return Err(Error::corrupt(
                "block_crcs",
                alloc::format!(
                    "must be the last section and {want} bytes long (found {})",
                    b.len
                ),
            ));
        }
    }
    Ok(layout)
}

/// Check one section's CRC, streaming it in chunks.
pub fn verify_section<S: FlashSource + ?Sized>(src: &S, s: &Section) -> Result<()> {
    let mut h = crc32fast::Hasher::new();
    let mut buf = alloc::vec![0u8; 64 * 1024];
    let mut off = 0u64;
    while off < s.len {
        let take = ((s.len - off) as usize).min(buf.len());
        if let Some(b) = src.slice(s.offset + off, take) {
            h.update(b);
        } else {
            src.read_at(s.offset + off, &mut buf[..take])?;
            h.update(&buf[..take]);
        }
        off += take as u64;
    }
    let found = h.finalize();
    if found != s.crc {
        return Err(Error::Checksum {
            section: s.kind.name(),
            expected: s.crc,
            found,
        });
    }
    Ok(())
}

/// Read and decode the meta section.
pub fn read_meta<S: FlashSource + ?Sized>(src: &S, layout: &Layout) -> Result<Meta> {
    let s = layout.need(Kind::Meta)?;
    if s.len > 64 << 20 {
        return Err(Error::corrupt("meta", "meta section larger than 64 MiB"));
    }
    verify_section(src, &s)?;
    let b = read_vec(src, s.offset, s.len as usize)?;
    postcard::from_bytes(&b).map_err(|e| Error::corrupt("meta", alloc::format!("{e}")))
}

/// Write an index image atomically (see [`write_file_atomic`]); returns the bytes written.
#[cfg(feature = "std")]
pub fn write_atomic(path: &std::path::Path, sections: &[(Kind, Vec<u8>)]) -> Result<u64> {
    let image = assemble(sections);
    write_file_atomic(path, &image)?;
    Ok(image.len() as u64)
}

/// The one safe write path for every file the crate writes: a fresh temporary file in the same
/// folder (created exclusively, so a planted file or link is never followed or reused), fsync,
/// rename over `path`, fsync the folder. An interrupted write never replaces a good file with a
/// partial one; a failed one removes its temporary file.
#[cfg(feature = "std")]
pub fn write_file_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::InvalidParam(format!("{} is not a file path", path.display())))?;
    clean_stale_temps(dir, &name.to_string_lossy());
    let (tmp, mut f) = create_temp(dir, &name.to_string_lossy()).map_err(|e| Error::io(path, e))?;
    let res = (|| -> std::io::Result<()> {
        // Before any byte is written, so the text is never readable more widely than before.
        keep_permissions(&f, path)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Give the file that will replace `path` the old file's mode and group (and owner, when running
/// as root): a change must neither widen who can read an index (it holds every passage's text) nor
/// cut off a service that reads it through its group. A new file keeps the umask's mode and the
/// writer's group. A group the writer is not a member of cannot be kept: the file keeps the
/// writer's group and a warning says so.
#[cfg(all(feature = "std", unix))]
fn keep_permissions(f: &std::fs::File, path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::io::AsRawFd;
    let Ok(old) = std::fs::metadata(path) else {
        return Ok(());
    };
    if !old.is_file() {
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions and touches no memory.
    let root = unsafe { libc::geteuid() } == 0;
    let uid = if root { old.uid() } else { libc::uid_t::MAX }; // MAX is -1: owner unchanged
    let now = f.metadata()?;
    let mut mode = old.mode() & 0o777;
    if (root && now.uid() != old.uid()) || now.gid() != old.gid() {
        // SAFETY: fchown on a descriptor `f` owns for the whole call; no memory is shared.
        let r = unsafe { libc::fchown(f.as_raw_fd(), uid, old.gid()) };
        if r != 0 && now.gid() != old.gid() {
            log::warn!(
                "{}: could not keep its group {} ({}); the new file has group {} and no group access",
                path.display(),
                old.gid(),
                std::io::Error::last_os_error(),
                now.gid()
            );
            // The old group's rights must not pass to the writer's group.
            mode &= !0o070;
        }
    }
    // After chown, which may clear set-id bits.
    f.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// Elsewhere files keep the platform's defaults.
#[cfg(all(feature = "std", not(unix)))]
fn keep_permissions(_f: &std::fs::File, _path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// Age from which a dead writer's temporary file is removed.
#[cfg(feature = "std")]
const STALE_TEMP_SECS: u64 = 60;

/// Remove `.NAME.tmp-PID…` files left in `dir` by writers that no longer run (killed mid-write):
/// only on Linux, where `/proc/PID` tells whether a process lives; elsewhere they stay.
#[cfg(feature = "std")]
fn clean_stale_temps(dir: &std::path::Path, name: &str) {
    if !cfg!(target_os = "linux") || !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // A temporary file is written and renamed within seconds of its creation; one untouched for
        // a minute whose PID is not running is a dead writer's (the age guards against a live
        // writer in another PID namespace sharing the folder).
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() >= STALE_TEMP_SECS);
        if old
            && pid != std::process::id().to_string()
            && !std::path::Path::new("/proc").join(pid).exists()
        {
            // remove_file on a link removes the link, never its target.
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// 64 unpredictable bits for temporary names (from the OS; the clock where there is none), so
/// another user cannot plant a file under the next name. Exclusive creation makes a planted name
/// harmless anyway; this keeps it from being a denial of service.
#[cfg(feature = "std")]
fn random_nonce() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    let os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if os.is_ok() {
        return u64::from_le_bytes(b);
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ ((std::process::id() as u64) << 32)
}

/// A new, exclusively created `.NAME.tmp-PID-NONCE` in `dir`.
#[cfg(feature = "std")]
fn create_temp(
    dir: &std::path::Path,
    name: &str,
) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nonce = random_nonce();
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{nonce:x}{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => continue,
            Err(e) => return Err(e),
        }
    }
}
