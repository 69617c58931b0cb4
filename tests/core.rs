mod common;
use leann_edge::cache::NeighborCache;
use leann_edge::error::Error;
use leann_edge::flash::{EmbeddedIoSource, SliceSource};
use leann_edge::index::{BuildParams, Index, IndexBuilder, Navigation, OpenOptions};
use leann_edge::passages::{PassageRecord, Source};
use leann_edge::search::SearchParams;
use proptest::prelude::*;

fn build(
    n: usize,
    dim: usize,
    params: BuildParams,
    path: &std::path::Path,
) -> (Vec<f32>, leann_edge::embed::TableEmbedder) {
    let rows = common::clustered(n, dim, 8, 0.5, 3);
    let mut b = IndexBuilder::new(params);
    let mut keys = Vec::new();
    for r in golden_records(n) {
        keys.push(r.embed_input());
        b.add_passage(r);
    }
    let emb = leann_edge::embed::TableEmbedder::new(dim, keys, rows.clone());
    b.build_with_vectors(
        emb.rows(),
        dim,
        &leann_edge::Embedder::fingerprint(&emb),
        path,
    )
    .unwrap();
    (rows, emb)
}

/// A raw-flash stand-in speaking embedded-io.
struct MemFlash {
    data: Vec<u8>,
    pos: usize,
}
impl embedded_io::ErrorType for MemFlash {
    type Error = core::convert::Infallible;
}
impl embedded_io::Read for MemFlash {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
impl embedded_io::Seek for MemFlash {
    fn seek(&mut self, pos: embedded_io::SeekFrom) -> Result<u64, Self::Error> {
        if let embedded_io::SeekFrom::Start(p) = pos {
            self.pos = (p as usize).min(self.data.len());
        }
        Ok(self.pos as u64)
    }
}

/// A small 16-dimensional index (4 PQ sub-spaces of 4 dimensions).
fn build_dim16(n: usize, path: &std::path::Path) -> (Vec<f32>, leann_edge::embed::TableEmbedder) {
    let p = BuildParams {
        pq_subspaces: 4,
        pq_auto: false,
        navigation: Navigation::Graph,
        ..BuildParams::default()
    };
    build(n, 16, p, path)
}

/// OPQ 32 -> 32 + PQ 8 x 8 bits, kept even for these small corpora (`pq_auto` off) so the tests
/// cover the projection section; with a graph (these corpora would otherwise get scan search).
fn small_params() -> BuildParams {
    BuildParams {
        pq_subspaces: 8,
        pq_auto: false,
        navigation: Navigation::Graph,
        ..BuildParams::default()
    }
}

#[test]
fn format_round_trip_through_every_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.leann");
    let (rows, emb) = build(600, 32, small_params(), &path);
    let bytes = std::fs::read(&path).unwrap();
    let mmap = Index::open(&path).unwrap();
    let file = Index::open_file(&path, &OpenOptions::verified()).unwrap();
    let slice =
        Index::from_source(SliceSource::new(bytes.clone()), &OpenOptions::verified()).unwrap();
    let dev = Index::from_source(
        EmbeddedIoSource::new(
            MemFlash {
                data: bytes.clone(),
                pos: 0,
            },
            bytes.len() as u64,
        ),
        &OpenOptions::verified(),
    )
    .unwrap();
    assert_eq!(mmap.len(), 600);
    for i in [0u32, 1, 2, 299, 599] {
        let p = mmap.passage(i).unwrap();
        assert_eq!(p, file.passage(i).unwrap());
        assert_eq!(p, slice.passage(i).unwrap());
        assert_eq!(p, dev.passage(i).unwrap());
        assert_eq!(p.text, format!("p{i}"));
        match i % 3 {
            0 => assert_eq!(
                (p.id.as_str(), p.title.as_str()),
                (
                    format!("doc:{}:{i}", i / 10).as_str(),
                    format!("Title ü {i}").as_str()
                )
            ),
            1 => assert_eq!(p.source.unwrap().line, i as u64 + 1),
            _ => assert!(p.source.is_none()),
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        mmap.neighbors(i, &mut a).unwrap();
        dev.neighbors(i, &mut b).unwrap();
        assert_eq!(a, b);
        assert!(!a.is_empty());
    }
    let q = &rows[7 * 32..8 * 32];
    let p = SearchParams::default();
    let r1 = mmap.search(q, &emb, &p).unwrap();
    let r2 = file.search(q, &emb, &p).unwrap();
    assert_eq!(r1.hits, r2.hits);
    assert_eq!(r1.hits[0].id, 7);
    assert!(r2.stats.bytes_read > 0);
}

#[test]
fn same_seed_gives_byte_identical_index() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.leann"), dir.path().join("b.leann"));
    build(1500, 32, small_params(), &a);
    build(1500, 32, small_params(), &b);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let mut p = small_params();
    p.graph.seed = 7;
    let c = dir.path().join("c.leann");
    build(1500, 32, p, &c);
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}

#[test]
fn every_truncation_and_corruption_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.leann");
    build_dim16(300, &path);
    let bytes = std::fs::read(&path).unwrap();
    let open = |b: Vec<u8>| Index::from_source(SliceSource::new(b), &OpenOptions::verified());
    // every truncation length
    for len in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
        assert!(
            open(bytes[..len].to_vec()).is_err(),
            "truncated to {len} opened"
        );
    }
    // a flipped byte anywhere is caught by a checksum (or the structure checks)
    for pos in (0..bytes.len()).step_by(11) {
        let mut b = bytes.clone();
        b[pos] ^= 0x5a;
        assert!(open(b).is_err(), "flip at {pos} opened");
    }
    // Without checksum verification, decoding corrupt bytes still never panics.
    for pos in (200..bytes.len()).step_by(13) {
        let mut b = bytes.clone();
        b[pos] ^= 0xff;
        if let Ok(idx) = Index::from_source(
            SliceSource::new(b),
            &OpenOptions {
                verify_checksums: false,
                unchecked_reads: true,
            },
        ) {
            let mut out = Vec::new();
            for v in 0..idx.len() as u32 {
                let _ = idx.neighbors(v, &mut out);
                let _ = idx.passage(v);
            }
        }
    }
    // typed errors
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(matches!(open(b), Err(Error::BadMagic)));
    let mut b = bytes.clone();
    b[8] = 99;
    assert!(matches!(
        open(b),
        Err(Error::UnsupportedVersion { found: 99, .. })
    ));
    assert!(matches!(
        open(bytes[..20].to_vec()),
        Err(Error::Truncated { .. })
    ));
    let mut b = bytes.clone();
    let last = b.len() - 1;
    b[last] ^= 1;
    assert!(matches!(open(b), Err(Error::Checksum { .. })));
}

