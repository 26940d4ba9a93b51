#!/usr/bin/env bash
# The multi-node study (docs/PERFORMANCE.md, "Across nodes"): on launch/cluster.sh's simulated
# nodes — one rank per node, Open MPI's TCP transport only — for links of 1 Gb/s, 10 Gb/s and
# unlimited (veth) and 2 and 4 nodes:
#   1. an allreduce sweep, 1 KiB … 128 MiB (mpi-selftest sweep), the data of the α–β model;
#   2. `dcft bench` for DCFT d=8, LoRA r=8 and full fine-tuning on the MiniLM-L6 shape (the real
#      all-MiniLM-L6-v2) and the BERT-base shape (random weights, scripts/make_random_model.py),
#      global batch 32 × 128: compute per rank, allreduce transfer and wait, bytes.
# Then bench/cluster_model.py fits the model, checks it against the held-out dcft steps,
# projects 8 … 1,024 nodes, and writes bench/results/cluster/{model.md, *.svg}.
#
#   bash bench/cluster_study.sh          # resumable: rows already in the .tsv files are kept
#   STEPS=3 RATES="1gbit" NODES="2" bash bench/cluster_study.sh
#
# The machine has 2 cores: with 4 nodes the ranks share them (compute is oversubscribed), which
# is why compute and communication are recorded separately. Needs root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-3}
rates=${RATES:-none 10gbit 1gbit}
node_counts=${NODES:-2 4}
out=bench/results/cluster
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bash launch/fetch-model.sh >/dev/null
swift build -c release >/dev/null
[ -f work-data/bert-base-random/model.safetensors ] || python3 scripts/make_random_model.py bert-base work-data/bert-base-random
declare -A models=([minilm]=models/all-MiniLM-L6-v2 [bert-base]=work-data/bert-base-random)
sweep=$out/sweep.tsv; stepsf=$out/steps.tsv
[ -f "$sweep" ] || printf 'rate\tnodes\tbytes\tmin_ms\tmedian_ms\n' > "$sweep"
[ -f "$stepsf" ] || printf 'rate\tnodes\tshape\tadapter\tms_step\tcompute_median_ms\tcompute_max_ms\tallreduce_ms\ttransfer_ms\twait_max_ms\tbytes\n' > "$stepsf"
hosts=$(mktemp)
trap 'bash launch/cluster.sh down >/dev/null 2>&1 || true; rm -f "$hosts"' EXIT
eval "$(bash launch/cluster.sh env)"
has() { grep -q "^$1"$'\t' "$2"; }   # a row with this prefix is already there
# shellcheck disable=SC2086
mpi() { bash launch/cluster.sh run mpirun --allow-run-as-root --mca plm_rsh_agent "$AGENT" $MCA --hostfile "$hosts" \
          -np "$1" --map-by ppr:1:node --bind-to none -x OPENBLAS_NUM_THREADS=1 "${@:2}"; }
for rate in $rates; do
  for nodes in $node_counts; do
    todo=0
    has "$rate"$'\t'"$nodes" "$sweep" || todo=1
    for shape in minilm bert-base; do for adapter in dcft lora full; do
      has "$rate"$'\t'"$nodes"$'\t'"$shape"$'\t'"$adapter" "$stepsf" || todo=1
    done; done
    [ "$todo" = 1 ] || { echo "== $rate × $nodes nodes: done"; continue; }
    echo "== $rate × $nodes nodes"
    bash launch/cluster.sh up "$nodes" --rate "$rate"
    bash launch/cluster.sh hostfile 1 > "$hosts"
    if ! has "$rate"$'\t'"$nodes" "$sweep"; then
      mpi "$nodes" "$PWD/.build/release/mpi-selftest" sweep 5 | awk -v r="$rate" -v n="$nodes" '/^sweep/ {printf "%s\t%s\t%s\t%s\t%s\n", r, n, $2, $3, $4}' | tee -a "$sweep"
    fi
    for shape in minilm bert-base; do
      for adapter in dcft lora full; do
        has "$rate"$'\t'"$nodes"$'\t'"$shape"$'\t'"$adapter" "$stepsf" && continue
        mpi "$nodes" "$PWD/.build/release/dcft" bench --model "$PWD/${models[$shape]}" --batch $(( 32 / nodes )) --seq 128 \
            --threads 1 --steps "$steps" --warmup 1 --reference-reps 1 --adapter "$adapter" --set adapter.lora_rank=8 \
          | python3 bench/parse_bench.py --prefix "$rate" "$nodes" "$shape" "$adapter" -- ms_step compute_median_ms \
              compute_max_ms allreduce_ms transfer_ms wait_max_ms bytes | tee -a "$stepsf"
      done
    done
    bash launch/cluster.sh down
  done
done
python3 bench/cluster_model.py
