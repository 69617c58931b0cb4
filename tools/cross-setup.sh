#!/usr/bin/env bash
# Installs what cross builds for the boards need on a fresh Debian machine:
#   - Debian's cross C toolchains (tract-linalg, onig and zstd build C/assembly for the target),
#   - qemu-user to run ARM test binaries on an x86 host (runners are set in .cargo/config.toml),
#   - the rust targets, including a bare-metal one for the no_std search core.
# Idempotent: skips what is already there. Needs root (or sudo) for apt-get.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v aarch64-linux-gnu-gcc >/dev/null || need_apt+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v arm-linux-gnueabihf-gcc >/dev/null || need_apt+=(gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf libc6-dev-armhf-cross)
command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "cross-setup: apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

targets=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf thumbv7em-none-eabihf)
installed="$(rustup target list --installed)"
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
echo "cross-setup: toolchains ready (${targets[*]})"
