#!/bin/bash
# The one definition of the Python environment a run trains in, on a GPU instance
# (ec2/bootstrap.sh) and on a Ray node (ec2/ray-cluster.yaml) alike:
#
#   bash ec2/install_env.sh [--cpu] PREFIX
#
# A venv at PREFIX made by $KFKD_BASE_PYTHON (default python3; Python 3.8 to 3.11), then
# `pip install -r requirements.txt` (the pins of every machine). GPU (default): also the pins
# of requirements-gpu.txt (CUDA 12.9's NVRTC and cuBLAS as pip wheels, the build tools), then
# gpu/build_libgpuarray.sh builds libgpuarray/pygpu 0.7.6 with the project's patch into the
# venv: the same step as ./setup.sh --gpu, pip alone, no CUDA toolkit. The NVIDIA driver
# (libcuda.so.1) is the machine's own (the AMI's).
#
# It writes PREFIX/kfkd-env.sh last; `source` that file to use the environment: PATH,
# KFKD_DEVICE and THEANO_FLAGS (device, floatX, compile cache; on a GPU dnn.enabled=False:
# Theano's own convolutions, as the study ran: Theano 1.0.5 knows cuDNN up to 7, which has no
# CUDA 12 build). Run again with the same files and options, it finds that file and changes
# nothing.
set -euo pipefail

MODE=gpu
PREFIX=
while [ $# -gt 0 ]; do
  case $1 in
    --cpu) MODE=cpu ;;
    --cudnn) echo "install_env: --cudnn: Theano 1.0.5 uses cuDNN 7 at most, which has no" \
                  "CUDA 12 build; the GPU environment runs Theano's own convolutions" >&2
             exit 2 ;;
    -*) echo "install_env: unknown option $1" >&2; exit 2 ;;
    *) PREFIX=$1 ;;
  esac
  shift
done
[ -n "$PREFIX" ] || { echo "usage: install_env.sh [--cpu] PREFIX" >&2; exit 2; }
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQUIREMENTS=$SRC/requirements.txt
GPU_REQUIREMENTS=$SRC/requirements-gpu.txt
BUILD=$SRC/gpu/build_libgpuarray.sh
for file in "$REQUIREMENTS" "$GPU_REQUIREMENTS" "$BUILD" "$SRC/gpu/libgpuarray-0.7.6.patch"; do
  [ -f "$file" ] || { echo "install_env: no $file" >&2; exit 2; }
done
mkdir -p "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
ENV_FILE=$PREFIX/kfkd-env.sh

# What the environment is made of: when this key is unchanged, the environment is too.
KEY=$(cat "$REQUIREMENTS" "$GPU_REQUIREMENTS" "$BUILD" "$SRC/gpu/libgpuarray-0.7.6.patch" \
  "${BASH_SOURCE[0]}" | { sha256sum; echo "$MODE"; } | sha256sum | cut -c1-16)
if [ -f "$ENV_FILE" ] && grep -qx "# kfkd-env-key: $KEY" "$ENV_FILE"; then
  echo "install_env: $PREFIX is ready (key $KEY)"
  exit 0
fi
rm -f "$ENV_FILE"

BASE_PYTHON=${KFKD_BASE_PYTHON:-python3}
# An instance's Ubuntu splits its Python: venv (ensurepip) and Python.h (Theano compiles its
# C code against it) come as python3-venv and python3-dev.
if ! "$BASE_PYTHON" -c 'import ensurepip, os, sysconfig, sys
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3-venv python3-dev g++ > /dev/null
  else
    echo "install_env: $BASE_PYTHON lacks venv or Python.h: install python3-venv and" \
         "python3-dev" >&2
    exit 2
  fi
fi
if [ ! -x "$PREFIX/bin/python" ]; then
  "$BASE_PYTHON" -m venv "$PREFIX"
fi
if [ "$MODE" = gpu ]; then
  "$PREFIX/bin/python" -m pip install -q -r "$REQUIREMENTS" -r "$GPU_REQUIREMENTS"
  bash "$BUILD" "$PREFIX/bin/python"
  DEVICE=cuda
else
  "$PREFIX/bin/python" -m pip install -q -r "$REQUIREMENTS"
  DEVICE=cpu
fi

# Written last: its presence means the environment is complete.
{
  echo "# Written by ec2/install_env.sh: source it to use the environment at $PREFIX."
  echo "# kfkd-env-key: $KEY"
  printf 'export KFKD_ENV=%q KFKD_DEVICE=%s\n' "$PREFIX" "$DEVICE"
  if [ "$MODE" = gpu ]; then
    echo 'KFKD_DNN=dnn.enabled=False'
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