#[test]
fn open_checks_structure_and_verify_checks_every_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.leann");
    build_dim16(300, &path);
    let mut bytes = std::fs::read(&path).unwrap();
    let text = Index::open(&path)
        .unwrap()
        .layout()
        .get(leann_edge::format::Kind::PassageText)
        .unwrap();
    bytes[(text.offset + text.len / 2) as usize] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    // Open reads only what it needs: a flipped byte in the passage text is not read at open.
    let idx = Index::open(&path).unwrap();
    assert!(matches!(
        idx.verify(),
        Err(Error::Checksum {
            section: "passage_text",
            ..
        })
    ));
    let checked = Index::from_source(SliceSource::new(bytes.clone()), &OpenOptions::verified());
    assert!(checked.is_err());
    // A flipped byte in a section open reads whole (the PQ codebook) is refused at open.
    let mut b = std::fs::read(&path).unwrap();
    let cb = idx
        .layout()
        .get(leann_edge::format::Kind::PqCodebook)
        .unwrap();
    b[cb.offset as usize + 3] ^= 0x20;
    let e = Index::from_source(SliceSource::new(b), &OpenOptions::default()).err();
    assert!(
        matches!(
            e,
            Some(Error::Checksum {
                section: "pq_codebook",
                ..
            })
        ),
        "{e:?}"
    );
}

#[test]
fn the_build_plan_refuses_bad_parameters_before_any_work() {
    use leann_edge::index::BuildPlan;
    // A 50-d corpus: the automatic PQ fits its sub-spaces to the dimension...
    let auto = BuildParams {
        navigation: Navigation::Graph,
        ..BuildParams::default()
    };
    let plan = BuildPlan::new(&auto, 20_000, 50).unwrap();
    assert_eq!(50 % plan.pq_m, 0, "{plan:?}");
    // ...sub-spaces the caller chose that cannot fit are refused, with the choices that would.
    let explicit = BuildParams {
        pq_subspaces: 16,
        pq_rotate_dim: 0,
        pq_auto: false,
        navigation: Navigation::Graph,
        ..BuildParams::default()
    };
    let e = BuildPlan::new(&explicit, 20_000, 50)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("must divide") && e.contains("[1, 2, 5, 10, 25, 50]"),
        "{e}"
    );
    for bad in [
        BuildParams {
            pq_bits: 6,
            pq_auto: false,
            ..BuildParams::default()
        },
        BuildParams {
            budget_bytes_per_passage: Some(f32::NAN),
            ..BuildParams::default()
        },
        BuildParams {
            embed_batch: 0,
            ..BuildParams::default()
        },
    ] {
        assert!(BuildPlan::new(&bad, 1000, 384).is_err(), "{bad:?}");
    }
    // The same refusal from the builder, before the graph: no file is written.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.leann");
    let mut b = IndexBuilder::new(explicit);
    let rows: Vec<f32> = (0..50 * 100).map(|i| ((i * 7) % 13) as f32).collect();
    for i in 0..100 {
        b.add_passage(PassageRecord::plain(&format!("p{i}")));
    }
    assert!(b.build_with_vectors(&rows, 50, "t", &path).is_err());
    assert!(!path.exists());
}

#[test]
fn search_parameters_are_bounded() {
    let ok = SearchParams::default();
    ok.validate().unwrap();
    for bad in [
        SearchParams { k: 0, ..ok.clone() },
        SearchParams {
            k: 1_000_000_000_000,
            ..ok.clone()
        },
        SearchParams {
            ef: 1_000_000_000_000,
            ..ok.clone()
        },
        SearchParams {
            batch_size: 1_000_000_000_000,
            ..ok.clone()
        },
        SearchParams {
            rerank_ratio: 0.0,
            ..ok.clone()
        },
        SearchParams {
            rerank_ratio: f32::NAN,
            ..ok.clone()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
    assert!(leann_edge::search::check_query(&"word ".repeat(10_000)).is_err());
    assert!(leann_edge::search::check_query(" \n ").is_err());
}

#[test]
fn verify_catches_every_single_byte_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.leann");
    build_dim16(120, &path);
    let bytes = std::fs::read(&path).unwrap();
    for pos in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[pos] ^= flip;
            let caught = match Index::from_source(SliceSource::new(b), &OpenOptions::default()) {
                Err(_) => true,
                Ok(idx) => idx.verify().is_err(),
            };
            assert!(
                caught,
                "a flip of {flip:#x} at byte {pos} passed open + verify"
            );
        }
    }
    // Nor can bytes be added after the last section (format 4 leaves none outside a CRC).
    let mut b = bytes.clone();
    b.push(0);
    assert!(Index::from_source(SliceSource::new(b), &OpenOptions::default()).is_err());
}

#[test]
fn wrong_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.leann");
    build_dim16(200, &path);
    let other = common::table(&common::clustered(200, 16, 3, 0.5, 11), 16);
    let idx = Index::open(&path).unwrap();
    assert!(matches!(
        idx.searcher(&other, 8),
        Err(Error::ModelMismatch { .. })
    ));
}

#[test]
fn interrupted_write_keeps_the_old_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.leann");
    build_dim16(200, &path);
    let before = std::fs::read(&path).unwrap();
    // A build that fails (no passages) must not touch the existing file.
    let b = IndexBuilder::new(BuildParams::default());
    assert!(b.build_with_vectors(&[], 16, "x", &path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp")));
}

#[test]
fn cache_never_exceeds_its_bound() {
    let mut c = NeighborCache::new(64);
    let bytes = c.memory_bytes();
    let list: Vec<u32> = (0..100).collect();
    for v in 0..10_000u32 {
        c.insert(v, &list[..(v as usize % 100)]);
        assert!(c.len() <= 64);
        if v % 7 == 0 {
            assert_eq!(c.get(v).map(|l| l.len()), Some(v as usize % 100));
        }
    }
    assert_eq!(c.memory_bytes(), bytes);
    let s = c.stats();
    assert!(s.hits > 0);
    // Searching through a tiny cache works and counts misses.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.leann");
    let (rows, emb) = build_dim16(500, &path);
    let idx = Index::open(&path).unwrap();
    let mut s = idx.searcher(&emb, 4).unwrap();
    let r = s
        .search_vector(&rows[..16], &SearchParams::default())
        .unwrap();
    assert!(r.stats.cache_misses > 0);
    assert_eq!(r.hits[0].id, 0);
}

#[test]
fn budget_chooses_and_reports() {
    let hub = leann_edge::graph::prune::PruneParams::default();
    let c = leann_edge::index::choose_budget(28.0, 45_000, 384, 128, &hub).unwrap();
    assert!(c.estimate <= 28.0 + 1e-3, "{c:?}");
    assert!(c.degree >= 4 && 384 % c.pq_subspaces == 0);
    let big = leann_edge::index::choose_budget(64.0, 45_000, 384, 128, &hub).unwrap();
    assert!(big.degree >= c.degree);
    assert!(leann_edge::index::choose_budget(2.0, 45_000, 384, 128, &hub).is_err());
    // And the built index stays near the estimate.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.leann");
    build(
        3000,
        64,
        BuildParams {
            budget_bytes_per_passage: Some(24.0),
            navigation: Navigation::Graph,
            ..BuildParams::default()
        },
        &path,
    );
    let idx = Index::open(&path).unwrap();
    let br = idx.breakdown();
    let gp: u64 = br
        .parts
        .iter()
        .filter(|p| ["graph", "graph_offsets", "pq_codes", "pq_codebook"].contains(&p.0.as_str()))
        .map(|p| p.1)
        .sum();
    assert!(
        (gp as f64 / 3000.0) < 24.0 * 1.25,
        "graph+pq {} B/passage",
        gp as f64 / 3000.0
    );
}

#[test]
fn hub_cache_serves_vectors_without_recompute() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.leann");
    let (rows, emb) = build(
        1000,
        32,
        BuildParams {
            pq_subspaces: 8,
            hub_cache_bytes: 100 * (32 * 2 + 4),
            navigation: Navigation::Graph,
            ..BuildParams::default()
        },
        &path,
    );
    let idx = Index::open(&path).unwrap();
    assert_eq!(idx.meta().hub_vectors, 100);
    let r = idx
        .search(&rows[32 * 3..32 * 4], &emb, &SearchParams::default())
        .unwrap();
    assert!(r.stats.hub_hits > 0);
    assert_eq!(r.hits[0].id, 3);
}

