#!/usr/bin/env bash
# Installs the real clients the service tests drive (tests/serve.rs), on a fresh Debian machine:
#   - Debian's chromium + chromium-driver (the kiosk page is used in a headless browser),
#   - the pinned Python packages in tests/clients/requirements.txt (the official MCP SDK, selenium).
# Idempotent: skips what is already there. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "test-deps: apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! python3 - <<'PY' 2>/dev/null
import importlib.metadata as m, pathlib
want = [l.split("==") for l in pathlib.Path("tests/clients/requirements.txt").read_text().split("\n")
        if l and not l.startswith("#")]
assert all(m.version(n) == v for n, v in want)
PY
then
  echo "test-deps: pip install -r tests/clients/requirements.txt"
  python3 -m pip install -q -r tests/clients/requirements.txt
fi
echo "test-deps: chromium, chromedriver and the Python test clients are ready"
