#!/usr/bin/env bash
# Tests a built .deb the way a user gets it: unpacked into an empty root, its binary run from
# another folder with an empty home and no $LEANN_EDGE_MODEL (ARM binaries under qemu-user):
# `leann-edge models` must find and verify the bundled model, a PDF must be indexed and found, and
# `leann-edge demo` must answer. With --chroot (root only; a static binary), `demo` also runs
# chrooted into that root, where nothing but the package's files exists. With --quick (CI under
# emulation, ~100x slower), the PDF and one Markdown file are indexed and searched instead of
# running the demo's corpus and five questions.
#   tools/test-deb.sh DEB TRIPLE [--chroot | --quick]
set -euo pipefail
deb="$1" t="$2" mode="${3:-}"
case "$mode" in
  ""|--quick) ;;
  --chroot) [ "$(id -u)" = 0 ] || { echo "test-deb: --chroot needs root" >&2; exit 2; } ;;
  *) echo "usage: tools/test-deb.sh DEB TRIPLE [--chroot | --quick]" >&2; exit 2 ;;
esac
[ -f "$deb" ] || { echo "test-deb: no package at $deb" >&2; exit 1; }
deb=$(realpath "$deb")
root=$(mktemp -d) home=$(mktemp -d) elsewhere=$(mktemp -d)
trap 'rm -rf "$root" "$home" "$elsewhere"' EXIT
dpkg-deb -x "$deb" "$root"

run_as() { # the target's binary here (qemu-user with the cross sysroot for ARM)
  case "$t" in
    aarch64-*) qemu-aarch64 -L /usr/aarch64-linux-gnu "$@" ;;
    armv7-*) qemu-arm -L /usr/arm-linux-gnueabihf "$@" ;;
    *) "$@" ;;
  esac
}
fail() { echo "test-deb: $t: $*" >&2; exit 1; }
cd "$elsewhere"
export HOME="$home" XDG_DATA_HOME="$home/.local/share" XDG_CACHE_HOME="$home/.cache"
unset LEANN_EDGE_MODEL
# What the package says about itself holds: the binary is stripped, every shared library it needs
# comes from a package it depends on, and the example systemd unit runs the installed binary with
# the bundled model (no setting pointing elsewhere).
control="$home/control.txt"
dpkg-deb -f "$deb" Depends > "$control"
if command -v readelf >/dev/null; then
  readelf -S "$root/usr/bin/leann-edge" > "$home/sections.txt"
  grep -q '\.symtab' "$home/sections.txt" && fail "the binary is not stripped"
  for lib in $(readelf -d "$root/usr/bin/leann-edge" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
    case "$lib" in
      libgcc_s.so.*) need=libgcc-s1 ;;
      libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|ld-linux*) need=libc6 ;;
      *) fail "needs $lib, which no package it depends on provides" ;;
    esac
    grep -qw "$need" "$control" || fail "needs $lib but does not depend on $need ($(cat "$control"))"
  done
fi
unit="$root/usr/share/doc/leann-edge/examples/leann-edge.service"
exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[ -x "$root$exe" ] || fail "the example unit runs $exe, which the package does not install"
grep -q '^Environment=LEANN_EDGE_MODEL' "$unit" && fail "the example unit points the model elsewhere"
run_as "$root/usr/bin/leann-edge" models > "$home/models.txt"
cat "$home/models.txt"
grep -q "ok (all-minilm-l6-v2-int8" "$home/models.txt" || fail "the bundled model was not found or does not verify"

# A one-page PDF (written object by object, correct cross-reference table) and a Markdown file.
mkdir docs
python3 - > docs/boiler.pdf <<'PY'
import sys
text = "BT /F1 12 Tf 72 720 Td (The boiler pressure should read 1.5 bar when cold.) Tj ET"
objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
out, offs = b"%PDF-1.4\n", []
for i, o in enumerate(objs):
    offs.append(len(out))
    out += f"{i + 1} 0 obj\n{o}\nendobj\n".encode()
xref = len(out)
out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
out += b"".join(f"{o:010} 00000 n \n".encode() for o in offs)
out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
sys.stdout.buffer.write(out)
PY
printf '# Bread\n\nBake the loaf at 230 degrees for forty minutes.\n' > docs/bread.md
run_as "$root/usr/bin/leann-edge" build docs -o q.leann
run_as "$root/usr/bin/leann-edge" search q.leann "what pressure should the boiler show" -k 1 > "$home/search.txt"
cat "$home/search.txt"
grep -q "boiler.pdf:1" "$home/search.txt" || fail "the PDF was not indexed or not found"

if [ "$mode" != --quick ]; then
  run_as "$root/usr/bin/leann-edge" demo > "$home/demo.txt"
  grep -q "raspberry-pi.md" "$home/demo.txt" || fail "demo gave no answer"
fi
if [ "$mode" = --chroot ]; then
  mkdir -p "$root/tmp" && chmod 1777 "$root/tmp"
  chroot "$root" /usr/bin/leann-edge demo > "$home/chroot.txt" || fail "demo failed chrooted into the package"
  grep -q "raspberry-pi.md" "$home/chroot.txt" || fail "demo gave no answer chrooted into the package"
  echo "test-deb: $t: demo answered chrooted into the unpacked package"
fi
echo "test-deb: $t: $(basename "$deb") unpacks, finds its model, reads a PDF and answers"
