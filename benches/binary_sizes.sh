#!/usr/bin/env bash
# Binary size with and without the service (`serve` feature), for x86_64 and aarch64, `dist`
# profile, fully stripped. Prints a markdown table. Slow (four LTO builds): run nothing else meanwhile.
#   bash benches/binary_sizes.sh [TARGET ...]      # default: x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)
echo "| target | with serve (default) | without (cli,tract) | serve adds |"
echo "|---|---:|---:|---:|"
for t in "${targets[@]}"; do
  case "$t" in
    aarch64-*) strip_tool=aarch64-linux-gnu-strip ;;
    armv7-*) strip_tool=arm-linux-gnueabihf-strip ;;
    *) strip_tool=strip ;;
  esac
  sizes=()
  for feats in default "cli,tract"; do
    if [ "$feats" = default ]; then args=(); else args=(--no-default-features --features "$feats"); fi
    cargo build -q --profile dist --locked --target "$t" --bin leann-edge "${args[@]}"
    bin="$CARGO_TARGET_DIR/$t/dist/leann-edge"
    "$strip_tool" -o "$bin.stripped" "$bin"
    sizes+=("$(stat -c %s "$bin.stripped")")
  done
  printf '| %s | %s | %s | %s |\n' "$t" "${sizes[0]}" "${sizes[1]}" "$((sizes[0] - sizes[1]))"
done
