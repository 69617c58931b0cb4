#!/usr/bin/env bash
# Cross-builds release binaries for the boards and the no_std search core, then prints their sizes.
#   tools/cross-build.sh            # aarch64 (Pi 4/5, Zero 2 W, Jetson) + armv7 (32-bit Raspberry Pi OS)
#   TARGETS="aarch64-unknown-linux-gnu" tools/cross-build.sh
# Binaries land in target/<triple>/dist/leann-edge; copy one to the board together with models/.
# Linkers and qemu runners come from .cargo/config.toml; toolchains from tools/cross-setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
tools/cross-setup.sh
TARGETS="${TARGETS:-aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf}"
for t in $TARGETS; do
  echo "== $t"
  cargo build --profile dist --locked --target "$t" --bin leann-edge
done
echo "== thumbv7em-none-eabihf (no_std + alloc search core)"
cargo build --release --locked --no-default-features --target thumbv7em-none-eabihf --lib

echo
echo "binary sizes (bytes): as built / fully stripped"
for t in $TARGETS; do
  bin="$CARGO_TARGET_DIR/$t/dist/leann-edge"
  case "$t" in
    aarch64-*) strip_tool=aarch64-linux-gnu-strip ;;
    armv7-*) strip_tool=arm-linux-gnueabihf-strip ;;
    *) strip_tool=strip ;;
  esac
  "$strip_tool" -o "$bin.stripped" "$bin"
  printf '%-34s %10s / %10s\n' "$t" "$(stat -c %s "$bin")" "$(stat -c %s "$bin.stripped")"
done
printf '%-34s %10s (rlib, not a binary)\n' thumbv7em-none-eabihf \
  "$(stat -c %s "$CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/libleann_edge.rlib")"
