mod common;
use leann_edge::index::{BuildParams, Index, IndexBuilder};
use leann_edge::passages::PassageRecord;
use leann_edge::search::SearchParams;

#[test]
fn finds_itself_small() {
    let dim = 32;
    let rows = common::clustered(500, dim, 10, 0.5, 1);
    let emb = common::table(&rows, dim);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.leann");
    let mut b = IndexBuilder::new(BuildParams { pq_subspaces: 8, ..BuildParams::default() });
    for k in common::keys(500) {
        b.add_passage(PassageRecord::plain(&k));
    }
    b.build_with_vectors(emb.rows(), dim, &leann_edge::Embedder::fingerprint(&emb), &path).unwrap();
    let idx = Index::open(&path).unwrap();
    let mut nb = Vec::new();
    idx.neighbors(0, &mut nb).unwrap();
    eprintln!("nb0 {nb:?} entry {}", idx.meta().entry);
    eprintln!("p7 {:?}", idx.passage(7).unwrap());
    let q = emb.row(7).to_vec();
    let r = idx.search(&q, &emb, &SearchParams { k: 3, ..SearchParams::default() }).unwrap();
    eprintln!("{r:?}");
    assert_eq!(r.hits[0].id, 7);
}

#[test]
fn bench_table_small() {
    let dim = 32;
    let rows = common::clustered(20000, dim, 20, 0.5, 1);
    let qs = common::clustered(20, dim, 20, 0.5, 2);
    let dir = tempfile::tempdir().unwrap();
    let r = leann_edge::tablebench::run(&rows, &qs, dim, &leann_edge::index::BuildParams { pq_subspaces: 8, ..Default::default() }, &[16], &[0.3], &Default::default(), &dir.path().join("b.leann")).unwrap();
    leann_edge::tablebench::print(&r);
    assert!(r.sweep[0].recall10 > 0.5);
}

#[test]
fn passages_roundtrip_many() {
    let dim = 8;
    let n = 3000;
    let rows = common::clustered(n, dim, 5, 0.5, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.leann");
    let mut b = IndexBuilder::new(BuildParams { pq_subspaces: 4, ..BuildParams::default() });
    for k in common::keys(n) {
        b.add_passage(PassageRecord::plain(&k));
    }
    b.build_with_vectors(&rows, dim, "x", &path).unwrap();
    let idx = Index::open(&path).unwrap();
    for i in 0..n as u32 {
        assert_eq!(idx.passage(i).unwrap().text, format!("p{i}"));
    }
}
