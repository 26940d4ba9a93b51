#!/usr/bin/env bash
# Kill soak (docs/PERFORMANCE.md / RESULTS: reliability): RUNS 2-rank trainings (MiniLM on the
# shipped RTE, STEPS steps, checkpoints every 5), each killed with SIGKILL at a random rank and
# step (seeded), then resumed with --resume auto. Checks, per run: the job ends non-zero within
# 60 s of the kill with the killed rank named by mpirun; the resume skips no corrupt checkpoint;
# the final adapter is byte-identical to an uninterrupted run's. Results:
# bench/results/reliability/kill_soak.md.
#   bash bench/kill_soak.sh            # RUNS=10 STEPS=40 SEED=1
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}; steps=${STEPS:-40}; RANDOM=${SEED:-1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bash launch/fetch-model.sh >/dev/null
swift build -c release --product dcft >/dev/null
dcft=.build/release/dcft; root=work-data/soak; mkdir -p "$root" bench/results/reliability
[ -d "$root/data/train" ] || $dcft prepare --task rte --data datasets/glue/RTE --model models/all-MiniLM-L6-v2 --out "$root/data" --max-length 128 >/dev/null
sets=(--set "data.train=$root/data/train" --set "data.dev=[$root/data/dev]" --set "train.max_steps=$steps" --set train.batch_size=16
      --set checkpoint.every_steps=5 --set eval.every_steps=20 --set checkpoint.keep_last=3 --set log.progress=plain)
# train FAULT [dcft train options]: a 2-rank run, with DCFT_FAULT=FAULT unless FAULT is empty.
train() {
  local fault=$1; shift
  mpirun -np 2 --bind-to core -x OPENBLAS_NUM_THREADS=1 ${fault:+-x DCFT_FAULT=$fault} \
    $dcft train --config configs/glue/rte.yaml "${sets[@]}" "$@"
}
rm -rf "$root/whole"; train "" --set "output_dir=$root/whole" > "$root/whole.out" 2>&1
want=$(sha256sum "$root/whole/adapter.safetensors" | cut -c1-64)
out=bench/results/reliability/kill_soak.md
{
  echo "# Kill soak"
  echo
  echo "Made by \`bash bench/kill_soak.sh\` (RUNS=$runs STEPS=$steps SEED=${SEED:-1}) on $(date -u +%Y-%m-%d): 2 ranks, MiniLM on RTE,"
  echo "checkpoints every 5 steps; each run SIGKILLed at a random rank and step, then \`--resume auto\`."
  echo "Uninterrupted adapter sha256: \`${want:0:16}…\`."
  echo
  echo "| run | killed rank | at step | job ended after kill | rank named | resumed from | corrupt checkpoints skipped | adapter identical |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$out"
ok=0
for i in $(seq 1 "$runs"); do
  rank=$(( RANDOM % 2 )); step=$(( RANDOM % (steps - 2) + 1 )); dir=$root/run$i
  rm -rf "$dir"; mkdir -p "$dir"
  t0=$(date +%s.%N)
  if train "kill:$rank:$step" --set "output_dir=$dir" > "$dir/killed.out" 2>&1; then status=0; else status=$?; fi
  t1=$(date +%s.%N)
  # The kill happens at step $step's allreduce; the job's end is measured from the process start
  # of that step, so the elapsed time bounds "kill → job ended" from above.
  last=$(grep -o '"step":[0-9]*' "$dir/log.jsonl" 2>/dev/null | tail -1 | cut -d: -f2 || echo 0)
  named=$(grep -qE "rank $rank .*(exited on signal 9|killed)|Process name: \[\[[0-9]+,1\],$rank\]" "$dir/killed.out" && echo yes || echo no)
  train "" --set "output_dir=$dir" --resume auto > "$dir/resumed.out" 2>&1 || true
  from=$(grep -o "resumed from step [0-9]*" "$dir/resumed.out" | grep -o "[0-9]*$" || echo "-")
  skipped=$(grep -c "skipping checkpoint" "$dir/resumed.out" || true)
  got=$(sha256sum "$dir/adapter.safetensors" 2>/dev/null | cut -c1-64 || echo none)
  same=$([ "$got" = "$want" ] && echo yes || echo NO)
  [ "$same" = yes ] && [ "$status" != 0 ] && ok=$((ok + 1))
  printf '| %d | %d | %d | %.1f s (exit %d; last logged step %s) | %s | %s | %s | %s |\n' "$i" "$rank" "$((step + 1))" \
    "$(python3 -c "print($t1 - $t0)")" "$status" "$last" "$named" "$from" "$skipped" "$same" >> "$out"
done
echo >> "$out"; echo "$ok of $runs runs: killed job ended non-zero and the resumed adapter is byte-identical." >> "$out"
cat "$out"
