mod common;
#[test]
fn dbg_search() {
    let dim = 64;
    let n = 20000;
    let rows = common::clustered(n, dim, 200, 0.6, 1);
    let qs = common::clustered(5, dim, 200, 0.6, 2);
    let emb = common::table(&rows, dim);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.leann");
    let mut b = leann_edge::index::IndexBuilder::new(leann_edge::index::BuildParams { prune: None, ..Default::default() });
    for k in common::keys(n) { b.add_passage(leann_edge::passages::PassageRecord::plain(&k)); }
    b.build_with_vectors(emb.rows(), dim, &leann_edge::Embedder::fingerprint(&emb), &path).unwrap();
    let idx = leann_edge::index::Index::open(&path).unwrap();
    for q in qs.chunks(dim) {
        let truth = leann_edge::exact::top_k(emb.rows(), dim, q, 5);
        let r = idx.search(q, &emb, &leann_edge::search::SearchParams { k: 5, ef: 32, rerank_ratio: 1.0, ..Default::default() }).unwrap();
        eprintln!("truth {truth:?}\n got {:?}\n stats {:?}", r.hits, r.stats);
    }
}
