#!/usr/bin/env bash
# A private single-node Slurm cluster for tests: munged, slurmctld and slurmd on this machine,
# partitions cpu (default), l4 and t4, and one fake GPU of each model (gres on /dev/null, /dev/zero).
#
#   tests/slurm/cluster.sh start    # idempotent: reuses a healthy cluster, replaces a broken one
#   tests/slurm/cluster.sh stop     # stops exactly the daemons this script started (by PID)
#   tests/slurm/cluster.sh status   # exit 0 when the node is up
#   tests/slurm/cluster.sh env      # prints `export SLURM_CONF=...` for clients (sbatch, squeue, snakemake)
#
# State lives under $SOVEREIGN_SLURM_DIR (default /tmp/sovereign-slurm): its own munge key and socket,
# spool, logs and ports (SOVEREIGN_SLURM_PORT, default 16817, and the next one), so it never
# disturbs /etc/munge or a Slurm already running. slurm.conf and gres.conf must sit at the default
# /etc/slurm/ though: inside a job the Snakemake jobstep plugin calls srun with every SLURM_*
# variable (SLURM_CONF included) removed. Those two files carry a marker line; the script refuses
# to overwrite files without it, and `stop` removes them again.
# No accounting (no slurmdbd): job status comes from squeue, and MinJobAge (SOVEREIGN_SLURM_MINJOBAGE,
# default 3600 s) keeps finished jobs visible to `squeue --states=all` and `scontrol show job`.
# Needs root (slurmd launches jobs as their submitting user) and the Debian packages
# slurmctld slurmd slurm-client munge.
set -euo pipefail

DIR="${SOVEREIGN_SLURM_DIR:-/tmp/sovereign-slurm}"
PORT="${SOVEREIGN_SLURM_PORT:-16817}"
MIN_JOB_AGE="${SOVEREIGN_SLURM_MINJOBAGE:-3600}"
HOST="$(hostname -s)"
ETC="${SOVEREIGN_SLURM_ETC:-/etc/slurm}"
CONF="$ETC/slurm.conf"
MARK="# Written by tests/slurm/cluster.sh"
export SLURM_CONF="$CONF"

