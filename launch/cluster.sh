#!/usr/bin/env bash
# A cluster of N "nodes" on one machine, for testing and measuring dcft across a real network
# stack: network namespaces dcft-n0 … dcft-n(N-1), each with its own address on 10.231.76.0/24
# (node i: 10.231.76.(10+i)) on an eth0 that is one end of a veth pair whose other end sits on a
# bridge (dcftbr0, no address) in the root namespace. Optional bandwidth limits with tc's token
# bucket filter on both ends of each node's link. The kernel here has no netem, so there is no
# latency emulation: links are as fast to start as the kernel's veth path (tens of µs).
# Nodes share the file system, so the build, model and data are at the same paths everywhere.
#
#   bash launch/cluster.sh up N [--rate 1gbit|10gbit|none]   create (first removes any leftovers)
#   bash launch/cluster.sh down                               remove everything it created
#   bash launch/cluster.sh status                             nodes, addresses, qdiscs
#   bash launch/cluster.sh hostfile [SLOTS]                   an Open MPI hostfile of the nodes
#   bash launch/cluster.sh env                                AGENT and MCA for launch/hostfile.sh
#   bash launch/cluster.sh run COMMAND …                      run a command on node 0 (the "login node")
#   bash launch/cluster.sh exec NODE COMMAND …                run a command on node NODE (0-based)
#
# Launching dcft across the nodes with the same script a real cluster uses:
#   bash launch/cluster.sh up 2 --rate 1gbit
#   bash launch/cluster.sh hostfile 1 > /tmp/hosts
#   eval "$(bash launch/cluster.sh env)"     # AGENT=launch/netns-agent.sh, MCA=TCP on the cluster subnet
#   bash launch/cluster.sh run bash launch/hostfile.sh /tmp/hosts configs/glue/rte.yaml
#   bash launch/cluster.sh down
# Every node gets its own host name (dcft-nI) through a UTS namespace, as real nodes have.
set -euo pipefail
cd "$(dirname "$0")/.."
subnet_prefix=10.231.76
subnet=$subnet_prefix.0/24
state=/run/dcft-cluster
bridge=dcftbr0

die() { echo "cluster.sh: $*" >&2; exit 2; }
need_root() {
  [ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces, veth pairs and a bridge)"
  command -v ip >/dev/null || die "the ip command (iproute2) is not installed"
  if ! ip netns add dcft-probe 2>/dev/null; then die "'ip netns add' is refused here (no network namespaces)"; fi
  ip netns del dcft-probe
}
nodes() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^dcft-n[0-9]+$' | sort -V || true; }
address() { echo "$subnet_prefix.$((10 + $1))"; }

down() {
  for ns in $(nodes); do ip netns del "$ns" 2>/dev/null || true; done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^dcftv[0-9]+$' || true); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$state"
}

up() {
  local n=${1:?usage: cluster.sh up N [--rate R]}; shift
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 64 ] || die "N must be 1…64, got $n"
  local rate=none
  while [ $# -gt 0 ]; do
    case "$1" in
      --rate) rate=${2:?--rate needs 1gbit, 10gbit or none}; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  case "$rate" in none|*bit) ;; *) die "--rate must be like 1gbit, 10gbit or none, got $rate" ;; esac
  need_root
  down
  mkdir -p "$state"
  ip link add "$bridge" type bridge
  ip link set "$bridge" up
  for ((i = 0; i < n; i++)); do
    local ns=dcft-n$i
    ip netns add "$ns"
    ip link add "dcftv$i" type veth peer name "dcftp$i"
    ip link set "dcftp$i" netns "$ns"
    ip netns exec "$ns" ip link set "dcftp$i" name eth0
    ip link set "dcftv$i" master "$bridge"
    ip link set "dcftv$i" up
    ip netns exec "$ns" ip addr add "$(address "$i")/24" dev eth0
    ip netns exec "$ns" ip link set eth0 up
    ip netns exec "$ns" ip link set lo up
    if [ "$rate" != none ]; then
      # Both directions of the node's link: into the node (bridge side) and out of it (node side).
      tc qdisc add dev "dcftv$i" root tbf rate "$rate" burst 512kb latency 100ms
      ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$rate" burst 512kb latency 100ms
    fi
    echo "$(address "$i") $ns" >> "$state/hosts"
  done
  echo "$rate" > "$state/rate"
  echo "cluster: $n node(s) on $subnet, links ${rate/none/unlimited}" >&2
}

status() {
  [ -f "$state/hosts" ] || { echo "no cluster"; return 0; }
  echo "links: $(cat "$state/rate")"
  while read -r addr ns; do
    echo "$ns $addr $(ip netns exec "$ns" tc qdisc show dev eth0 | head -1)"
  done < "$state/hosts"
}

hostfile() {
  [ -f "$state/hosts" ] || die "no cluster (cluster.sh up N first)"
  local slots=${1:-1}
  while read -r addr _; do echo "$addr slots=$slots"; done < "$state/hosts"
}

on_node() {  # NODE COMMAND…: in the node's network namespace, with its own host name
  local i=$1; shift
  [ -f "$state/hosts" ] || die "no cluster (cluster.sh up N first)"
  ip netns list | grep -q "^dcft-n$i\b" || die "no node $i"
  exec ip netns exec "dcft-n$i" unshare --uts sh -c 'hostname "$0"; exec "$@"' "dcft-n$i" "$@"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) need_root; down; echo "cluster: removed" >&2 ;;
  status) status ;;
  hostfile) shift; hostfile "$@" ;;
  env) echo "export AGENT=$PWD/launch/netns-agent.sh MCA=\"--mca btl tcp,self --mca btl_tcp_if_include $subnet --mca oob_tcp_if_include $subnet\"" ;;
  run) shift; on_node 0 "$@" ;;
  exec) shift; on_node "$@" ;;
  *) sed -n '2,28p' "$0"; exit 2 ;;
esac
