#!/usr/bin/env bash
# Side-by-side step time of two dcft binaries (e.g. before and after a refactor), alternating
# OLD and NEW in one run so that machine noise hits both alike. Prints each run's median ms/step
# and, per adapter, the median over rounds and NEW/OLD.
#
#   bash bench/compare_binaries.sh OLD_DCFT NEW_DCFT [ROUNDS=3] [STEPS=10]
#
# MiniLM-L6 shape (models/all-MiniLM-L6-v2), batch 32 × 128, 2 threads, one rank; adapters
# DCFT d=8, LoRA r=1 (α 2) and full fine-tuning. Older binaries took --lora-rank; newer ones
# take --set adapter.lora_rank=…; the script asks each binary's --help which.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?old binary}; new=${2:?new binary}; rounds=${3:-3}; steps=${4:-10}
model=${MODEL:-models/all-MiniLM-L6-v2}
lora_args() {
  if "$1" bench --help 2>&1 | grep -q -- "--lora-rank"; then echo "--lora-rank 1"; else echo "--set adapter.lora_rank=1 --set adapter.lora_alpha=2"; fi
}
run() {  # binary adapter → median ms
  local extra=""; [ "$2" = lora ] && extra=$(lora_args "$1")
  # shellcheck disable=SC2086
  "$1" bench --model "$model" --batch 32 --seq 128 --threads 2 --steps "$steps" --warmup 2 --adapter "$2" $extra \
    | sed -n 's/^step: median \([0-9.]*\) ms.*/\1/p'
}
for adapter in dcft lora full; do
  o=(); n=()
  for r in $(seq "$rounds"); do
    o+=("$(run "$old" "$adapter")"); n+=("$(run "$new" "$adapter")")
    echo "$adapter round $r: old ${o[-1]} ms  new ${n[-1]} ms"
  done
  python3 - "$adapter" "${o[*]}" "${n[*]}" <<'PY'
import statistics, sys
a, o, n = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
mo, mn = statistics.median(o), statistics.median(n)
print(f"{a}: old median {mo:.1f} ms, new median {mn:.1f} ms, new/old {mn / mo:.3f}")
PY
done
