//! Passages: text (title + body) in blocks with an offset table, and ids/sources front-coded
//! ([`crate::passages`] holds the codecs; this is where they meet the file's sections).
use crate::error::Result;
use crate::format::{Kind, Layout};
use crate::passages::{EncodedPassages, PassageReader};
use alloc::vec::Vec;

/// The passage sections.
pub fn sections(ps: EncodedPassages) -> Vec<(Kind, Vec<u8>)> {
    alloc::vec![
        (Kind::PassageOffsets, ps.offsets),
        (Kind::PassageIds, ps.ids),
        (Kind::PassageText, ps.text),
    ]
}

/// The reader over an index's passage sections (sizes checked against `n`).
pub fn read(layout: &Layout, n: u64) -> Result<PassageReader> {
    let span = |k: Kind| layout.need(k).map(|s| (s.offset, s.len));
    PassageReader::new(
        n,
        span(Kind::PassageText)?,
        span(Kind::PassageOffsets)?,
        span(Kind::PassageIds)?,
        layout.version,
    )
}
