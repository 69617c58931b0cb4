#!/usr/bin/env bash
# Builds the release artifacts for the boards and tests each one the way a user gets it:
#   target/release-artifacts/leann-edge-VERSION-TRIPLE.tar.gz   the binary, README, board profiles
#                                                                 (the model: models/fetch.sh --user)
#   target/release-artifacts/leann-edge_VERSION_ARCH.deb          the binary, the default model, the
#                                                                 board profiles (tools/package-deb.sh)
#   target/release-artifacts/leann-edge-c-VERSION-TRIPLE.tar.gz   C header + shared/static library
#   target/release-artifacts/wheels/*.whl                         Python wheels (abi3, x86_64, aarch64)
# Targets (TARGETS= to choose): x86_64-unknown-linux-musl (static: runs on any x86_64 Linux),
# aarch64-unknown-linux-gnu (Pi 3/4/5, Zero 2 W, Jetson; arm64) and armv7-unknown-linux-gnueabihf
# (32-bit Raspberry Pi OS; armhf).
# Each .deb is tested by tools/test-deb.sh: unpacked into an empty root, its binary run from another
# folder with an empty home (ARM under qemu-user) must find its model, index and find a PDF and
# answer `demo`; as root, the static x86_64 binary also answers chrooted into that root (nothing
# but the package's files).
#
#   tools/release.sh
#   TARGETS="aarch64-unknown-linux-gnu" tools/release.sh
# Needs tools/cross-setup.sh's toolchains (run here) and musl-tools for the static build.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
TARGETS="${TARGETS:-x86_64-unknown-linux-musl aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf}"
out="$CARGO_TARGET_DIR/release-artifacts"
version=$(sed -n 's/^version = "\(.*\)"/\1/p;T;q' Cargo.toml)
step() { echo "== $(date -u +%H:%M:%S) $*"; }

tools/cross-setup.sh
if [[ " $TARGETS " == *musl* ]]; then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  command -v musl-gcc >/dev/null || {
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends musl-tools
  }
  rustup target list --installed | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl
fi
./models/fetch.sh >/dev/null
mkdir -p "$out"

for t in $TARGETS; do
  step "$t: build (dist profile)"
  cargo build --profile dist --locked --target "$t" --bin leann-edge
  bin="$CARGO_TARGET_DIR/$t/dist/leann-edge"
  case "$t" in
    x86_64-*musl) arch=amd64 ;;
    aarch64-*) arch=arm64 ;;
    armv7-*) arch=armhf ;;
    *) echo "release: no Debian architecture for $t" >&2; exit 2 ;;
  esac
  if [[ "$t" == *musl ]] && grep -q INTERP < <(readelf -l "$bin"); then
    echo "release: $bin is dynamically linked; expected a static binary" >&2; exit 1
  fi

  step "$t: tarball and .deb"
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  name="leann-edge-$version-$t"
  install -D -m 0755 "$bin" "$stage/$name/leann-edge"
  install -m 0644 README.md "$stage/$name/"
  cp -r boards "$stage/$name/boards"
  tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
  rm -rf "$stage"
  tools/package-deb.sh --binary "$bin" --arch "$arch" --out "$out"
  deb="$out/leann-edge_${version}_${arch}.deb"

  step "$t: install test"
  chroot_too=""
  [[ "$t" == x86_64-*musl ]] && [ "$(id -u)" = 0 ] && chroot_too=--chroot
  tools/test-deb.sh "$deb" "$t" $chroot_too
done

# The bindings per architecture (glibc targets: the C library and the wheel link glibc):
#   leann-edge-c-VERSION-TRIPLE.tar.gz   include/leann_edge.h, lib/libleann_edge_c.{so,a}, example
#   wheels/leann_edge-VERSION-cp39-abi3-manylinux_*_ARCH.whl   (maturin; abi3: CPython >= 3.9)
# armv7: not built (tract's armv7 int8 kernels and pyo3's abi3 cross build are untested there).
BINDING_TARGETS="${BINDING_TARGETS:-x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu}"
venv="$CARGO_TARGET_DIR/py-build-venv"
[ -x "$venv/bin/maturin" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q maturin==1.16.0; }
for t in $BINDING_TARGETS; do
  step "$t: C library + header tarball"
  cargo build --profile dist --locked --target "$t" -p leann-edge-c
  stage=$(mktemp -d)
  name="leann-edge-c-$version-$t"
  install -D -m 0644 bindings/c/include/leann_edge.h "$stage/$name/include/leann_edge.h"
  install -D -m 0755 "$CARGO_TARGET_DIR/$t/dist/libleann_edge_c.so" "$stage/$name/lib/libleann_edge_c.so"
  install -m 0644 "$CARGO_TARGET_DIR/$t/dist/libleann_edge_c.a" "$stage/$name/lib/"
  install -D -m 0644 examples/c/search.c "$stage/$name/examples/search.c"
  tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
  rm -rf "$stage"
  step "$t: Python wheel"
  "$venv/bin/maturin" build --profile dist --strip --target "$t" -m bindings/python/Cargo.toml --out "$out/wheels"
done
step "artifacts"
ls -l "$out" "$out/wheels"
