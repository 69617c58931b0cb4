#!/usr/bin/env python3
"""A small labelled corpus of long passages, made from a BEIR-layout set (docs-faq): every run of
GROUP consecutive passages of one document (ids `doc:N`) becomes one passage (the first title), all
groups holding a relevant passage are kept and others drawn at random up to SIZE; the qrels follow
(a group is relevant when it holds a relevant passage).

  long_corpus.py SRC_DIR OUT_DIR [--group 4] [--size 5000] [--seed 1]

Writes OUT_DIR/corpus.jsonl, queries.jsonl (copied), qrels.tsv. Deterministic for a given seed.
"""
import argparse, json, os, random, shutil


def doc_and_number(pid):
    doc, _, num = pid.rpartition(":")
    return doc, int(num) if num.isdigit() else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--group", type=int, default=4)
    ap.add_argument("--size", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    groups, where = [], {}
    cur = None
    with open(os.path.join(a.src, "corpus.jsonl")) as f:
        for line in f:
            p = json.loads(line)
            doc, num = doc_and_number(p["id"])
            key = (doc, num // a.group)
            if cur is None or cur["key"] != key:
                cur = {"key": key, "id": f"{doc}:g{num // a.group}", "title": p.get("title", ""), "texts": []}
                groups.append(cur)
            cur["texts"].append(p["text"])
            where[p["id"]] = len(groups) - 1
    qrels = []
    with open(os.path.join(a.src, "qrels.tsv")) as f:
        next(f)
        for line in f:
            q, c, s = line.rstrip("\n").split("\t")
            if c in where:
                qrels.append((q, where[c], s))
    keep = {g for _, g, _ in qrels}
    rest = [i for i in range(len(groups)) if i not in keep]
    random.Random(a.seed).shuffle(rest)
    keep |= set(rest[: max(0, a.size - len(keep))])
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "corpus.jsonl"), "w") as f:
        for i in sorted(keep):
            g = groups[i]
            f.write(json.dumps({"id": g["id"], "title": g["title"], "text": " ".join(g["texts"])}) + "\n")
    with open(os.path.join(a.out, "qrels.tsv"), "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, g, s in sorted(set(qrels)):
            f.write(f"{q}\t{groups[g]['id']}\t{s}\n")
    shutil.copy(os.path.join(a.src, "queries.jsonl"), os.path.join(a.out, "queries.jsonl"))
    words = [sum(len(t.split()) for t in groups[i]["texts"]) for i in keep]
    print(f"{len(keep)} passages ({len(set(g for _, g, _ in qrels))} relevant), mean {sum(words) / len(words):.0f} words")


if __name__ == "__main__":
    main()
