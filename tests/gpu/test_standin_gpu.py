"""Theano's GPU back end as ./setup.sh --gpu builds it, proved without a GPU.

A stand-in driver and cuBLAS (``standin_cuda.c``, ``standin_cublas.c``, built
here with gcc) let the real pygpu/libgpuarray, the patch of
``gpu/libgpuarray-0.7.6.patch`` and the real NVRTC of the pinned wheel run as on
a GPU of each compute capability AWS sells (7.5 to 9.0): in a child that asked
for ``device=cuda``, net6 and cnet_nplfxl build their real training functions.
Each one's graph must compute nothing on the host (the self-test's walk,
``ec2.check_device``), and every kernel it uses must reach the driver as a
cubin for exactly that GPU's ``sm_<cc>`` (the stand-in refuses anything else,
PTX included, and a function name that the cubin lacks).

It needs the GPU build (``./setup.sh --gpu --without-cublas`` is enough: the
stand-in brings its own cuBLAS) and ``../shared`` (the offline source the
build used); without either it skips, saying which.
"""
import collections
import glob
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, shared_path
from tests.gpu import standin

#: The GPUs of ec2/catalog.py: T4 7.5, A100 8.0, A10G 8.6, L4/L40S 8.9, H100/H200 9.0.
CAPABILITIES = ('75', '80', '86', '89', '90')
NETS = ('net6', 'cnet_nplfxl')


def _gpu_build():
    """Skip unless this Python has pygpu (built by setup.sh --gpu) and the NVRTC wheel."""
    shared_path('vendor', 'libgpuarray-0.7.6.tar.gz')
    check = subprocess.run(
        [sys.executable, '-c', 'import pygpu, sys; sys.stdout.write(pygpu.__version__)'],
        cwd='/', capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip('pygpu is not built in this venv: run ./setup.sh --gpu (or ./setup.sh '
                    '--gpu --without-cublas, as CI does)')
    import sysconfig
    nvrtc = os.path.join(sysconfig.get_paths()['purelib'], 'nvidia', 'cuda_nvrtc', 'lib',
                         'libnvrtc.so.12')
    if not os.path.exists(nvrtc):
        pytest.skip('the NVRTC wheel (nvidia-cuda-nvrtc-cu12) is not installed: run '
                    './setup.sh --gpu')
    return check.stdout


@pytest.fixture(scope='module')
def libraries(tmp_path_factory):
    _gpu_build()
    try:
        return standin.build(str(tmp_path_factory.mktemp('standin')))
    except ValueError as exc:
        pytest.skip(str(exc))


def _probe(libraries, cc, dump):
    env = standin.child_env(libraries, cc, dump)
    env['THEANO_FLAGS'] = 'device=cuda'
    return subprocess.Popen([sys.executable, '-m', 'tests.gpu.probe'] + list(NETS), cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope='module')
def probes(libraries, tmp_path_factory):
    """{cc: (the probe's JSON, [cubin bytes])}: both nets built on a stand-in GPU of each cc.

    The first child fills Theano's compile cache alone; the others, which then only
    optimise graphs and run NVRTC (each single-threaded), run two at a time.
    """
    dumps = {cc: str(tmp_path_factory.mktemp('sm_' + cc)) for cc in CAPABILITIES}
    outputs = {}
    batches = [CAPABILITIES[:1]] + [CAPABILITIES[i:i + 2] for i in range(1, len(CAPABILITIES), 2)]
    for batch in batches:
        children = {cc: _probe(libraries, cc, dumps[cc]) for cc in batch}
        for cc, child in children.items():
            stdout, stderr = child.communicate(timeout=1200)
            assert child.returncode == 0, 'sm_%s: %s' % (cc, stderr[-4000:])
            outputs[cc] = json.loads(stdout.strip().splitlines()[-1])
    found = {}
    for cc in CAPABILITIES:
        cubins = []
        for path in sorted(glob.glob(os.path.join(dumps[cc], '*.cubin'))):
            with open(path, 'rb') as f:
                cubins.append(f.read())
        found[cc] = (outputs[cc], cubins)
    return found


def test_the_stand_in_driver_is_what_theano_computes_on(probes):
    for cc, (probe, _) in probes.items():
        info = probe['info']
        assert (info['requested_device'], info['device']) == ('cuda', 'cuda'), info
        assert info['gpu_name'] == 'Stand-in GPU sm_%s' % cc
        assert info['gpu_error'] is None and info['cudnn'] is False


@pytest.mark.parametrize('net', NETS)
def test_the_training_function_computes_nothing_on_the_host(probes, net):
    for cc, (probe, _) in probes.items():
        report = probe['nets'][net]
        assert report['host_compute_ops'] == {}, (cc, report['host_compute_ops'])
        # Not an empty graph: convolutions, the dropout RNG (and net6's pooling) are GPU ops.
        gpu_ops = set(report['placement']['gpu'])
        expected = {'GpuCorrMM', 'GpuCorrMM_gradWeights', 'GPUA_mrg_uniform'}
        if net == 'net6':
            expected |= {'GpuPool', 'GpuMaxPoolGrad'}
        assert expected <= gpu_ops, (cc, gpu_ops)


def test_every_kernel_is_a_cubin_for_the_gpus_own_sm(probes):
    counts = {}
    for cc, (_, cubins) in probes.items():
        sms = collections.Counter(standin.cubin_sm(data) for data in cubins)
        assert sms == {int(cc): len(cubins)}, (cc, dict(sms))
        counts[cc] = len(cubins)
    # The same kernels for every GPU (each compiled once per process, by source).
    assert len(set(counts.values())) == 1 and counts['75'] > 100, counts


def test_the_stand_in_refuses_ptx_and_its_linking(libraries):
    # It would not hide a libgpuarray that still links PTX (the patch's point): in a child,
    # so that the test process never holds a libcuda.so.1.
    code = (
        'import ctypes, sys\n'
        'driver = ctypes.CDLL(sys.argv[1])\n'
        'state, module = ctypes.c_void_p(), ctypes.c_void_p()\n'
        'ptx = ctypes.create_string_buffer(b".version 8.8\\n.target sm_86\\n" + bytes(64))\n'
        'print(driver.cuLinkCreate(0, None, None, ctypes.byref(state)),\n'
        '      driver.cuModuleLoadData(ctypes.byref(module), ptx))\n')
    out = subprocess.run([sys.executable, '-c', code, os.path.join(libraries, 'libcuda.so.1')],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['801', '200']   # NOT_SUPPORTED, INVALID_IMAGE


def test_without_a_driver_a_cuda_run_stops_with_one_line_naming_it(libraries, tmp_path):
    # The real pygpu and no libcuda.so.1 (the stand-in is not on the path): exit 2, one
    # line, no run folder.
    env = {k: v for k, v in os.environ.items() if k not in ('LD_LIBRARY_PATH', 'PYTHONPATH')}
    env['THEANO_FLAGS'] = 'device=cuda'
    out = subprocess.run([sys.executable, os.path.join(REPO, 'run_experiment.py'), 'net1',
                          '--epochs', '1', '--data', 'synthetic', '--out', str(tmp_path / 'run')],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 2, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()
             and 'Warning' not in line and not line.startswith(' ')]
    assert len(lines) == 1 and lines[0].startswith('error: a GPU was asked for'), lines
    assert 'libcuda.so.1' in lines[0] and 'no NVIDIA driver' in lines[0]
    assert not (tmp_path / 'run').exists()
