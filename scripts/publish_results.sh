#!/usr/bin/env bash
# Copies a finished run's result files into reports/results/<name>/, where `cargo run -p reports`
# reads them (and where the committed results live):
#   scripts/publish_results.sh runs/sst2/default sst2
#   scripts/publish_results.sh runs/sst2/ablations sst2-ablations
# The folder is replaced, not overlaid: files of an earlier publication that this run does not
# have (say, submission files named by an older convention) do not survive beside the new ones.
# It is built beside the old one and swapped in by renames, so an interrupted copy leaves the old
# folder (or, killed between the two renames, <name>.old, which the next call puts back first).
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:?usage: $0 RUN_DIR NAME}
name=${2:?usage: $0 RUN_DIR NAME}
[ -f "$run/metrics.csv" ] || { echo "error: $run/metrics.csv not found: has the run finished?" >&2; exit 1; }
dest=reports/results/$name
if [ -d "$dest.old" ] && [ ! -d "$dest" ]; then mv "$dest.old" "$dest"; fi
tmp=$dest.publishing
rm -rf "$tmp" "$dest.old"
mkdir -p "$tmp/submissions"
for f in metrics.csv history.csv variants.csv teachers.csv dev_predictions.csv softmax_t.csv config.yaml run.json stages.json; do
  if [ -f "$run/$f" ]; then cp "$run/$f" "$tmp/$f"; fi
done
cp "$run"/submissions/*.tsv "$tmp/submissions/"
if [ -d "$dest" ]; then mv "$dest" "$dest.old"; fi
mv "$tmp" "$dest"
rm -rf "$dest.old"
echo "copied $run -> $dest (replacing what was there)"
