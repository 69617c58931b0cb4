#!/usr/bin/env bash
# tract (leann-edge bench-encoder) and onnxruntime (benches/ort_speed.py) on the same inputs and thread
# counts, one right after the other on this machine. Needs a release build, the model
# (models/fetch.sh) and `pip install onnxruntime tokenizers numpy`.
#   benches/encoder_vs_ort.sh [THREADS...]      (default: 1 2)
# BINS="old/leann-edge new/leann-edge" runs several builds of tract side by side (before/after);
# COMPUTE="f32 int8" (the default) runs each with both encoder arithmetics (--compute).
set -euo pipefail
cd "$(dirname "$0")/.."
bins="${BINS:-${CARGO_TARGET_DIR:-target}/release/leann-edge}"
[ -n "${BINS:-}" ] || [ -x "$bins" ] || cargo build --release --bin leann-edge
for t in "${@:-1 2}"; do
  for n in $t; do
    for bin in $bins; do
      for c in ${COMPUTE:-f32 int8}; do
        echo "### threads $n: tract ($bin, --compute $c)"
        "$bin" --threads "$n" --compute "$c" bench-encoder --reps 5
      done
    done
    echo "### threads $n: onnxruntime"
    python3 benches/ort_speed.py --threads "$n" --reps 5
  done
done
