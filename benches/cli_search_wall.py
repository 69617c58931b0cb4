#!/usr/bin/env python3
"""Wall time of one CLI `search` (a new process each time), page cache warm and cold.

usage: benches/cli_search_wall.py INDEX QUERIES.jsonl MODEL_DIR BIN [BIN ...]

For each binary: the first 10 queries of QUERIES.jsonl, one process each, timed from spawn to
exit; "cold" evicts the index, the model files and the binary from the page cache before every
run (posix_fadvise DONTNEED: no root needed, clean pages only). Prints the median per binary and
mode, and the ratio to the first binary. Run nothing else meanwhile.
"""
import json, os, statistics, subprocess, sys, time

def evict(paths):
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)

def main():
    index, queries, model, bins = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    qs = [json.loads(l)["text"] for l in open(queries) if l.strip()][:10]
    files = [index, os.path.join(model, "model.onnx"), os.path.join(model, "tokenizer.json")]
    res = {}
    for mode in ("warm", "cold"):
        for b in bins:
            # one untimed run first: the model checksum record, the page cache for "warm"
            subprocess.run([b, "--model", model, "search", index, qs[0]], check=True, capture_output=True)
            times = []
            for q in qs:
                if mode == "cold":
                    evict(files + [b])
                t = time.perf_counter()
                subprocess.run([b, "--model", model, "search", index, q, "-k", "3"], check=True, capture_output=True)
                times.append(time.perf_counter() - t)
            res[(b, mode)] = statistics.median(times)
    base = bins[0]
    for mode in ("warm", "cold"):
        for b in bins:
            m = res[(b, mode)]
            print(f"{mode:4} {b}: median {m*1000:7.0f} ms  (x{m / res[(base, mode)]:.2f} of {os.path.basename(base)})")

main()
