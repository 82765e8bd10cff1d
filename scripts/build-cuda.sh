#!/usr/bin/env bash
# Builds the CUDA-capable release binaries and the bundle that a GPU machine needs to run
# scripts/gpu-check.sh: what travels there (the device tool carries at most 64 MiB with the
# working tree) is in .gpu/ (git-ignored; BUNDLE=... to change):
#
#   bin/*.zst        sst2, bench, table2 and the two device-test binaries, linked against
#                    libtorch_cuda, zstd-compressed
#   minilm-f16.tar.zst  the teacher's initial checkpoint (.cache/minilm) in float16 (90 -> 45 MB,
#                    42 MB compressed)
#   glove-sst2.txt.zst  the GloVe rows of SST-2's words (filter_vectors), bit-identical values
#   data.tar.zst     data/glue/SST-2 and data/pos (the POS tagger)
#
#   scripts/build-cuda.sh            # then: see scripts/gpu-check.sh
#
# The CPU build is untouched: the CUDA binaries go to their own target dir (target-cuda/, or
# CUDA_TARGET_DIR) because tch's build drops libtorch_cuda.so under the linker's --as-needed, so
# RUSTFLAGS must name it, and different RUSTFLAGS rebuild everything. They run where libtorch
# 2.11 with CUDA is on LD_LIBRARY_PATH (the lent machine: /opt/torch/.venv's torch/lib; here: the
# set-up's .venv/libtorch/lib, whose torch wheel ships libtorch_cuda.so too).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'build-cuda: error: %s\n' "$*" >&2; exit 1; }
say() { printf '[build-cuda] %s\n' "$*" >&2; }

BUNDLE=${BUNDLE:-.gpu}
TARGET=${CUDA_TARGET_DIR:-target-cuda}
LIB=.venv/libtorch/lib
[ -f "$LIB/libtorch_cuda.so" ] || die "$LIB/libtorch_cuda.so is missing: run scripts/setup.sh (the PyPI torch wheel ships it)"
command -v zstd >/dev/null || die "zstd is not installed (apt-get install zstd)"
[ -d .cache/minilm ] && [ -d .cache/glove ] || die ".cache/minilm or .cache/glove is missing: run scripts/setup.sh"
[ -f data/glue/SST-2/train.tsv ] || die "data/glue/SST-2/train.tsv is missing (see data/README.md)"

export LD_LIBRARY_PATH="$PWD/$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# --allow-shlib-undefined: libtorch_cuda.so's own needs (cuBLAS, cuDNN, NCCL, ...) are not
# installed here; they are resolved where the binaries run.
# An explicit --target keeps these flags off build scripts and proc macros (host code).
export RUSTFLAGS="-L native=$PWD/$LIB -C link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed,--allow-shlib-undefined"
TRIPLE=x86_64-unknown-linux-gnu
# KD_CUDA_LINK=0: the same bundle from the CPU build (target/), to try scripts/gpu-check.sh on a
# machine without a GPU (KD_GPU_DEVICE=cpu).
if [ "${KD_CUDA_LINK:-1}" = 0 ]; then unset RUSTFLAGS; TARGET=target; TRIPLE=; fi
CARGO_ARGS=(--release --target-dir "$TARGET" ${TRIPLE:+--target "$TRIPLE"})
OUTDIR=$TARGET/${TRIPLE:+$TRIPLE/}release

say "release binaries${RUSTFLAGS:+ with libtorch_cuda linked} -> $OUTDIR"
cargo build "${CARGO_ARGS[@]}" -p experiments --bin sst2 --bin bench --bin table2
# The device tests, as release test binaries (their paths from cargo's JSON messages).
tests=$(cargo test "${CARGO_ARGS[@]}" --no-run --message-format=json \
  -p bilstm-student --test device -p bert-teacher --test tiny_bert 2>/dev/null \
  | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"], m["executable"])')
[ "$(wc -l <<<"$tests")" = 2 ] || die "expected two test binaries, got: $tests"
for b in sst2 bench table2; do
  [ "${KD_CUDA_LINK:-1}" = 0 ] || readelf -d "$OUTDIR/$b" | grep -q 'libtorch_cuda.so' \
    || die "$OUTDIR/$b does not link libtorch_cuda.so (RUSTFLAGS not applied?)"
done

say "bundle -> $BUNDLE"
rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/bin"
for b in sst2 bench table2; do
  zstd -q -19 -T0 "$OUTDIR/$b" -o "$BUNDLE/bin/$b.zst"
done
while read -r name path; do
  zstd -q -19 -T0 "$path" -o "$BUNDLE/bin/test-$name.zst"
done <<<"$tests"

# The CPU build's tools for the data (no CUDA needed).
unset RUSTFLAGS
cargo run --quiet --release -p bert-teacher --example half_checkpoint -- .cache/minilm "$BUNDLE/minilm-f16" f16
tar -C "$BUNDLE" -cf - minilm-f16 | zstd -q -19 -T0 -o "$BUNDLE/minilm-f16.tar.zst"
rm -rf "$BUNDLE/minilm-f16"
cargo run --quiet --release -p experiments --example filter_vectors -- .cache/glove "$BUNDLE/glove-sst2.txt" data/glue/SST-2
zstd -q -19 -T0 --rm "$BUNDLE/glove-sst2.txt"
tar -C data/ -cf - --dereference glue/SST-2 pos | zstd -q -19 -T0 -o "$BUNDLE/data.tar.zst"

bundle=$(du -sb "$BUNDLE" | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
say "$(du -sh "$BUNDLE" | cut -f1) bundle + $((tree / 1024)) KiB tracked tree = $(((bundle + tree) / 1048576)) MiB of the 64 MiB that travel"
[ $((bundle + tree)) -le $((64 * 1048576)) ] || die "bundle + tree exceed 64 MiB"
du -b "$BUNDLE"/* "$BUNDLE"/bin/* | sort -k2 >&2
