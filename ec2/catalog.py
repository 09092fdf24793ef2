"""What the launcher knows, as data: the GPU types that can work, their prices, the study's speed.

A type is supported when it has one GPU that the environment can compile for:
libgpuarray (Theano 1.0.5's GPU back end) compiles every kernel at run time
with NVRTC, and ``gpu/build_libgpuarray.sh`` patches it to compile cubins for
the GPU's own ``sm_<cc>`` with CUDA 12.9's NVRTC (``requirements-gpu.txt``).
Compute capability 7.0 (V100) to 9.0 (H100/H200) is what the project proves
(``tests/gpu``: sm_75 to sm_90 on a stand-in driver; sm_70 is NVRTC 12.9's
oldest non-deprecated target). Older GPUs (CUDA 12 dropped Kepler, the
study's K520) and types with several GPUs (the project trains on one) are
refused.

>>> sorted(INSTANCE_TYPES)[0], INSTANCE_TYPES['g5.xlarge'].gpu
('g4dn.2xlarge', 'NVIDIA A10G')
>>> OTHER_FAMILIES['p4d']
'8 NVIDIA A100 (compute capability 8.0) and no single-GPU size'
"""
import collections

__all__ = ['CUDA_VERSION', 'MIN_COMPUTE_CAPABILITY', 'MAX_COMPUTE_CAPABILITY', 'GpuType',
           'INSTANCE_TYPES', 'DEFAULT_INSTANCE_TYPE', 'PRICE_REGION', 'OTHER_FAMILIES',
           'RETIRED_FAMILIES', 'K520_SEC_PER_EPOCH', 'UNKNOWN_NET_SEC_PER_EPOCH',
           'SETUP_MINUTES', 'CAP_FACTOR', 'STUDY_TRAIN_ROWS', 'STUDY_VALID_ROWS']

#: The CUDA of the GPU environment's NVRTC and cuBLAS wheels, and the GPUs it serves here.
CUDA_VERSION = '12.9'
MIN_COMPUTE_CAPABILITY = (7, 0)
MAX_COMPUTE_CAPABILITY = (9, 0)

GpuType = collections.namedtuple(
    'GpuType', 'gpu compute_capability vcpus usd_per_hour price_read')
GpuType.__doc__ = """GpuType(gpu, compute_capability, vcpus, usd_per_hour, price_read)

One supported instance type: its one GPU, that GPU's compute capability
(major, minor), its vCPUs, and its on-demand Linux price in
:data:`PRICE_REGION` (USD per hour) with where and when that price was read.
"""

#: Where the prices below are from: the public on-demand Linux price list.
PRICE_REGION = 'us-east-1'

#: The g4dn and p3 prices were read from the price list on that date. The g5, g6 and g6e
#: prices are the list's as this project's author knew them on 2026-12-04, not read again
#: there (no network to AWS): check them, or pass --price-per-hour.
_RECALLED = '2026-12-04 (recalled, not re-read)'

#: Single-GPU types whose GPU the environment compiles for. Spot with no maximum price
#: never charges more than the on-demand price; it is usually 30-70 % less.
INSTANCE_TYPES = collections.OrderedDict([
    ('g4dn.xlarge', GpuType('NVIDIA T4', (7, 5), 4, 0.526, '2025-06-01')),
    ('g4dn.2xlarge', GpuType('NVIDIA T4', (7, 5), 8, 0.752, '2025-06-01')),
    ('g4dn.4xlarge', GpuType('NVIDIA T4', (7, 5), 16, 1.204, '2025-06-01')),
    ('p3.2xlarge', GpuType('NVIDIA V100', (7, 0), 8, 3.06, '2025-06-01')),
    ('g5.xlarge', GpuType('NVIDIA A10G', (8, 6), 4, 1.006, _RECALLED)),
    ('g5.2xlarge', GpuType('NVIDIA A10G', (8, 6), 8, 1.212, _RECALLED)),
    ('g5.4xlarge', GpuType('NVIDIA A10G', (8, 6), 16, 1.624, _RECALLED)),
    ('g6.xlarge', GpuType('NVIDIA L4', (8, 9), 4, 0.8048, _RECALLED)),
    ('g6.2xlarge', GpuType('NVIDIA L4', (8, 9), 8, 0.9776, _RECALLED)),
    ('g6.4xlarge', GpuType('NVIDIA L4', (8, 9), 16, 1.3232, _RECALLED)),
    ('g6e.xlarge', GpuType('NVIDIA L40S', (8, 9), 4, 1.861, _RECALLED)),
    ('g6e.2xlarge', GpuType('NVIDIA L40S', (8, 9), 8, 2.24208, _RECALLED)),
])
DEFAULT_INSTANCE_TYPE = 'g4dn.xlarge'

#: GPU families the GPUs of which the environment could compile for, but that AWS sells
#: only with several GPUs (as far as checked here: the project trains on one GPU). An A100
#: or H100 of one's own (./setup.sh --gpu) is another matter.
OTHER_FAMILIES = {
    'p4d': '8 NVIDIA A100 (compute capability 8.0) and no single-GPU size',
    'p4de': '8 NVIDIA A100 (compute capability 8.0) and no single-GPU size',
    'p5': '8 NVIDIA H100 (compute capability 9.0) in p5.48xlarge; a one-GPU p5.4xlarge '
          'was announced in 2025 but could not be checked here, so it is not in the catalog',
    'p5e': '8 NVIDIA H200 (compute capability 9.0) and no single-GPU size',
    'p5en': '8 NVIDIA H200 (compute capability 9.0) and no single-GPU size',
}

#: Families whose GPU the environment cannot use, or that AWS no longer offers.
RETIRED_FAMILIES = {
    'g2': "the study's GRID K520: the g2 types are retired",
    'p2': 'an NVIDIA K80 (compute capability 3.7): CUDA 12 compiles for 5.0 and newer, and the '
          'project proves 7.0 and newer',
    'g3': 'an NVIDIA M60 (compute capability 5.2): older than the 7.0 the project proves',
    'g3s': 'an NVIDIA M60 (compute capability 5.2): older than the 7.0 the project proves',
    'g4ad': 'an AMD GPU: Theano\'s GPU back end here is CUDA\'s',
    'g5g': 'an arm64 (Graviton) type: the GPU environment is built for x86_64',
}

#: Mean seconds per epoch in the study's own logs (../shared/data/w207_logs),
#: on a GRID K520 without cuDNN in 2016: the launcher's estimate for every GPU (all are
#: faster than a K520, so it errs high) until the instance's self-test
#: (ec2/check_device.py) measures the real speed before training.
K520_SEC_PER_EPOCH = {
    'cnet_nplfxl': 18.94, 'net6nplfxl': 18.92, 'net6x': 18.92,
    'net6rpxl': 14.32, 'net6nplf': 8.50, 'net6np': 5.14, 'net6rp': 2.96,
    'net6lp': 2.44, 'net6': 3.01, 'net5': 2.94, 'net4': 2.94, 'net3': 2.94,
    'net2': 2.94, 'net1': 0.07,
}
UNKNOWN_NET_SEC_PER_EPOCH = 18.94   # the slowest net of the study: an upper bound
SETUP_MINUTES = 15.0   # boot, the venv, the NVIDIA wheels, libgpuarray's build, Theano's cache

#: The default cost cap (--max-hours) is this many times the estimated run, setup included.
CAP_FACTOR = 2.0

#: The study's rows: 2140 complete faces, nolearn's TrainSplit holds out 20 %.
STUDY_TRAIN_ROWS = 1712
STUDY_VALID_ROWS = 428
