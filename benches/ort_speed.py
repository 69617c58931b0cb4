#!/usr/bin/env python3
"""The onnxruntime peer for `leann-edge bench-encoder`: same model files, same inputs ("word " × n,
so each text is exactly n word-pieces with [CLS]/[SEP]), same thread count, median of reps.

usage: python3 benches/ort_speed.py [--threads N] [--reps R]   (pip install onnxruntime tokenizers numpy)
"""
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from ort_embed import load, embed  # noqa: E402

threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 5
t = time.time()
tok, sess = load(os.path.join(os.path.dirname(__file__), "..", "models", "all-minilm-l6-v2-int8"), threads)
print(f"model load {1000*(time.time()-t):.0f} ms, threads {threads}")
print(f"{'batch':>6} {'tokens':>7} {'ms/call':>12} {'ms/passage':>12} {'passages/s':>10}")
for tk in (16, 64, 128, 256):
    text = "word " * max(1, tk - 2)
    for bs in (1, 8, 32):
        texts = [text] * bs
        embed(tok, sess, texts)
        ts = []
        for _ in range(reps):
            s = time.time()
            embed(tok, sess, texts)
            ts.append(1000 * (time.time() - s))
        ts.sort()
        m = ts[len(ts) // 2]
        print(f"{bs:>6} {tk:>7} {m:>12.2f} {m/bs:>12.2f} {1000*bs/m:>10.1f}")
