#!/usr/bin/env bash
# A single-node SLURM on this machine, for testing the workflow's SLURM profile
# (workflow/profiles/slurm) end to end: `make test-slurm` starts it, runs
# tests/integration/test_slurm.py against it, and stops it.
#
#   scripts/slurm-local.sh install   # Debian's slurm-wlm and munge (root, apt-get)
#   scripts/slurm-local.sh start     # munged, slurmctld, slurmd; waits until the node is idle
#   scripts/slurm-local.sh stop
#   scripts/slurm-local.sh status
#
# The cluster: one node with this machine's CPUs and memory, partition `debug` (the default),
# daemons as root, proctrack/linuxproc and task/none (no cgroups needed), select/cons_tres,
# no accounting database (jobs are polled with squeue; MinJobAge keeps finished jobs visible
# for a day). The node advertises `GPUS` fake GPUs (default 1; no device files) so that a
# GPU request can be submitted and seen in `scontrol show job`; nothing runs on them.
# Configuration and state live under $SLURM_LOCAL_DIR (default /var/lib/slurm-local); the
# config is linked as /etc/slurm/slurm.conf only if that file is absent or ours.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/var/lib/slurm-local}
GPUS=${GPUS:-1}
CONF=/etc/slurm/slurm.conf
MARK="# written by latentrepro scripts/slurm-local.sh"

die() { echo "slurm-local: $*" >&2; exit 1; }

install() {
    command -v slurmctld >/dev/null && command -v munged >/dev/null && return 0
    [ "$(id -u)" = 0 ] || die "installing needs root (apt-get install slurm-wlm munge)"
    command -v apt-get >/dev/null || die "no apt-get: install slurm-wlm and munge by hand"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_config() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    # Memory SLURM may hand out: 90% of the machine's, in MB.
    mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
    cat > "$DIR/slurm.conf" <<CONF
$MARK
ClusterName=latentrepro-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=86400
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
GresTypes=gpu
NodeName=$host CPUs=$cpus RealMemory=$mem Gres=gpu:$GPUS State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    # One device file per fake GPU (gres/gpu without File= registers 0 GPUs in 22.05).
    : > "$DIR/gres.conf"
    for i in $(seq 0 $((GPUS - 1))); do
        echo "NodeName=$host Name=gpu File=/dev/null" >> "$DIR/gres.conf"
    done
    if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and is not ours: not touching it"
    fi
    mkdir -p /etc/slurm
    cp "$DIR/slurm.conf" "$CONF"
    cp "$DIR/gres.conf" /etc/slurm/gres.conf
}

start_munge() {
    pgrep -x munged >/dev/null && return 0
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
    if id munge >/dev/null 2>&1; then
        runuser -u munge -- munged
    else
        munged --force
    fi
}

start() {
    install
    write_config
    start_munge
    munge -n | unmunge >/dev/null || die "munge does not work"
    [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null \
        || slurmctld
    [ -f "$DIR/slurmd.pid" ] && kill -0 "$(cat "$DIR/slurmd.pid")" 2>/dev/null || slurmd
    for _ in $(seq 60); do
        state=$(sinfo -h -N -o %t 2>/dev/null || true)
        case "$state" in
            idle*|mix*|alloc*) echo "slurm-local: node $(hostname -s) $state"; return 0 ;;
            down*|drain*) scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;;
        esac
        sleep 1
    done
    die "the node did not come up (state '${state:-none}'); see $DIR/log/"
}

stop() {
    for daemon in slurmd slurmctld; do
        pidfile="$DIR/$daemon.pid"
        if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            kill "$(cat "$pidfile")"
        fi
    done
    echo "slurm-local: stopped (munged left running)"
}

status() {
    sinfo -N -l
    squeue
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 {install|start|stop|status}" ;;
esac
