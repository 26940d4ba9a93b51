#!/usr/bin/env bash
# dcft bench against the PyTorch reference (bench/torch_step.py) on the same shapes, alternating
# in one run: MiniLM, batch 32 × seq 128, 2 threads; DCFT (reference-style in PyTorch), LoRA r=1
# (PEFT), full fine-tuning. Prints each median and the dcft / PyTorch step-time ratios.
#   bash bench/compare_torch.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-6}
bash launch/fetch-model.sh >/dev/null
swift build -c release --product dcft >/dev/null
m=models/all-MiniLM-L6-v2
declare -A ours=([dcft]=dcft [lora]=lora [full]=full)
for mode in dcft lora full; do
  d=$(.build/release/dcft bench --model $m --batch 32 --seq 128 --threads 2 --steps "$steps" --adapter "${ours[$mode]}" --lora-rank 1 | grep "step: median" | awk '{print $3}')
  t=$(python3 bench/torch_step.py $m "$mode" --batch 32 --seq 128 --threads 2 --steps "$steps" | awk '{print $4}')
  python3 -c "print(f'$mode: dcft {float(\"$d\"):.0f} ms/step, PyTorch {float(\"$t\"):.0f} ms/step, ratio dcft/PyTorch {float(\"$d\")/float(\"$t\"):.2f}')"
done
