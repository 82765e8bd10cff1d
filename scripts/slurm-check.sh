#!/usr/bin/env bash
# Runs the smoke config through a real Slurm on this machine and checks the results against a
# serial run: installs Debian's slurm-wlm and munge (when missing), starts a one-node cluster on
# localhost (munged, slurmctld, slurmd; no cgroups: proctrack/linuxproc, task/none), submits the
# run with deploy/slurm/submit.sh — the script users run — and waits for its phases; then it
# prints the cells, the phases, the queue while the later phases wait on their dependencies,
# every task's job state, and whether the result files equal a serial smoke run's, byte for
# byte. Then it submits the run once more with every labelling chunk write failing, and checks
# that the labelling phase fails and the phases after it are cancelled without running. Every
# run is smoke-sized with --threads 1.
#
#   sudo scripts/slurm-check.sh            (root: it installs packages and starts daemons)
#
# Needs the release binary (cargo build --release -p experiments) and the set-up's data. Work,
# state and logs go to $CHECK_DIR (default /tmp/kd-slurm-check, emptied first); the daemons are
# stopped at the end (KEEP=1 leaves them running). Exit status 0 when every task COMPLETED, the
# results equal the serial run's, and the failing run failed as it should. Not part of `make test` (it needs root, apt and daemons);
# experiments/tests/cells.rs checks submit.sh's phase plan against --list-cells without Slurm.
set -euo pipefail

say() { printf '[slurm-check] %s\n' "$*"; }
die() { printf '[slurm-check] error: %s\n' "$*" >&2; exit 1; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KD_BIN:-$ROOT/target/release/sst2}
CHECK_DIR=${CHECK_DIR:-/tmp/kd-slurm-check}
SHARDS=${LABEL_SHARDS:-2}
[ "$(id -u)" = 0 ] || die "run as root (it installs slurm-wlm and munge, and starts their daemons)"
[ -x "$BIN" ] || die "$BIN is not there: cargo build --release -p experiments"
[ -f "$ROOT/data/glue/SST-2/train.tsv" ] || die "no SST-2 data: run scripts/setup.sh"

# --- 1. packages ---------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >"$CHECK_DIR.apt.log" 2>&1 \
    || { tail -20 "$CHECK_DIR.apt.log" >&2; die "apt-get install slurm-wlm munge failed"; }
fi
say "$(slurmctld -V), $(munged -V 2>&1 | head -1)"

# --- 2. a one-node cluster -----------------------------------------------------------------------
rm -rf "$CHECK_DIR"
mkdir -p "$CHECK_DIR"/{etc,state,spool,log,run}
PIDS=()
stop_daemons() {
  [ "${KEEP:-0}" = 1 ] && { say "KEEP=1: daemons left running (SLURM_CONF=$SLURM_CONF)"; return; }
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap stop_daemons EXIT

if [ ! -s /etc/munge/munge.key ]; then
  say "creating /etc/munge/munge.key"
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- munged
  for _ in $(seq 20); do [ -s /run/munge/munged.pid ] && break; sleep 0.5; done
  PIDS+=("$(cat /run/munge/munged.pid)")
fi
munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"

NODE=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048 ))
export SLURM_CONF=$CHECK_DIR/etc/slurm.conf
cat >"$SLURM_CONF" <<CONF
# A one-node cluster for scripts/slurm-check.sh: controller and node daemon on this machine,
# no cgroups (the sandbox may have none): processes tracked through /proc, no task binding.
ClusterName=kdcheck
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$CHECK_DIR/state
SlurmdSpoolDir=$CHECK_DIR/spool
SlurmctldPidFile=$CHECK_DIR/run/slurmctld.pid
SlurmdPidFile=$CHECK_DIR/run/slurmd.pid
SlurmctldLogFile=$CHECK_DIR/log/slurmctld.log
SlurmdLogFile=$CHECK_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$CHECK_DIR/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=3600
MaxArraySize=1001
KillWait=30
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=check Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
say "slurm.conf: $SLURM_CONF (node $NODE, $CPUS CPUs, $MEM_MB MB)"
slurmctld -f "$SLURM_CONF" -i
sleep 1
PIDS+=("$(cat "$CHECK_DIR/run/slurmctld.pid")")
slurmd -f "$SLURM_CONF" -N "$NODE"
sleep 1
PIDS+=("$(cat "$CHECK_DIR/run/slurmd.pid")")
for _ in $(seq 60); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1)
  [ "$state" = idle ] && break
  sleep 1
