#!/usr/bin/env bash
# Builds a Debian package of leann-edge with dpkg-deb (no other tool needed):
#   /usr/bin/leann-edge, the default model (verified copy of models/all-minilm-l6-v2-int8) in
#   /usr/share/leann-edge/models/, the board profiles in /usr/share/leann-edge/boards/, the systemd
#   unit as an example in /usr/share/doc/leann-edge/, README and licence notes.
# After `sudo apt install ./leann-edge_*.deb`, `leann-edge demo` works from any folder.
#
#   tools/package-deb.sh                       # host: target/release/leann-edge, dpkg's architecture
#   tools/package-deb.sh --target aarch64-unknown-linux-gnu   # a board binary from tools/cross-build.sh
#   tools/package-deb.sh --binary PATH --arch arm64 --out DIR
# The model must be present (./models/fetch.sh); it is checked against models/manifest.toml's sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="" arch="" out="target/deb" target=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) bin="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    *) echo "usage: tools/package-deb.sh [--target TRIPLE | --binary PATH --arch ARCH] [--out DIR]" >&2; exit 2 ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "package-deb: dpkg-deb is needed (apt-get install dpkg)" >&2; exit 1; }
if [ -n "$target" ]; then
  bin="${bin:-${CARGO_TARGET_DIR:-target}/$target/dist/leann-edge}"
  case "$target" in
    x86_64-*) arch="${arch:-amd64}" ;;
    aarch64-*) arch="${arch:-arm64}" ;;
    armv7-*|arm-*) arch="${arch:-armhf}" ;;
    *) echo "package-deb: no Debian architecture known for $target (give --arch)" >&2; exit 2 ;;
  esac
fi
bin="${bin:-${CARGO_TARGET_DIR:-target}/release/leann-edge}"
arch="${arch:-$(dpkg --print-architecture)}"
[ -x "$bin" ] || { echo "package-deb: no binary at $bin (cargo build --release, or tools/cross-build.sh)" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
model=all-minilm-l6-v2-int8
./models/fetch.sh >/dev/null   # present and verified (fetches only when missing)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/leann-edge_${version}_${arch}"
install -D -m 0755 "$bin" "$root/usr/bin/leann-edge"
# Stripped (the symbol tables of std and the dependencies are ~13 MB nobody on a board reads), with
# the strip of the binary's architecture.
case "$arch" in
  arm64) strip_tool=aarch64-linux-gnu-strip ;;
  armhf) strip_tool=arm-linux-gnueabihf-strip ;;
  *) strip_tool="" ;;
esac
# The host's own strip only for the host's architecture.
[ -z "$strip_tool" ] && [ "$arch" = "$(dpkg --print-architecture)" ] && strip_tool=strip
if [ -n "$strip_tool" ] && command -v "$strip_tool" >/dev/null; then
  "$strip_tool" --strip-unneeded "$root/usr/bin/leann-edge"
else
  echo "package-deb: no strip for $arch here: the binary is packaged unstripped" >&2
fi
for f in model.onnx tokenizer.json config.json; do
  install -D -m 0644 "models/$model/$f" "$root/usr/share/leann-edge/models/$model/$f"
done
for b in boards/*.toml; do install -D -m 0644 "$b" "$root/usr/share/leann-edge/boards/$(basename "$b")"; done
install -D -m 0644 boards/systemd/leann-edge.service "$root/usr/share/doc/leann-edge/examples/leann-edge.service"
install -D -m 0644 README.md "$root/usr/share/doc/leann-edge/README.md"
cat > "$root/usr/share/doc/leann-edge/copyright" <<TXT
leann-edge $version. The bundled encoder model ($model: all-MiniLM-L6-v2, int8) is Apache-2.0;
its files are the ones pinned by sha256 in models/manifest.toml of the source repository.
TXT
size_kb=$(du -sk "$root" | cut -f1)
mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<TXT
Package: leann-edge
Version: $version
Architecture: $arch
Maintainer: leann-edge developers <leann-edge@localhost>
Installed-Size: $size_kb
Depends: libc6, libgcc-s1 | libgcc1
Section: utils
Priority: optional
Description: semantic search over your own documents in a few percent of the storage
 LEANN on small devices: PQ codes (and a pruned graph for large corpora) on flash, no stored
 embeddings, exact embeddings recomputed at query time by a bundled int8 MiniLM encoder. Command
 line tool, resident HTTP/MCP service and kiosk page. Try: leann-edge demo
TXT
mkdir -p "$out"
deb="$out/leann-edge_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
