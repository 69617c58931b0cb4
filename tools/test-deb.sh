#!/usr/bin/env bash
# Tests a built .deb the way a user gets it: unpacked into an empty root, its binary run from
# another folder with an empty home and no $LEANN_EDGE_MODEL (ARM binaries under qemu-user):
# `leann-edge models` must find and verify the bundled model and `leann-edge demo` must answer.
# With --chroot (root only; a static binary), `demo` also runs chrooted into that root, where
# nothing but the package's files exists.
#   tools/test-deb.sh DEB TRIPLE [--chroot]
set -euo pipefail
deb="$1" t="$2" chroot_too="${3:-}"
[ -f "$deb" ] || { echo "test-deb: no package at $deb" >&2; exit 1; }
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
cd "$elsewhere"
export HOME="$home" XDG_DATA_HOME="$home/.local/share" XDG_CACHE_HOME="$home/.cache"
unset LEANN_EDGE_MODEL
run_as "$root/usr/bin/leann-edge" models | tee "$home/models.txt"
grep -q "ok (all-minilm-l6-v2-int8" "$home/models.txt" \
  || { echo "test-deb: $t: the bundled model was not found or does not verify" >&2; exit 1; }
run_as "$root/usr/bin/leann-edge" demo | tee "$home/demo.txt"
grep -q "raspberry-pi.md" "$home/demo.txt" || { echo "test-deb: $t: demo gave no answer" >&2; exit 1; }
if [ "$chroot_too" = --chroot ]; then
  mkdir -p "$root/tmp" && chmod 1777 "$root/tmp"
  chroot "$root" /usr/bin/leann-edge demo > "$home/chroot.txt" \
    || { echo "test-deb: $t: demo failed chrooted into the package" >&2; exit 1; }
  grep -q "raspberry-pi.md" "$home/chroot.txt" \
    || { echo "test-deb: $t: demo gave no answer chrooted into the package" >&2; exit 1; }
  echo "test-deb: $t: demo answered chrooted into the unpacked package"
fi
echo "test-deb: $t: $(basename "$deb") installs, finds its model and answers"
