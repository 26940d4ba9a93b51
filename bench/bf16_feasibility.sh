#!/usr/bin/env bash
# Is bf16 faster than fp32 for the frozen matmuls on this machine? (the bf16 frozen base issue)
# Measures, side by side in one run, on the training step's real shapes (MiniLM: n 4096 = 32 × 128,
# h 384, f 1536; BERT-base: h 768, f 3072), at 2 threads:
#   1. gemm candidates (bench/gemm_candidates.c): OpenBLAS sgemm (dcft's), oneDNN dnnl_sgemm,
#      oneDNN matmul fp32 and bf16 (weights reordered once, fp32 accumulation; + the activation's
#      fp32 → bf16 conversion);
#   2. PyTorch's own matmul in fp32 and bf16 (its bundled oneDNN);
#   3. PyTorch's training step (LoRA r=1, MiniLM, 32 × 128) in fp32 and under bf16 autocast.
# Results: bench/results/bf16/feasibility.md. Needs oneDNN (apt-get install libdnnl-dev; not a dcft dependency)
# and torch (launch/install-deps.sh --python).
#   bash bench/bf16_feasibility.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/bf16/feasibility.md; mkdir -p "$(dirname "$out")"
gcc -O2 -march=native -fopenmp bench/gemm_candidates.c -o /tmp/gemm_candidates -ldnnl -lopenblas
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 OPENBLAS_CORETYPE=SkylakeX
{
  echo "# bf16 against fp32 on this machine"
  echo
  echo "Made by \`bash bench/bf16_feasibility.sh\` on $(date -u +%Y-%m-%d); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "(family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs), model $(grep -m1 '^model' /proc/cpuinfo | cut -d: -f2 | xargs); flags: $(grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E 'bf16|amx|fp16' | paste -sd' ')), 2 threads."
  echo
  echo "## 1. gemm candidates (GFLOP/s, best of 5 repetitions ≥ 0.3 s)"
  for shape in "4096 384 1536" "4096 768 3072"; do
    echo; echo '```'; /tmp/gemm_candidates $shape 5; echo '```'
  done
  echo
  echo "## 2. PyTorch matmul (its oneDNN), x·Wᵀ, GFLOP/s best of 3"
  echo; echo '```'
  python3 - <<'PY'
import torch, time
torch.set_num_threads(2)
for (m, n, k) in [(4096, 384, 384), (4096, 1536, 384), (4096, 384, 1536), (4096, 768, 768), (4096, 3072, 768), (4096, 768, 3072)]:
    a, w = torch.randn(m, k), torch.randn(n, k)
    row = []
    for dt in (torch.float32, torch.bfloat16):
        A, W = a.to(dt), w.to(dt)
        for _ in range(3): A @ W.T
        best = 0
        for r in range(3):
            t0 = time.perf_counter(); it = 0
            while time.perf_counter() - t0 < 0.3: A @ W.T; it += 1
            best = max(best, 2 * m * n * k * it / (time.perf_counter() - t0) / 1e9)
        row.append(best)
    print(f"{m}x{k} · ({n}x{k})ᵀ  fp32 {row[0]:7.1f}  bf16 {row[1]:7.1f}  bf16/fp32 {row[1] / row[0]:.2f}")
PY
  echo '```'
  echo
  echo "## 3. PyTorch training step, LoRA r=1, MiniLM, 32 × 128, 2 threads"
  echo; echo '```'
  bash launch/fetch-model.sh >/dev/null
  for flag in "" --bf16 "" --bf16; do python3 bench/torch_step.py models/all-MiniLM-L6-v2 lora --steps 5 $flag; done
  echo '```'
} | tee "$out"
