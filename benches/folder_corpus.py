#!/usr/bin/env python3
"""A labelled folder corpus for chunk-size measurements, made from a BEIR-layout set (docs-faq):
every document (passage ids `doc:N`) becomes one Markdown file (`# title` where the section title
changes, then its passages as paragraphs), and the qrels name files as `leann-edge build DIR`
stores them (`DIR/...`). All documents holding a relevant passage are kept, others drawn at random
until about WORDS words.

  folder_corpus.py SRC_DIR OUT_DIR [--words 600000] [--seed 1]

Writes OUT_DIR/docs/**.md, OUT_DIR/queries.jsonl (copied), OUT_DIR/qrels.tsv. Index it with
`leann-edge build OUT_DIR/docs -o X.leann --keep-vectors` (from OUT_DIR's parent folder or with
the same path spelling: qrels use the path as given, `OUT_DIR/docs/...`).
"""
import argparse, json, os, random, re, shutil
from collections import OrderedDict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--words", type=int, default=600_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    docs = OrderedDict()
    with open(os.path.join(a.src, "corpus.jsonl")) as f:
        for line in f:
            p = json.loads(line)
            doc = p["id"].rpartition(":")[0]
            docs.setdefault(doc, []).append(p)
    rel = {}
    with open(os.path.join(a.src, "qrels.tsv")) as f:
        next(f)
        for line in f:
            q, c, s = line.rstrip("\n").split("\t")
            rel.setdefault(q, set()).add(c.rpartition(":")[0])
    keep = {d for ds in rel.values() for d in ds if d in docs}
    words = lambda d: sum(len(p["text"].split()) for p in docs[d])
    total = sum(words(d) for d in keep)
    rest = [d for d in docs if d not in keep]
    random.Random(a.seed).shuffle(rest)
    for d in rest:
        if total >= a.words:
            break
        keep.add(d)
        total += words(d)
    root = os.path.join(a.out, "docs")
    if os.path.isdir(root):
        shutil.rmtree(root)
    path_of = {}
    for d in keep:
        rel_path = re.sub(r"[^A-Za-z0-9._/-]", "_", d.replace(":", "/")) + ".md"
        path = os.path.join(root, rel_path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            title = None
            for p in docs[d]:
                if p.get("title") and p["title"] != title:
                    title = p["title"]
                    f.write(f"\n# {title}\n\n")
                f.write(p["text"] + "\n\n")
        path_of[d] = path
    with open(os.path.join(a.out, "qrels.tsv"), "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, ds in sorted(rel.items()):
            for d in sorted(ds):
                if d in path_of:
                    f.write(f"{q}\t{path_of[d]}\t1\n")
    shutil.copy(os.path.join(a.src, "queries.jsonl"), os.path.join(a.out, "queries.jsonl"))
    print(f"{len(keep)} files, {total} words, {len(rel)} queries")


if __name__ == "__main__":
    main()
