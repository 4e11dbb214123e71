#!/usr/bin/env bash
# A real single-node Slurm cluster on localhost, for tests and for trying the slurm strategy.
#   scripts/services/slurm.sh start   -> starts munged, slurmctld, slurmd; prints `export SLURM_CONF=...`
#   scripts/services/slurm.sh stop
#   scripts/services/slurm.sh env     -> prints the export line only
# Two partitions (debug: default, highmem), 2 CPUs, 8000 MB, one fake gres GPU (a slot without a GPU).
# Needs root and Debian's slurm-wlm + munge (scripts/system-deps.sh installs them).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${SLURM_TEST_DIR:-$ROOT/var/slurm}"
CONF="$DIR/slurm.conf"

write_conf() {
  mkdir -p "$DIR"/{state,spool,run,log}
  cat > "$CONF" <<CONF
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
DefMemPerCPU=1000
MailProg=/bin/true
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MinJobAge=3600
GresTypes=gpu
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=8000 Gres=gpu:1 Features=gpu,highmem State=UNKNOWN
PartitionName=debug   Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=highmem Nodes=localhost Default=NO  MaxTime=INFINITE State=UP
CONF
  cat > "$DIR/gres.conf" <<GRES
AutoDetect=off
NodeName=localhost Name=gpu File=/dev/null
GRES
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  command -v slurmctld >/dev/null || { echo "slurm-wlm is not installed: run scripts/system-deps.sh" >&2; exit 1; }
  write_conf
  export SLURM_CONF="$CONF"
  if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
    if [ ! -s /etc/munge/munge.key ]; then
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
      chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
    fi
    runuser -u munge -- /usr/sbin/munged
  fi
  alive "$DIR/run/slurmctld.pid" || /usr/sbin/slurmctld -f "$CONF"
  alive "$DIR/run/slurmd.pid" || /usr/sbin/slurmd -f "$CONF" -N localhost
  for _ in $(seq 1 60); do
    state="$(sinfo -h -n localhost -o %T 2>/dev/null | head -1 || true)"
    case "$state" in idle|mixed|allocated) break ;; esac
    sleep 0.5
  done
  case "${state:-}" in
    idle|mixed|allocated) ;;
    *) echo "slurm did not become ready (node state: '${state:-none}'); see $DIR/log" >&2; exit 1 ;;
  esac
  echo "export SLURM_CONF=$CONF"
}

stop() {
  for d in slurmd slurmctld; do
    if alive "$DIR/run/$d.pid"; then kill "$(cat "$DIR/run/$d.pid")" 2>/dev/null || true; fi
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
