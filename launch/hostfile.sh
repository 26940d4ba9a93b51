#!/usr/bin/env bash
# Data-parallel training across several nodes listed in a hostfile (Open MPI format:
# "node1 slots=2"). Every node needs the same dcft build, model directory and datasets at
# the same paths (a shared file system, or copies); only rank 0 writes checkpoints and logs.
#
#   bash launch/hostfile.sh HOSTFILE NP configs/glue/mnli.yaml [--set key=value ...]
#
# Env: THREADS per rank (default 1), DCFT binary path, MCA (extra mpirun options, e.g.
# "--mca btl_tcp_if_include eth0" to pick the network).
set -euo pipefail
cd "$(dirname "$0")/.."
hostfile=${1:?usage: launch/hostfile.sh HOSTFILE NP CONFIG [options]}; np=${2:?NP}; config=${3:?config}; shift 3
threads=${THREADS:-1}
dcft=${DCFT:-$PWD/.build/release/dcft}
root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
# shellcheck disable=SC2086
exec mpirun "${root[@]}" --hostfile "$hostfile" -np "$np" --map-by "slot:PE=$threads" --bind-to core \
  -x OPENBLAS_NUM_THREADS="$threads" -x PATH -x LD_LIBRARY_PATH ${MCA:-} \
  "$dcft" train --config "$config" --set train.threads="$threads" "$@"
