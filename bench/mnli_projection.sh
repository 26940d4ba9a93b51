#!/usr/bin/env bash
# The full MNLI recipe (configs/glue/mnli.yaml: 7 epochs) projected by `dcft plan` at 1, 2, 16
# and 64 nodes of this machine's kind (2 cores: 2 ranks per node), per-rank batch 16 (the
# recipe's global batch 32 on one node; weak scaling beyond), links of 10 and 1 Gb/s, on the
# MNLI stand-in (bench/large_task_run.sh prepares it). Writes bench/results/large_tasks/mnli_projection.md.
set -euo pipefail
cd "$(dirname "$0")/.."
data=work-data/standin-data/mnli
out=bench/results/large_tasks/mnli_projection.md
[ -d "$data/train" ] || { echo "run bench/large_task_run.sh first (it prepares $data)" >&2; exit 2; }
swift build -c release >/dev/null
rows=()
for nodes in 1 2 16 64; do
  for gbps in 10 1; do
    [ "$nodes" = 1 ] && [ "$gbps" = 1 ] && continue
    batch=$(( 16 * 2 * nodes ))
    plan=$(.build/release/dcft plan --config configs/glue/mnli.yaml --set "data.train=$data/train" \
             --set "data.dev=[$data/dev_matched,$data/dev_mismatched]" --set "train.batch_size=$batch" \
             --nodes "$nodes" --ranks-per-node 2 --link-gbps "$gbps" 2>/dev/null)
    get() { printf '%s\n' "$plan" | awk -v k="$1" 'index($0, k) == 1 { sub("^" k " +", ""); print; exit }'; }
    rows+=("| $nodes | $gbps Gb/s | $batch | $(get steps) | $(get "time per epoch") | $(get evaluation) | $(get total) | $(get "peak memory per rank") |")
    echo "${rows[-1]}"
  done
done
{
  echo "# Full MNLI recipe (7 epochs) projected by dcft plan"
  echo
  echo "Made by \`bash bench/mnli_projection.sh\` on the MNLI stand-in (400k pairs, max length 256, dynamic padding);"
  echo "nodes of this machine's kind (2 cores, 2 ranks × 1 thread), per-rank batch 16."
  echo
  echo "| nodes | link | global batch | steps | time per epoch | evaluations | total | peak memory per rank |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > "$out"
cat "$out"
