//! Per-passage metadata (format 5, optional): dictionary-coded columns ([`crate::metadata`] holds
//! the codec; this is where it meets the file). Read whole at open and CRC-checked.
use super::read_checked;
use crate::error::Result;
use crate::flash::FlashSource;
use crate::format::{Kind, Layout};
use crate::metadata::{MetaColumns, Metadata, MAX_FIELDS, MAX_FIELD_BYTES, MAX_VALUE_BYTES};
use alloc::vec::Vec;

/// The metadata section of these passages (in storage order), or none when no passage has any.
pub fn section<'a>(rows: impl Iterator<Item = &'a Metadata> + Clone) -> Option<(Kind, Vec<u8>)> {
    crate::metadata::encode(rows).map(|b| (Kind::PassageMeta, b))
}

/// Most bytes a metadata section of `n` passages may hold: 1 MiB, plus for each passage a full set
/// of its own ([`MAX_FIELDS`] names and values of the largest size). Decoding allocates at most
/// about four times the section (see [`crate::metadata`]).
fn max_bytes(n: u64) -> u64 {
    let per_passage = (MAX_FIELDS * (MAX_FIELD_BYTES + MAX_VALUE_BYTES + 16)) as u64;
    n.saturating_mul(per_passage).saturating_add(1 << 20)
}

/// The metadata columns of an index of `n` passages (`None` when it stores none).
pub fn read<S: FlashSource + ?Sized>(
    src: &S,
    layout: &Layout,
    n: u64,
) -> Result<Option<MetaColumns>> {
    let Some(s) = layout.get(Kind::PassageMeta) else {
        return Ok(None);
    };
    let bytes = read_checked(src, &s, max_bytes(n))?;
    MetaColumns::from_bytes(&bytes, n).map(Some)
}
