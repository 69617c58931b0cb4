#!/usr/bin/env python3
"""Load on `leann-edge serve` over loopback: latency and throughput at several client counts, the
first query after start, and resident memory over many queries (a leak check).

usage: benches/serve_load.py BIN INDEX QUERIES.jsonl [--model DIR] [--clients 1,2,4,8]
                             [--requests 100] [--leak 10000] [--max-seconds 1800]

Starts `BIN serve INDEX --listen 127.0.0.1:0 --read-only` itself (default board), then:
  1. ready: seconds from spawn to the listening line; first: latency of the very first search;
  2. for each client count c: --requests searches in all (docs-faq questions, in order, default
     search parameters), c threads each on its own keep-alive connection; p50/p95/p99 latency,
     queries/s, non-200 answers;
  3. leak: --leak searches with a small recompute budget (ef 8, rerank_ratio 0.125: one passage
     recomputed, so 10,000 fit in minutes), VmRSS sampled every tenth of the way.
Bounded in requests and in time (--max-seconds); talks only to loopback. Run nothing else meanwhile.
"""
import argparse, http.client, json, statistics, sys, threading, time

from serve_util import start


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def search(conn, body):
    t = time.perf_counter()
    conn.request("POST", "/v1/search", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    return r.status, time.perf_counter() - t


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def level(addr, queries, clients, total, deadline):
    lat, bad, lock = [], [0], threading.Lock()
    per = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]

    def worker(i):
        host, port = addr.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        for j in range(per[i]):
            if time.time() > deadline:
                break
            q = queries[(i * 7919 + j) % len(queries)]
            st, dt = search(conn, json.dumps({"query": q}))
            with lock:
                lat.append(dt)
                bad[0] += st != 200
        conn.close()

    t = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    wall = time.perf_counter() - t
    return {"clients": clients, "requests": len(lat), "p50_ms": 1e3 * pct(lat, 50),
            "p95_ms": 1e3 * pct(lat, 95), "p99_ms": 1e3 * pct(lat, 99),
            "qps": len(lat) / wall, "non_200": bad[0]}


def leak(p, addr, queries, n, deadline):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    samples = [(0, rss_kib(p.pid))]
    step = max(1, n // 10)
    for i in range(1, n + 1):
        if time.time() > deadline:
            break
        body = json.dumps({"query": queries[i % len(queries)], "ef": 8, "rerank_ratio": 0.125})
        st, _ = search(conn, body)
        if st != 200:
            raise SystemExit(f"leak phase: status {st}")
        if i % step == 0:
            samples.append((i, rss_kib(p.pid)))
    return samples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin"); ap.add_argument("index"); ap.add_argument("queries")
    ap.add_argument("--model"); ap.add_argument("--clients", default="1,2,4,8")
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--leak", type=int, default=10000)
    ap.add_argument("--max-seconds", type=float, default=1800)
    args = ap.parse_args()
    deadline = time.time() + args.max_seconds
    queries = [json.loads(l)["text"] for l in open(args.queries) if l.strip()]
    p, addr, ready = start(args.bin, args.index, args.model)
    try:
        host, port = addr.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        _, first = search(conn, json.dumps({"query": queries[0]}))
        tenth = [search(conn, json.dumps({"query": q}))[1] for q in queries[1:10]]
        conn.close()
        print(f"ready {ready:.2f} s; first query {first * 1e3:.0f} ms; queries 2-10 median "
              f"{statistics.median(tenth) * 1e3:.0f} ms; RSS after warm-up {rss_kib(p.pid) / 1024:.0f} MiB")
        print("| clients | requests | p50 ms | p95 ms | p99 ms | queries/s | non-200 |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for c in [int(x) for x in args.clients.split(",")]:
            r = level(addr, queries, c, args.requests, deadline)
            print(f"| {r['clients']} | {r['requests']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
                  f"{r['p99_ms']:.0f} | {r['qps']:.2f} | {r['non_200']} |", flush=True)
        if args.leak:
            s = leak(p, addr, queries, args.leak, deadline)
            print("leak check, RSS MiB after N queries: " +
                  ", ".join(f"{n}: {kib / 1024:.1f}" for n, kib in s))
    finally:
        p.terminate()
        p.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
