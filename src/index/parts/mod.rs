//! One file per on-disk component of an index: each owns the bytes it writes
//! (`sections`, std only) and its validated read (`read`), so what a section holds is said in one
//! place. Sections that open reads whole (small: seeds, hub ids, PQ codebook and projection, metadata) are
//! checked against their CRC as they are read; sections read in pieces (graph, PQ codes, passages,
//! hub vectors) are bounds-checked on every read and CRC-checked by [`Index::verify`](super::Index::verify)
//! — the PQ codes also on their first full scan.
use crate::error::{Error, Result};
use crate::flash::{read_vec, FlashSource};
use crate::format::{verify_section, Section};
use alloc::vec::Vec;

pub mod build_record;
pub mod graph;
pub mod hubs;
pub mod metadata;
pub mod passages;
pub mod pq;
pub mod seeds;

/// Read a whole section, checking its CRC. `max`: the most bytes such a section can hold.
pub(crate) fn read_checked<S: FlashSource + ?Sized>(
    src: &S,
    s: &Section,
    max: u64,
) -> Result<Vec<u8>> {
    if s.len > max {
        return Err(Error::corrupt(
            s.kind.name(),
            alloc::format!("{} bytes, more than such a section holds ({max})", s.len),
        ));
    }
    verify_section(src, s)?;
    Ok(read_vec(src, s.offset, s.len as usize)?)
}

/// Little-endian u32s.
pub(crate) fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
