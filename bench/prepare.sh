#!/usr/bin/env bash
# Times `dcft prepare` on SST-2 train (67,349 sentences) against the Hugging Face `tokenizers`
# pipeline (bench/prepare_hf.py) on the same machine, alternating them REPEAT times, and prints
# the median examples/s of each and their ratio.
#   bash bench/prepare.sh [GLUE_SST2_DIR] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-datasets/glue/SST-2}
repeat=${2:-5}
bash launch/fetch-model.sh >/dev/null
swift build -c release --product dcft >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=$(($(wc -l < "$data/train.tsv") - 1))
swift_t=(); hf_t=()
for i in $(seq "$repeat"); do
  s=$(date +%s.%N); .build/release/dcft prepare --task sst2 --data "$data" --model models/all-MiniLM-L6-v2 --out "$tmp/d" --max-length 128 >/dev/null; e=$(date +%s.%N)
  swift_t+=("$(python3 -c "print($e - $s)")")
  s=$(date +%s.%N); python3 bench/prepare_hf.py "$data/train.tsv" models/all-MiniLM-L6-v2 "$tmp/hf.h5" 128 >/dev/null; e=$(date +%s.%N)
  hf_t+=("$(python3 -c "print($e - $s)")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms=$(median "${swift_t[@]}"); mh=$(median "${hf_t[@]}")
printf 'SST-2 train, %d sentences, max_length 128, %d alternating runs (whole process, wall clock):\n' "$n" "$repeat"
printf '  dcft prepare (train+dev)   median %.3f s\n' "$ms"
printf '  HF tokenizers + h5py      median %.3f s  (%.0f sentences/s)\n' "$mh" "$(python3 -c "print($n / $mh)")"
printf '  per-stage figures of one run each (tokenization alone vs end to end):\n'
.build/release/dcft prepare --task sst2 --data "$data" --model models/all-MiniLM-L6-v2 --out "$tmp/d" --max-length 128 | head -1
python3 bench/prepare_hf.py "$data/train.tsv" models/all-MiniLM-L6-v2 "$tmp/hf.h5" 128
printf '  ratio (HF wall / dcft wall): %.2fx\n' "$(python3 -c "print($mh / $ms)")"
