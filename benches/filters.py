#!/usr/bin/env python3
"""Filters before ranking, measured: success@10, latency and recomputes with and without a metadata
filter, on a corpus whose JSONL records carry `"metadata"` (docs-faq with `product`, `doc` and
`year` added by the command in docs/benchmarks.md).

usage: benches/filters.py BIN INDEX CORPUS.jsonl QUERIES.jsonl QRELS.tsv [--model DIR] [--modes dense,hybrid]

Starts `BIN serve INDEX --read-only --min-score -1` on loopback and asks every labelled question
(k 10) with: no filter; `product=` the product of its relevant passage (about half the corpus
passes); `doc=` its page (selective: a median 0.28% of docs-faq passes); `year>=2020` (a
filter unrelated to relevance). Prints per filter and mode: the median share of passages that
pass, success@10 against the qrels, p50 latency, mean passages recomputed, the share of questions
that got k hits when at least k passages pass, and how many hits broke the filter (must be 0).
"""
import argparse, collections, json, statistics, sys, time

from serve_util import Client, qrels, start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin"); ap.add_argument("index"); ap.add_argument("corpus")
    ap.add_argument("queries"); ap.add_argument("qrels")
    ap.add_argument("--model"); ap.add_argument("--modes", default="dense,hybrid")
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    meta, count = {}, collections.Counter()
    for line in open(a.corpus):
        r = json.loads(line)
        m = r.get("metadata") or {}
        meta[r["id"]] = m
        for k, v in m.items():
            count[(k, v)] += 1
        count["year>=2020"] += m.get("year", 0) >= 2020
    n = len(meta)
    rel = qrels(a.qrels)
    qs = [json.loads(l) for l in open(a.queries) if l.strip()]
    qs = [q for q in qs if rel.get(str(q["id"]))][: a.limit or None]
    filters = {
        "none": lambda m: ([], n, lambda h: True),
        "product=P": lambda m: ([f"product={m['product']}"], count[("product", m["product"])],
                               lambda h: h["metadata"].get("product") == m["product"]),
        "doc=D": lambda m: ([f"doc={m['doc']}"], count[("doc", m["doc"])],
                           lambda h: h["metadata"].get("doc") == m["doc"]),
        "year>=2020": lambda m: (["year>=2020"], count["year>=2020"],
                                lambda h: h["metadata"].get("year", 0) >= 2020),
    }
    p, addr, _ = start(a.bin, a.index, a.model, ["--min-score=-1"])
    client = Client(addr)
    print(f"{len(qs)} questions, {n} passages, k 10")
    print("| filter | mode | passing (median) | success@10 | p50 ms | recomputed (mean) | k hits when k pass | hits breaking the filter |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    try:
        for mode in a.modes.split(","):
            for name, make in filters.items():
                ok, ms, rec, shares, full, full_n, broken = 0, [], [], [], 0, 0, 0
                for q in qs:
                    good = rel[str(q["id"])]
                    clauses, passing, holds = make(meta[sorted(good)[0]])
                    t = time.perf_counter()
                    st, ans = client.search({"query": q["text"], "k": 10, "mode": mode, "filter": clauses})
                    ms.append(1e3 * (time.perf_counter() - t))
                    if st != 200:
                        raise SystemExit(f"{name}: status {st}: {ans}")
                    hits = ans["hits"]
                    ok += any(h["id"] in good for h in hits)
                    rec.append(ans["stats"]["recomputed"])
                    shares.append(passing / n)
                    broken += sum(not holds(h) for h in hits)
                    if passing >= 10:
                        full_n += 1
                        full += len(hits) == 10
                print(f"| {name} | {mode} | {100 * statistics.median(shares):.2f}% | {ok / len(qs):.3f} | "
                      f"{statistics.median(ms):.1f} | {statistics.mean(rec):.1f} | "
                      f"{full / max(1, full_n):.3f} | {broken} |", flush=True)
    finally:
        p.terminate()
        p.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
