#!/usr/bin/env python3
"""Where to put the default score floor (`serve --min-score`): scores of relevant top hits on a
labelled set against the best scores of questions the collection cannot answer.

usage: benches/score_floor.py BIN INDEX QUERIES.jsonl QRELS.tsv [--model DIR] [--limit N]

Starts `BIN serve INDEX --read-only --min-score -1` on loopback, asks every labelled question
(k 10) and 40 off-topic questions (below: cooking, sport, history, … — none about software), and
prints for floors 0.10 … 0.50: the share of questions whose relevant top-1 hit would be dropped,
the share of relevant hits anywhere in the top 10 that would be dropped, and the share of off-topic
questions that would get no answer at all.
"""
import argparse, json, sys

from serve_util import Client, qrels, start

OFF_TOPIC = [
    "how long should I boil an egg for a runny yolk", "what is the capital of Australia",
    "who won the football world cup in 1998", "how many legs does a spider have",
    "best way to grow tomatoes on a balcony", "when did the roman empire fall",
    "how do I train my dog to sit", "what is the tallest mountain in Africa",
    "recipe for a classic lasagna", "how far is the moon from the earth",
    "what causes thunderstorms", "how to remove a red wine stain from a carpet",
    "who painted the mona lisa", "how many calories are in a banana",
    "what is the rule for offside in soccer", "how do bees make honey",
    "which ocean is the largest", "how to tie a bow tie",
    "what language do they speak in brazil", "how often should I water a cactus",
    "what year did the titanic sink", "how to make sourdough bread rise more",
    "why is the sky blue", "what is the best time to visit japan",
    "how do I change a flat bicycle tyre", "who wrote pride and prejudice",
    "what temperature should a fridge be", "how many players are on a basketball team",
    "what do pandas eat", "how to get rid of hiccups",
    "what is the population of canada", "how to fold a fitted sheet",
    "what are the symptoms of a cold", "how do I descale a kettle",
    "who invented the telephone", "what is the speed of sound",
    "how to knit a scarf for beginners", "what is the longest river in europe",
    "how do I iron a shirt without creases", "what wine goes with fish",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin"); ap.add_argument("index"); ap.add_argument("queries"); ap.add_argument("qrels")
    ap.add_argument("--model"); ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    qs = [json.loads(l) for l in open(a.queries) if l.strip()]
    if a.limit:
        qs = qs[:a.limit]
    rel = qrels(a.qrels)
    p, addr, _ = start(a.bin, a.index, a.model, ["--min-score=-1"])
    client = Client(addr)

    def ask(q):
        return client.search({"query": q, "k": 10})[1]["hits"]

    try:
        top_rel, any_rel = [], []
        for q in qs:
            hits = ask(q["text"])
            good = rel.get(str(q.get("_id", q.get("id"))), set())
            if hits and hits[0]["id"] in good:
                top_rel.append(hits[0]["score"])
            any_rel += [h["score"] for h in hits if h["id"] in good]
        off = [max([h["score"] for h in ask(q)] or [-1.0]) for q in OFF_TOPIC]
    finally:
        p.terminate()
        p.wait(timeout=60)
    print(f"{len(qs)} labelled questions, {len(top_rel)} with a relevant top-1 hit, "
          f"{len(any_rel)} relevant hits in the top 10; {len(OFF_TOPIC)} off-topic questions")
    print(f"off-topic best scores: min {min(off):.3f}, median {sorted(off)[len(off) // 2]:.3f}, max {max(off):.3f}")
    print("| floor | relevant top-1 dropped | relevant top-10 hits dropped | off-topic answered with nothing |")
    print("|---:|---:|---:|---:|")
    for f in [0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50]:
        d1 = sum(s < f for s in top_rel) / max(1, len(top_rel))
        d10 = sum(s < f for s in any_rel) / max(1, len(any_rel))
        none = sum(s < f for s in off) / len(off)
        print(f"| {f:.2f} | {100 * d1:.1f}% | {100 * d10:.1f}% | {100 * none:.0f}% |")


if __name__ == "__main__":
    sys.exit(main())
