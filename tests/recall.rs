//! Recall of the whole index (graph + pruning + PQ + two-level search, and scan search) against
//! brute force on 20k clustered synthetic 384-d vectors, with the recompute cost bounded.
mod common;
use leann_edge::index::{BuildParams, Index, IndexBuilder, Navigation};
use leann_edge::passages::PassageRecord;
use leann_edge::search::{Mode, SearchParams};

#[test]
fn recall_at_10_vs_brute_force_on_20k_384d() {
    let (n, dim) = (20_000, 384);
    let rows = common::clustered(n, dim, 100, 0.6, 1);
    let queries = common::clustered(100, dim, 100, 0.6, 99);
    let emb = common::table(&rows, dim);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syn.leann");
    let spath = dir.path().join("scan.leann");
    for (nav, path) in [(Navigation::Graph, &path), (Navigation::Scan, &spath)] {
        let mut b = IndexBuilder::new(BuildParams {
            navigation: nav,
            ..BuildParams::default()
        });
        for k in common::keys(n) {
            b.add_passage(PassageRecord::plain(&k));
        }
        b.build_with_vectors(
            emb.rows(),
            dim,
            &leann_edge::Embedder::fingerprint(&emb),
            path,
        )
        .unwrap();
    }
    let graph = Index::open(&path).unwrap();
    let scan = Index::open(&spath).unwrap();
    assert!(graph.has_graph() && !scan.has_graph());
    for (idx, mode, ef, ratio, max_mean_recompute) in [
        (&graph, Mode::PqFirst, 256, 0.5, 128.0),
        (&graph, Mode::TwoLevel, 64, 0.5, 200.0),
        (&scan, Mode::PqFirst, 128, 0.5, 64.0),
    ] {
        let p = SearchParams {
            k: 10,
            ef,
            rerank_ratio: ratio,
            mode,
            ..SearchParams::default()
        };
        let mut s = idx.searcher(&emb, 1024).unwrap();
        let (mut rec, mut recomputed) = (0.0, 0u64);
        emb.reset_counts();
        for q in queries.chunks(dim) {
            let truth: Vec<u32> = leann_edge::exact::top_k(emb.rows(), dim, q, 10)
                .into_iter()
                .map(|x| x.0)
                .collect();
            let r = s.search_vector(q, &p).unwrap();
            let got: Vec<u32> = r.hits.iter().map(|h| h.id).collect();
            rec += leann_edge::exact::recall(&got, &truth, 10);
            recomputed += r.stats.recomputed;
        }
        let nq = (queries.len() / dim) as f64;
        let (rec, mean) = (rec / nq, recomputed as f64 / nq);
        let what = if idx.has_graph() {
            format!("{mode:?}")
        } else {
            "scan".to_string()
        };
        eprintln!("{what}: recall@10 {rec:.3}, {mean:.1} recomputed/query");
        assert!(rec >= 0.95, "{what} recall@10 {rec}");
        assert!(
            mean <= max_mean_recompute,
            "{what} recomputed {mean} per query"
        );
        // The embedder really was called for exactly the recomputed passages.
        assert_eq!(emb.counts().passages, recomputed);
    }
}