log() { echo "cluster.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# A recorded PID that is alive and still runs the program we started (guards against PID reuse).
alive() {
  local name="$1" pid
  [ -f "$DIR/pids/$name.pid" ] || return 1
  pid="$(cat "$DIR/pids/$name.pid")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$name"
}

healthy() {
  alive munged && alive slurmctld && alive slurmd &&
    scontrol ping 2>/dev/null | grep -q UP &&
    sinfo -h -N -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'
}

# Our files, or none: never overwrite a real cluster's configuration.
check_etc() {
  local f
  for f in "$ETC/slurm.conf" "$ETC/gres.conf"; do
    if [ -e "$f" ] && ! head -n 2 "$f" | grep -q "^$MARK"; then
      die "$f exists and was not written by this script; refusing to replace a real Slurm configuration"
    fi
  done
}

remove_etc() {
  local f
  for f in "$ETC/slurm.conf" "$ETC/gres.conf"; do
    if [ -e "$f" ] && head -n 2 "$f" | grep -q "^$MARK"; then rm -f "$f"; fi
  done
}

need_programs() {
  local missing=()
  for p in munged mungekey slurmctld slurmd sbatch squeue scontrol sinfo setpriv; do
    command -v "$p" >/dev/null || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing programs: ${missing[*]}; install the Debian packages listed in tools/apt-packages.txt (tools/system-deps.sh)"
  [ "$(id -u)" = 0 ] || die "needs root (slurmd runs jobs as their user)"
}

write_config() {
  local cpus mem
  cpus="$(nproc)"
  mem="$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.85}' /proc/meminfo)"
  mkdir -p "$ETC" "$DIR/state" "$DIR/spool" "$DIR/log"
  cat >"$CONF" <<EOF
$MARK; do not edit (rewritten on every start, removed on stop).
ClusterName=sovereign-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pidfile
SlurmdPidFile=$DIR/slurmd.pidfile
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
PlugStackConfig=$DIR/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MinJobAge=$MIN_JOB_AGE
ReturnToService=2
KillWait=5
InactiveLimit=0
SchedulerType=sched/backfill
GresTypes=gpu
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:l4:1,gpu:t4:1 State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=l4 Nodes=$HOST MaxTime=INFINITE State=UP
PartitionName=t4 Nodes=$HOST MaxTime=INFINITE State=UP
EOF
  cat >"$ETC/gres.conf" <<EOF
$MARK
# Fake GPUs: scheduling only (the device files are placeholders).
AutoDetect=off
NodeName=$HOST Name=gpu Type=l4 File=/dev/null
NodeName=$HOST Name=gpu Type=t4 File=/dev/zero
EOF
  : >"$DIR/plugstack.conf"
}

start_munge() {
  mkdir -p "$DIR/munge"
  chown munge: "$DIR/munge"
  chmod 0711 "$DIR/munge"  # clients need to reach the socket
  if [ ! -s "$DIR/munge/munge.key" ]; then
    setpriv --reuid=munge --regid=munge --init-groups mungekey --create --keyfile="$DIR/munge/munge.key"
  fi
  setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F \
    --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed" >"$DIR/log/munged.out" 2>&1 &
  echo $! >"$DIR/pids/munged.pid"
  wait_for "munged socket" 10 test -S "$DIR/munge/munge.socket"
}

wait_for() {
  local what="$1" secs="$2"
  shift 2
  local i
  for ((i = 0; i < secs * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  log "timed out after ${secs}s waiting for $what; logs in $DIR/log"
  tail -n 20 "$DIR"/log/*.log >&2 || true
  return 1
}

node_idle() { sinfo -h -N -o %T | grep -q '^idle'; }
no_running_jobs() { [ -z "$(squeue -h -t RUNNING,COMPLETING -o %i)" ]; }
ctld_up() { scontrol ping | grep -q UP; }

cmd_start() {
  need_programs
  if healthy; then
    log "already running (SLURM_CONF=$CONF)"
    return 0
  fi
  check_etc
  cmd_stop
  mkdir -p "$DIR/pids"
  rm -rf "$DIR/state" "$DIR/spool"
  write_config
  start_munge
  slurmctld -D -i -f "$CONF" >"$DIR/log/slurmctld.out" 2>&1 &
  echo $! >"$DIR/pids/slurmctld.pid"
  wait_for "slurmctld" 30 ctld_up || { cmd_stop; exit 1; }
  slurmd -D -N "$HOST" -f "$CONF" >"$DIR/log/slurmd.out" 2>&1 &
  echo $! >"$DIR/pids/slurmd.pid"
  wait_for "an idle node" 30 node_idle || { cmd_stop; exit 1; }
  log "up: node $HOST, partitions $(sinfo -h -o %P | tr '\n' ' ')(SLURM_CONF=$CONF)"
}

stop_one() {
  local name="$1" pid i
  if alive "$name"; then
    pid="$(cat "$DIR/pids/$name.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
      [ -d "/proc/$pid" ] || break
      sleep 0.25
    done
    if [ -d "/proc/$pid" ]; then
      log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$DIR/pids/$name.pid"
}

cmd_stop() {
  [ -d "$DIR/pids" ] || return 0
  # Jobs first (slurmd kills their processes), then the daemons in reverse start order.
  if alive slurmctld && alive slurmd; then
    scancel --quiet --user=root 2>/dev/null || true
    wait_for "cancelled jobs to end" 15 no_running_jobs || true
  fi
  stop_one slurmd
  stop_one slurmctld
  stop_one munged
  remove_etc
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop; log "stopped" ;;
  status) healthy ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) die "usage: $0 start|stop|status|env" ;;
esac