proptest! {
    #[test]
    fn bitpacking_round_trips(vals in proptest::collection::vec((0u64..1 << 40, 0u32..41), 0..200)) {
        let mut w = leann_edge::bits::BitWriter::new();
        for &(v, k) in &vals {
            let v = v & ((1u64 << k) - 1);
            w.put(v, k);
            w.put_rice(v & 0xffff, k % 12);
            w.put_gamma(v + 1);
        }
        let bytes = w.into_bytes();
        let mut r = leann_edge::bits::BitReader::new(&bytes, 0);
        for &(v, k) in &vals {
            let v = v & ((1u64 << k) - 1);
            prop_assert_eq!(r.get(k), Some(v));
            prop_assert_eq!(r.rice(k % 12), Some(v & 0xffff));
            prop_assert_eq!(r.gamma(), Some(v + 1));
        }
    }

    #[test]
    fn graph_codec_round_trips(lists in proptest::collection::vec(proptest::collection::btree_set(0u32..5000, 0..40), 1..200)) {
        let n = 5000.max(lists.len());
        let mut adj: Vec<Vec<u32>> = lists.into_iter().map(|s| s.into_iter().collect()).collect();
        adj.resize(n, Vec::new());
        let enc = leann_edge::graph::codec::encode(&adj).unwrap();
        prop_assert_eq!(leann_edge::graph::codec::decode_all(&enc, n).unwrap(), adj);
    }

    #[test]
    fn pq_codes_round_trip_and_adc_matches_decoded_distance(seed in 0u64..1000, bits in prop_oneof![Just(4u32), Just(8u32)]) {
        let dim = 16;
        let rows = common::clustered(300, dim, 4, 0.5, seed);
        let pq = leann_edge::pq::train(&rows, dim, &leann_edge::pq::PqParams { m: 4, bits, sample: 300, iters: 5, seed, ..Default::default() }).unwrap();
        let again = leann_edge::pq::Pq::from_codebook_bytes(dim, 4, bits, &pq.codebook_bytes()).unwrap();
        prop_assert_eq!(&again, &pq);
        let q = &rows[..dim];
        let table = pq.table(q);
        for v in rows.chunks(dim).take(20) {
            let mut code = Vec::new();
            pq.encode(v, &mut code);
            prop_assert_eq!(code.len(), pq.code_bytes());
            // ADC distance = 1 - dot(q, reconstruction)
            let mut scratch = [0u8; 256];
            let c = pq.unpack(&code, &mut scratch).to_vec();
            let recon: Vec<f32> = (0..4).flat_map(|s| pq.centroids[(s * pq.ksub() + c[s] as usize) * 4..(s * pq.ksub() + c[s] as usize + 1) * 4].to_vec()).collect();
            let want = 1.0 - leann_edge::kernels::scalar::dot(q, &recon);
            prop_assert!((pq.distance(&table, &code) - want).abs() < 1e-4);
        }
    }
}

/// Mean |ADC distance - exact distance| over query × row pairs.
fn adc_error(pq: &leann_edge::pq::Pq, rows: &[f32], dim: usize) -> f64 {
    let mut sum = 0.0;
    let mut cnt = 0;
    let codes: Vec<Vec<u8>> = rows
        .chunks(dim)
        .take(500)
        .map(|v| {
            let mut c = Vec::new();
            pq.encode(v, &mut c);
            c
        })
        .collect();
    for q in rows.chunks(dim).skip(1000).take(50) {
        let table = pq.table(q);
        for (v, c) in rows.chunks(dim).zip(&codes) {
            let exact = 1.0 - leann_edge::kernels::scalar::dot(q, v);
            sum += (pq.distance(&table, c) - exact).abs() as f64;
            cnt += 1;
        }
    }
    sum / cnt as f64
}

