#!/usr/bin/env python3
"""Offline comparison of recompute stopping rules on dumped candidates
(`leann-edge bench-table … --calibration-check --dump-candidates FILE`: per query, its 128 best PQ
candidates as (PQ distance, exact distance) f32 pairs, best PQ first). Recall@k is counted against
the exact top k among those 128.

  stop_rules.py REAL.bin [--pseudo PSEUDO.bin] [-k 3]

PSEUDO.bin: the same dump with corpus passages as the queries (rows of the passage table; their
own passage, rank 0, is dropped) — the calibration the index stores is measured that way. Prints
fixed counts, the stored rule (Σ F(d_k − pq_j − m) ≤ (1 − recall)·k, F from PSEUDO or else REAL)
and a fixed distance margin, each as (R@k, mean recomputed, p95).
"""
import argparse
import numpy as np


def load(path, drop_self=False):
    d = np.fromfile(path, dtype="<f4").reshape(-1, 128, 2)
    if drop_self:
        d = d[:, 1:, :]
    return d[:, :, 0], d[:, :, 1]


def residuals(pq, ex, upto=64):
    out = []
    for i in range(pq.shape[0]):
        e = ex[i] - pq[i]
        for r in (8, 16, 24, 32):
            out.append(e[r:upto] - e[:r].mean())
    return np.sort(np.concatenate(out))


def simulate(pq, ex, k, stop, step=8):
    truth = np.argsort(ex, axis=1)[:, :k]
    got, recs = [], []
    for i in range(pq.shape[0]):
        r = max(k, step)
        while r < pq.shape[1] and not stop(pq[i], ex[i], r):
            r += step
        r = min(r, pq.shape[1])
        top = set(np.argsort(ex[i, :r])[:k])
        got.append(len(top & set(truth[i])) / k)
        recs.append(r)
    return round(float(np.mean(got)), 4), round(float(np.mean(recs)), 1), float(np.percentile(recs, 95))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("real")
    ap.add_argument("--pseudo")
    ap.add_argument("-k", type=int, default=3)
    a = ap.parse_args()
    pq, ex = load(a.real)
    res = residuals(*load(a.pseudo, True)) if a.pseudo else residuals(pq, ex)
    F = lambda x: np.searchsorted(res, x) / len(res)
    k = a.k
    for n in (16, 20, 24, 32):
        print("fixed", n, simulate(pq, ex, k, lambda p, e, r, n=n: r >= n, step=n))

    def rule(target):
        def stop(p, e, r):
            m = (e[:r] - p[:r]).mean()
            dk = np.sort(e[:r])[k - 1]
            return F(dk - p[r:] - m).sum() <= (1 - target) * k
        return stop

    def margin(t):
        def stop(p, e, r):
            m = (e[:r] - p[:r]).mean()
            dk = np.sort(e[:r])[k - 1]
            return (dk - p[r:] - m).max() < -t
        return stop

    for target in (0.7, 0.8, 0.85, 0.9, 0.95):
        print("recall", target, simulate(pq, ex, k, rule(target)))
    for t in (0.05, 0.06, 0.07, 0.08):
        print("margin", t, simulate(pq, ex, k, margin(t)))


if __name__ == "__main__":
    main()
