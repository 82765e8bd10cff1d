#!/usr/bin/env bash
# Measures what N local workers gain over one on this machine, stage by stage: the labelling
# cells of a transfer set, then a grid of student cells, each phase timed on its own (wall
# clock), over a fresh store per run that starts with a finished teacher (hard links: the
# teacher cell is one cell whatever N is). One worker gets every core (--threads = nproc); each
# of N workers gets nproc/N threads (at least 1), as N array tasks sharing this node would.
#
#   scripts/cells-speedup.sh TEACHER_DIR [N ...]        (default N: 1 2)
#   scripts/cells-speedup.sh runs/store/teacher-ac8ab0a58a32 1 2
#
# The workload is experiments/configs/sst2-cells-speedup.yaml (override with CONFIG=...). Prints
# one TSV row per run and phase: workers, threads, phase, cells, seconds; logs and the stores
# are under runs/cells-speedup/ (OUT=...). The binary is $KD_BIN (default target/release/sst2).
set -euo pipefail

die() { printf 'cells-speedup: error: %s\n' "$*" >&2; exit 2; }
[ $# -ge 1 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
TEACHER=$1
shift
[ -f "$TEACHER/done.json" ] || die "$TEACHER is not a finished teacher stage (no done.json)"
BIN=${KD_BIN:-target/release/sst2}
[ -x "$BIN" ] || die "$BIN is not there: build it (cargo build --release -p experiments) or set KD_BIN"
CONFIG=${CONFIG:-experiments/configs/sst2-cells-speedup.yaml}
OUT=${OUT:-runs/cells-speedup}
CORES=$(nproc)
RUNS=("$@")
[ ${#RUNS[@]} -gt 0 ] || RUNS=(1 2)

# Cells of one kind (column 2 of --list-cells), space-separated.
cells_of() { awk -F'\t' -v k="$1" '$2 == k { printf "%s ", $1 }' <<<"$2"; }

# Runs the given cells over $N workers (worker i takes every N-th), waits, prints the seconds.
phase() {
  local n=$1 threads=$2 log=$3
  shift 3
  local cells=("$@") pids=() start end i k
  start=$(date +%s.%N)
  for ((i = 0; i < n; i++)); do
    (
      for ((k = i; k < ${#cells[@]}; k += n)); do
        "$BIN" --cell "${cells[k]}" --wait 600 "${ARGS[@]}" --threads "$threads" >>"$log" 2>&1 \
          || { echo "cell ${cells[k]} failed: see $log" >&2; exit 1; }
      done
    ) &
    pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || die "a cell failed (log: $log)"; done
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }'
}

printf 'workers\tthreads\tphase\tcells\tseconds\n'
for N in "${RUNS[@]}"; do
  [[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive number of workers, got '$N'"
  threads=$((CORES / N)); [ "$threads" -ge 1 ] || threads=1
  store="$OUT/n$N/store"
  rm -rf "$OUT/n$N"
  mkdir -p "$store"
  cp -al "$TEACHER" "$store/"
  log="$OUT/n$N/log.txt"
  ARGS=(--config "$CONFIG" --store "$store" --out-dir "$OUT/n$N/results" --label-shards "$N")
  list=$("$BIN" --list-cells "${ARGS[@]}")
  # Several processes on one machine: OpenMP's spinning would take cores from each other.
  if [ "$N" -gt 1 ]; then export OMP_WAIT_POLICY=PASSIVE; else unset OMP_WAIT_POLICY; fi
  read -ra setup <<<"$(cells_of teacher "$list")$(cells_of transfer "$list")"
  phase 1 "$CORES" "$log" "${setup[@]}" >/dev/null
  read -ra labels <<<"$(cells_of labels "$list")"
  printf '%s\t%s\tlabelling\t%s\t%s\n' "$N" "$threads" "${#labels[@]}" "$(phase "$N" "$threads" "$log" "${labels[@]}")"
  read -ra students <<<"$(cells_of student "$list")"
  printf '%s\t%s\tstudents\t%s\t%s\n' "$N" "$threads" "${#students[@]}" "$(phase "$N" "$threads" "$log" "${students[@]}")"
  read -ra eval <<<"$(cells_of evaluate "$list")"
  phase 1 "$CORES" "$log" "${eval[@]}" >/dev/null
done