#[test]
fn opq_learns_an_orthonormal_projection_that_beats_a_random_one() {
    use leann_edge::pq::{train, PqParams};
    let dim = 32;
    // Anisotropic: most of the variance sits in the first 8 coordinates (PQ's first sub-space).
    let mut rows = common::clustered(3000, dim, 24, 0.4, 3);
    for r in rows.chunks_mut(dim) {
        for x in r.iter_mut().skip(8) {
            *x *= 0.15;
        }
        leann_edge::kernels::normalize(r);
    }
    let p = |rotate_dim, opq_iters| PqParams {
        m: 4,
        bits: 4,
        sample: 3000,
        iters: 10,
        seed: 1,
        rotate_dim,
        opq_iters,
    };
    let plain = train(&rows, dim, &p(0, 0)).unwrap();
    let random = train(&rows, dim, &p(dim, 0)).unwrap();
    let learned = train(&rows, dim, &p(dim, 10)).unwrap();
    assert!(plain.rotation.is_none());
    let r = learned.rotation.as_ref().unwrap();
    assert_eq!((r.in_dim, r.out_dim, learned.dim), (dim, dim, dim));
    for i in 0..dim {
        for j in 0..dim {
            let d = leann_edge::kernels::scalar::dot(
                &r.rows[i * dim..(i + 1) * dim],
                &r.rows[j * dim..(j + 1) * dim],
            );
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((d - want).abs() < 1e-2, "R Rt[{i},{j}] = {d}");
        }
    }
    let (e_plain, e_random, e_learned) = (
        adc_error(&plain, &rows, dim),
        adc_error(&random, &rows, dim),
        adc_error(&learned, &rows, dim),
    );
    assert!(
        e_learned < 0.95 * e_random && e_learned < e_plain,
        "ADC error: plain {e_plain:.4} random rotation {e_random:.4} OPQ {e_learned:.4}"
    );
    // A projection to fewer dimensions: codes over 16 dims, queries still given in 32.
    let reduced = train(&rows, dim, &p(16, 4)).unwrap();
    assert_eq!(
        (reduced.dim, reduced.input_dim(), reduced.code_bytes()),
        (16, dim, 2)
    );
    assert!(adc_error(&reduced, &rows, dim) < 0.5);
    // Serialisation round trip, and a rotation that does not fit the index dimension is refused.
    let bytes = r.to_bytes();
    assert_eq!(
        &leann_edge::pq::Rotation::from_bytes(dim, &bytes).unwrap(),
        r
    );
    assert!(leann_edge::pq::Rotation::from_bytes(64, &bytes).is_err());
    assert!(leann_edge::pq::Rotation::from_bytes(dim, &bytes[..bytes.len() - 1]).is_err());
    assert!(leann_edge::pq::Rotation::from_bytes(dim, &bytes[..4]).is_err());
    // Bad shapes are parameter errors, not panics.
    assert!(train(&rows, dim, &p(64, 2)).is_err());
    assert!(train(&rows, dim, &p(18, 2)).is_err());
}

#[test]
fn format_8_is_written_and_golden_format_1_to_7_files_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let version = |b: &[u8]| u16::from_le_bytes([b[8], b[9]]);
    let (with, without) = (dir.path().join("opq.leann"), dir.path().join("plain.leann"));
    let (rows, emb) = build(800, 32, small_params(), &with);
    build(
        800,
        32,
        BuildParams {
            pq_rotate_dim: 0,
            ..small_params()
        },
        &without,
    );
    for path in [&with, &without] {
        assert_eq!(version(&std::fs::read(path).unwrap()), 8);
        let idx = Index::open(path).unwrap();
        assert_eq!(idx.pq().rotation.is_some(), path == &with);
        // The typed build record says what the build chose, in fields.
        let rec = idx.build_record();
        let g = rec.graph.as_ref().expect("a graph index records its graph");
        assert_eq!(g.max_degree as usize, small_params().graph.max_degree);
        assert_eq!(rec.pq.m, idx.meta().pq_m);
        assert_eq!(
            rec.pq.rotate_dim as usize,
            idx.pq().rotation.as_ref().map_or(0, |r| r.out_dim)
        );
        assert!(!rec.updated_in_place);
        let r = idx
            .search(&rows[5 * 32..6 * 32], &emb, &SearchParams::default())
            .unwrap();
        assert_eq!(r.hits[0].id, 5);
    }
    // Golden files written by the last format-1/2/3/4/5/6 builds (tests/fixtures/format{1..6}.leann:
    // 300 passages, 16-d, the records of `golden_records`): still opened, searched and decoded;
    // 1-5 have no PQ calibration, so their searches recompute the fixed count; none has a typed
    // build record, so theirs is read from the build text.
    let n = 300;
    let grows = common::clustered(n, 16, 8, 0.5, 3);
    let recs = golden_records(n);
    let gemb = leann_edge::embed::TableEmbedder::new(
        16,
        recs.iter().map(|r| r.embed_input()).collect(),
        grows.clone(),
    );
    for (v, name, rotated) in [
        (1u16, "format1.leann", false),
        (2, "format2.leann", true),
        (3, "format3.leann", true),
        (4, "format4.leann", true),
        (5, "format5.leann", true),
        (6, "format6.leann", true),
        (7, "format7.leann", true),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        assert_eq!(version(&std::fs::read(&path).unwrap()), v);
        let idx = Index::open(&path).unwrap();
        assert!(idx.has_graph());
        assert_eq!(idx.calibration().is_none(), v < 6, "{name}");
        let g = idx.build_record().graph.as_ref();
        assert!(
            g.is_some_and(|g| g.max_degree > 0 && g.beam > 0),
            "{name}: {:?}",
            idx.build_record()
        );
        assert_eq!(idx.pq().rotation.is_some(), rotated);
        for i in [0u32, 1, 2, 15, 16, 17, 150, 299] {
            let p = idx.passage(i).unwrap();
            let want = &recs[i as usize];
            assert_eq!(p.id, want.id.clone().unwrap_or_default(), "{name} {i}");
            assert_eq!(
                (&p.title, &p.text, &p.source),
                (&want.title, &want.text, &want.source)
            );
        }
        for q in [5usize, 77, 201] {
            let r = idx
                .search(
                    &grows[q * 16..(q + 1) * 16],
                    &gemb,
                    &SearchParams::default(),
                )
                .unwrap();
            assert_eq!(r.hits[0].id, q as u32, "{name}");
            if v < 6 {
                assert_eq!(
                    r.stats.recomputed as usize,
                    leann_edge::search::rerank_count(&SearchParams::default()),
                    "{name}: no calibration, the fixed count"
                );
            }
        }
    }
    // Left to itself (pq_auto), a graph index under 1,000 passages gets plain 4-bit PQ on twice the
    // sub-spaces (the projection and 256-centroid codebooks would outweigh the codes); from 1,000 the
    // projection stays, still with 4-bit codes.
    for (n, name, want_rotation) in [(800, "auto.leann", false), (1200, "mid.leann", true)] {
        let path = dir.path().join(name);
        build(
            n,
            32,
            BuildParams {
                pq_subspaces: 8,
                navigation: Navigation::Graph,
                ..BuildParams::default()
            },
            &path,
        );
        let idx = Index::open(&path).unwrap();
        assert_eq!(idx.pq().rotation.is_some(), want_rotation, "{n} passages");
        assert_eq!((idx.pq().m, idx.pq().bits), (16, 4), "{n} passages");
    }
    let mut b = std::fs::read(&with).unwrap();
    b[8] = 9;
    let bad = dir.path().join("v9.leann");
    std::fs::write(&bad, &b).unwrap();
    let e = Index::open(&bad)
        .err()
        .expect("version 9 must be refused")
        .to_string();
    assert!(e.contains("version 9") && e.contains("1 to 8"), "{e}");
}

/// The passage records of every test index here, and of the golden format-1/2 files: ids, titles
/// and sources on different thirds of them.
fn golden_records(n: usize) -> Vec<PassageRecord> {
    (0..n)
        .map(|i| {
            let mut r = PassageRecord::plain(&format!("p{i}"));
            if i % 3 == 0 {
                r.id = Some(format!("doc:{}:{i}", i / 10));
                r.title = format!("Title ü {i}");
            }
            if i % 3 == 1 {
                r.source = Some(Source {
                    path: format!("dir/f{}.md", i % 4),
                    byte_start: i as u64 * 10,
                    byte_end: i as u64 * 10 + 7,
                    line: i as u64 + 1,
                });
            }
            r
        })
        .collect()
}

