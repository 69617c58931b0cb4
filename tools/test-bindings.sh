#!/usr/bin/env bash
# The C API and the Python wheel, tested as their users get them (run by .ci/run after the host
# tests, which built target/release/leann-edge):
#   - C: the checked-in header is what cbindgen makes of the code; examples/c/search.c compiled by
#     the system C compiler against the shared and the static library and run on an index the CLI
#     built; `aarch64`: cross-compiled instead and run under qemu-user (static library).
#   - Python: the wheel built by maturin (abi3), installed into a fresh venv with pytest and
#     llama-index-core, and the pytest suite run against the installed wheel (not the source tree).
# Pinned: maturin 1.16.0, pytest 8.4.2, llama-index-core 0.14.25.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
T="$CARGO_TARGET_DIR"
# host (default): C and Python on this machine; aarch64: the C example cross-built, run under qemu.
what="${1:-host}"
say() { echo "test-bindings: $*"; }

say "an index built by the CLI"
idx="$T/bindings-corpus.leann"
rm -f "$idx"
"$T/release/leann-edge" build examples/corpus -o "$idx" 2>/dev/null
q="Which planet has the most moons?"

if [ "$what" = aarch64 ]; then
  say "C on aarch64: cross-compiled, static library, run under qemu-user"
  a="$T/aarch64-unknown-linux-gnu/release"
  # .ci/run's aarch64 test build made the static library (tests/c_api.rs needs it; cargo leaves it
  # in deps/ then); build it only when run on its own.
  lib="$a/libleann_edge_c.a"
  [ -f "$lib" ] || lib="$a/deps/libleann_edge_c.a"
  if [ ! -f "$lib" ]; then
    cargo build --release --target aarch64-unknown-linux-gnu -p leann-edge-c
    lib="$a/libleann_edge_c.a"
  fi
  aarch64-linux-gnu-gcc -O2 -Wall -Werror examples/c/search.c -Ibindings/c/include "$lib" -lpthread -ldl -lm -o "$a/c-search"
  out=$(LEANN_EDGE_MODEL="$PWD/models/all-minilm-l6-v2-int8" qemu-aarch64 -L /usr/aarch64-linux-gnu "$a/c-search" "$idx" "$q")
  echo "$out" | sed 's/^/  /'
  grep -q "^1\. .*planets.html" <<<"$out" || { say "C (aarch64): planets.html is not the first hit"; exit 1; }
  exit 0
fi

say "C: header check (cbindgen, a crate of its own)"
cargo test --release -p leann-edge-c-header
say "C and Python crates: unit tests and libraries, compiled once for both"
# Both packages in one invocation: their dependencies get one feature set, the one maturin's
# build of the Python crate alone resolves too, so maturin below compiles only pyo3 and the crate.
cargo test --release -p leann-edge-c -p leann-edge-python
cargo build --release -p leann-edge-c -p leann-edge-python
for kind in shared static; do
  if [ $kind = shared ]; then
    cc -O2 -Wall -Wextra -Werror examples/c/search.c -Ibindings/c/include -L"$T/release" -lleann_edge_c -o "$T/c-search-$kind"
    run=(env LD_LIBRARY_PATH="$T/release" "$T/c-search-$kind")
  else
    cc -O2 -Wall -Wextra -Werror examples/c/search.c -Ibindings/c/include "$T/release/libleann_edge_c.a" -lpthread -ldl -lm -o "$T/c-search-$kind"
    run=("$T/c-search-$kind")
  fi
  out=$("${run[@]}" "$idx" "$q" --change)
  echo "$out" | sed 's/^/  /'
  grep -q "^1\. .*planets.html" <<<"$out" || { say "C ($kind): planets.html is not the first hit"; exit 1; }
  grep -q "^after add: c-note" <<<"$out" || { say "C ($kind): the added note is not found"; exit 1; }
  grep -q "^empty query -> invalid_query" <<<"$out" || { say "C ($kind): no error code for an empty query"; exit 1; }
done
if [ "$(ldd "$T/c-search-static" | grep -c leann_edge_c || true)" != 0 ]; then
  say "the static example links the shared library"; exit 1
fi

say "Python: wheel built by maturin"
venv_build="$T/py-build-venv"
[ -x "$venv_build/bin/maturin" ] || { python3 -m venv "$venv_build"; "$venv_build/bin/pip" install -q maturin==1.16.0; }
rm -rf "$T/wheels"
"$venv_build/bin/maturin" build --release -m bindings/python/Cargo.toml --out "$T/wheels" 2>&1 | tail -3
wheel=$(ls "$T"/wheels/leann_edge-*.whl)
say "wheel $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

say "Python: the wheel in a fresh venv, pytest against it"
venv="$T/py-test-venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q "$wheel" pytest==8.4.2 llama-index-core==0.14.25
cd bindings/python/tests
LEANN_EDGE_MODEL="$PWD/../../../models/all-minilm-l6-v2-int8" \
LEANN_EDGE_CLI_INDEX="$idx" LEANN_EDGE_CLI="$T/release/leann-edge" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider .
