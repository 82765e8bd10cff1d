#!/usr/bin/env bash
# Copies a finished run's result files into reports/results/<name>/, where `cargo run -p reports`
# reads them (and where the committed results live):
#   scripts/publish_results.sh runs/sst2/default sst2
#   scripts/publish_results.sh runs/sst2/ablations sst2-ablations
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:?usage: $0 RUN_DIR TASK}
task=${2:?usage: $0 RUN_DIR TASK}
[ -f "$run/metrics.csv" ] || { echo "error: $run/metrics.csv not found: has the run finished?" >&2; exit 1; }
dest=reports/results/$task
mkdir -p "$dest/submissions"
for f in metrics.csv history.csv variants.csv teachers.csv dev_predictions.csv softmax_t.csv config.yaml run.json stages.json; do
  [ -f "$run/$f" ] && cp "$run/$f" "$dest/$f"
done
cp "$run"/submissions/*.tsv "$dest/submissions/"
echo "copied $run -> $dest"
