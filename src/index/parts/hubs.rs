//! Hub embeddings: sorted ids of the best-linked nodes and their f16 embeddings, served instead of
//! recomputing them (LEANN's hub cache; graph indexes only).
use super::{read_checked, u32s};
use crate::error::{Error, Result};
use crate::flash::{read_vec, FlashSource};
use crate::format::{Kind, Layout};
use alloc::vec::Vec;

/// The hub sections for `hubs` (sorted node ids) with rows of `vectors` (`n × dim`).
pub fn sections(hubs: &[u32], vectors: &[f32], dim: usize) -> Vec<(Kind, Vec<u8>)> {
    let rows = hubs
        .iter()
        .flat_map(|&h| &vectors[h as usize * dim..(h as usize + 1) * dim]);
    sections_of_rows(hubs, rows)
}

/// The hub sections for `hubs` (sorted node ids) with their embeddings `rows`, one after another.
pub fn sections_of_rows<'a>(
    hubs: &[u32],
    rows: impl IntoIterator<Item = &'a f32>,
) -> Vec<(Kind, Vec<u8>)> {
    if hubs.is_empty() {
        return Vec::new();
    }
    let ids = hubs.iter().flat_map(|h| h.to_le_bytes()).collect();
    let vecs = rows
        .into_iter()
        .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
        .collect();
    alloc::vec![(Kind::HubIds, ids), (Kind::HubVectors, vecs)]
}

/// The stored hubs of an open index.
#[derive(Clone, Debug, Default)]
pub struct Hubs {
    ids: Vec<u32>,
    /// Offset of the f16 vectors.
    vecs: u64,
    dim: usize,
}

impl Hubs {
    /// Read `count` hubs of dimension `dim` among `n` nodes.
    pub fn read<S: FlashSource + ?Sized>(
        src: &S,
        layout: &Layout,
        count: u64,
        n: u64,
        dim: usize,
    ) -> Result<Self> {
        if count == 0 {
            return Ok(Hubs::default());
        }
        let hi = layout.need(Kind::HubIds)?;
        let hv = layout.need(Kind::HubVectors)?;
        if count > n || hi.len != count * 4 || hv.len != count * dim as u64 * 2 {
            return Err(Error::corrupt(
                "hub_ids",
                "sizes do not match the hub count",
            ));
        }
        let ids = u32s(&read_checked(src, &hi, 4 * n)?);
        if ids.windows(2).any(|w| w[0] >= w[1]) || ids.last().is_some_and(|&l| l as u64 >= n) {
            return Err(Error::corrupt("hub_ids", "ids not sorted or out of range"));
        }
        Ok(Hubs {
            ids,
            vecs: hv.offset,
            dim,
        })
    }

    /// Append the stored embedding of `id` to `out` if it is a hub; false otherwise.
    pub fn vector<S: FlashSource + ?Sized>(
        &self,
        src: &S,
        id: u32,
        out: &mut Vec<f32>,
    ) -> Result<bool> {
        let Ok(pos) = self.ids.binary_search(&id) else {
            return Ok(false);
        };
        let b = read_vec(src, self.vecs + (pos * self.dim * 2) as u64, self.dim * 2)?;
        out.extend(
            b.chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()),
        );
        Ok(true)
    }
}
