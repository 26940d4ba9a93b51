#!/usr/bin/env bash
# Data-parallel training across several nodes listed in a hostfile (Open MPI format:
# "node1 slots=16", slots = the node's cores). Every node needs the same dcft build, model
# directory and datasets at the same paths (a shared file system, or copies); only rank 0 writes
# checkpoints and logs.
#
#   bash launch/hostfile.sh HOSTFILE [NP|auto] configs/glue/mnli.yaml [--set key=value ...]
#
# With "auto" (or no NP) each node runs launch/layout.sh's layout for its slots (one rank per
# core for PEFT, per 4 cores for full fine-tuning), ranks bound to cores. With NP, THREADS per
# rank (default 1) and Open MPI's slot mapping. Env: DCFT binary path, MCA (extra mpirun options,
# e.g. "--mca btl_tcp_if_include eth0" to pick the network), AGENT (how to reach the other nodes:
# Open MPI's plm_rsh_agent, ssh by default; launch/netns-agent.sh on launch/cluster.sh's nodes).
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/layout.sh
hostfile=${1:?usage: launch/hostfile.sh HOSTFILE [NP|auto] CONFIG [options]}; shift
np=auto
if [ $# -ge 1 ] && { [ "$1" = auto ] || [[ "$1" =~ ^[0-9]+$ ]]; }; then np=$1; shift; fi
config=${1:?config}; shift
dcft=${DCFT:-$PWD/.build/release/dcft}
root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
agent=(); [ -n "${AGENT:-}" ] && agent=(--mca plm_rsh_agent "$AGENT")
if [ "$np" = auto ]; then
  # The first host's slots stand for every node's cores (clusters are homogeneous per partition).
  slots=$(awk '!/^[[:space:]]*(#|$)/ { for (i = 2; i <= NF; i++) if ($i ~ /^slots=/) { sub("slots=", "", $i); print $i; exit } }' "$hostfile")
  nodes=$(grep -cEv '^[[:space:]]*(#|$)' "$hostfile")
  dcft_layout "${slots:-1}" "$(dcft_mode "$config" "$@")"
  threads=$DCFT_THREADS; np=$(( nodes * DCFT_RANKS ))
  map=(--map-by "ppr:$DCFT_RANKS:node:PE=$threads")
else
  threads=${THREADS:-1}
  map=(--map-by "slot:PE=$threads")
fi
echo "launch/hostfile.sh: $np rank(s) × $threads thread(s)" >&2
# shellcheck disable=SC2086
exec mpirun "${root[@]}" "${agent[@]}" --hostfile "$hostfile" -np "$np" "${map[@]}" --bind-to core \
  -x OPENBLAS_NUM_THREADS="$threads" -x PATH -x LD_LIBRARY_PATH ${MCA:-} \
  "$dcft" train --config "$config" --set train.threads="$threads" "$@"
