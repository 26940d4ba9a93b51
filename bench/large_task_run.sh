#!/usr/bin/env bash
# Long runs on the MNLI and QQP stand-ins (docs/RESULTS.md, "Large tasks"): the tasks' own
# recipes (configs/glue/{mnli,qqp}.yaml) at np=2 for a bounded number of steps, evaluated every
# EVAL steps (MNLI: matched and mismatched; QQP: accuracy and F1), checkpointed by steps and
# every CKPT_MIN minutes of wall time. For each task:
#   1. `dcft plan` for this layout (its estimate is kept next to the measured run);
#   2. an uninterrupted run;
#   3. the same run killed mid-epoch (rank 1 SIGKILLed at step KILL) and finished with
#      `--resume auto`; its adapter must be bit-identical to run 2's.
# Resumable: finished steps are skipped. Results: bench/results/large_tasks/.
#
#   STEPS=3000 bash bench/large_task_run.sh           # both tasks
#   TASKS=mnli STEPS=300 KILL=170 bash bench/large_task_run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-3000}; kill_at=${KILL:-$(( steps * 17 / 30 ))}; eval_every=${EVAL:-1000}; ckpt_min=${CKPT_MIN:-2}
tasks=${TASKS:-mnli qqp}
res=bench/results/large_tasks; mkdir -p "$res"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bash launch/fetch-model.sh >/dev/null
swift build -c release >/dev/null
[ -f work-data/standin/MNLI/train.tsv ] || python3 scripts/make_glue_standin.py --out work-data/standin
declare -A maxlen=([mnli]=256 [qqp]=320) folder=([mnli]=MNLI [qqp]=QQP)
for task in $tasks; do
  data=work-data/standin-data/$task
  [ -d "$data/train" ] || .build/release/dcft prepare --task "$task" --data "work-data/standin/${folder[$task]}" \
      --model models/all-MiniLM-L6-v2 --out "$data" --max-length "${maxlen[$task]}"
  devs=$(ls -d "$data"/dev* | paste -sd, -)
  sets=(--set "data.train=$data/train" --set "data.dev=[$devs]" --set "train.max_steps=$steps" --set "eval.every_steps=$eval_every"
        --set "checkpoint.every_minutes=$ckpt_min" --set log.progress=plain)
  [ -s "$res/$task-plan.txt" ] || .build/release/dcft plan --config "configs/glue/$task.yaml" "${sets[@]}" --nodes 1 --ranks-per-node 2 \
      | tee "$res/$task-plan.txt"
  for run in whole killed; do
    out=work-data/runs/$task-$run
    [ -f "$out/adapter.safetensors" ] && { echo "== $task $run: done"; continue; }
    mkdir -p "$out"
    fault=(); [ "$run" = killed ] && ! ls "$out"/ckpt-*.h5 >/dev/null 2>&1 && fault=(-x "DCFT_FAULT=kill:1:$kill_at")
    start=$(date +%s.%N)
    mpirun -np 2 --bind-to core -x OPENBLAS_NUM_THREADS=1 "${fault[@]}" .build/release/dcft train --config "configs/glue/$task.yaml" \
      "${sets[@]}" --set "output_dir=$out" --resume auto >> "$out/train.out" 2>&1 || echo "== $task $run: exited $? (expected for the kill)"
    end=$(date +%s.%N)
    python3 -c "print($(cat "$out/wall_s" 2>/dev/null || echo 0) + $end - $start)" > "$out/wall_s"
    if [ "$run" = killed ] && [ ! -f "$out/adapter.safetensors" ]; then
      start=$(date +%s.%N)
      mpirun -np 2 --bind-to core -x OPENBLAS_NUM_THREADS=1 .build/release/dcft train --config "configs/glue/$task.yaml" \
        "${sets[@]}" --set "output_dir=$out" --resume auto >> "$out/train.out" 2>&1
      end=$(date +%s.%N)
      python3 -c "print($(cat "$out/wall_s") + $end - $start)" > "$out/wall_s"
    fi
  done
  python3 - "$task" "$res" <<'PY'
import hashlib, json, sys, pathlib, re
task, res = sys.argv[1:]
runs = {r: pathlib.Path(f"work-data/runs/{task}-{r}") for r in ("whole", "killed")}
sha = {r: hashlib.sha256((p / "adapter.safetensors").read_bytes()).hexdigest() for r, p in runs.items()}
log = [json.loads(l) for l in open(runs["whole"] / "log.jsonl")]
evals = [r for r in log if "eval" in r]
recs = [r for r in log if "loss" in r]
wall = float(open(runs["whole"] / "wall_s").read())
out = open(runs["killed"] / "train.out").read()
resumed = re.findall(r"resumed from step (\d+)", out)
timed = len(re.findall(r"checkpoint step \d+ \(every", open(runs["whole"] / "train.out").read()))
# Peak memory as `dcft train` reports it: from the uninterrupted run, or from work-data/runs/TASK-mem (the same
# run repeated by a dcft that prints it: `dcft train` … output_dir=work-data/runs/TASK-mem).
peak = None
for d in (runs["whole"], pathlib.Path(f"work-data/runs/{task}-mem")):   # (not the killed run: its resumed process saw part of the run)
    m = re.search(r"peak memory per rank: (\d+) MiB", (d / "train.out").read_text()) if (d / "train.out").exists() else None
    if m and peak is None:
        peak = (int(m.group(1)), d.name)
plan = open(f"{res}/{task}-plan.txt").read()
planned_peak = re.search(r"^peak memory per rank\s+([\d.]+) GiB", plan, re.M)
total = re.search(r"^total\s+(\S+)", plan, re.M)
lines = [f"# {task} stand-in: bounded run at np=2", "", "Made by `bash bench/large_task_run.sh` (see its header).", "",
         f"- wall time of the uninterrupted run: {wall:.0f} s (`dcft plan` estimated {total.group(1) if total else '?'})",
         f"- log.jsonl: {len(recs)} training records for {recs[-1]['step']} steps, {(runs['whole'] / 'log.jsonl').stat().st_size:,} bytes; "
         f"{timed} time-based checkpoint(s)",
         f"- peak memory per rank: {peak[0]:,} MiB measured ({peak[1]}), {float(planned_peak.group(1)) * 1024:,.0f} MiB planned "
         f"({100 * (float(planned_peak.group(1)) * 1024 / peak[0] - 1):+.1f}%)" if peak and planned_peak else "- peak memory per rank: not recorded",
         f"- killed run: resumed from step {', '.join(resumed) or '?'}; adapter sha256 {'identical' if sha['whole'] == sha['killed'] else 'DIFFERENT'} "
         f"to the uninterrupted run's ({sha['whole'][:16]}…)", "", "| step | " + " | ".join(sorted(evals[0]['eval'])) + " |",
         "|---|" + "---|" * len(evals[0]['eval'])]
for e in evals:
    lines.append(f"| {e['step']} | " + " | ".join(f"{e['eval'][k]:.4f}" for k in sorted(e['eval'])) + " |")
lines += ["", "## dcft plan", "", "```", plan.strip(), "```"]
open(f"{res}/{task}.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
done
