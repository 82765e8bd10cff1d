#!/usr/bin/env bash
# What a newcomer pays on a fresh machine, timed: a fresh clone of REV (default HEAD) in a new
# temporary folder, empty cargo and pip caches, then
#   1. `make test` (set-up, fmt, clippy, the test build, the tests), with its own empty CARGO_HOME;
#   2. the cold release build of the binaries (`cargo build --release -p experiments --bins`),
#      with another empty CARGO_HOME and target dir, so it too pays every download and crate.
# The README's "Timings" table comes from this script on a quiet machine; a busy one (other builds,
# training runs) stretches every number. Needs what a new user needs: network access to crates.io
# and PyPI, and the rustup toolchain on PATH (CARGO_HOME is replaced, RUSTUP_HOME is not).
#
#   scripts/cold-timings.sh [REV]        e.g. scripts/cold-timings.sh HEAD~3
#   RELEASE=0 scripts/cold-timings.sh    step 1 only
#
# Prints one line per step and a summary; the logs stay in the printed folder (KEEP=0 removes the
# folder, logs included, at the end). GLUE data is linked as a checkout beside ../shared/data gets
# it (scripts/setup.sh), when that folder exists.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rev=$(git -C "$repo" rev-parse "${1:-HEAD}")
work=$(mktemp -d "${TMPDIR:-/tmp}/kd-cold.XXXXXX")
log=$work/logs
mkdir -p "$log"
say() { printf '[cold-timings] %s\n' "$*"; }

# Microseconds now, and seconds (one decimal) since a microsecond stamp: bash built-ins only, so
# stamping each line of the build's output costs no process.
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }
since() { local d=$(( ($(now_us) - $1) / 100000 )); printf '%d.%d' $((d / 10)) $((d % 10)); }
mmss() { local t=${1%.*}; printf '%d min %02d s' $((t / 60)) $((t % 60)); }

say "rev $rev, in $work"
git clone --quiet --no-local "$repo" "$work/repo"
git -C "$work/repo" checkout --quiet --detach "$rev"
if [ -d "$repo/../shared/data" ]; then
  mkdir -p "$work/shared"
  ln -s "$(realpath "$repo/../shared/data")" "$work/shared/data"
fi

export PIP_CACHE_DIR=$work/pip-cache
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR

# 1. make test, every line stamped with the seconds since the start (the phases are read from it).
export CARGO_HOME=$work/cargo-home-test
mkdir -p "$CARGO_HOME"
start=$(now_us)
status=0
(cd "$work/repo" && make test 2>&1) \
  | while IFS= read -r line; do printf '%7s %s\n' "$(since "$start")" "$line"; done \
  > "$log/make-test.log" || status=$?
make_test=$(since "$start")
say "make test: $(mmss "$make_test") (exit $status; log $log/make-test.log)"
grep -E '^ *[0-9.]+ +(\[setup\] ok|Finished|test result: FAILED)' "$log/make-test.log" \
  | sed 's/^/[cold-timings]   /' || true
passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log/make-test.log" | awk '{s += $4} END {print s + 0}')
say "  tests passed: $passed"

if [ "${RELEASE:-1}" = 0 ]; then
  say "summary: make test $(mmss "$make_test"), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB"
  if [ "${KEEP:-1}" = 0 ]; then rm -rf "$work"; fi
  exit "$status"
fi

# 2. The cold release build, with a cargo home and a target dir of its own.
export CARGO_HOME=$work/cargo-home-release
mkdir -p "$CARGO_HOME"
start=$(now_us)
rstatus=0
(cd "$work/repo" && CARGO_TARGET_DIR=$work/target-release \
  cargo build --release -p experiments --bins > "$log/release.log" 2>&1) || rstatus=$?
release=$(since "$start")
say "cold release build: $(mmss "$release") (exit $rstatus; log $log/release.log)"

say "summary: make test $(mmss "$make_test"), release build $(mmss "$release"), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB"
if [ "${KEEP:-1}" = 0 ]; then rm -rf "$work"; fi
[ "$status" = 0 ] && [ "$rstatus" = 0 ]
