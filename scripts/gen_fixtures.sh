#!/usr/bin/env bash
# Regenerates every PyTorch / transformers / NLTK fixture the tests read. Needs the full torch
# (scripts/setup.sh --full). CI never runs this: the fixtures are committed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv-fixtures/bin/python
"$PY" -c 'import torch, transformers, nltk, pyarrow, pandas, polars' 2>/dev/null \
  || { echo "[fixtures] error: $PY cannot import torch, transformers, nltk, pyarrow, pandas and polars: run scripts/setup.sh --full" >&2; exit 1; }
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
git status --short -- '*fixtures*'