#[test]
fn scan_index_stores_no_graph_and_ranks_like_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let (dim, n) = (32, 3000);
    // Auto picks scan for a corpus this small; an explicit Scan gives the same file.
    let (auto, scan) = (dir.path().join("auto.leann"), dir.path().join("scan.leann"));
    let (rows, emb) = build(n, dim, BuildParams::default(), &auto);
    build(
        n,
        dim,
        BuildParams {
            navigation: Navigation::Scan,
            ..BuildParams::default()
        },
        &scan,
    );
    assert_eq!(std::fs::read(&auto).unwrap(), std::fs::read(&scan).unwrap());
    let idx = Index::open(&scan).unwrap();
    assert!(!idx.has_graph());
    let br = idx.breakdown();
    let names: Vec<&str> = br.parts.iter().map(|p| p.0.as_str()).collect();
    for absent in ["graph", "graph_offsets", "seeds"] {
        assert!(!names.contains(&absent), "{names:?}");
    }
    assert!(idx.neighbors(0, &mut Vec::new()).is_err());
    // Recall@3 against brute force over the same vectors, with the fixed recompute count.
    let p = SearchParams {
        recall: 0.0,
        ..SearchParams::default()
    };
    let mut hit = 0;
    let queries: Vec<usize> = (0..n).step_by(37).collect();
    for &q in &queries {
        let qv = &rows[q * dim..(q + 1) * dim];
        let mut exact: Vec<(f32, u32)> = (0..n)
            .map(|i| {
                (
                    -leann_edge::kernels::dot(qv, &rows[i * dim..(i + 1) * dim]),
                    i as u32,
                )
            })
            .collect();
        exact.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let r = idx.search(qv, &emb, &p).unwrap();
        assert_eq!(r.stats.pq_distances, n as u64);
        assert_eq!(r.stats.hops, 0);
        assert_eq!(
            r.stats.recomputed as usize,
            leann_edge::search::rerank_count(&p)
        );
        hit += exact[..3]
            .iter()
            .filter(|e| r.hits.iter().any(|h| h.id == e.1))
            .count();
    }
    let recall = hit as f64 / (3 * queries.len()) as f64;
    assert!(recall >= 0.9, "recall@3 {recall}");
    // Positioned reads (no map) stream the code section in chunks: the same hits.
    let file = Index::open_file(&scan, &OpenOptions::verified()).unwrap();
    for q in [3usize, 1500, 2999] {
        let qv = &rows[q * dim..(q + 1) * dim];
        let (a, b) = (
            idx.search(qv, &emb, &p).unwrap(),
            file.search(qv, &emb, &p).unwrap(),
        );
        assert_eq!(a.hits, b.hits);
        assert!(b.stats.bytes_read >= (n * idx.pq().code_bytes()) as u64);
    }
    // Every passage record survives (ids, titles, sources).
    for i in [0u32, 1, 2, 63, 64, 65, 2999] {
        let got = idx.passage(i).unwrap();
        assert_eq!(got.text, format!("p{i}"));
        if i % 3 == 0 {
            assert_eq!(got.id, format!("doc:{}:{i}", i / 10));
        }
    }
    // Corruption of a scan index is an error, never a panic.
    let bytes = std::fs::read(&scan).unwrap();
    for pos in (0..bytes.len()).step_by(997) {
        let mut b = bytes.clone();
        b[pos] ^= 0x5a;
        assert!(
            Index::from_source(SliceSource::new(b), &OpenOptions::verified()).is_err(),
            "flip at {pos} opened"
        );
    }
    // A graph index of the same corpus is bigger by its graph.
    let graph = dir.path().join("graph.leann");
    build(
        n,
        dim,
        BuildParams {
            navigation: Navigation::Graph,
            ..BuildParams::default()
        },
        &graph,
    );
    let g = Index::open(&graph).unwrap();
    assert!(g.has_graph());
    assert!(g.breakdown().overhead > idx.breakdown().overhead);
}

#[test]
fn scan_pq_fits_its_budget_at_every_corpus_size() {
    use leann_edge::index::{choose_budget_scan, SCAN_PQ_BUDGET};
    let code = |c: &leann_edge::index::BudgetChoice| {
        if c.pq_bits == 8 {
            c.pq_subspaces
        } else {
            c.pq_subspaces.div_ceil(2)
        }
    };
    let mut last_code = 0;
    for n in [10_000usize, 45_634, 200_000, 1_000_000] {
        let c = choose_budget_scan(SCAN_PQ_BUDGET, n, 384).unwrap();
        assert!(c.estimate <= SCAN_PQ_BUDGET, "{n}: {c:?}");
        // Projected: 8 dims per 8-bit sub-space or 4 per 4-bit one.
        assert_eq!(
            c.pq_rotate_dim,
            c.pq_subspaces * if c.pq_bits == 8 { 8 } else { 4 },
            "{n}"
        );
        // The fixed costs shrink per passage as the corpus grows: never fewer code bytes.
        assert!(code(&c) >= last_code && code(&c) >= 8, "{n}: {c:?}");
        last_code = code(&c);
    }
    assert_eq!(last_code, 24);
    // docs-faq's size gets the 21-byte codes the README measures.
    let d = choose_budget_scan(SCAN_PQ_BUDGET, 45_634, 384).unwrap();
    assert_eq!((d.pq_subspaces, d.pq_bits, d.pq_rotate_dim), (42, 4, 168));
    // The default floor (160 KB in all) keeps a projection for small corpora.
    let small = SCAN_PQ_BUDGET.max(leann_edge::index::SCAN_PQ_MIN_BYTES as f32 / 3000.0);
    let c = choose_budget_scan(small, 3000, 384).unwrap();
    assert!(c.pq_rotate_dim > 0 && code(&c) >= 16, "{c:?}");
    // A tiny corpus cannot afford a projection: raw 4-bit PQ, whatever the budget says.
    let t = choose_budget_scan(SCAN_PQ_BUDGET, 50, 384).unwrap();
    assert_eq!((t.pq_rotate_dim, t.pq_subspaces, t.pq_bits), (0, 32, 4));
    assert!(choose_budget_scan(0.0, 1000, 384).is_err());
    assert!(choose_budget_scan(f32::NAN, 1000, 384).is_err());
}

