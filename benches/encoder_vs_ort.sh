#!/usr/bin/env bash
# tract (leann-edge bench-encoder) and onnxruntime (benches/ort_speed.py) on the same inputs and thread
# counts, one right after the other on this machine. Needs a release build, the model
# (models/fetch.sh) and `pip install onnxruntime tokenizers numpy`.
#   benches/encoder_vs_ort.sh [THREADS...]      (default: 1 2)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release/leann-edge"
[ -x "$bin" ] || cargo build --release --bin leann-edge
for t in "${@:-1 2}"; do
  for n in $t; do
    echo "### threads $n: tract"
    "$bin" --threads "$n" bench-encoder --reps 5
    echo "### threads $n: onnxruntime"
    python3 benches/ort_speed.py --threads "$n" --reps 5
  done
done
