//! Every byte a search or a change reads is checked before it is trusted. Since format 8 the
//! data of an index (everything after the header and section table) is cut into
//! [`BLOCK`]-byte blocks whose CRC32s the `block_crcs` section holds (4 bytes per 4 KiB: 0.1%).
//! [`Checked`] wraps the index's source and verifies a block the first time any byte of it is
//! read, remembering it in a bit; a flipped bit in passage text, offsets, ids, codes or graph is
//! an error naming the section and what to do, never a garbled answer, and open stays as cheap
//! as before (the CRC table is the one read it adds). Files of formats 1-7 have no block CRCs:
//! each section is checked whole against its own CRC the first time it is read; one larger than
//! [`MAX_WHOLE`] is left to `verify`, with a warning that `compact` rewrites the file with block
//! checksums.
use crate::flash::{FlashError, FlashSource};
use crate::format::Section;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

pub use crate::format::BLOCK;

/// The largest section of an old-format file checked whole on its first read.
pub const MAX_WHOLE: u64 = 64 << 20;

/// A source whose bytes are checked against block (format 8) or section CRCs as they are read.
pub struct Checked<S> {
    inner: S,
    /// First byte the blocks cover and one past the last.
    start: u64,
    end: u64,
    /// CRC32 per block (empty: a file without block CRCs, checked section by section).
    crcs: Vec<u32>,
    /// One bit per block (or per section, without block CRCs): checked already.
    done: Vec<AtomicU32>,
    /// The sections, in file order (to name a bad block's section; checked whole without blocks).
    sections: Vec<Section>,
    /// Checks turned off (`OpenOptions::check_reads`, for measuring their cost).
    off: bool,
    warned: AtomicBool,
}

impl<S: FlashSource> Checked<S> {
    /// Check `inner` against `crcs` (one per [`BLOCK`] of `start..end`), or section by section
    /// when `crcs` is empty.
    pub fn new(inner: S, start: u64, end: u64, crcs: Vec<u32>, sections: Vec<Section>) -> Self {
        let bits = if crcs.is_empty() {
            sections.len()
        } else {
            crcs.len()
        };
        Checked {
            inner,
            start,
            end,
            crcs,
            done: (0..bits.div_ceil(32)).map(|_| AtomicU32::new(0)).collect(),
            sections,
            off: false,
            warned: AtomicBool::new(false),
        }
    }

    /// The same source with checking off (a measurement baseline; `verify` still checks all).
    pub fn unchecked(inner: S) -> Self {
        let mut c = Checked::new(inner, 0, 0, Vec::new(), Vec::new());
        c.off = true;
        c
    }

    /// The wrapped source (what `verify` streams whole sections from).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Whether this file carries block CRCs.
    pub fn has_blocks(&self) -> bool {
        !self.crcs.is_empty()
    }

    fn is_done(&self, bit: usize) -> bool {
        self.done[bit / 32].load(Ordering::Acquire) & (1 << (bit % 32)) != 0
    }

    fn set_done(&self, bit: usize) {
        self.done[bit / 32].fetch_or(1 << (bit % 32), Ordering::Release);
    }

    /// The sections a block `bs..be` holds bytes of (`a/b` when it straddles two).
    fn section_names(&self, bs: u64, be: u64) -> alloc::string::String {
        let names: Vec<&str> = self
            .sections
            .iter()
            .filter(|s| s.offset < be && s.offset + s.len > bs)
            .map(|s| s.kind.name())
            .collect();
        names.join("/")
    }

    /// Check the bytes `offset..offset + len`; `data` holds them when the caller has them.
    fn check(&self, offset: u64, len: usize, data: &[u8]) -> Result<(), FlashError> {
        if self.off || len == 0 {
            return Ok(());
        }
        if self.crcs.is_empty() {
            return self.check_sections(offset, len);
        }
        let (lo, hi) = (offset.max(self.start), (offset + len as u64).min(self.end));
        if lo >= hi {
            return Ok(());
        }
        let (first, last) = ((lo - self.start) / BLOCK, (hi - 1 - self.start) / BLOCK);
        for b in first as usize..=last as usize {
            if b < self.crcs.len() && self.is_done(b) {
                continue;
            }
            let bs = self.start + b as u64 * BLOCK;
            let be = (bs + BLOCK).min(self.end);
            let found = if bs >= offset && be <= offset + len as u64 {
                crc32fast::hash(&data[(bs - offset) as usize..(be - offset) as usize])
            } else {
                self.block_crc(bs, be)?
            };
            if self.crcs.get(b) != Some(&found) {
                return Err(FlashError::Corrupt {
                    section: self.section_names(bs, be),
                    offset: bs,
                });
            }
            self.set_done(b);
        }
        Ok(())
    }

    fn block_crc(&self, bs: u64, be: u64) -> Result<u32, FlashError> {
        let n = (be - bs) as usize;
        if let Some(s) = self.inner.slice(bs, n) {
            return Ok(crc32fast::hash(s));
        }
        let mut buf = alloc::vec![0u8; n];
        self.inner.read_at(bs, &mut buf)?;
        Ok(crc32fast::hash(&buf))
    }

    /// Without block CRCs: every section the read touches checked whole, once.
    fn check_sections(&self, offset: u64, len: usize) -> Result<(), FlashError> {
        let end = offset + len as u64;
        for (i, s) in self.sections.iter().enumerate() {
            if s.offset >= end || s.offset + s.len <= offset || self.is_done(i) {
                continue;
            }
            if s.len > MAX_WHOLE {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    log::warn!(
                        "section {} of this index is too large to check on every first read; \
                         `leann-edge compact` rewrites it with block checksums (`verify` checks it)",
                        s.kind.name()
                    );
                }
            } else {
                match crate::format::verify_section(&self.inner, s) {
                    Ok(()) => {}
                    // A read that failed is the device's error, not damage.
                    Err(crate::error::Error::Flash(e)) => return Err(e),
                    Err(_) => {
                        return Err(FlashError::Corrupt {
                            section: s.kind.name().into(),
                            offset: s.offset,
                        })
                    }
                }
            }
            self.set_done(i);
        }
        Ok(())
    }
}

impl<S: FlashSource> FlashSource for Checked<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), FlashError> {
        self.inner.read_at(offset, buf)?;
        self.check(offset, buf.len(), buf)
    }

    /// A bad block gives `None` here: callers fall back to `read_at`, which reports it.
    fn slice(&self, offset: u64, len: usize) -> Option<&[u8]> {
        let s = self.inner.slice(offset, len)?;
        self.check(offset, len, s).ok()?;
        Some(s)
    }

    fn bytes_read(&self) -> u64 {
        self.inner.bytes_read()
    }
}
