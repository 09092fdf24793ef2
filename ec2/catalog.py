"""What the launcher knows, as data: the GPU types that can work, their prices, the study's speed.

A type is supported when the pinned CUDA can compile kernels for its GPU:
libgpuarray (Theano 1.0.5's GPU back end) compiles every kernel at run time
with NVRTC for ``compute_<cc>`` of the GPU, and the NVRTC of CUDA 10.2
(``ec2/environment.yml``) targets compute capability 7.5 at most. A newer GPU
(A10G, L4, A100, H100) would start, then fail on the first kernel.

>>> sorted(INSTANCE_TYPES)[0], INSTANCE_TYPES['g4dn.xlarge'].gpu
('g4dn.2xlarge', 'NVIDIA T4')
>>> TOO_NEW_FAMILIES['g5']
('NVIDIA A10G', (8, 6))
"""
import collections

__all__ = ['CUDA_VERSION', 'MAX_COMPUTE_CAPABILITY', 'GpuType', 'INSTANCE_TYPES',
           'DEFAULT_INSTANCE_TYPE', 'PRICE_REGION', 'TOO_NEW_FAMILIES', 'RETIRED_FAMILIES',
           'K520_SEC_PER_EPOCH', 'UNKNOWN_NET_SEC_PER_EPOCH', 'SETUP_MINUTES',
           'CAP_FACTOR', 'STUDY_TRAIN_ROWS', 'STUDY_VALID_ROWS']

#: The CUDA of the instance's conda environment, and the newest GPU its NVRTC can target.
CUDA_VERSION = '10.2'
MAX_COMPUTE_CAPABILITY = (7, 5)

GpuType = collections.namedtuple(
    'GpuType', 'gpu compute_capability vcpus usd_per_hour price_read')
GpuType.__doc__ = """GpuType(gpu, compute_capability, vcpus, usd_per_hour, price_read)

One supported instance type: its one GPU, that GPU's compute capability
(major, minor), its vCPUs, and its on-demand Linux price in
:data:`PRICE_REGION` (USD per hour) with the date that price was read.
"""

#: Where the prices below are from: the public on-demand Linux price list.
PRICE_REGION = 'us-east-1'

#: Single-GPU types whose GPU CUDA 10.2 can target. Spot with no maximum price
#: never charges more than the on-demand price; it is usually 30-70 % less.
INSTANCE_TYPES = collections.OrderedDict([
    ('g4dn.xlarge', GpuType('NVIDIA T4', (7, 5), 4, 0.526, '2025-06-01')),
    ('g4dn.2xlarge', GpuType('NVIDIA T4', (7, 5), 8, 0.752, '2025-06-01')),
    ('g4dn.4xlarge', GpuType('NVIDIA T4', (7, 5), 16, 1.204, '2025-06-01')),
    ('p3.2xlarge', GpuType('NVIDIA V100', (7, 0), 8, 3.06, '2025-06-01')),
])
DEFAULT_INSTANCE_TYPE = 'g4dn.xlarge'

#: GPU families whose compute capability is beyond CUDA 10.2's NVRTC.
TOO_NEW_FAMILIES = {
    'g5': ('NVIDIA A10G', (8, 6)), 'g6': ('NVIDIA L4', (8, 9)),
    'gr6': ('NVIDIA L4', (8, 9)), 'g6e': ('NVIDIA L40S', (8, 9)),
    'p4d': ('NVIDIA A100', (8, 0)), 'p4de': ('NVIDIA A100', (8, 0)),
    'p5': ('NVIDIA H100', (9, 0)), 'p5e': ('NVIDIA H200', (9, 0)),
    'p5en': ('NVIDIA H200', (9, 0)),
}

#: Families AWS no longer offers, or whose GPU the pinned environment cannot use.
RETIRED_FAMILIES = {
    'g2': "the study's GRID K520: the g2 types are retired",
    'g5g': 'an arm64 (Graviton) type: the conda environment is x86_64',
}

#: Mean seconds per epoch in the study's own logs (../shared/data/w207_logs),
#: on a GRID K520 without cuDNN in 2016. A T4 has not been measured: the
#: instance's self-test (ec2/check_device.py) measures it before training.
K520_SEC_PER_EPOCH = {
    'cnet_nplfxl': 18.94, 'net6nplfxl': 18.92, 'net6x': 18.92,
    'net6rpxl': 14.32, 'net6nplf': 8.50, 'net6np': 5.14, 'net6rp': 2.96,
    'net6lp': 2.44, 'net6': 3.01, 'net5': 2.94, 'net4': 2.94, 'net3': 2.94,
    'net2': 2.94, 'net1': 0.07,
}
UNKNOWN_NET_SEC_PER_EPOCH = 18.94   # the slowest net of the study: an upper bound
SETUP_MINUTES = 15.0   # boot, Miniforge, the conda environment, Theano's compile cache

#: The default cost cap (--max-hours) is this many times the estimated run, setup included.
CAP_FACTOR = 2.0

#: The study's rows: 2140 complete faces, nolearn's TrainSplit holds out 20 %.
STUDY_TRAIN_ROWS = 1712
STUDY_VALID_ROWS = 428
