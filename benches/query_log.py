#!/usr/bin/env python3
"""A query log with repeated topics, for the recompute cache: N queries where a share REPEAT come
back to the topic (the qrels' document, `doc:N` → `doc`) of an earlier query — another question
about that document when there is one, else the same question again — and the rest are fresh.

  query_log.py queries.jsonl qrels.tsv OUT.jsonl [--n 594] [--repeat 0.3] [--seed 1]

Each line keeps the original query id (so the qrels still apply). Deterministic for a seed.
"""
import argparse, json, random
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("queries")
    ap.add_argument("qrels")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=594)
    ap.add_argument("--repeat", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    qs = [json.loads(l) for l in open(a.queries)]
    topic = {}
    with open(a.qrels) as f:
        next(f)
        for line in f:
            q, c, _ = line.rstrip("\n").split("\t")
            topic.setdefault(q, c.rpartition(":")[0])
    by_topic = defaultdict(list)
    for q in qs:
        by_topic[topic.get(q["id"], q["id"])].append(q)
    rng = random.Random(a.seed)
    fresh = qs[:]
    rng.shuffle(fresh)
    log, asked, repeats = [], [], 0
    while len(log) < a.n and (fresh or asked):
        if asked and (not fresh or rng.random() < a.repeat):
            t = topic.get(rng.choice(asked)["id"])
            same = [q for q in by_topic.get(t, []) if q not in asked] or [rng.choice(asked)]
            q = rng.choice(same)
            repeats += 1
        else:
            q = fresh.pop()
        if q in fresh:
            fresh.remove(q)
        log.append(q)
        asked.append(q)
    with open(a.out, "w") as f:
        for q in log:
            f.write(json.dumps({"id": q["id"], "text": q["text"]}) + "\n")
    print(f"{len(log)} queries, {repeats} return to an earlier topic ({len(set(q['id'] for q in log))} distinct)")


if __name__ == "__main__":
    main()
