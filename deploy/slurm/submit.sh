#!/usr/bin/env bash
# Submits a task's run to Slurm as one job array per phase, chained by dependencies: the cells
# of `--list-cells`, grouped by kind in list order (teacher -> transfer sets -> labelling shards
# -> students -> evaluation), each phase an array over its cells' indices that starts only once
# the previous phase has finished without error (--dependency=afterok, with
# --kill-on-invalid-dep=yes, so a failed phase cancels the rest instead of leaving it pending).
# No task holds a node while it waits. Each cell also gets --expect-cells N, so a cell list that
# differs from the one sized here fails loudly.
#
#   deploy/slurm/submit.sh [--dry-run] [task args...]
#   STORE=/shared/kd/store OUT_DIR=/shared/kd/runs/sst2/default deploy/slurm/submit.sh
#   GPUS=1 KD_BIN=target-cuda/release/sst2 deploy/slurm/submit.sh --config my.yaml
#
# Task args go to --list-cells and to every cell (config, --smoke, seeds, ...). The environment
# sets the rest:
#   KD_ROOT       the checkout on the shared file system (default: the one holding this script);
#                 every cell runs there, so relative paths in configs resolve the same
#   KD_BIN        the task binary (default $KD_ROOT/target/release/sst2)
#   STORE         --store (default: the binary's, runs/store under KD_ROOT)
#   OUT_DIR       --out-dir (default: the binary's, runs/<task>/<config name>)
#   LABEL_SHARDS  labelling cells per transfer set (default 4; do not also pass --label-shards)
#   CPUS          --cpus-per-task, and each cell's --threads (default 4)
#   MEM           --mem (default 16G)
#   TIME          --time of each task (default 24:00:00)
#   GPUS          GPUs per task for the cells that use one: teacher, labels, students,
#                 evaluation, not the transfer sets (default 0: every cell gets --device cpu).
#                 Needs a binary linked to libtorch_cuda.so (scripts/build-cuda.sh): a CPU
#                 build would run on the CPU while holding the GPU, so it is refused.
#   JOB_NAME      prefix of the job names (default kd): <prefix>-<kind>
#   LOG_DIR       where Slurm writes each task's output (default $KD_ROOT/runs/slurm)
#   SBATCH_ARGS   more sbatch options for every phase, e.g. "--partition=cpu --account=me"
# --dry-run prints the sbatch commands (fake job ids dry1, dry2, ...) and submits nothing.
set -euo pipefail

usage() { sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf 'submit: error: %s\n' "$*" >&2; exit 2; }

DRY=0
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --dry-run) DRY=1; shift ;;
esac

HERE=$(cd "$(dirname "$0")" && pwd)
KD_ROOT=${KD_ROOT:-$(cd "$HERE/../.." && pwd)}
BIN=${KD_BIN:-$KD_ROOT/target/release/sst2}
case "$BIN" in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || die "$BIN is not there: build it (cargo build --release -p experiments) or set KD_BIN"
CPUS=${CPUS:-4}
MEM=${MEM:-16G}
TIME=${TIME:-24:00:00}
GPUS=${GPUS:-0}
LABEL_SHARDS=${LABEL_SHARDS-4}
JOB_NAME=${JOB_NAME:-kd}
LOG_DIR=${LOG_DIR:-$KD_ROOT/runs/slurm}
[[ "$CPUS" =~ ^[1-9][0-9]*$ ]] || die "CPUS must be a positive number, got '$CPUS'"
[[ "$GPUS" =~ ^[0-9]+$ ]] || die "GPUS must be a number, got '$GPUS'"

# The GPU line only for a CUDA build: tch's build drops libtorch_cuda.so unless it is linked
# explicitly (scripts/build-cuda.sh), and a binary without it runs on the CPU.
if [ "$GPUS" -gt 0 ]; then
  command -v readelf >/dev/null || die "GPUS=$GPUS: readelf (binutils) is needed to check that $BIN is a CUDA build"
  readelf -d "$BIN" | grep -q 'NEEDED.*libtorch_cuda' \
    || die "GPUS=$GPUS, but $BIN does not link libtorch_cuda.so: it would run on the CPU while holding the GPU(s). Build with scripts/build-cuda.sh and set KD_BIN=target-cuda/release/<task>, or set GPUS=0"
