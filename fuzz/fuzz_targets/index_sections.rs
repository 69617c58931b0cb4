//! A valid index with one section's bytes mutated and every checksum recomputed, so the mutation
//! reaches the section parsers instead of stopping at a CRC.
#![no_main]
use leann_edge::embed::TableEmbedder;
use leann_edge::flash::SliceSource;
use leann_edge::index::{BuildParams, Index, IndexBuilder, Navigation, OpenOptions};
use leann_edge::passages::{PassageRecord, Source};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "common.rs"]
mod common;

const HEADER: usize = 24;
const ENTRY: usize = 24;

/// One scan and one graph index of 200 passages (ids, titles, sources and metadata on some), built once.
fn seeds() -> &'static [Vec<u8>] {
    static S: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    S.get_or_init(|| {
        let dim = 16;
        let n = 200;
        let mut rows = Vec::new();
        let mut keys = Vec::new();
        let mut recs = Vec::new();
        for i in 0..n {
            let mut v: Vec<f32> = (0..dim).map(|j| (((i * 31 + j * 7) % 23) as f32) - 11.0).collect();
            leann_edge::kernels::normalize(&mut v);
            rows.extend(v);
            let mut r = PassageRecord::plain(&format!("passage {i}"));
            if i % 3 == 0 {
                r.id = Some(format!("doc:{i}"));
                r.title = format!("T{i}");
            } else if i % 3 == 1 {
                r.source = Some(Source { path: format!("f{}.md", i % 5), byte_start: 0, byte_end: 9, line: 1 });
            }
            if i % 4 != 0 {
                use leann_edge::metadata::MetaValue;
                r.metadata = vec![
                    ("lang".into(), MetaValue::Text(["en", "de", "fr"][i % 3].into())),
                    ("year".into(), MetaValue::Number(format!("{}", 2000 + i % 7))),
                ];
            }
            keys.push(r.embed_input());
            recs.push(r);
        }
        let emb = TableEmbedder::new(dim, keys, rows.clone());
        let dir = tempfile::tempdir().unwrap();
        [Navigation::Scan, Navigation::Graph]
            .into_iter()
            .map(|navigation| {
                let path = dir.path().join("s.leann");
                let mut b = IndexBuilder::new(BuildParams { pq_subspaces: 4, pq_auto: false, pq_rotate_dim: 8, navigation, hub_cache_bytes: 2000, ..BuildParams::default() });
                for r in &recs {
                    b.add_passage(r.clone());
                }
                b.build_with_vectors(&rows, dim, &leann_edge::Embedder::fingerprint(&emb), &path).unwrap();
                std::fs::read(&path).unwrap()
            })
            .collect()
    })
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let mut file = seeds()[data[0] as usize % 2].clone();
    let count = u32_at(&file, 12) as usize;
    let s = data[1] as usize % count;
    let e = HEADER + s * ENTRY;
    let (off, len) = (u64_at(&file, e + 8) as usize, u64_at(&file, e + 16) as usize);
    if len == 0 {
        return;
    }
    // data[2..]: (position, xor) pairs inside the section.
    for pair in data[2..].chunks_exact(3) {
        let pos = u16::from_le_bytes([pair[0], pair[1]]) as usize % len;
        file[off + pos] ^= pair[2];
    }
    let crc = crc32fast::hash(&file[off..off + len]);
    file[e + 4..e + 8].copy_from_slice(&crc.to_le_bytes());
    // Format 8: the block CRCs (the last section) follow the mutation too, so the parsers, not
    // the checksums, meet the mutated bytes (unless the block CRCs themselves were mutated).
    let last = HEADER + (count - 1) * ENTRY;
    if u32_at(&file, last) == 16 && s != count - 1 {
        let (boff, blen) = (u64_at(&file, last + 8) as usize, u64_at(&file, last + 16) as usize);
        let crcs: Vec<u8> = file[HEADER + count * ENTRY..boff]
            .chunks(4096)
            .flat_map(|c| crc32fast::hash(c).to_le_bytes())
            .collect();
        if crcs.len() == blen {
            file[boff..boff + blen].copy_from_slice(&crcs);
            let c = crc32fast::hash(&crcs);
            file[last + 4..last + 8].copy_from_slice(&c.to_le_bytes());
        }
    }
    let table = crc32fast::hash(&file[HEADER..HEADER + count * ENTRY]);
    file[16..20].copy_from_slice(&table.to_le_bytes());
    let header = crc32fast::hash(&file[..HEADER - 4]);
    file[20..24].copy_from_slice(&header.to_le_bytes());
    if let Ok(idx) = Index::from_source(SliceSource::new(&file[..]), &OpenOptions::verified()) {
        common::exercise(&idx);
    }
});
