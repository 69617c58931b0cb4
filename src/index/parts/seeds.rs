//! Search seeds: nodes nearest to k-means centroids of the data (u32 each, graph indexes only).
use super::{read_checked, u32s};
use crate::error::{Error, Result};
use crate::flash::FlashSource;
use crate::format::{Kind, Layout};
use alloc::vec::Vec;

/// The seeds section.
pub fn section(seeds: &[u32]) -> (Kind, Vec<u8>) {
    (
        Kind::Seeds,
        seeds.iter().flat_map(|s| s.to_le_bytes()).collect(),
    )
}

/// The seeds, each a node id below `n` (none when the index has no seed section).
pub fn read<S: FlashSource + ?Sized>(src: &S, layout: &Layout, n: u64) -> Result<Vec<u32>> {
    let Some(sd) = layout.get(Kind::Seeds) else {
        return Ok(Vec::new());
    };
    if sd.len % 4 != 0 {
        return Err(Error::corrupt("seeds", "length is not a list of node ids"));
    }
    let seeds = u32s(&read_checked(src, &sd, 4 * n.max(1))?);
    if seeds.iter().any(|&s| s as u64 >= n) {
        return Err(Error::corrupt("seeds", "seed id out of range"));
    }
    Ok(seeds)
}