done
[ "$state" = idle ] || { tail -20 "$CHECK_DIR"/log/*.log >&2; die "node $NODE is '$state', not idle"; }
say "cluster up: $(sinfo -h -o '%P %a %D %T %C')"

# --- 3. the serial reference and the Slurm run ----------------------------------------------------
ARGS=(--smoke --threads 1)
say "serial smoke run (--threads 1)"
"$BIN" "${ARGS[@]}" --store "$CHECK_DIR/store-serial" --out-dir "$CHECK_DIR/serial" \
  >"$CHECK_DIR/log/serial.log" 2>&1 || { tail -20 "$CHECK_DIR/log/serial.log" >&2; die "the serial run failed"; }

say "cells (--list-cells, --label-shards $SHARDS):"
"$BIN" --list-cells "${ARGS[@]}" --label-shards "$SHARDS" \
  --store "$CHECK_DIR/store" --out-dir "$CHECK_DIR/cells" | sed 's/^/    /'

say "submitting with deploy/slurm/submit.sh"
SUBMIT_LOG=$CHECK_DIR/log/submit.log
CPUS=1 MEM=1G TIME=30:00 GPUS=0 LABEL_SHARDS=$SHARDS JOB_NAME=kdcheck \
  STORE=$CHECK_DIR/store OUT_DIR=$CHECK_DIR/cells LOG_DIR=$CHECK_DIR/slurm KD_BIN=$BIN \
  "$ROOT/deploy/slurm/submit.sh" --smoke 2>&1 | tee "$SUBMIT_LOG" | sed 's/^/    /'
mapfile -t JOBS < <(sed -n 's/.* -> job \([0-9]*\).*/\1/p' "$SUBMIT_LOG")
[ "${#JOBS[@]}" -gt 0 ] || die "submit.sh submitted no job"

sleep 5
say "the queue 5 s after submission (squeue: job, name, state, reason, dependency):"
squeue -h -o '%.10i %18j %9T %14r %E' | sort -n | sed 's/^/    /'
wait_jobs() {
  local t0
  t0=$(date +%s)
  while [ -n "$(squeue -h -j "$(IFS=,; echo "$*")" 2>/dev/null)" ]; do
    [ $(( $(date +%s) - t0 )) -lt 1800 ] || die "jobs still queued or running after 30 min"
    sleep 2
  done
  say "all phases left the queue after $(( $(date +%s) - t0 )) s"
}
# Prints every task's state; STATES holds "<job name> <state>" lines.
show_states() {
  STATES=
  local j line id task name st code reason
  for j in "$@"; do
    while read -r line; do
      id=$(sed -n 's/.*JobId=\([0-9]*\).*/\1/p' <<<"$line")
      task=$(sed -n 's/.*ArrayTaskId=\([^ ]*\).*/\1/p' <<<"$line")
      name=$(sed -n 's/.*JobName=\([^ ]*\).*/\1/p' <<<"$line")
      st=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
      code=$(sed -n 's/.* ExitCode=\([^ ]*\).*/\1/p' <<<"$line")
      reason=$(sed -n 's/.* Reason=\([^ ]*\).*/\1/p' <<<"$line")
      printf '    job %-4s %-18s cell %-4s %-10s exit %-5s reason %s\n' "$id" "$name" "$task" "$st" "$code" "$reason"
      STATES+="$name $st"$'\n'
    done < <(scontrol show job -o "$j" 2>/dev/null)
  done
}
say "waiting for jobs ${JOBS[*]}"
wait_jobs "${JOBS[@]}"

# --- 4. job states and results ---------------------------------------------------------------------
say "job states (scontrol show job):"
show_states "${JOBS[@]}"
bad=0
grep -v ' COMPLETED$' <<<"$STATES" | grep -q . && bad=1
[ "$bad" = 0 ] || say "not every task COMPLETED: see $CHECK_DIR/slurm/ and $CHECK_DIR/log/"

same=1
for f in metrics.csv dev_predictions.csv variants.csv; do
  if cmp -s "$CHECK_DIR/serial/$f" "$CHECK_DIR/cells/$f"; then
    say "  $f: identical"
  else
    say "  $f: DIFFERS"; same=0
  fi
done
for f in "$CHECK_DIR"/serial/submissions/*; do
  g=$CHECK_DIR/cells/submissions/$(basename "$f")
  if cmp -s "$f" "$g"; then say "  submissions/$(basename "$f"): identical"; else say "  submissions/$(basename "$f"): DIFFERS"; same=0; fi
done
labels=$(cd "$CHECK_DIR/store" && ls -d labels-*)
if cmp -s "$CHECK_DIR/store-serial/$labels/transfer.tsv" "$CHECK_DIR/store/$labels/transfer.tsv"; then
  say "  $labels/transfer.tsv (labelled by $SHARDS shards): identical"
else
  say "  $labels/transfer.tsv: DIFFERS"; same=0
fi
left=$(find "$CHECK_DIR/store" "$CHECK_DIR/cells" -name '*.tmp.*' -o -name '.owner' -o -name failed.json)
[ -z "$left" ] || { say "left behind: $left"; same=0; }
say "metrics (cells): $(tr '\n' ' ' <"$CHECK_DIR/cells/metrics.csv" | cut -c1-400)"

# --- 5. a failing phase cancels the phases after it -------------------------------------------------
say "a failing phase: the same run over a store holding the finished teacher and transfer set,"
say "with every labelling chunk write failing as a full disk would (KD_FAIL_WRITE=.safetensors: only the labelling chunks write one here)"
mkdir -p "$CHECK_DIR/store-fail"
cp -al "$CHECK_DIR"/store/teacher-* "$CHECK_DIR"/store/transfer-* "$CHECK_DIR/store-fail/"
KD_FAIL_WRITE=.safetensors CPUS=1 MEM=1G TIME=30:00 GPUS=0 LABEL_SHARDS=$SHARDS JOB_NAME=kdfail \
  STORE=$CHECK_DIR/store-fail OUT_DIR=$CHECK_DIR/cells-fail LOG_DIR=$CHECK_DIR/slurm-fail KD_BIN=$BIN \
  "$ROOT/deploy/slurm/submit.sh" --smoke 2>&1 | tee "$SUBMIT_LOG.fail" | sed 's/^/    /'
mapfile -t FJOBS < <(sed -n 's/.* -> job \([0-9]*\).*/\1/p' "$SUBMIT_LOG.fail")
wait_jobs "${FJOBS[@]}"
show_states "${FJOBS[@]}"
cancelled=1
grep -q '^kdfail-labels FAILED$' <<<"$STATES" || cancelled=0
for k in student evaluate; do
  grep "^kdfail-$k " <<<"$STATES" | grep -qv ' CANCELLED$' && cancelled=0
  grep -q "^kdfail-$k CANCELLED$" <<<"$STATES" || cancelled=0
done
marker=$(ls "$CHECK_DIR"/store-fail/labels-*/failed.json 2>/dev/null | head -1)
if [ -n "$marker" ]; then
  say "  $(basename "$(dirname "$marker")")/failed.json: $(tr -s ' \n' ' ' <"$marker")"
else
  cancelled=0
fi
[ ! -e "$CHECK_DIR/cells-fail/metrics.csv" ] || cancelled=0
if [ "$cancelled" = 1 ]; then
  say "  the labelling phase FAILED, the student and evaluation phases were CANCELLED without running"
else
  say "  expected: labels FAILED, student and evaluate CANCELLED, a failed.json, no metrics.csv"
fi

if [ "$bad" = 0 ] && [ "$same" = 1 ] && [ "$cancelled" = 1 ]; then
  say "PASS: every task COMPLETED, the results equal the serial run's, and a failed phase cancelled the rest"
else
  say "FAIL"
  exit 1
fi
