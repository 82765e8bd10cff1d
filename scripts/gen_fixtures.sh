#!/usr/bin/env bash
# Regenerates every PyTorch / transformers / NLTK fixture the tests read. Needs the full torch
# (scripts/setup.sh --full). CI never runs this: the fixtures are committed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv-fixtures/bin/python
"$PY" -c 'import torch, transformers, nltk, pyarrow, pandas, polars, onnxruntime' 2>/dev/null \
  || { echo "[fixtures] error: $PY cannot import torch, transformers, nltk, pyarrow, pandas, polars and onnxruntime: run scripts/setup.sh --full" >&2; exit 1; }
for script in \
  kd-core/tests/fixtures/gen_fixtures.py \
  kd-core/tests/fixtures/gen_adamw.py \
  kd-core/tests/fixtures/parquet/readback.py \
  kd-core/tests/fixtures/nltk_tags/make_tags.py \
  bert-teacher/tests/fixtures/make_fixtures.py \
  bilstm-student/tests/fixtures/gen_student.py \
  reports/tests/fixtures/softmax_t.py \
  reports/tests/data/ablation/make_fixture.py; do
  echo "[fixtures] $script"
  "$PY" "$script"
done
# The exported students: two tiny students written as the pipeline saves them, exported by the
# Rust exporter, then run in onnxruntime.
F=student-onnx/tests/fixtures
echo "[fixtures] $F"
"$PY" $F/make_students.py
for n in single pair; do
  cargo run --quiet -p student-onnx --bin export -- --model $F/students/$n --out $F/onnx/$n
done
"$PY" $F/run_onnxruntime.py
git status --short -- '*fixtures*'