#[test]
fn successor_ids_cost_a_bit_and_decode_exactly() {
    use leann_edge::passages::successor_id;
    assert_eq!(successor_id("doc9").as_deref(), Some("doc10"));
    assert_eq!(successor_id("p:007").as_deref(), Some("p:008"));
    assert_eq!(successor_id("a099").as_deref(), Some("a100"));
    assert_eq!(successor_id("12").as_deref(), Some("13"));
    assert_eq!(successor_id("abc"), None);
    assert_eq!(successor_id(""), None);
    assert_eq!(successor_id("x9999999999999999999"), None);
    // 5,000 sequential ids in 50 documents: the id section is well under a byte per passage.
    let recs: Vec<PassageRecord> = (0..5000)
        .map(|i| PassageRecord {
            id: Some(format!("py:library/mod{}:{}", i / 100, i)),
            ..PassageRecord::plain("x")
        })
        .collect();
    let enc = leann_edge::passages::encode(&recs);
    assert!(enc.ids.len() < 5000, "{} bytes of ids", enc.ids.len());
    let src = SliceSource::new(enc.ids.clone());
    let r = leann_edge::passages::PassageReader::new(
        5000,
        (0, 0),
        (0, 5000usize.div_ceil(64) as u64 * 16),
        (0, enc.ids.len() as u64),
        3,
    )
    .unwrap();
    for i in [0u64, 1, 63, 64, 99, 100, 101, 4999] {
        let (id, s) = r.id_source(&src, i, &enc.sources).unwrap();
        assert_eq!(Some(id), recs[i as usize].id, "{i}");
        assert!(s.is_none());
    }
}

proptest! {
    #[test]
    fn passage_ids_and_sources_round_trip(kinds in proptest::collection::vec((0u8..6, 0u32..30), 1..300)) {
        // Mixed runs: successors, gaps, non-numeric ids, missing ids, sources, non-ASCII.
        let mut recs = Vec::new();
        let mut num = 0u32;
        for (i, &(k, jump)) in kinds.iter().enumerate() {
            let mut r = PassageRecord::plain(&format!("t{i}"));
            match k {
                0 | 1 => { num += 1; r.id = Some(format!("doc:{num}")); }
                2 => { num += jump; r.id = Some(format!("doc:{num:03}")); }
                3 => r.id = Some(format!("ünï-{jump}x")),
                4 => r.source = Some(Source { path: format!("f{jump}.md"), byte_start: jump as u64, byte_end: jump as u64 + 9, line: 3 }),
                _ => {}
            }
            recs.push(r);
        }
        let n = recs.len();
        let enc = leann_edge::passages::encode(&recs);
        let mut all = enc.offsets.clone();
        let text_len = enc.text.len() as u64;
        let offs = (text_len, enc.offsets.len() as u64);
        let ids = (text_len + enc.offsets.len() as u64, enc.ids.len() as u64);
        let mut bytes = enc.text.clone();
        bytes.append(&mut all);
        bytes.extend_from_slice(&enc.ids);
        let src = SliceSource::new(bytes);
        let r = leann_edge::passages::PassageReader::new(n as u64, (0, text_len), offs, ids, 3).unwrap();
        for (i, want) in recs.iter().enumerate() {
            let (id, s) = r.id_source(&src, i as u64, &enc.sources).unwrap();
            prop_assert_eq!(id, want.id.clone().unwrap_or_default());
            prop_assert_eq!(&s, &want.source);
            let (_, text) = r.text(&src, i as u64).unwrap();
            prop_assert_eq!(text, want.text.clone());
        }
    }
}

/// Writes `tests/fixtures/format{VERSION}.leann`, the golden file of the format this build writes
/// (300 passages, 16-d, `golden_records`, a graph with an OPQ projection). Run once when the format
/// version changes, before the bump: `cargo test --release --test core write_golden -- --ignored`.
#[test]
#[ignore]
fn write_golden_file_of_the_current_format() {
    let name = format!("format{}.leann", leann_edge::format::VERSION);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let params = BuildParams {
        pq_rotate_dim: 8,
        ..small_params()
    };
    build(300, 16, params, &path);
}

#[test]
fn a_file_replaced_in_place_gives_errors_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.leann");
    let (rows, emb) = build(300, 16, small_params(), &path);
    let idx = Index::open_file(&path, &OpenOptions::default()).unwrap();
    idx.search(&rows[..16], &emb, &SearchParams::default())
        .unwrap();
    // Truncated in place (what `cp new old` does first): through positioned reads every read past
    // the new end is an error; a memory map would fault (SIGBUS) here.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(64).unwrap();
    drop(f);
    assert!(idx
        .search(&rows[..16], &emb, &SearchParams::default())
        .is_err());
    assert!(idx.passage(299).is_err());
    assert!(idx.verify().is_err());
}

/// Rewrite section `kind` of an index image with `f` and recompute every checksum, as a crafted
/// file would (the parsers, not the CRCs, must then refuse it).
fn craft(bytes: &mut [u8], kind: leann_edge::format::Kind, f: impl FnOnce(&mut [u8])) {
    let idx =
        Index::from_source(SliceSource::new(bytes.to_vec()), &OpenOptions::default()).unwrap();
    let s = idx.layout().get(kind).unwrap();
    let pos = idx
        .layout()
        .sections
        .iter()
        .position(|x| x.kind == kind)
        .unwrap();
    drop(idx);
    let (off, len) = (s.offset as usize, s.len as usize);
    f(&mut bytes[off..off + len]);
    let crc = crc32fast::hash(&bytes[off..off + len]);
    let e = 24 + pos * 24;
    bytes[e + 4..e + 8].copy_from_slice(&crc.to_le_bytes());
    let count = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    // Format 8: the block CRCs of the data (the last section), then their own CRC.
    let last = 24 + (count - 1) * 24;
    if u32::from_le_bytes(bytes[last..last + 4].try_into().unwrap()) == 16 {
        let at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) as usize;
        let (boff, blen) = (at(last + 8), at(last + 16));
        let crcs: Vec<u8> = bytes[24 + count * 24..boff]
            .chunks(4096)
            .flat_map(|c| crc32fast::hash(c).to_le_bytes())
            .collect();
        assert_eq!(crcs.len(), blen);
        bytes[boff..boff + blen].copy_from_slice(&crcs);
        let c = crc32fast::hash(&crcs);
        bytes[last + 4..last + 8].copy_from_slice(&c.to_le_bytes());
    }
    let table = crc32fast::hash(&bytes[24..24 + count * 24]);
    bytes[16..20].copy_from_slice(&table.to_le_bytes());
    let header = crc32fast::hash(&bytes[..20]);
    bytes[20..24].copy_from_slice(&header.to_le_bytes());
}

