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
# The exported students: written by the Rust exporter from tiny libtorch students, then run in
# onnxruntime.
echo "[fixtures] student-onnx/tests/fixtures (cargo run -p experiments --example onnx_fixtures)"
cargo run --quiet -p experiments --example onnx_fixtures
"$PY" student-onnx/tests/fixtures/onnxruntime.py
git status --short -- '*fixtures*'
