#!/usr/bin/env python3
"""Write tests/fixtures/golden.json: reference embeddings from onnxruntime + HF tokenizers for the
default model, to check leann-edge's tract encoder against (cosine >= 0.9999 each).

usage: python3 models/golden.py [MODEL_DIR] [OUT]     (needs: pip install onnxruntime tokenizers numpy)
"""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from ort_embed import load, embed  # noqa: E402

LONG = " ".join(["The quick brown fox jumps over the lazy dog while the encoder keeps counting tokens."] * 40)
INPUTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "hello",
    "How do I install a package on Debian?",
    "Why are Python strings immutable?",
    LONG,  # far beyond 256 tokens: truncated
    "Übergrößenträger mögen Käsespätzle; déjà vu, naïve café.",
    "東京は日本の首都です。",
    "Привет, как дела?",
    "emoji 🚀🔥 and symbols ∑∫√",
    "!!! ??? ... ;;; ---",
    "",
    "   ",
    "def f(x):\n    return x ** 2  # square",
    "3.14159 2.71828 1.41421 1729",
    "SELECT * FROM passages WHERE id = 42;",
    "perl -ne 'print if /foo/' file.txt",
    "The Raspberry Pi 5 has a quad-core Cortex-A76 CPU.",
]


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "all-minilm-l6-v2-int8")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "golden.json")
    tok, sess = load(model_dir, threads=1, max_tokens=256)
    rows = []
    for t in INPUTS:  # one at a time: no padding effects
        v = embed(tok, sess, [t])[0]
        rows.append({"text": t, "tokens": len(tok.encode(t).ids), "vector": [float(f"{x:.7g}") for x in v]})
    with open(out, "w") as f:
        json.dump({"model": "all-minilm-l6-v2-int8", "generator": "onnxruntime + tokenizers (models/golden.py)", "inputs": rows}, f)
    a, b = rows[0]["vector"], rows[1]["vector"]
    print(f"wrote {len(rows)} vectors to {out}; cos(food, bread) = {sum(x*y for x, y in zip(a, b)):.4f}")


if __name__ == "__main__":
    main()
