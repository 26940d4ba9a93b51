#!/usr/bin/env bash
# One epoch of real SST-2 (67,349 sentences, batch 32, DCFT d=8): dcft under mpirun -np 2
# (dynamic padding, length-bucketed batches) against the PyTorch reference loop that pads every
# batch to max_seq_length 128 (bench/torch_sst2_epoch.py), one after the other in one run.
#
#   bash bench/sst2_epoch.sh [TORCH_STEPS]
#
# TORCH_STEPS (default 100): PyTorch steps timed; its epoch time is then extrapolated from the
# median step (every padded step has the same shape). 0 runs PyTorch's whole epoch (~1.5 h here).
# dcft's epoch always runs in full; its time is the sum of step times from log.jsonl (training
# only, like PyTorch's) and the process's wall time (with loading and the end-of-epoch eval).
set -euo pipefail
cd "$(dirname "$0")/.."
torch_steps=${1:-100}
glue=${GLUE:-datasets/glue}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[ -x .build/release/dcft ] || swift build -c release --product dcft
[ -d models/all-MiniLM-L6-v2 ] || bash launch/fetch-model.sh
[ -d data/sst2/train ] || .build/release/dcft prepare --task sst2 --data "$glue/SST-2" \
  --model models/all-MiniLM-L6-v2 --out data/sst2 --max-length 128
out=runs/sst2-epoch
rm -rf "$out"
start=$(date +%s.%N)
THREADS=1 bash launch/local.sh 2 configs/glue/sst2.yaml --set train.epochs=1 --set output_dir="$out" \
  --set log.progress=plain --set log.record_every=1 >"$out.log" 2>&1
end=$(date +%s.%N)
python3 - "$out" "$start" "$end" <<'EOF'
import json, sys
out, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
log = [json.loads(l) for l in open(f"{out}/log.jsonl")]
steps = [r for r in log if "step_ms" in r]
ev = [r for r in log if "eval" in r][-1]
print(f"dcft sst2 epoch: {len(steps)} steps, {sum(r['step_ms'] for r in steps) / 1000:.1f} s of training steps, "
      f"{end - start:.1f} s wall for the whole process; dev {ev['eval']}")
EOF
python3 bench/torch_sst2_epoch.py models/all-MiniLM-L6-v2 "$glue/SST-2" --threads 2 --max-steps "$torch_steps" 2>&1 \
  | grep "torch sst2 epoch"
