//! Recall of the whole index (graph + pruning + PQ + two-level search, and scan search) against
//! brute force on 20k clustered synthetic 384-d vectors, with the recompute cost bounded.
mod common;
use leann_edge::index::{BuildParams, Index, IndexBuilder, Navigation};
use leann_edge::passages::PassageRecord;
use leann_edge::search::{Mode, SearchParams};

/// Index the `n` rows of `emb` (passages named by `common::keys`) with default parameters and
/// navigation `nav` at `path`.
fn build(
    emb: &leann_edge::embed::TableEmbedder,
    n: usize,
    dim: usize,
    nav: Navigation,
    path: &std::path::Path,
) {
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
        &leann_edge::Embedder::fingerprint(emb),
        path,
    )
    .unwrap();
}

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
        build(&emb, n, dim, nav, path);
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
            recall: 0.0, // a fixed recompute count (the adaptive one is tested below)
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

/// Adaptive recompute on a calibrated scan index: fewer recomputes than the fixed count it would
/// otherwise need, the recall target met (measured recall runs above it), and a higher target
/// buying recall with recomputes. Hybrid-style `recall_at` aims at fewer than it returns.
#[test]
fn adaptive_recompute_meets_its_target_with_fewer_recomputes() {
    let (n, dim) = (20_000, 384);
    let rows = common::clustered(n, dim, 100, 0.6, 5);
    let queries = common::clustered(100, dim, 100, 0.6, 77);
    let emb = common::table(&rows, dim);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.leann");
    build(&emb, n, dim, Navigation::Scan, &path);
    let idx = Index::open(&path).unwrap();
    assert!(
        idx.calibration().is_some(),
        "a build stores its PQ calibration"
    );
    let mut s = idx.searcher(&emb, 0).unwrap();
    let run = |s: &mut leann_edge::index::Searcher<'_, _, _>, p: &SearchParams| {
        let (mut rec, mut recomputed, mut max) = (0.0, 0u64, 0u64);
        for q in queries.chunks(dim) {
            let truth: Vec<u32> = leann_edge::exact::top_k(emb.rows(), dim, q, p.k)
                .into_iter()
                .map(|x| x.0)
                .collect();
            let r = s.search_vector(q, p).unwrap();
            assert_eq!(r.hits.len(), p.k);
            let got: Vec<u32> = r.hits.iter().map(|h| h.id).collect();
            let at = if p.recall_at == 0 { p.k } else { p.recall_at };
            rec += leann_edge::exact::recall(&got, &truth, at);
            recomputed += r.stats.recomputed;
            max = max.max(r.stats.recomputed);
        }
        let nq = (queries.len() / dim) as f64;
        (rec / nq, recomputed as f64 / nq, max)
    };
    let base = SearchParams {
        k: 3,
        ef: 128,
        ..SearchParams::default()
    };
    let fixed = |ratio| SearchParams {
        recall: 0.0,
        rerank_ratio: ratio,
        ..base.clone()
    };
    let adaptive = |recall| SearchParams {
        recall,
        ..base.clone()
    };
    let (f_rec, f_mean, _) = run(&mut s, &fixed(0.25));
    let (lo_rec, lo_mean, _) = run(&mut s, &adaptive(0.8));
    let (hi_rec, hi_mean, hi_max) = run(&mut s, &adaptive(0.97));
    eprintln!(
        "fixed 32: R@3 {f_rec:.3} at {f_mean:.1}; adaptive 0.8: {lo_rec:.3} at {lo_mean:.1}; \
         0.97: {hi_rec:.3} at {hi_mean:.1} (max {hi_max})"
    );
    assert!(
        lo_rec >= 0.8 && hi_rec >= 0.97,
        "targets met: {lo_rec} {hi_rec}"
    );
    assert!(
        hi_rec >= lo_rec && hi_mean > lo_mean,
        "a higher target recomputes more"
    );
    assert!(lo_mean < f_mean, "stops before the fixed count when sure");
    assert!(hi_max <= 128, "never more than the beam");
    // Rounds of 8: the first holds at least k.
    let (_, wide_mean, _) = run(
        &mut s,
        &SearchParams {
            k: 10,
            recall_at: 3,
            ..adaptive(0.8)
        },
    );
    assert!(wide_mean >= 10.0, "k results need k recomputed");
    // The embedder really was called for exactly the recomputed passages.
    emb.reset_counts();
    let r = s.search_vector(&queries[..dim], &adaptive(0.9)).unwrap();
    assert_eq!(emb.counts().passages, r.stats.recomputed);
}
