#!/usr/bin/env bash
# Build and run every fuzz target for SECONDS each (default 60), seeded with the golden index files.
# Uses the stable toolchain with RUSTC_BOOTSTRAP=1 (libFuzzer needs nightly's sanitizer flags) and
# cargo-fuzz (installed into target/tools if missing). A crash fails the script; its input is left in
# fuzz/artifacts/TARGET/ — turn it into a regression test.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$PWD/target"
tools="$PWD/target/tools"
if ! command -v cargo-fuzz >/dev/null && [ ! -x "$tools/bin/cargo-fuzz" ]; then
  cargo install --locked --root "$tools" cargo-fuzz
fi
export PATH="$tools/bin:$PATH"
# Inputs of earlier runs are kept aside: each crash found must already be a regression test.
[ -d artifacts ] && rm -rf artifacts.old && mv artifacts artifacts.old
mkdir -p corpus/index_reader corpus/index_sections corpus/ingest
cp ../tests/fixtures/*.leann corpus/index_reader/
cp ../examples/corpus/*.md ../examples/corpus/*.html corpus/ingest/ 2>/dev/null || true
cargo fuzz build
for t in index_reader index_sections ingest; do
  echo "== fuzz $t for ${secs}s"
  cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
    | grep -E "^(stat::|#[0-9]+ +DONE|==[0-9]+==|SUMMARY|thread|Done|INFO: Loaded)" || true
  # `cargo fuzz run` exits non-zero on a crash; with `|| true` above we check for artifacts instead.
  found=$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) 2>/dev/null)
  if [ -n "$found" ]; then
    echo "fuzz: $t found a failing input: $found"; exit 1
  fi
done
