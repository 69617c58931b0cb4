#!/usr/bin/env python3
"""Chunk size against quality, storage and latency on a folder corpus (benches/folder_corpus.py):
for each chunk size, `build DOCS --chunk-tokens C`, then every query through `serve` (defaults,
k 10, no score floor). A hit is relevant when it holds a 12-word run of a relevant passage of the
source set (chunks do not line up with the labelled passages, so the text decides).

  chunk_size.py BIN FOLDER SRC_DIR [--chunks 128,192,256] [--threads 2] [--model DIR]

FOLDER: the folder_corpus.py output (FOLDER/docs, FOLDER/qrels.tsv unused here: relevance comes
from SRC_DIR's passage-level qrels). Prints one row per chunk size: passages, index bytes and
overhead per passage, build seconds, success@3/@10, nDCG@10, mean recomputed, p50/p95 ms.
"""
import argparse, json, math, os, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_util

RUN = 12


def shingles(text):
    w = text.split()
    return {" ".join(w[i:i + RUN]) for i in range(max(0, len(w) - RUN + 1))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("folder")
    ap.add_argument("src")
    ap.add_argument("--chunks", default="128,192,256")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--model")
    a = ap.parse_args()
    texts = {}
    for line in open(os.path.join(a.src, "corpus.jsonl")):
        p = json.loads(line)
        texts[p["id"]] = p["text"]
    rel = serve_util.qrels(os.path.join(a.src, "qrels.tsv"))
    rel_sh = {q: [shingles(texts[c]) for c in cs if c in texts] for q, cs in rel.items()}
    queries = [json.loads(l) for l in open(os.path.join(a.src, "queries.jsonl"))]
    base = [a.bin, "--threads", a.threads] + (["--model", a.model] if a.model else [])
    rows = []
    for c in [int(x) for x in a.chunks.split(",")]:
        idx = os.path.join(a.folder, f"chunk{c}.leann")
        t = time.perf_counter()
        subprocess.run(base + ["build", os.path.join(a.folder, "docs"), "-o", idx,
                               "--chunk-tokens", str(c)], check=True, stdout=subprocess.DEVNULL)
        build_s = time.perf_counter() - t
        info = json.loads(subprocess.run(base + ["info", idx, "--json"], check=True,
                                         capture_output=True, text=True).stdout)
        proc, addr, _ = serve_util.start(a.bin, idx, a.model, ["--min-score", "-1"])
        cl = serve_util.Client(addr)
        ms, rec, s3, s10, nd = [], [], 0, 0, 0.0
        for q in queries:
            t = time.perf_counter()
            st, ans = cl.search({"query": q["text"], "k": 10})
            ms.append((time.perf_counter() - t) * 1000)
            assert st == 200, ans
            rec.append(ans["stats"]["recomputed"])
            sh = rel_sh.get(q["id"], [])
            gains = [1 if any(shingles(h["text"]) & r for r in sh) else 0 for h in ans["hits"]]
            s3 += any(gains[:3])
            s10 += any(gains[:10])
            dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
            ideal = sum(1 / math.log2(i + 2) for i in range(min(len(sh), 10)))
            nd += dcg / ideal if ideal else 0
        proc.terminate()
        proc.wait()
        n = len(queries)
        ms.sort()
        rows.append((c, info["passages"], info["total_bytes"], info["overhead_bytes"] / info["passages"],
                     build_s, s3 / n, s10 / n, nd / n, sum(rec) / n, ms[n // 2], ms[int(n * 0.95)]))
    print(f"{'chunk':>5} {'passages':>8} {'index B':>10} {'ovh B/p':>8} {'build s':>8} {'succ@3':>7} {'succ@10':>8} {'nDCG@10':>8} {'recomp':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for r in rows:
        print(f"{r[0]:>5} {r[1]:>8} {r[2]:>10} {r[3]:>8.1f} {r[4]:>8.1f} {r[5]:>7.3f} {r[6]:>8.3f} {r[7]:>8.3f} {r[8]:>7.1f} {r[9]:>7.1f} {r[10]:>7.1f}")


if __name__ == "__main__":
    main()
