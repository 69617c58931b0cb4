#!/usr/bin/env python3
"""The identifier test set and its score: can a search find the few passages that contain a rare
name or code (`EADDRINUSE`, `os.path.join`, `v2.3.1`) when the question is that token, alone or
with a few words around it?

usage: benches/identifiers.py BIN INDEX CORPUS.jsonl [--model DIR] [--n 200] [--seed 7]
                              [--modes dense,keyword,hybrid] [--write DIR]

From CORPUS (BEIR `{"_id"|"id","title","text"}` lines, the corpus INDEX was built from) it picks,
seeded, N tokens that look like identifiers (a dot, underscore or digit inside letters, or
CamelCase / ALL-CAPS of 5+ letters), occur in 1-3 passages and are 5-40 characters long; half the
queries are the token alone, half put it in a short question. Success = a passage that contains
the token (case-insensitive, on word boundaries) among the top 3. Runs every query in each mode
against `BIN serve INDEX` on loopback (score floor off) and prints success@3 and median latency.
--write DIR also saves queries.jsonl and qrels.tsv (every passage holding the token is relevant).
"""
import argparse, collections, json, os, random, re, statistics, sys, time

from serve_util import Client, start

TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/\-]*[A-Za-z0-9_]")
TEMPLATES = ["how do I use {}", "what does {} mean", "{} error", "where is {} documented",
             "example of {}"]


def looks_like_identifier(t):
    if not (5 <= len(t) <= 40) or t.isdigit():
        return False
    inner = t[1:-1]
    if any(c in inner for c in "._") and any(c.isalpha() for c in t):
        return True
    if any(c.isdigit() for c in t) and any(c.isalpha() for c in t):
        return True
    if re.fullmatch(r"[A-Z][A-Z0-9]{4,}", t):
        return True
    return bool(re.fullmatch(r"[a-z]+[A-Z][A-Za-z0-9]*", t) or re.fullmatch(r"[A-Z][a-z]+[A-Z][A-Za-z0-9]*", t))


def contains(text, tok):
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(tok.lower()) + r"(?![A-Za-z0-9_])", text.lower()) is not None


def build_set(corpus, n, seed):
    docs, df, first = [], collections.Counter(), {}
    for line in open(corpus):
        d = json.loads(line)
        pid = str(d.get("_id", d.get("id")))
        text = (d.get("title") or "") + "\n" + d["text"]
        docs.append((pid, text))
        for t in set(TOKEN.findall(text)):
            if looks_like_identifier(t):
                df[t.lower()] += 1
                first.setdefault(t.lower(), t)
    rare = sorted(t for t, c in df.items() if 1 <= c <= 3)
    rng = random.Random(seed)
    picked = rng.sample(rare, min(n, len(rare)))
    queries, qrels = [], []
    for i, low in enumerate(picked):
        tok = first[low]
        q = tok if i % 2 == 0 else rng.choice(TEMPLATES).format(tok)
        queries.append({"id": f"ident-{i}", "text": q, "token": tok})
    want = {q["token"].lower(): q["id"] for q in queries}
    for pid, text in docs:
        low = text.lower()
        for tok, qid in want.items():
            if tok in low and contains(text, tok):
                qrels.append((qid, pid))
    return queries, qrels, len(rare)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin"); ap.add_argument("index"); ap.add_argument("corpus")
    ap.add_argument("--model"); ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--modes", default="dense,keyword,hybrid"); ap.add_argument("--write")
    ap.add_argument("--show-failures", action="store_true")
    a = ap.parse_args()
    queries, qrels, nrare = build_set(a.corpus, a.n, a.seed)
    print(f"{len(queries)} identifier queries from {nrare} rare identifier-like tokens "
          f"({sum(1 for q in queries if q['text'] == q['token'])} bare, the rest in a short question)")
    if a.write:
        os.makedirs(a.write, exist_ok=True)
        with open(os.path.join(a.write, "queries.jsonl"), "w") as f:
            for q in queries:
                f.write(json.dumps({"id": q["id"], "text": q["text"]}) + "\n")
        with open(os.path.join(a.write, "qrels.tsv"), "w") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            for qid, pid in qrels:
                f.write(f"{qid}\t{pid}\t1\n")
    p, addr, _ = start(a.bin, a.index, a.model, ["--min-score=-1"])
    client = Client(addr)
    print("| mode | success@3 | bare token | in a question | p50 ms |")
    print("|---|---:|---:|---:|---:|")
    try:
        for mode in a.modes.split(","):
            ok, bare, bare_n, ms = 0, 0, 0, []
            for q in queries:
                t = time.perf_counter()
                hits = client.search({"query": q["text"], "k": 3, "mode": mode})[1]["hits"]
                ms.append(1e3 * (time.perf_counter() - t))
                good = any(contains(h["title"] + "\n" + h["text"], q["token"]) for h in hits)
                ok += good
                if not good and a.show_failures:
                    print(f"  miss [{mode}] {q['text']!r}: {[h['id'] for h in hits]}", file=sys.stderr)
                if q["text"] == q["token"]:
                    bare_n += 1
                    bare += good
            n = len(queries)
            print(f"| {mode} | {ok / n:.3f} | {bare / max(1, bare_n):.3f} | "
                  f"{(ok - bare) / max(1, n - bare_n):.3f} | {statistics.median(ms):.0f} |", flush=True)
    finally:
        p.terminate()
        p.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
