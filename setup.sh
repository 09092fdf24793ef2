#!/usr/bin/env bash
# Set up this project on a Debian or Ubuntu machine, in one command:
#
#   ./setup.sh                      # uses python3
#   PYTHON=python3.9 ./setup.sh     # or any Python 3.8 .. 3.11
#   ./setup.sh --gpu                # also Theano's GPU back end (an NVIDIA GPU, Linux x86_64)
#
# 1. installs the system packages Theano needs (g++, libopenblas-dev and, for Debian's own
#    Python, its venv and headers), with apt-get, only those that are missing;
# 2. creates the virtual environment .venv with the chosen Python;
# 3. installs the pinned packages of requirements-test.txt (runtime + test tools), only when
#    .venv does not already hold exactly those pins;
# 4. checks that Theano compiles and runs a small function with its C backend;
# 5. with --gpu: installs the pins of requirements-gpu.txt (CUDA 12's NVRTC and cuBLAS as pip
#    wheels, Cython < 3, cmake) and builds libgpuarray/pygpu 0.7.6 into .venv with the
#    project's patch (gpu/build_libgpuarray.sh); no conda, no CUDA toolkit. The NVIDIA driver
#    itself (libcuda.so.1) is the machine's. --without-cublas leaves cuBLAS out (580 MB): for
#    CI, whose stand-in driver test brings its own stand-in cuBLAS; a real GPU needs it.
# Run it again at any time: it changes nothing that is already right.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

GPU=0
CUBLAS=1
for arg in "$@"; do
    case $arg in
        --gpu) GPU=1 ;;
        --without-cublas) CUBLAS=0 ;;
        *) printf 'error: unknown option %s (usage: ./setup.sh [--gpu [--without-cublas]])\n' \
               "$arg" >&2; exit 2 ;;
    esac
done

VENV=.venv
REQUIREMENTS=requirements-test.txt
GPU_REQUIREMENTS=requirements-gpu.txt
MIN_MINOR=8   # Python 3.8 ...
MAX_MINOR=11  # ... to 3.11: Theano 1.0.5 needs numpy < 1.24 (see requirements.txt)

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