#[test]
fn a_crafted_title_length_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.leann");
    let (rows, emb) = build(300, 16, small_params(), &path);
    let mut bytes = std::fs::read(&path).unwrap();
    // Passage 0's record starts the text section with its title length (a varint): make it
    // u64::MAX - 1, which wrapped an unchecked add and panicked `search`.
    craft(&mut bytes, leann_edge::format::Kind::PassageText, |t| {
        t[..10].copy_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    });
    let idx = Index::from_source(SliceSource::new(bytes), &OpenOptions::verified()).unwrap();
    idx.verify().unwrap();
    assert!(idx.passage(0).is_err());
    let p = SearchParams {
        ef: 300,
        rerank_ratio: 1.0,
        ..SearchParams::default()
    };
    assert!(idx.search(&rows[..16], &emb, &p).is_err());
}

#[test]
fn the_embedding_cache_re_embeds_only_changed_passages() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("emb.cache");
    let n = 120;
    let dim = 16;
    let rows = common::clustered(n + 1, dim, 8, 0.5, 3);
    let mut texts: Vec<String> = (0..n).map(|i| format!("passage number {i}")).collect();
    let mut keys = texts.clone();
    keys.push("an edited passage".to_string());
    let emb = leann_edge::embed::TableEmbedder::new(dim, keys, rows.clone());
    let build = |texts: &[String]| {
        let mut b = IndexBuilder::new(BuildParams {
            embed_cache: Some(cache.clone()),
            ..BuildParams::default()
        });
        for t in texts {
            b.add_passage(PassageRecord::plain(t));
        }
        let (v, report) = b
            .embed_all_counted(
                &emb,
                &|_, _, _| {},
                &std::sync::atomic::AtomicBool::new(false),
            )
            .unwrap();
        (v, report)
    };
    let (v1, r1) = build(&texts);
    assert_eq!((r1.reused, r1.embedded), (0, n as u64));
    assert!(r1.cache_bytes >= (n * (16 + 4 * dim)) as u64);
    // One passage changed: one embedding, the rest from the cache, identical vectors.
    texts[7] = "an edited passage".to_string();
    emb.reset_counts();
    let (v2, r2) = build(&texts);
    assert_eq!((r2.reused, r2.embedded), (n as u64 - 1, 1));
    assert_eq!(emb.counts().passages, 1);
    assert_eq!(v1[..7 * dim], v2[..7 * dim]);
    assert_eq!(v2[7 * dim..8 * dim], rows[n * dim..(n + 1) * dim]);
    // A corrupt cache file is ignored, not trusted.
    let mut bytes = std::fs::read(&cache).unwrap();
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&cache, &bytes).unwrap();
    emb.reset_counts();
    let (_, r3) = build(&texts);
    assert_eq!(r3.embedded, n as u64);
}

/// Recall@3 (against exact search over `rows` restricted to `live` rows) of the index at `path`,
/// whose passages are named `p{row}`.
fn recall3_by_name(
    path: &std::path::Path,
    emb: &leann_edge::embed::TableEmbedder,
    rows: &[f32],
    live: &[usize],
    queries: &[f32],
    dim: usize,
) -> f64 {
    let idx = Index::open(path).unwrap();
    let table: Vec<f32> = live
        .iter()
        .flat_map(|&i| rows[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    let mut total = 0.0;
    let nq = queries.len() / dim;
    for q in queries.chunks_exact(dim) {
        let truth: Vec<u32> = leann_edge::exact::top_k(&table, dim, q, 3)
            .iter()
            .map(|x| live[x.0 as usize] as u32)
            .collect();
        // As few recomputes as results (3), so the PQ's guidance decides the recall.
        let p = SearchParams {
            ef: 12,
            rerank_ratio: 0.25,
            ..SearchParams::default()
        };
        let r = idx.search(q, emb, &p).unwrap();
        let got: Vec<u32> = r
            .hits
            .iter()
            .map(|h| idx.passage(h.id).unwrap().text[1..].parse().unwrap())
            .collect();
        total += leann_edge::exact::recall(&got, &truth, 3);
    }
    total / nq as f64
}

#[test]
fn build_half_add_half_remove_a_tenth_recalls_like_a_fresh_build() {
    half_added_tenth_removed(Navigation::Auto);
}

#[test]
fn a_graph_index_grown_and_thinned_in_place_recalls_like_a_fresh_build() {
    half_added_tenth_removed(Navigation::Graph);
}

/// Build from half the passages, add the other half, remove a tenth; compare with a fresh build of
/// the same passages.
fn half_added_tenth_removed(navigation: Navigation) {
    use leann_edge::index::{change, Change};
    let params = || BuildParams {
        navigation,
        ..BuildParams::default()
    };
    let (n, dim) = (4000, 32);
    let rows = common::clustered(n, dim, 24, 1.5, 11);
    let emb = common::table(&rows, dim);
    let rec = |i: usize| {
        let mut r = PassageRecord::plain(&format!("p{i}"));
        r.id = Some(format!("id{i}"));
        r
    };
    let dir = tempfile::tempdir().unwrap();
    let (live, fresh) = (
        dir.path().join("live.leann"),
        dir.path().join("fresh.leann"),
    );
    let fp = leann_edge::Embedder::fingerprint(&emb);
    let mut b = IndexBuilder::new(params());
    for i in 0..n / 2 {
        b.add_passage(rec(i));
    }
    let half: Vec<f32> = rows[..n / 2 * dim].to_vec();
    b.build_with_vectors(&half, dim, &fp, &live).unwrap();
    let r = change(&live, &emb, Change::Add((n / 2..n).map(rec).collect())).unwrap();
    assert_eq!(
        (r.passages_after, r.embedded_passages),
        (n as u64, n as u64 / 2)
    );
    let gone: Vec<String> = (0..n).step_by(10).map(|i| format!("id{i}")).collect();
    let r = change(&live, &emb, Change::RemoveIds(gone)).unwrap();
    assert_eq!(r.passages_after, n as u64 - n as u64 / 10);
    let kept: Vec<usize> = (0..n).filter(|i| i % 10 != 0).collect();
    let mut b = IndexBuilder::new(params());
    let mut kept_rows = Vec::new();
    for &i in &kept {
        b.add_passage(rec(i));
        kept_rows.extend_from_slice(&rows[i * dim..(i + 1) * dim]);
    }
    b.build_with_vectors(&kept_rows, dim, &fp, &fresh).unwrap();
    let queries = common::clustered(200, dim, 24, 1.5, 99);
    let r_live = recall3_by_name(&live, &emb, &rows, &kept, &queries, dim);
    let r_fresh = recall3_by_name(&fresh, &emb, &rows, &kept, &queries, dim);
    eprintln!("{navigation:?} R@3: live {r_live:.3}, fresh {r_fresh:.3}");
    assert!(r_live >= r_fresh - 0.05, "live {r_live} vs fresh {r_fresh}");
    // Removed passages never come back.
    let idx = Index::open(&live).unwrap();
    assert_eq!(idx.has_graph(), navigation == Navigation::Graph);
    idx.verify().unwrap();
    if idx.has_graph() {
        // No dead ends: every node keeps at least one link.
        let mut list = Vec::new();
        for v in 0..idx.len() as u32 {
            idx.neighbors(v, &mut list).unwrap();
            assert!(!list.is_empty(), "node {v} has no links");
        }
    }
    for v in 0..idx.len() as u32 {
        let id = idx.passage(v).unwrap().id;
        assert_ne!(
            id.trim_start_matches("id").parse::<usize>().unwrap() % 10,
            0
        );
    }
}

#[test]
fn every_error_code_is_documented_with_its_number_and_http_status() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/errors.md"),
    )
    .unwrap();
    let mut names = std::collections::HashSet::new();
    for (i, c) in leann_edge::ErrorCode::ALL.iter().enumerate() {
        assert_eq!(
            c.number() as usize,
            i + 1,
            "{c:?}: numbers run 1.. in order"
        );
        assert!(names.insert(c.name()), "{c:?}: duplicate name");
        let row = format!("| {} | `{}` | {} |", c.number(), c.name(), c.http_status());
        assert!(doc.contains(&row), "docs/errors.md lacks {row}");
    }
}