fi

ARGS=(--threads "$CPUS")
[ -z "$LABEL_SHARDS" ] || ARGS+=(--label-shards "$LABEL_SHARDS")
[ -z "${STORE:-}" ] || ARGS+=(--store "$STORE")
[ -z "${OUT_DIR:-}" ] || ARGS+=(--out-dir "$OUT_DIR")
ARGS+=("$@")

cd "$KD_ROOT"
LIST=$("$BIN" --list-cells "${ARGS[@]}") || die "$BIN --list-cells ${ARGS[*]} failed (its error is above)"
COUNT=$(printf '%s\n' "$LIST" | grep -c .)
[ "$COUNT" -gt 0 ] || die "$BIN --list-cells printed no cells"

# Phases: maximal runs of one kind, in list order (first index, last index, kind).
PHASES=()
prev_kind= first=
while IFS=$'\t' read -r index kind _; do
  if [ "$kind" != "$prev_kind" ]; then
    [ -z "$prev_kind" ] || PHASES+=("$first $((index - 1)) $prev_kind")
    first=$index prev_kind=$kind
  fi
done <<<"$LIST"
PHASES+=("$first $((COUNT - 1)) $prev_kind")

# Array indices are cell indices: they must fit the cluster's MaxArraySize.
if [ "$DRY" = 0 ]; then
  max=$(scontrol show config 2>/dev/null | awk '$1 == "MaxArraySize" {print $3}')
  if [ -n "$max" ] && [ "$COUNT" -gt "$max" ]; then
    die "$COUNT cells, but MaxArraySize is $max: array indices are cell indices (raise MaxArraySize)"
  fi
fi

uses_gpu() { case "$1" in transfer) return 1 ;; *) return 0 ;; esac; }

[ "$DRY" = 1 ] || mkdir -p "$LOG_DIR"
read -ra EXTRA <<<"${SBATCH_ARGS:-}"
printf 'submit: %d cells of %s, %d phases; logs in %s\n' "$COUNT" "$BIN" "${#PHASES[@]}" "$LOG_DIR" >&2
prev_job= n=0
for phase in "${PHASES[@]}"; do
  read -r lo hi kind <<<"$phase"
  n=$((n + 1))
  cmd=(sbatch --parsable --job-name="$JOB_NAME-$kind" --array="$lo-$hi"
    --cpus-per-task="$CPUS" --mem="$MEM" --time="$TIME" --chdir="$KD_ROOT"
    --output="$LOG_DIR/%x-%A_%a.out"
    --export="ALL,KD_BIN=$BIN,KD_ROOT=$KD_ROOT")
  device=cpu
  if [ "$GPUS" -gt 0 ] && uses_gpu "$kind"; then
    cmd+=(--gres="gpu:$GPUS")
    device=cuda
  fi
  [ -z "$prev_job" ] || cmd+=(--dependency="afterok:$prev_job" --kill-on-invalid-dep=yes)
  cmd+=("${EXTRA[@]}" "$HERE/cell.sbatch" --expect-cells "$COUNT" --device "$device" "${ARGS[@]}")
  if [ "$DRY" = 1 ]; then
    printf '%q ' "${cmd[@]}"
    printf '\n'
    job=dry$n
  else
    job=$("${cmd[@]}") || die "sbatch failed for phase $n ($kind, cells $lo-$hi)"
    job=${job%%;*}
  fi
  printf 'submit: phase %d/%d: %-8s cells %s-%s -> job %s%s\n' "$n" "${#PHASES[@]}" "$kind" \
    "$lo" "$hi" "$job" "${prev_job:+ (after $prev_job)}" >&2
  prev_job=$job
done
[ "$DRY" = 1 ] || printf 'submit: watch with `squeue -u %s` and `sacct -j <job>`; the results are in the out dir once job %s has finished\n' "${USER:-$(id -un)}" "$prev_job" >&2
