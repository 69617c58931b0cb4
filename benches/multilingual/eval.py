"""Score `leann-edge bench --json` runs on the multilingual set (topics.py) per model.

usage: python3 benches/multilingual/eval.py BIN DATA NAME=MODEL_DIR[@COMPUTE]... [--threads 2]
Builds DATA/NAME.leann with each model (dense, default settings; `@f32` / `@int8` picks the
encoder arithmetic, `--compute`) and prints, over the 64
questions: success@1 and @3 (a passage of the question's topic, any language), same-language@1
(German/French/Spanish questions: the top hit is the passage in the question's own language),
English question@1 (English questions: the top hit is of the topic), cross-language recall@3 (share of
the topic's 3 passages among the top 3), nDCG@10, and the median query time.
"""
import argparse
import json
import math
import os
import subprocess


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("data")
    ap.add_argument("models", nargs="+", help="NAME=MODEL_DIR[@COMPUTE]")
    ap.add_argument("--threads", default="2")
    a = ap.parse_args()
    d = a.data
    print("| model | success@1 | success@3 | same-language@1 | English question@1 | cross-language recall@3 | nDCG@10 | p50 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for spec in a.models:
        name, model = spec.split("=", 1)
        model, _, compute = model.partition("@")
        idx = os.path.join(d, f"{name}.leann")
        env = dict(os.environ, LEANN_EDGE_MODEL=model)
        how = ["--compute", compute] if compute else []
        subprocess.run([a.bin, "--model", model, *how, "build", os.path.join(d, "corpus.jsonl"), "-o", idx],
                       check=True, env=env, capture_output=True)
        out = subprocess.run([a.bin, "--model", model, "--threads", a.threads, "bench", idx,
                              "--queries", os.path.join(d, "queries.jsonl"),
                              "--qrels", os.path.join(d, "qrels.tsv"), "--mode", "dense", "--json"],
                             check=True, env=env, capture_output=True, text=True).stdout
        v = json.loads(out)
        pt = v["points"][0]
        s1 = s3 = same1 = all3 = 0
        en1 = en_n = 0
        for q in pt["queries"]:
            topic, lang = q["id"][2:].rsplit("-", 1)
            hits = q["hits"]
            rel = lambda h: h.rsplit("-", 1)[0] == topic
            s1 += rel(hits[0])
            s3 += any(rel(h) for h in hits[:3])
            same1 += hits[0] == f"{topic}-{lang}"
            if lang == "en":
                en_n += 1
                en1 += rel(hits[0])
            all3 += sum(rel(h) for h in hits[:3]) / 3
        n = len(pt["queries"])
        same_n = n - en_n
        print(f"| {name} | {s1/n:.3f} | {s3/n:.3f} | {same1/same_n:.3f} | {en1/max(en_n, 1):.3f} "
              f"| {all3/n:.3f} | {pt['ndcg10']:.3f} | {pt['p50_ms']:.1f} |")


if __name__ == "__main__":
    main()
