#!/usr/bin/env bash
# A real Slurm on launch/cluster.sh's simulated nodes: Debian's slurm-wlm and munge, one
# slurmctld on node 0 and one slurmd per node, each in its node's network namespace with the
# node's own host name (dcft-nI), all configured from one slurm.conf under /run/dcft-slurm.
# Jobs are submitted from node 0 (the "login node") and run `launch/slurm.sbatch` unchanged:
# Open MPI's mpirun inside the allocation starts its daemons on the nodes through Slurm (srun),
# or, with DCFT_LAUNCHER=srun, Slurm starts the ranks itself (srun --mpi=pmix, Slurm's PMIx
# plugin, each node with its own PMIx directory). The ranks talk over TCP on the cluster subnet
# only. Tested by Tests/TrainTests/SlurmTests.swift.
#
#   bash launch/slurm-cluster.sh up N [--rate 1gbit|10gbit|none]    nodes + munge + slurmctld + slurmd
#   bash launch/slurm-cluster.sh submit SBATCH_OPTIONS… -- SCRIPT ARGS…   sbatch --wait from node 0; prints the job's output
#   bash launch/slurm-cluster.sh sinfo                               sinfo from node 0
#   bash launch/slurm-cluster.sh down                                stop everything it started, remove the nodes
#
# Needs root, iproute2 and the Debian packages slurm-wlm and munge (launch/install-deps.sh
# --python installs them). ProctrackType is linuxproc (no cgroups needed).
set -euo pipefail
cd "$(dirname "$0")/.."
state=/run/dcft-slurm
conf=$state/slurm.conf
die() { echo "slurm-cluster.sh: $*" >&2; exit 2; }

down() {
  for f in "$state"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  sleep 1
  for f in "$state"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
  if [ -f "$state/munged.started" ]; then pkill -f "munged --pid-file $state/munged.pid" 2>/dev/null || true; fi
  bash launch/cluster.sh down >/dev/null 2>&1 || true
  rm -rf "$state"
}

up() {
  local n=${1:?usage: slurm-cluster.sh up N [--rate R]}; shift
  for c in slurmctld slurmd sbatch munged; do command -v "$c" >/dev/null || die "$c is not installed (apt-get install slurm-wlm munge)"; done
  down
  bash launch/cluster.sh up "$n" "$@"
  mkdir -p "$state"
  # munge: one daemon; its socket is a path, reachable from every network namespace.
  if ! munge -n </dev/null >/dev/null 2>&1; then
    mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
    [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
    chmod 400 /etc/munge/munge.key
    munged --force --pid-file "$state/munged.pid" </dev/null >>"$state/daemons.log" 2>&1 && touch "$state/munged.started"
  fi
  local nodes="" i
  for ((i = 0; i < n; i++)); do nodes+="NodeName=dcft-n$i NodeAddr=10.231.76.$((10 + i)) CPUs=1 State=UNKNOWN"$'\n'; done
  cat > "$conf" <<CONF
ClusterName=dcft
SlurmctldHost=dcft-n0(10.231.76.10)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/slurmd-%n
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd-%n.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd-%n.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
JobAcctGatherType=jobacct_gather/none
$nodes
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  mkdir -p "$state/ctld"
  export SLURM_CONF=$conf
  # nsenter --net rather than `ip netns exec`: the latter remounts /sys for the namespace, which
  # hides the cgroup file systems slurmd's cgroup plugin needs even with proctrack/linuxproc.
  # The daemons get no stdio of ours: whoever runs `up` may wait for its output's end.
  on_node 0 slurmctld -f "$conf" </dev/null >>"$state/daemons.log" 2>&1
  for ((i = 0; i < n; i++)); do
    # Each slurmd reads its own copy of the configuration, so that its mpi.conf can give PMIx a
    # directory of the node's own: the nodes share one /tmp, where two steps' PMIx directories
    # would collide (srun --mpi=pmix fails with "Cannot create directory /tmp/spmix_appdir_…").
    local dir=$state/conf-dcft-n$i
    mkdir -p "$state/slurmd-dcft-n$i" "$dir" "$state/tmp-dcft-n$i"
    cp "$conf" "$dir/slurm.conf"
    echo "PMIxCliTmpDirBase=$state/tmp-dcft-n$i" > "$dir/mpi.conf"
    on_node "$i" slurmd -f "$dir/slurm.conf" -N "dcft-n$i" </dev/null >>"$state/daemons.log" 2>&1
  done
  # Wait until every node is idle (bounded).
  for _ in $(seq 60); do
    if [ "$(sinfo_ -h -t idle -o '%D' 2>/dev/null | awk '{s += $1} END {print s + 0}')" = "$n" ]; then
      echo "slurm: $n node(s) idle" >&2; return 0
    fi
    sleep 1
  done
  sinfo_ >&2 || true
  die "the nodes did not come up within 60 s (logs in $state)"
}

# Run a command on node I: its network namespace, and a UTS namespace with its host name.
on_node() { local i=$1; shift; SLURM_CONF=$conf nsenter --net=/run/netns/dcft-n$i unshare --uts sh -c 'hostname "$0"; exec "$@"' "dcft-n$i" "$@"; }
on_login() { on_node 0 "$@"; }
sinfo_() { on_login sinfo "$@"; }

submit() {
  local opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  [ $# -ge 1 ] || die "usage: slurm-cluster.sh submit SBATCH_OPTIONS… -- SCRIPT ARGS…"
  local out=$state/job-%j.out
  # TCP on the cluster subnet only, for every Open MPI process of the job (sbatch exports the environment).
  export OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include=10.231.76.0/24 OMPI_MCA_oob_tcp_if_include=10.231.76.0/24
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  local rc=0 job
  job=$(on_login sbatch --parsable --wait --output "$out" --chdir "$PWD" "${opts[@]}" "$@") || rc=$?
  job=${job%%;*}
  cat "$state/job-$job.out" 2>/dev/null || true
  echo "slurm-cluster.sh: job $job exited $rc" >&2
  return "$rc"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down; echo "slurm: stopped" >&2 ;;
  submit) shift; submit "$@" ;;
  sinfo) shift; sinfo_ "$@" ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
