#!/usr/bin/env bash
# The GPU checks, as one prepared script for the lent machine (the device tool's `run`, in the
# repository root of the copy it makes; ~10 min on one H200). Build the bundle first, here:
# scripts/build-cuda.sh (it writes .gpu/, carried with `carry: [".gpu"]`). Then on the device:
#
#   bash scripts/gpu-check.sh "$OUT"        # OUT: where the results go (default: gpu-out)
#
# In order, each step timed (a step that fails is reported and the next one runs):
#   1. the GPU's name (nvidia-smi) and libtorch's view of it;
#   2. the device parity tests: student and teacher logits, CPU vs CUDA, within 1e-4; a student
#      trained on CUDA loaded on the CPU;
#   3. `bench` for the four workloads on CUDA (bench.jsonl);
#   4. the paper-scale SST-2 run, experiments/configs/sst2-paper-gpu.yaml (n_iter 20), end to end,
#      with each stage's wall time in its log (runs/sst2/paper-gpu);
#   5. `table2 --device cuda --batch-size 512` over SST-2's 67,349 training sentences with that
#      run's teacher and BiLSTM_SOFT (table2.csv);
#   6. while the budget (GPU_CHECK_BUDGET seconds, default 560) lasts: a teacher recipe sweep, one
#      teacher cell per setting (lr 2e-5 and 3e-5 at 3 epochs; the run of step 5 is lr 5e-5).
# Everything is packed into $OUT/gpu-check.tar.gz (the device tool brings back at most 8 files)
# beside $OUT/summary.txt. KD_GPU_DEVICE=cpu runs the same steps on the CPU, with --smoke runs in
# steps 5 and 6, to check this script on a machine without a GPU.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-gpu-out}
DEVICE=${KD_GPU_DEVICE:-cuda}
BUDGET=${GPU_CHECK_BUDGET:-560}
B=.gpu
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
START=$(date +%s)
say() { printf '[gpu-check %4ss] %s\n' "$(($(date +%s) - START))" "$*" | tee -a "$SUMMARY" >&2; }
left() { echo $((BUDGET - ($(date +%s) - START))); }
# step NAME SECS CMD...: runs CMD with a time limit (never past the budget), logs it, notes the time.
step() {
  local name=$1 limit=$2 t0 rc
  shift 2
  [ "$(left)" -lt "$limit" ] && limit=$(left)
  if [ "$limit" -le 5 ]; then say "$name: skipped, the budget is spent"; return 1; fi
  t0=$(date +%s)
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  rc=$?
  say "$name: rc $rc in $(($(date +%s) - t0)) s (log $name.log)"
  return $rc
}

[ -d "$B/bin" ] || { echo "gpu-check: $B/bin is missing: run scripts/build-cuda.sh here and carry $B" >&2; exit 2; }
if [ "$DEVICE" = cuda ]; then
  lib=$(ls -d /opt/torch/.venv/lib/python3*/site-packages/torch/lib 2>/dev/null | head -1)
  [ -n "$lib" ] || lib=${KD_TORCH_LIB:-}
  [ -d "$lib" ] || { echo "gpu-check: no torch/lib under /opt/torch/.venv (set KD_TORCH_LIB)" >&2; exit 2; }
else
  lib=$PWD/.venv/libtorch/lib
fi
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
BIN=$B/run
mkdir -p "$BIN"
for z in "$B"/bin/*.zst; do
  f="$BIN/$(basename "$z" .zst)"
  [ -x "$f" ] || { zstd -q -d -f "$z" -o "$f" && chmod +x "$f"; }
done
[ -f "$B/glove-sst2.txt" ] || zstd -q -d -f "$B/glove-sst2.txt.zst" -o "$B/glove-sst2.txt"
[ -d "$B/minilm-f16" ] || zstd -q -d -c "$B/minilm-f16.tar.zst" | tar -C "$B" -xf -
[ -d "$B/data/glue" ] || { mkdir -p "$B/data" && zstd -q -d -c "$B/data.tar.zst" | tar -C "$B/data" -xf -; }
# The test binaries read their fixtures from the source dir they were built in.
built_in=$(grep -ao '/[[:alnum:]/._-]*/bert-teacher' "$BIN/test-tiny_bert" | head -1)
root=${built_in%/bert-teacher}
if [ -n "$root" ] && [ ! -e "$root/bert-teacher" ]; then mkdir -p "$(dirname "$root")" && ln -sfn "$PWD" "$root"; fi

