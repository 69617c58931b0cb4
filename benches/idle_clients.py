#!/usr/bin/env python3
"""`leann-edge serve` under idle and trickling connections (slowloris): /healthz and search latency
with N such connections open, against none, in one run.

usage: benches/idle_clients.py BIN INDEX [--conns 500] [--requests 20] [--extra "--max-connections 64"]

Starts `BIN serve INDEX --listen 127.0.0.1:0 --read-only EXTRA` itself. Then, for 0 and N held
connections (half silent, half sending a request's headers a few bytes at a time, one chunk a
second): --requests /healthz and --requests searches, each on a fresh connection, timed; any
non-200 or a request that takes over 10 s is counted as failed. Reports medians, the slowest, and
the service's connection counters. Loopback only; bounded in connections, requests and time.
"""
import argparse, http.client, resource, socket, statistics, threading, time

from serve_util import start


def timed(addr, method, path, body=None):
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    t = time.perf_counter()
    try:
        hdr = {"Content-Type": "application/json"} if body else {}
        c.request(method, path, body=body, headers=hdr)
        r = c.getresponse()
        r.read()
        ok = r.status == 200
    except OSError:
        ok = False
    c.close()
    return ok, (time.perf_counter() - t) * 1e3


def metric(addr, name):
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("GET", "/metrics")
    for line in c.getresponse().read().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def round_(addr, n_req):
    res = {"healthz": [], "search": []}
    fails = 0
    for i in range(n_req):
        ok, ms = timed(addr, "GET", "/healthz")
        fails += not ok
        res["healthz"].append(ms)
        ok, ms = timed(addr, "POST", "/v1/search", '{"query": "how do I reset it", "k": 3}')
        fails += not ok
        res["search"].append(ms)
    return res, fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("index")
    ap.add_argument("--conns", type=int, default=500)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--extra", default="")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.conns + 256), hard))
    p, addr, _ = start(a.bin, a.index, extra=a.extra.split())
    host, port = addr.rsplit(":", 1)
    try:
        for held_n in (0, a.conns):
            held, stop = [], threading.Event()
            for i in range(held_n):
                s = socket.create_connection((host, int(port)))
                held.append(s)
            def trickle():
                head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000
                for k in range(0, len(head), 4):
                    if stop.is_set():
                        return
                    for s in held[1::2]:
                        try:
                            s.send(head[k:k + 4])
                        except OSError:
                            pass
                    time.sleep(1)
            t = threading.Thread(target=trickle, daemon=True)
            t.start()
            time.sleep(1)
            res, fails = round_(addr, a.requests)
            stop.set()
            print(f"{held_n} idle/trickling connections: "
                  f"healthz p50 {statistics.median(res['healthz']):.1f} ms (max {max(res['healthz']):.1f}), "
                  f"search p50 {statistics.median(res['search']):.1f} ms (max {max(res['search']):.1f}), "
                  f"failed {fails} of {2 * a.requests}")
            for s in held:
                s.close()
        print("connections accepted {:.0f}, shed {:.0f}, refused {:.0f}".format(
            *(metric(addr, f"leann_http_connections_{k}") or 0 for k in ("accepted", "shed", "refused"))))
    finally:
        p.kill()


if __name__ == "__main__":
    main()