/// `sync` keeps the passages of a source it could not read this time (a passing permission or
/// I/O problem), and still removes those of a source that is gone.
#[test]
fn sync_keeps_the_passages_of_sources_it_could_not_read() {
    use leann_edge::index::{change, Change};
    let (n, dim) = (6, 16);
    let rows = common::clustered(n, dim, 3, 1.0, 5);
    let emb = common::table(&rows, dim);
    // p0, p1 from docs/a.txt; p2, p3 from docs/sub/b.txt; p4, p5 from docs/c.txt.
    let file = |i: usize| ["docs/a.txt", "docs/sub/b.txt", "docs/c.txt"][i / 2];
    let rec = |i: usize| {
        let mut r = PassageRecord::plain(&format!("p{i}"));
        r.source = Some(Source {
            path: file(i).into(),
            byte_start: (i % 2) as u64 * 10,
            byte_end: (i % 2) as u64 * 10 + 5,
            line: 1,
        });
        r
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.leann");
    let mut b = IndexBuilder::new(BuildParams::default());
    for i in 0..n {
        b.add_passage(rec(i));
    }
    let fp = leann_edge::Embedder::fingerprint(&emb);
    b.build_with_vectors(&rows, dim, &fp, &path).unwrap();
    // a.txt read again, docs/sub unreadable this time, c.txt gone.
    let c = Change::Sync {
        passages: vec![rec(0), rec(1)],
        keep: vec!["docs/sub".into()],
    };
    let r = change(&path, &emb, c).unwrap();
    let idx = Index::open(&path).unwrap();
    let mut texts: Vec<String> = (0..idx.len() as u32)
        .map(|i| idx.passage(i).unwrap().text)
        .collect();
    texts.sort();
    assert_eq!(texts, ["p0", "p1", "p2", "p3"], "{r:?}");
    assert_eq!((r.removed_passages, r.embedded_passages), (2, 0), "{r:?}");
    // Nothing kept: the unreadable folder's passages would have gone too.
    let c = Change::Sync {
        passages: vec![rec(0), rec(1)],
        keep: vec![],
    };
    assert_eq!(change(&path, &emb, c).unwrap().passages_after, 2);
}

/// Bit rot (format 8): with the cheap open (no CRC pass over the file), one flipped byte in any
/// section a search or a passage read uses is an error naming that section, never other bytes
/// returned as good. Format 7 and older, without block CRCs, check such a section whole on its
/// first read.
#[test]
fn a_flipped_byte_is_an_error_when_read_never_a_garbled_answer() {
    use leann_edge::format::Kind;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rot.leann");
    let (rows, emb) = build(300, 16, small_params(), &path);
    let bytes = std::fs::read(&path).unwrap();
    let open = |b: Vec<u8>| Index::from_source(SliceSource::new(b), &OpenOptions::default());
    let clean = open(bytes.clone()).unwrap();
    let want: Vec<_> = (0..300u32).map(|i| clean.passage(i).unwrap()).collect();
    let answers = |idx: &Index<SliceSource<Vec<u8>>>| -> Vec<Result<Vec<u32>, Error>> {
        (0..30)
            .map(|q| {
                idx.search(&rows[q * 16..(q + 1) * 16], &emb, &SearchParams::default())
                    .map(|r| r.hits.iter().map(|h| h.id).collect())
            })
            .collect()
    };
    let good = answers(&clean);
    let sections = [
        Kind::PassageText,
        Kind::PassageOffsets,
        Kind::PassageIds,
        Kind::PqCodes,
        Kind::Graph,
        Kind::GraphOffsets,
    ];
    for kind in sections {
        let s = clean.layout().need(kind).unwrap();
        for at in [s.offset, s.offset + s.len / 2, s.offset + s.len - 1] {
            let mut b = bytes.clone();
            b[at as usize] ^= 0x20;
            let idx = open(b).unwrap_or_else(|e| panic!("{kind:?} at {at}: open failed: {e}"));
            let mut errors = Vec::new();
            for (i, w) in want.iter().enumerate() {
                match idx.passage(i as u32) {
                    Ok(p) => assert_eq!(&p, w, "{kind:?} flip at {at}: passage {i} garbled"),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            for (r, g) in answers(&idx).into_iter().zip(&good) {
                match r {
                    Ok(ids) => assert_eq!(&ids, g.as_ref().unwrap(), "{kind:?} flip at {at}"),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            assert!(
                !errors.is_empty(),
                "{kind:?}: a flip at {at} went unnoticed"
            );
            assert!(
                errors
                    .iter()
                    .all(|e| e.contains(kind.name()) && e.contains("verify")),
                "{kind:?}: {errors:?}"
            );
        }
    }
    // Format 7 (no block CRCs): the flipped section is checked whole on its first read.
    let golden =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format7.leann");
    let mut b = std::fs::read(golden).unwrap();
    let idx = open(b.clone()).unwrap();
    let s = idx.layout().need(Kind::PassageText).unwrap();
    b[(s.offset + s.len / 2) as usize] ^= 0x20;
    let idx = open(b).unwrap();
    let e = idx.passage(0).unwrap_err();
    assert!(matches!(e.code(), leann_edge::ErrorCode::Corrupt), "{e}");
    // Unchecked reads (the measurement baseline) really are unchecked.
    let mut b = bytes.clone();
    let s = clean.layout().need(Kind::PassageText).unwrap();
    b[(s.offset + 1) as usize] ^= 0x20;
    let idx = Index::from_source(
        SliceSource::new(b),
        &OpenOptions {
            unchecked_reads: true,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    assert!((0..300u32).any(|i| idx.passage(i).is_ok_and(|p| p != want[i as usize])));
}
