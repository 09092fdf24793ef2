#!/bin/bash
# The one definition of the Python environment a run trains in, on a GPU instance
# (ec2/bootstrap.sh) and on a Ray GPU worker (ec2/ray-cluster.yaml) alike:
#
#   bash ec2/install_env.sh [--cpu] [--cudnn] PREFIX
#
# GPU (default): Miniforge (in $KFKD_CONDA, default PREFIX/../miniforge), then the conda
#   environment of ec2/environment.yml at PREFIX (Python 3.8, pygpu/libgpuarray 0.7.6, the
#   CUDA 10.2 runtime), then `pip install -r requirements.txt` in it (the pins of every machine).
#   --cudnn adds cuDNN 7.6.5 and CUDA 10.2's headers (cudatoolkit-dev), which Theano's cuDNN
#   ops need to compile; without it Theano uses its own convolutions, as the study did.
# --cpu: a venv at PREFIX made by $KFKD_BASE_PYTHON (default python3), then the same pip install.
#
# It writes PREFIX/kfkd-env.sh last; `source` that file to use the environment: PATH,
# LD_LIBRARY_PATH, CUDA_ROOT, KFKD_DEVICE and THEANO_FLAGS (device, floatX, compile cache, and
# dnn.* from $KFKD_CUDNN at the time it is sourced: 1 = cuDNN's convolutions, else Theano's own).
# Run again with the same files and options, it finds that file and changes nothing.
set -euo pipefail

MODE=gpu
CUDNN=0
PREFIX=
while [ $# -gt 0 ]; do
  case $1 in
    --cpu) MODE=cpu ;;
    --cudnn) CUDNN=1 ;;
    -*) echo "install_env: unknown option $1" >&2; exit 2 ;;
    *) PREFIX=$1 ;;
  esac
  shift
done
[ -n "$PREFIX" ] || { echo "usage: install_env.sh [--cpu] [--cudnn] PREFIX" >&2; exit 2; }
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQUIREMENTS=$SRC/requirements.txt
[ -f "$REQUIREMENTS" ] || { echo "install_env: no $REQUIREMENTS" >&2; exit 2; }
mkdir -p "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
ENV_FILE=$PREFIX/kfkd-env.sh

# What the environment is made of: when this key is unchanged, the environment is too.
KEY=$(cat "$REQUIREMENTS" "$SRC/ec2/environment.yml" "${BASH_SOURCE[0]}" \
  | { sha256sum; echo "$MODE $CUDNN"; } | sha256sum | cut -c1-16)
if [ -f "$ENV_FILE" ] && grep -qx "# kfkd-env-key: $KEY" "$ENV_FILE"; then
  echo "install_env: $PREFIX is ready (key $KEY)"
  exit 0
fi
rm -f "$ENV_FILE"

if [ "$MODE" = gpu ]; then
  CONDA=${KFKD_CONDA:-$(dirname "$PREFIX")/miniforge}
  if [ ! -x "$CONDA/bin/conda" ]; then
    curl -fsSL -o "$CONDA.sh" \
      https://github.com/conda-forge/miniforge/releases/latest/download/Miniforge3-Linux-x86_64.sh
    bash "$CONDA.sh" -b -p "$CONDA"
  fi
  if [ ! -x "$PREFIX/bin/python" ]; then
    "$CONDA/bin/conda" env create -q -p "$PREFIX" -f "$SRC/ec2/environment.yml"
  fi
  if [ "$CUDNN" = 1 ]; then
    # cuDNN 7's cudnn.h includes CUDA's headers; cudatoolkit-dev brings them (and nvcc).
    "$CONDA/bin/conda" install -q -y -p "$PREFIX" -c conda-forge \
      cudnn=7.6.5 cudatoolkit-dev=10.2.89
  fi
  DEVICE=cuda
else
  if [ ! -x "$PREFIX/bin/python" ]; then
    "${KFKD_BASE_PYTHON:-python3}" -m venv "$PREFIX"
  fi
  DEVICE=cpu
fi
"$PREFIX/bin/python" -m pip install -q -r "$REQUIREMENTS"

# Written last: its presence means the environment is complete.
{
  echo "# Written by ec2/install_env.sh: source it to use the environment at $PREFIX."
  echo "# kfkd-env-key: $KEY"
  printf 'export KFKD_ENV=%q KFKD_DEVICE=%s\n' "$PREFIX" "$DEVICE"
  if [ "$MODE" = gpu ]; then
    cat <<'GPU'
export LD_LIBRARY_PATH="$KFKD_ENV/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CUDA_ROOT="$KFKD_ENV"
if [ "${KFKD_CUDNN:-0}" = 1 ]; then
  KFKD_DNN="dnn.enabled=True,dnn.include_path=$KFKD_ENV/include,dnn.library_path=$KFKD_ENV/lib"
else
  KFKD_DNN=dnn.enabled=False
fi
GPU
  else
    echo 'KFKD_DNN='
  fi
  cat <<'ALL'
export PATH="$KFKD_ENV/bin:$PATH"
KFKD_FLAGS="device=$KFKD_DEVICE,floatX=float32,base_compiledir=$KFKD_ENV/theano-cache"
THEANO_FLAGS="$KFKD_FLAGS${KFKD_DNN:+,$KFKD_DNN}${THEANO_FLAGS:+,$THEANO_FLAGS}"
export THEANO_FLAGS
ALL
} > "$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
echo "install_env: $PREFIX is ready (key $KEY); source $ENV_FILE"
