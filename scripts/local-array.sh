#!/usr/bin/env bash
# Runs a task's cells (see `sst2 --help`, "Cells") in N local worker processes over one store:
# worker i runs cells i, i+N, i+2N, ... in turn, each with --wait (so a cell starts once the
# cells it depends on are finished in the store; a failed cell's marker ends the wait at once),
# and the evaluation cell runs last, once every worker is done. For users without a cluster;
# deploy/README.md has the Slurm (phases chained by dependencies) and Kubernetes versions.
#
#   scripts/local-array.sh N [task args...]
#   scripts/local-array.sh 3 --smoke --label-shards 3 --out-dir runs/sst2/cells --store runs/store
#
# The arguments are passed to --list-cells and to every cell (give them all the same ones). The
# binary is $KD_BIN (default target/release/sst2; e.g. KD_BIN=target/release/qqp). Every cell
# gets --expect-cells with the count listed here. A failing cell stops every worker; the exit
# status is then non-zero. Worker logs go to stderr, each line of a cell prefixed with `cell K:`
# (and to <out dir>/logs/cell-K.log).
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf 'local-array: error: %s\n' "$*" >&2; exit 2; }

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  '' ) usage >&2; exit 2 ;;
esac
N=$1
shift
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive number of workers, got '$N'"

BIN=${KD_BIN:-target/release/sst2}
[ -x "$BIN" ] || die "$BIN is not there: build it (cargo build --release -p experiments) or set KD_BIN"

CELLS=$("$BIN" --list-cells "$@" 2>/dev/null) || die "$BIN --list-cells $* failed: run it to see why"
COUNT=$(printf '%s\n' "$CELLS" | grep -c .)
LAST=$((COUNT - 1))
printf 'local-array: %d cells, %d worker(s); evaluation (cell %d) last\n' "$COUNT" "$N" "$LAST" >&2

# One worker: its cells in increasing order. On TERM it stops its running cell first.
worker() {
  local i=$1 k child=
  shift
  trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 143' TERM
  for ((k = i; k < LAST; k += N)); do
    "$BIN" --cell "$k" --wait --expect-cells "$COUNT" "$@" &
    child=$!
    if ! wait "$child"; then
      printf 'local-array: worker %d: cell %d failed\n' "$i" "$k" >&2
      return 1
    fi
    child=
  done
}

pids=()
for ((i = 0; i < N; i++)); do
  worker "$i" "$@" &
  pids+=("$!")
done

stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'stop_all; exit 130' INT TERM

failed=0
for ((n = 0; n < N; n++)); do
  # The workers are this shell's only jobs (bash >= 4.3).
  if ! wait -n; then
    failed=1
    break
  fi
done
if [ "$failed" = 1 ]; then
  stop_all
  die "a cell failed: the workers were stopped (rerun the same command to resume)"
fi

exec "$BIN" --cell "$LAST" --wait --expect-cells "$COUNT" "$@"
