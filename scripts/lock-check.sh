#!/usr/bin/env bash
# Checks that a shared file system gives the stage store what it needs — shared and exclusive
# locks that reach across nodes (opened as the store opens them), exclusive creation by hard
# link, agreeing clocks — by running the `lock-check` binary on two or more nodes at once over
# one empty directory of that file system. Each process prints PASS/FAIL lines and exits 0 when
# every check passed (1 when one failed, 2 when the check could not run). See deploy/README.md,
# "What the store needs".
#
#   scripts/lock-check.sh DIR [--peers N] [--rounds R] [--timeout SECS]
#   srun -N2 -n2 scripts/lock-check.sh /shared/kd/lock-check      # Slurm: one task per node
#   ssh node1 .../scripts/lock-check.sh /shared/kd/lock-check &    # or by hand, on two nodes
#   ssh node2 .../scripts/lock-check.sh /shared/kd/lock-check; wait
#
# The binary is $KD_LOCK_CHECK (default target/release/lock-check of this checkout; build it
# with `cargo build --release -p experiments`).
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  '') usage >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KD_LOCK_CHECK:-$ROOT/target/release/lock-check}
[ -x "$BIN" ] || { printf 'lock-check: error: %s is not there: cargo build --release -p experiments, or set KD_LOCK_CHECK\n' "$BIN" >&2; exit 2; }
exec "$BIN" "$@"
