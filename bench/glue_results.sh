#!/usr/bin/env bash
# The GLUE results table (issue 6): all-MiniLM-L6-v2, reference hyperparameters from
# configs/glue/TASK.yaml, 2 ranks × 1 thread, seed 6, epochs capped to 10 (SST-2: 2).
#
#   bash bench/glue_results.sh [ROW ...]      # default: every row, in the order below
#   GLUE=path/to/glue bash bench/glue_results.sh rte-dcft2
#
# A row is TASK-METHOD. Finished rows (bench/results/glue/ROW.json, committed) are skipped, so
# the script can be stopped and started again: an interrupted row resumes from its newest
# checkpoint in runs/results/ROW (--resume auto) and its wall time adds up over attempts. After
# every row the table is rewritten: bench/results/glue.md, glue.tsv and docs/RESULTS.md's copy.
#
# Methods: dcft8 (the config as is: DCFT d = 8), dcft2 (d = 2), lora1 / lora8 (PEFT-style LoRA
# on the same six modules, alpha = 2·r, lr 5e-4 as in configs/glue/rte-lora.yaml), head
# (adapters off: pooler + classifier only), full (full fine-tuning, lr 2e-5).
set -euo pipefail
cd "$(dirname "$0")/.."
glue=${GLUE:-datasets/glue}
np=${NP:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

all_rows=(  # DCFT d=8 on every task first, then the comparisons, smallest tasks first
  rte-dcft8 mrpc-dcft8 stsb-dcft8 cola-dcft8 sst2-dcft8
  rte-dcft2 rte-lora1 rte-lora8 rte-head rte-full
  mrpc-dcft2 mrpc-lora1 mrpc-lora8 mrpc-head mrpc-full
  stsb-dcft2 stsb-lora1 stsb-lora8 stsb-head
  cola-dcft2 cola-lora1 cola-lora8 cola-head
  sst2-dcft2 sst2-lora1 sst2-lora8 sst2-head
)
rows=("$@"); [ ${#rows[@]} -gt 0 ] || rows=("${all_rows[@]}")

declare -A glue_dir=([rte]=RTE [mrpc]=MRPC [stsb]=STS-B [cola]=CoLA [sst2]=SST-2)

overrides() {  # METHOD -> --set arguments
  case $1 in
    dcft8) ;;
    dcft2) echo "--set adapter.kernel=2" ;;
    lora1) echo "--set adapter.type=lora --set adapter.lora_rank=1 --set adapter.lora_alpha=2 --set train.lr=5e-4 --set train.orth_gamma=0" ;;
    lora8) echo "--set adapter.type=lora --set adapter.lora_rank=8 --set adapter.lora_alpha=16 --set train.lr=5e-4 --set train.orth_gamma=0" ;;
    head)  echo "--set adapter.type=none --set train.orth_gamma=0" ;;
    full)  echo "--set adapter.type=none --set adapter.full_fine_tuning=true --set train.lr=2e-5 --set train.orth_gamma=0" ;;
    *) echo "unknown method '$1' (dcft8 dcft2 lora1 lora8 head full)" >&2; exit 2 ;;
  esac
}

[ -x .build/release/dcft ] || swift build -c release --product dcft
[ -d models/all-MiniLM-L6-v2 ] || bash launch/fetch-model.sh

for row in "${rows[@]}"; do
  task=${row%%-*}; method=${row#*-}
  config=configs/glue/$task.yaml
  [ -f "$config" ] && [ -n "${glue_dir[$task]:-}" ] || { echo "unknown row '$row'" >&2; exit 2; }
  sets=$(overrides "$method")
  out=runs/results/$row
  [ -f "bench/results/glue/$row.json" ] && { echo "== $row: done (skipped)"; continue; }
  if [ ! -d "data/$task/train" ]; then
    len=$(grep -o -- '--max-length [0-9]*' "$config" | head -1 | awk '{print $2}')
    .build/release/dcft prepare --task "$task" --data "$glue/${glue_dir[$task]}" \
      --model models/all-MiniLM-L6-v2 --out "data/$task" --max-length "$len"
  fi
  epochs=10; [ "$task" = sst2 ] && epochs=2
  mkdir -p "$out" bench/results/glue
  resume=(); ls "$out"/ckpt-*.h5 >/dev/null 2>&1 && resume=(--resume auto)
  cmd="bash launch/local.sh $np $config --set train.epochs=$epochs --set output_dir=$out $sets"
  echo "== $row: $cmd ${resume[*]}"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  THREADS=1 bash launch/local.sh "$np" "$config" --set train.epochs=$epochs --set output_dir="$out" \
    --set log.progress=plain $sets "${resume[@]}" 2>&1 | tee -a "$out/train.out"
  end=$(date +%s.%N)
  prev=$(cat "$out/wall_s" 2>/dev/null || echo 0)
  python3 -c "print($prev + $end - $start)" > "$out/wall_s"
  python3 - "$row" "$out" "$cmd" <<'EOF'
import json, re, sys
row, out, cmd = sys.argv[1:]
log = [json.loads(l) for l in open(f"{out}/log.jsonl")]
evals = [r for r in log if "eval" in r]
steps = [r for r in log if "loss" in r]
if not evals:
    sys.exit(f"{row}: no evaluation in {out}/log.jsonl")
head = evals[-1]["headline"]
best = max(evals, key=lambda r: r["eval"][head])
text = open(f"{out}/train.out").read()
m = re.findall(r"trainable: (\d+) parameters \(adapters (\d+), head (\d+)\); allreduce (\d+) bytes", text)[-1]
json.dump({"row": row, "command": cmd, "headline": head, "best": best["eval"], "best_step": best["step"],
           "last": evals[-1]["eval"], "last_step": evals[-1]["step"], "trainable": int(m[0]),
           "adapters": int(m[1]), "head": int(m[2]), "allreduce_bytes": int(m[3]),
           "steps": steps[-1]["step"], "median_step_ms": sorted(r["step_ms"] for r in steps)[len(steps) // 2],
           "wall_s": float(open(f"{out}/wall_s").read())}, open(f"bench/results/glue/{row}.json", "w"), indent=1)
EOF
  python3 bench/glue_table.py
done
python3 bench/glue_table.py
