//! Compact CSR: neighbour lists sorted, delta-coded and bit-packed, in blocks of [`BLOCK`] nodes with
//! one 8-byte bit offset per block (0.25 B/node at 32 nodes a block; no per-node offsets).
//!
//! Per node: `deg` (7 bits); if `deg > 0`: the first id as zig-zag delta from the node's own id
//! (Elias-gamma of value + 1); if `deg > 1`: a Rice parameter `k` (5 bits) and `deg - 1` gaps
//! `id[j] - id[j-1] - 1`, Rice-coded. Rice codes adapt to the gap sizes of each list, so one far
//! neighbour (another cluster) costs a few extra bits instead of widening every gap as fixed-width
//! packing would. Any node is reached by reading its block and decoding at most 31 lists before it.
use crate::bits::{unzigzag, zigzag, BitReader, BitWriter};
use crate::error::{Error, Result};
use crate::graph::MAX_DEGREE;
use alloc::vec::Vec;

/// Nodes per offset-table entry.
pub const BLOCK: usize = 32;

/// An encoded graph: packed lists plus the block offset table (bit offsets, one more than blocks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedGraph {
    /// Packed neighbour lists.
    pub bytes: Vec<u8>,
    /// Bit offset of each block's first node; last entry = total bits.
    pub block_offsets: Vec<u64>,
    /// Total edges.
    pub edges: u64,
}

/// Encode adjacency lists (ids must be `< adj.len()`; lists are sorted and deduplicated here).
pub fn encode(adj: &[Vec<u32>]) -> Result<EncodedGraph> {
    let mut w = BitWriter::new();
    let mut offs = Vec::with_capacity(adj.len() / BLOCK + 2);
    let mut edges = 0u64;
    let mut list: Vec<u32> = Vec::new();
    for (v, nb) in adj.iter().enumerate() {
        if v % BLOCK == 0 {
            offs.push(w.bit_len());
        }
        list.clear();
        list.extend_from_slice(nb);
        list.sort_unstable();
        list.dedup();
        if list.len() > MAX_DEGREE {
            return Err(Error::InvalidParam(alloc::format!(
                "node {v} has {} neighbours (max {MAX_DEGREE})",
                list.len()
            )));
        }
        if let Some(&bad) = list.iter().find(|&&u| u as usize >= adj.len()) {
            return Err(Error::InvalidParam(alloc::format!(
                "node {v} links to {bad}, beyond {} nodes",
                adj.len()
            )));
        }
        edges += list.len() as u64;
        w.put(list.len() as u64, 7);
        if list.is_empty() {
            continue;
        }
        let first = zigzag(list[0] as i64 - v as i64);
        w.put_gamma(first + 1);
        if list.len() > 1 {
            let gaps: Vec<u64> = list.windows(2).map(|p| (p[1] - p[0] - 1) as u64).collect();
            let cost = |k: u32| gaps.iter().map(|&g| (g >> k) + 1 + k as u64).sum::<u64>();
            let k = (0..31u32).min_by_key(|&k| (cost(k), k)).unwrap_or(0);
            w.put(k as u64, 5);
            for g in gaps {
                w.put_rice(g, k);
            }
        }
    }
    offs.push(w.bit_len());
    Ok(EncodedGraph {
        bytes: w.into_bytes(),
        block_offsets: offs,
        edges,
    })
}

fn bad(detail: &str) -> Error {
    Error::corrupt("graph", detail)
}

/// Decode node `v`'s list from a reader positioned at the start of its block, skipping `skip` nodes
/// first. `n` bounds the ids; `out` receives the sorted neighbour ids.
pub fn decode_in_block(
    r: &mut BitReader<'_>,
    first_node: u64,
    skip: usize,
    n: u64,
    out: &mut Vec<u32>,
) -> Result<()> {
    for _ in 0..skip {
        let deg = r.get(7).ok_or_else(|| bad("truncated header"))?;
        if deg == 0 {
            continue;
        }
        r.gamma().ok_or_else(|| bad("truncated list"))?;
        if deg > 1 {
            let k = r.get(5).ok_or_else(|| bad("truncated header"))? as u32;
            for _ in 1..deg {
                r.rice(k).ok_or_else(|| bad("truncated list"))?;
            }
        }
    }
    let v = first_node + skip as u64;
    out.clear();
    let deg = r.get(7).ok_or_else(|| bad("truncated header"))? as usize;
    if deg == 0 {
        return Ok(());
    }
    let z = r.gamma().ok_or_else(|| bad("truncated list"))? - 1;
    if z > u32::MAX as u64 * 2 {
        return Err(bad("first id out of range"));
    }
    let first = v as i64 + unzigzag(z);
    if first < 0 || first as u64 >= n {
        return Err(bad("neighbour id out of range"));
    }
    out.push(first as u32);
    if deg > 1 {
        let k = r.get(5).ok_or_else(|| bad("truncated header"))? as u32;
        // Bound the ids while reading the gaps, then turn the gaps into ids with the SIMD prefix sum
        // (no u32 overflow possible: the total stays below n).
        let mut cur = first as u64;
        for _ in 1..deg {
            let step = r
                .rice(k)
                .ok_or_else(|| bad("truncated list"))?
                .saturating_add(1);
            cur = cur.saturating_add(step);
            if cur >= n {
                return Err(bad("neighbour id out of range"));
            }
            out.push(step as u32);
        }
        (crate::kernels::active().prefix_sum)(first as u32, &mut out[1..]);
    }
    Ok(())
}

/// Decode every list (for tests and tools).
pub fn decode_all(g: &EncodedGraph, n: usize) -> Result<Vec<Vec<u32>>> {
    let mut out = Vec::with_capacity(n);
    let mut buf = Vec::new();
    for v in 0..n {
        let b = v / BLOCK;
        let start = *g
            .block_offsets
            .get(b)
            .ok_or_else(|| bad("offset table short"))?;
        let mut r = BitReader::new(&g.bytes, start);
        decode_in_block(&mut r, (b * BLOCK) as u64, v % BLOCK, n as u64, &mut buf)?;
        out.push(buf.clone());
    }
    Ok(out)
}
