//! The graph: block offsets (u64 bit offsets, one per block of [`BLOCK`] nodes, plus the end) and
//! the bit-packed neighbour lists ([`crate::graph::codec`]). Scan indexes have neither.
use crate::error::{Error, Result};
use crate::flash::{read_vec, FlashSource};
use crate::format::{Kind, Layout, Sections};
use crate::graph::codec::{decode_in_block, encode, BLOCK};
use alloc::vec::Vec;

/// The graph sections for adjacency lists `adj`, and the edge count.
pub fn sections(adj: &[Vec<u32>]) -> Result<(Sections, u64)> {
    let eg = encode(adj)?;
    let offsets = eg
        .block_offsets
        .iter()
        .flat_map(|o| o.to_le_bytes())
        .collect();
    let parts = alloc::vec![(Kind::GraphOffsets, offsets), (Kind::Graph, eg.bytes)];
    Ok((parts, eg.edges))
}

/// Where an open index keeps its graph.
#[derive(Clone, Copy, Debug)]
pub struct GraphPart {
    offsets: u64,
    graph: (u64, u64),
    n: u64,
}

/// Most bits one block of the graph can take (headers plus the widest lists).
const MAX_BLOCK_BITS: u64 = (BLOCK as u64) * (80 + 127 * 96);

impl GraphPart {
    /// The graph of an index of `n` nodes, `None` for a scan index (format 3, no edges).
    pub fn read(layout: &Layout, n: u64, edges: u64) -> Result<Option<Self>> {
        match (layout.get(Kind::GraphOffsets), layout.get(Kind::Graph)) {
            (Some(go), Some(g)) => {
                let blocks = n.div_ceil(BLOCK as u64);
                if go.len != (blocks + 1) * 8 {
                    return Err(Error::corrupt(
                        "graph_offsets",
                        "length does not match the node count",
                    ));
                }
                Ok(Some(GraphPart {
                    offsets: go.offset,
                    graph: (g.offset, g.len),
                    n,
                }))
            }
            (None, None) if edges == 0 && layout.version >= 3 => Ok(None),
            (None, _) => Err(Error::MissingSection(Kind::GraphOffsets.name())),
            (_, None) => Err(Error::MissingSection(Kind::Graph.name())),
        }
    }

    /// Neighbours of node `v` into `out`, read from flash.
    pub fn neighbors<S: FlashSource + ?Sized>(
        &self,
        src: &S,
        v: u32,
        out: &mut Vec<u32>,
    ) -> Result<()> {
        if v as u64 >= self.n {
            return Err(Error::InvalidParam(alloc::format!("node {v} out of range")));
        }
        let b = v as u64 / BLOCK as u64;
        let e = read_vec(src, self.offsets + b * 8, 16)?;
        let start = u64::from_le_bytes(e[..8].try_into().unwrap_or([0; 8]));
        let end = u64::from_le_bytes(e[8..].try_into().unwrap_or([0; 8]));
        if end < start || end - start > MAX_BLOCK_BITS || end.div_ceil(8) > self.graph.1 {
            return Err(Error::corrupt(
                "graph_offsets",
                alloc::format!("block {b} range {start}..{end} invalid"),
            ));
        }
        let first = start / 8;
        let bytes = read_vec(
            src,
            self.graph.0 + first,
            (end.div_ceil(8) - first) as usize,
        )?;
        let mut r = crate::bits::BitReader::new(&bytes, start % 8);
        let first_node = b * BLOCK as u64;
        decode_in_block(
            &mut r,
            first_node,
            (v as u64 % BLOCK as u64) as usize,
            self.n,
            out,
        )
    }
}
