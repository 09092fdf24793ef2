#!/usr/bin/env bash
# Build Theano's GPU back end (libgpuarray 0.7.6 and its Python package pygpu) into a venv:
#
#   bash gpu/build_libgpuarray.sh PYTHON
#
# PYTHON is the venv's interpreter (.venv/bin/python); the venv must already hold numpy,
# Cython < 3 and cmake (the pins of requirements-gpu.txt). The one GPU build step of
# ./setup.sh --gpu, ec2/install_env.sh (instances and Ray nodes) and CI.
#
# 1. the pinned source: ../shared/vendor/libgpuarray-0.7.6.tar.gz when it is there (offline
#    builds, CI), else GitHub's archive of the tag; its files are checked against a pinned
#    SHA-256 over the extracted tree, which holds for both archives (their bytes differ);
# 2. the project's patch, gpu/libgpuarray-0.7.6.patch (versioned sonames, the NVIDIA
#    wheels' folders, cubins instead of PTX: each hunk says why);
# 3. cmake builds libgpuarray into the venv (PREFIX/lib, PREFIX/include), with the venv's
#    site-packages/nvidia/*/lib compiled in as where to find NVRTC and cuBLAS;
# 4. pip installs pygpu from the same tree, linked to that library (rpath), without
#    build isolation (it is built against the venv's own numpy).
# No CUDA toolkit and no GPU are needed to build: libgpuarray opens the driver, NVRTC and
# cuBLAS only when a program asks for a GPU. Run again with the same inputs, it finds its
# key in PREFIX/kfkd-libgpuarray.key and changes nothing.
set -euo pipefail

VERSION=0.7.6
COMMIT=f036aef3a425560161de362f390d238f4e7c1721
ARCHIVE_SHA256=aef63a680fd54b41a91c32a2cd239eb1af40d82ce85ddb1bed7efb627ef64e6f
# SHA-256 of `sha256sum` over the tree's sorted files, pygpu/_version.py aside: git archive
# writes the refs of the moment into that file (export-subst); its commit is checked instead.
TREE_SHA256=40d1029cb40722756b55676d1ebd29b7f06879f0b90ccf132ff83566b0a55a7c
URL=https://github.com/Theano/libgpuarray/archive/refs/tags/v$VERSION.tar.gz

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: build_libgpuarray: %s\n' "$*" >&2; exit 2; }

[ $# -eq 1 ] || die "usage: build_libgpuarray.sh PYTHON"
# Absolute (the checks below run it from /, away from any pygpu/ source folder), not resolved:
# a venv's python is a link whose own path makes it the venv's.
PY=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -x "$PY" ] || die "$1: no such interpreter"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
PATCH=$HERE/libgpuarray-$VERSION.patch
VENDOR=${KFKD_VENDOR:-$(dirname "$REPO")/shared/vendor}

PREFIX=$("$PY" -c 'import sys; print(sys.prefix)')
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
[ -x "$PREFIX/bin/cmake" ] || die "$PREFIX has no cmake: install the pins of requirements-gpu.txt first"
"$PY" -c 'import Cython, numpy' 2>/dev/null \
  || die "$PREFIX has no Cython or numpy: install requirements.txt and requirements-gpu.txt first"
# Where pip's NVIDIA wheels put NVRTC and cuBLAS (the patch's GA_LIB_DIRS).
LIB_DIRS=$SITE/nvidia/cuda_nvrtc/lib:$SITE/nvidia/cublas/lib

KEY=$({ echo "$TREE_SHA256 $LIB_DIRS"; "$PY" -c 'import numpy, sys; print(sys.version, numpy.__version__)'
        cat "$PATCH" "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
STAMP=$PREFIX/kfkd-libgpuarray.key
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$KEY" ] \
    && (cd / && "$PY" -c 'import pygpu' 2>/dev/null); then
  say "libgpuarray/pygpu $VERSION: already built in $PREFIX (key $KEY)"
  exit 0
fi
rm -f "$STAMP"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# --- 1. The pinned source ------------------------------------------------------------------
if [ -f "$VENDOR/libgpuarray-$VERSION.tar.gz" ]; then
  ARCHIVE=$VENDOR/libgpuarray-$VERSION.tar.gz
  echo "$ARCHIVE_SHA256  $ARCHIVE" | sha256sum -c --status \
    || die "$ARCHIVE is not the pinned archive (SHA-256 $ARCHIVE_SHA256)"
  say "source: $ARCHIVE"
else
  ARCHIVE=$WORK/libgpuarray-$VERSION.tar.gz
  say "source: $URL"
  curl -fsSL --retry 3 -o "$ARCHIVE" "$URL" || die "cannot download $URL"
fi
tar xzf "$ARCHIVE" -C "$WORK"
SOURCE=$WORK/libgpuarray-$VERSION
[ -d "$SOURCE" ] || die "$ARCHIVE holds no libgpuarray-$VERSION/"
tree=$(cd "$SOURCE" && find . -type f ! -path ./pygpu/_version.py -print0 | LC_ALL=C sort -z \
  | xargs -0 sha256sum | sha256sum | cut -c1-64)
[ "$tree" = "$TREE_SHA256" ] || die "$ARCHIVE: its files are not v$VERSION's (tree $tree)"
grep -q "git_full = \"$COMMIT\"" "$SOURCE/pygpu/_version.py" \
  || die "$ARCHIVE: pygpu/_version.py does not name commit $COMMIT"

# --- 2. The project's patch ----------------------------------------------------------------
patch -s -p1 -d "$SOURCE" < "$PATCH" || die "$PATCH does not apply to v$VERSION"

# --- 3. libgpuarray ------------------------------------------------------------------------
# gen_types.py and head.py run as `python` during the build: the venv's.
export PATH=$PREFIX/bin:$PATH
JOBS=$(nproc 2>/dev/null || echo 2)
say "building libgpuarray $VERSION into $PREFIX"
cmake -S "$SOURCE" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DCMAKE_INSTALL_LIBDIR=lib -DGA_LIB_DIRS="$LIB_DIRS" -Wno-dev > "$WORK/cmake.log" 2>&1 \
  || { cat "$WORK/cmake.log" >&2; die "cmake could not configure libgpuarray"; }
cmake --build "$WORK/build" -j "$JOBS" > "$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log" >&2; die "libgpuarray does not compile"; }
cmake --install "$WORK/build" > /dev/null

# --- 4. pygpu ------------------------------------------------------------------------------
say "building pygpu $VERSION (Cython) against it"
CFLAGS="-I$PREFIX/include" LDFLAGS="-L$PREFIX/lib -Wl,-rpath,$PREFIX/lib" \
  "$PY" -m pip install -q --no-build-isolation --no-deps --no-index "$SOURCE" \
  > "$WORK/pip.log" 2>&1 || { tail -40 "$WORK/pip.log" >&2; die "pygpu does not build"; }
(cd / && "$PY" -c 'import pygpu; assert pygpu.__version__.startswith("'"$VERSION"'"), pygpu.__version__') \
  || die "pygpu does not import after its build"
echo "$KEY" > "$STAMP"
say "libgpuarray/pygpu $VERSION built in $PREFIX (key $KEY)"