# --- 1. The interpreter --------------------------------------------------------------------
# An existing .venv keeps its Python unless PYTHON names another one.
if [[ -z "${PYTHON:-}" && -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c '' 2>/dev/null; then
    BASE_PYTHON=$VENV/bin/python
else
    BASE_PYTHON=${PYTHON:-python3}
fi

# Refuse a Python the pins do not support, before installing anything for it.
check_version() {
    py_version=$("$BASE_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    local minor=${py_version#3.}
    if [[ "$py_version" != 3.* ]] || ((minor < MIN_MINOR || minor > MAX_MINOR)); then
        die "$BASE_PYTHON is Python $py_version; this project supports Python 3.$MIN_MINOR to 3.$MAX_MINOR (Theano 1.0.5 needs numpy < 1.24): choose one with PYTHON=..."
    fi
}

# --- 2. System packages --------------------------------------------------------------------
missing=()
have_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

command -v g++ >/dev/null 2>&1 || missing+=(g++)
if command -v dpkg-query >/dev/null 2>&1; then
    have_deb libopenblas-dev || missing+=(libopenblas-dev)
fi
if ! command -v "$BASE_PYTHON" >/dev/null 2>&1; then
    [[ "$BASE_PYTHON" == python3 ]] || die "PYTHON=$BASE_PYTHON: no such interpreter"
    missing+=(python3 python3-venv python3-dev)
else
    check_version
    # Debian splits its own Python: ensurepip (for venv) and Python.h (for Theano's C code)
    # come in python3.X-venv and python3.X-dev.
    py_path=$("$BASE_PYTHON" -c 'import os, sys; print(os.path.realpath(sys.executable))')
    if ! [[ -x "$VENV/bin/python" ]] && ! "$BASE_PYTHON" -c 'import ensurepip' 2>/dev/null; then
        [[ "$py_path" == /usr/bin/* ]] || die "$BASE_PYTHON has no ensurepip: it cannot create a venv"
        missing+=("python$py_version-venv")
    fi
    if ! "$BASE_PYTHON" -c 'import os, sysconfig, sys
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
        [[ "$py_path" == /usr/bin/* ]] || die "$BASE_PYTHON has no Python.h: Theano cannot compile"
        missing+=("python$py_version-dev")
    fi
fi

if ((${#missing[@]})); then
    command -v apt-get >/dev/null 2>&1 \
        || die "missing ${missing[*]}, and this is not a Debian/Ubuntu machine: install them yourself"
    as_root=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 \
            || die "missing ${missing[*]}: run ./setup.sh as root, or install them yourself"
        as_root=(sudo)
    fi
    say "installing system packages: ${missing[*]}"
    "${as_root[@]}" apt-get update -q
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    say "system packages: g++, OpenBLAS and the Python headers are present"
fi

# --- 3. The virtual environment ------------------------------------------------------------
check_version

if [[ -x "$VENV/bin/python" ]]; then
    venv_version=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo broken)
    if [[ "$venv_version" != "$py_version" ]]; then
        say "$VENV has Python $venv_version, $BASE_PYTHON is $py_version: creating $VENV anew"
        rm -rf "$VENV"
    fi
fi
if ! [[ -x "$VENV/bin/python" ]]; then
    say "creating $VENV with $BASE_PYTHON (Python $py_version)"
    "$BASE_PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python

# --- 4. The pinned packages ----------------------------------------------------------------
# Compares `pip freeze --all` with the pins (markers evaluated for this Python).
# Exit status: 0 exact, 1 a pin missing or at another version, 3 only extra packages.
check_pins() {
    "$PY" - "$@" <<'EOF'
import os, re, subprocess, sys

def applies(marker):
    """Whether a `python_version <op> "X.Y"` marker holds for this Python."""
    match = re.match(r'^python_version\s*(<=|>=|==|!=|<|>)\s*["\'](\d+)\.(\d+)["\']$', marker)
    if not match:
        raise SystemExit('error: %s: cannot read the marker %r' % (sys.argv[1], marker))
    op, wanted = match.group(1), (int(match.group(2)), int(match.group(3)))
    return {'<': lambda a, b: a < b, '<=': lambda a, b: a <= b, '>': lambda a, b: a > b,
            '>=': lambda a, b: a >= b, '==': lambda a, b: a == b,
            '!=': lambda a, b: a != b}[op](sys.version_info[:2], wanted)

def normal(name):
    return re.sub(r'[-_.]+', '-', name).lower()

def pins(path):
    """name -> version for every `name==version` line (following -r), markers applied."""
    out = {}
    for line in open(path):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        if line.startswith('-r'):
            out.update(pins(os.path.join(os.path.dirname(path), line[2:].strip())))
            continue
        spec, _, marker = line.partition(';')
        if marker and not applies(marker.strip()):
            continue
        match = re.match(r'^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)$', spec.strip())
        if not match:
            raise SystemExit('error: %s: not pinned with ==: %r' % (path, line))
        out[normal(match.group(1))] = match.group(2)
    return out

files = [arg for arg in sys.argv[1:] if not arg.startswith('--')]
wanted = {}
for path in files:
    wanted.update(pins(path))
# Pins left out on purpose (KFKD_PIN_SKIP), packages this script builds itself (KFKD_BUILT).
for name in os.environ.get('KFKD_PIN_SKIP', '').split():
    wanted.pop(normal(name), None)
built = {normal(name) for name in os.environ.get('KFKD_BUILT', '').split()}
freeze = subprocess.run([sys.executable, '-m', 'pip', 'freeze', '--all'],
                        capture_output=True, text=True, check=True).stdout.split()
have = {normal(n): v for n, _, v in (line.partition('==') for line in freeze)}
have.pop('pip', None)
wrong = sorted('%s (want %s, have %s)' % (n, v, have.get(n, 'none'))
               for n, v in wanted.items() if have.get(n) != v)
extra = sorted('%s==%s' % (n, v) for n, v in have.items() if n not in wanted and n not in built)
quiet = '--quiet' in sys.argv
if wrong and not quiet:
    print('    not as pinned: ' + ', '.join(wrong))
if extra:
    print('    not pinned in %s: %s' % (' or '.join(files), ', '.join(extra)))
sys.exit(1 if wrong else 3 if extra else 0)
EOF
}

# With --gpu the pins of requirements-gpu.txt count too (cuBLAS's not with --without-cublas),
# and pygpu, built from source below, is not an unpinned extra.
PIN_FILES=("$REQUIREMENTS")
PIP_FILES=(-r "$REQUIREMENTS")
if ((GPU)); then
    PIN_FILES+=("$GPU_REQUIREMENTS")
    export KFKD_BUILT=pygpu
    if ((CUBLAS)); then
        PIP_FILES+=(-r "$GPU_REQUIREMENTS")
    else
        export KFKD_PIN_SKIP=nvidia-cublas-cu12
        gpu_pins=$(mktemp)
        trap 'rm -f "$gpu_pins"' EXIT
        grep -v '^nvidia-cublas' "$GPU_REQUIREMENTS" > "$gpu_pins"
        PIP_FILES+=(-r "$gpu_pins")
    fi
fi

status=0
check_pins "${PIN_FILES[@]}" --quiet || status=$?
if ((status == 1)); then
    say "installing the pinned packages of ${PIN_FILES[*]} into $VENV"
    setuptools_pin=$(grep -E '^setuptools==' requirements.txt | cut -d' ' -f1)
    # The sdists (Theano, Lasagne, nolearn) are built with the pinned setuptools instead of
    # whatever setuptools a build-isolation environment would download.
    "$PY" -m pip install -q "$setuptools_pin"
    "$PY" -m pip install -q --no-build-isolation --use-pep517 "${PIP_FILES[@]}"
    "$PY" -m pip check
    status=0
    check_pins "${PIN_FILES[@]}" || status=$?
    ((status != 1)) || die "$VENV does not match ${PIN_FILES[*]} after pip install"
else
    say "$VENV already holds the pins of ${PIN_FILES[*]}: nothing to install"
fi
((status != 3)) || say "warning: $VENV holds packages that are not pinned (listed above)"

# --- 5. Theano's C backend -----------------------------------------------------------------
say "checking that Theano compiles and runs a function with its C backend (first time: ~1 min)"
"$PY" - <<'EOF'
import compat  # noqa: F401  (Theano flags and shims, before theano)
import numpy as np
import theano
import theano.tensor as T
import lasagne  # noqa: F401
import nolearn.lasagne  # noqa: F401

if not theano.config.cxx:
    raise SystemExit('error: Theano found no C++ compiler (g++)')
a, b = T.matrix('a'), T.matrix('b')
dot = theano.function([a, b], T.dot(a, b), mode=theano.compile.Mode(linker='c'))
x = np.arange(6, dtype=theano.config.floatX).reshape(2, 3)
got = dot(x, x.T)
if not np.allclose(got, x.dot(x.T)):
    raise SystemExit('error: Theano computed %r, expected %r' % (got, x.dot(x.T)))
print('    Theano %s: C backend ok (cxx=%s, blas.ldflags=%r, floatX=%s, cache %s)' % (
    theano.__version__, theano.config.cxx, theano.config.blas.ldflags,
    theano.config.floatX, theano.config.base_compiledir))
EOF

# --- 6. Theano's GPU back end (--gpu) ------------------------------------------------------
if ((GPU)); then
    bash gpu/build_libgpuarray.sh "$PY"
    # pygpu imports without a GPU; whether a driver is there decides what device=cuda does.
    "$PY" - <<'EOF'
import ctypes
import pygpu
try:
    ctypes.CDLL('libcuda.so.1')
    driver = 'the NVIDIA driver (libcuda.so.1) is present: run with THEANO_FLAGS=device=cuda'
except OSError:
    driver = ('no NVIDIA driver (libcuda.so.1) on this machine: device=cuda will be refused '
              'until one is installed')
print('    pygpu %s imports; %s' % (pygpu.__version__, driver))
EOF
fi
say "done. Run the tests with: $PY -m pytest -m \"not slow\""
