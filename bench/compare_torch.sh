#!/usr/bin/env bash
# dcft bench against the PyTorch reference (bench/torch_step.py) on the same shapes, alternating
# in one run: MiniLM, batch 32 × seq 128, 2 threads; DCFT (reference-style in PyTorch), LoRA r=1
# (PEFT), full fine-tuning. dcft runs twice per mode on the same two cores and global batch:
# one rank × 2 threads (the shape PyTorch runs: one process, 2 intra-op threads) and, as dcft is
# launched, mpirun -np 2 × 1 thread with 16 rows per rank (step time = the slower rank, allreduce
# included). Prints each median and the dcft / PyTorch step-time ratios.
#   bash bench/compare_torch.sh [STEPS]
#   MODEL=work-data/deberta-v3-base-random BATCH=8 MODES="dcft lora" bash bench/compare_torch.sh 4   # another model
#     (a random DeBERTaV3-base-shaped directory: python3 scripts/make_random_model.py deberta-v3-base DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-6}
bash launch/fetch-model.sh >/dev/null
swift build -c release --product dcft >/dev/null
m=${MODEL:-models/all-MiniLM-L6-v2}; B=${BATCH:-32}; S=${SEQ:-128}; half=$(( B / 2 ))
root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
declare -A ours=([dcft]=dcft [lora]=lora [full]=full)
median() { grep "step: median" | awk '{print $3}'; }
for mode in ${MODES:-dcft lora full}; do
  d=$(.build/release/dcft bench --model $m --batch $B --seq $S --threads 2 --steps "$steps" --adapter "${ours[$mode]}" --set adapter.lora_rank=1 --set adapter.lora_alpha=2 | median)
  t=$(python3 bench/torch_step.py $m "$mode" --batch $B --seq $S --threads 2 --steps "$steps" | awk '{print $4}')
  d2=$(mpirun "${root[@]}" -np 2 --bind-to core --map-by slot:PE=1 -x OPENBLAS_NUM_THREADS=1 .build/release/dcft bench \
       --model $m --batch $half --seq $S --threads 1 --steps "$steps" --adapter "${ours[$mode]}" --set adapter.lora_rank=1 --set adapter.lora_alpha=2 | median)
  python3 -c "d, d2, t = float('$d'), float('$d2'), float('$t'); print(f'$mode: PyTorch {t:.0f} ms/step; dcft 1x2 {d:.0f} ms (ratio {d / t:.2f}), dcft 2x1 {d2:.0f} ms (ratio {d2 / t:.2f})')"
done
