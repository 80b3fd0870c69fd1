#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, from Debian's packages (munge, slurmctld, slurmd),
# for the scale-out test: everything it needs and writes lives in DIR (its own munge key and
# socket, a generated slurm.conf on 127.0.0.1 with free ports, state, spool, logs, pid files), so
# it touches no system configuration and leaves nothing running after `down`.
#
#   cluster.sh up DIR     start munged, slurmctld and slurmd; wait until the node is idle;
#                         clients then use SLURM_CONF=DIR/slurm.conf
#   cluster.sh down DIR   cancel every job, stop the three daemons, wait until they are gone
set -euo pipefail

cmd=${1:?usage: cluster.sh up|down DIR}
dir=$(realpath -m "${2:?usage: cluster.sh up|down DIR}")
export SLURM_CONF="$dir/slurm.conf"

stop() {  # stop NAME: the daemon whose pid file is DIR/NAME.pid, TERM then KILL after 10 s
  local pidfile="$dir/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

case $cmd in
  up)
    for tool in munged slurmctld slurmd sbatch sinfo; do
      command -v "$tool" >/dev/null || { echo "cluster.sh: $tool is not installed (slurm-wlm, munge)" >&2; exit 1; }
    done
    rm -rf "$dir"
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
    chmod 700 "$dir/munge"
    head -c 1024 /dev/urandom >"$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
      --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed"
    # Two free TCP ports on the loopback interface.
    read -r ctld_port slurmd_port < <(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
    node=$(hostname -s)
    user=$(id -un)
    cat >"$SLURM_CONF" <<CONF
ClusterName=greenlight-test
SlurmctldHost=$node(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
    : >"$dir/plugstack.conf"
    slurmctld -c -i
    slurmd
    for _ in $(seq 1 300); do
      if [ "$(sinfo -h -o %t 2>/dev/null)" = "idle" ]; then
        echo "cluster.sh: node $node idle; SLURM_CONF=$SLURM_CONF"
        exit 0
      fi
      sleep 0.1
    done
    echo "cluster.sh: the node did not come up within 30 s; logs:" >&2
    tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
    exit 1
    ;;
  down)
    if [ -f "$dir/slurmctld.pid" ]; then scancel --full --quiet --user="$(id -un)" 2>/dev/null || true; fi
    stop slurmd
    stop slurmctld
    stop munged
    echo "cluster.sh: stopped"
    ;;
  *)
    echo "usage: cluster.sh up|down DIR" >&2
    exit 2
    ;;
esac
