#!/usr/bin/env bash
# Data-parallel training on one machine: one rank per core group, ranks bound to cores,
# OPENBLAS_NUM_THREADS set per rank so ranks × threads = cores.
#
#   bash launch/local.sh NP configs/glue/rte.yaml [--set key=value ...] [--resume auto]
#
# Env: THREADS (per rank; default cores / NP), DCFT (binary; default .build/release/dcft).
set -euo pipefail
cd "$(dirname "$0")/.."
np=${1:?usage: launch/local.sh NP CONFIG [dcft train options]}; config=${2:?config file}; shift 2
cores=$(nproc)
threads=${THREADS:-$(( cores / np > 0 ? cores / np : 1 ))}
dcft=${DCFT:-.build/release/dcft}
[ -x "$dcft" ] || swift build -c release --product dcft
bind=(--bind-to core --map-by "slot:PE=$threads")
if [ $(( np * threads )) -gt "$cores" ]; then bind=(--bind-to none --oversubscribe); fi   # more ranks than cores: unbound
root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
exec mpirun "${root[@]}" -np "$np" "${bind[@]}" -x OPENBLAS_NUM_THREADS="$threads" \
  "$dcft" train --config "$config" --set train.threads="$threads" "$@"