say "device $DEVICE; libtorch from $lib; budget $BUDGET s"
if [ "$DEVICE" = cuda ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt" | sed 's/^/GPU: /' | tee -a "$SUMMARY" >&2
fi
DATA=(--data-dir "$B/data/glue")

if [ "$DEVICE" = cuda ]; then
  step parity-student 120 "$BIN/test-device" --include-ignored --test-threads 1
  step parity-teacher 120 "$BIN/test-tiny_bert" --include-ignored --test-threads 1
else
  step parity-student 120 "$BIN/test-device" --test-threads 1
  step parity-teacher 120 "$BIN/test-tiny_bert" --test-threads 1
fi

for spec in "student-train 50 400" "student-infer 512 100" "teacher-train 32 100" "teacher-infer 512 40"; do
  read -r what batch steps <<<"$spec"
  step "bench-$what" 60 "$BIN/bench" "$what" --device "$DEVICE" --batch-size "$batch" --steps "$steps" "${DATA[@]}" \
    && grep -h '^{' "$OUT/bench-$what.log" >>"$OUT/bench.jsonl"
done

STORE=/tmp/kd-store
RUN=(--config experiments/configs/sst2-paper-gpu.yaml --device "$DEVICE" --store "$STORE" "${DATA[@]}")
[ "$DEVICE" = cuda ] || RUN+=(--smoke)
step sst2-paper-gpu 420 "$BIN/sst2" "${RUN[@]}" --out-dir runs/sst2/paper-gpu

# Table 2 with the run's teacher and BiLSTM_SOFT (their dirs from its stages.json).
model_dir() {
  python3 -c 'import json, sys
for s in json.load(open(sys.argv[1])):
    if s["stage"] == sys.argv[2] and s.get("model", sys.argv[3]) == sys.argv[3]:
        print(s["dir"]); break' runs/sst2/paper-gpu/stages.json "$1" "$2"
}
if [ -f runs/sst2/paper-gpu/stages.json ]; then
  T2=(--device "$DEVICE" --batch-size 512 --out "$OUT/table2.csv" "${DATA[@]}"
    --teacher "$(model_dir teacher teacher)" --student "$(model_dir student bilstm_soft)")
  [ "$DEVICE" = cuda ] || T2+=(--max-sentences 2000 --repeats 1)
  step table2 90 "$BIN/table2" "${T2[@]}"
else
  say "table2: skipped, the paper-scale run wrote no stages.json"
fi

for lr in 2.0e-5 3.0e-5; do
  cfg="$B/sweep-lr$lr.yaml"
  printf 'extends: ../experiments/configs/sst2-paper-gpu.yaml\nname: sweep-lr%s\nteacher:\n  fine_tune: { lr: %s, epochs: 3 }\n' "$lr" "$lr" >"$cfg"
  args=(--config "$cfg" --device "$DEVICE" --store "$STORE" "${DATA[@]}")
  [ "$DEVICE" = cuda ] || args+=(--smoke)
  step "sweep-lr$lr" 200 "$BIN/sst2" "${args[@]}" --cell 0 || break
done
# Each setting's dev accuracy per epoch, from the teacher stages' done.json.
for d in "$STORE"/teacher-*/; do
  [ -f "$d/done.json" ] && [ -f "$d/fine_tune_config.json" ] || continue
  python3 -c 'import json, sys
c = json.load(open(sys.argv[1] + "fine_tune_config.json")); s = json.load(open(sys.argv[1] + "done.json"))["summary"]
for e in s["history"]:
    print("teacher lr %s epochs %s: epoch %d dev %.2f (%.0f s)" % (c["lr"], c["epochs"], e["epoch"], 100 * e["dev_accuracy"], e["seconds"]))' "$d" | tee -a "$SUMMARY" >&2
done

[ -d runs/sst2/paper-gpu ] && cp -r runs/sst2/paper-gpu "$OUT/sst2-paper-gpu"
for d in "$STORE"/*/; do
  [ -f "$d/done.json" ] && mkdir -p "$OUT/store/$(basename "$d")" && cp "$d/done.json" "$OUT/store/$(basename "$d")/"
done
say "done in $(($(date +%s) - START)) s"
(cd "$OUT" && tar -czf gpu-check.tar.gz --exclude gpu-check.tar.gz --exclude summary.txt .)
