#!/usr/bin/env bash
# Data-parallel training on one machine, ranks bound to cores.
#
#   bash launch/local.sh [NP|auto] configs/glue/rte.yaml [--set key=value ...] [--resume auto]
#
# Without NP (or with "auto") the layout follows launch/layout.sh's rule for this machine's
# cores: one rank per core for PEFT, one rank per 4 cores for full fine-tuning. With NP, each
# rank gets cores / NP threads. Env: THREADS (per rank), DCFT (binary; default .build/release/dcft).
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/layout.sh
np=auto
if [ $# -ge 1 ] && { [ "$1" = auto ] || [[ "$1" =~ ^[0-9]+$ ]]; }; then np=$1; shift; fi
config=${1:?usage: launch/local.sh [NP|auto] CONFIG [dcft train options]}; shift
cores=$(nproc)
if [ "$np" = auto ]; then
  dcft_layout "$cores" "$(dcft_mode "$config" "$@")"
  np=$DCFT_RANKS; threads=$DCFT_THREADS
else
  threads=${THREADS:-$(( cores / np > 0 ? cores / np : 1 ))}
fi
dcft=${DCFT:-.build/release/dcft}
[ -x "$dcft" ] || swift build -c release --product dcft
bind=(--bind-to core --map-by "slot:PE=$threads")
if [ $(( np * threads )) -gt "$cores" ]; then bind=(--bind-to none --oversubscribe); fi   # more ranks than cores: unbound
root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
echo "launch/local.sh: $np rank(s) × $threads thread(s) on $cores cores (${bind[*]})" >&2
exec mpirun "${root[@]}" -np "$np" "${bind[@]}" -x OPENBLAS_NUM_THREADS="$threads" \
  "$dcft" train --config "$config" --set train.threads="$threads" "$@"
