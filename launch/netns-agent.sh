#!/usr/bin/env bash
# Open MPI's remote-launch agent (plm_rsh_agent) for the simulated cluster of launch/cluster.sh,
# in place of ssh: `netns-agent.sh HOST COMMAND…` runs COMMAND in the node whose address is HOST
# (its network namespace, with the node's own host name), with ssh's semantics: the words of
# COMMAND are joined and run by a shell on the "remote" node.
set -euo pipefail
host=${1:?usage: netns-agent.sh HOST COMMAND…}; shift
ns=$(awk -v h="$host" '$1 == h || $2 == h {print $2; exit}' /run/dcft-cluster/hosts 2>/dev/null || true)
[ -n "$ns" ] || { echo "netns-agent.sh: $host is not a node of the cluster (see launch/cluster.sh status)" >&2; exit 255; }
exec ip netns exec "$ns" unshare --uts sh -c 'hostname "$0"; exec sh -c "$1"' "$ns" "$*"
