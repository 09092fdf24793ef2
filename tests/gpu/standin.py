"""The stand-in NVIDIA driver and cuBLAS of the GPU tests: built here with gcc, run in children.

:func:`build` compiles ``standin_cuda.c`` and ``standin_cublas.c`` into a
folder as ``libcuda.so.1`` and ``libcublas.so.12``, the names libgpuarray
opens; :func:`child_env` makes a child process find them first
(``LD_LIBRARY_PATH``), as a GPU of compute capability ``cc``.
:func:`cubin_sm` reads which GPU a cubin is for.
"""
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
#: source -> the soname libgpuarray 0.7.6 (patched) opens first
LIBRARIES = {'standin_cuda.c': 'libcuda.so.1', 'standin_cublas.c': 'libcublas.so.12'}
EM_CUDA = 190


def build(folder):
    """build(folder) -> folder, holding the two stand-in libraries (gcc; ValueError without it)"""
    gcc = shutil.which('gcc') or shutil.which('cc')
    if gcc is None:
        raise ValueError('no C compiler (gcc) to build the stand-in driver')
    for source, name in LIBRARIES.items():
        subprocess.run([gcc, '-std=c99', '-O1', '-Wall', '-Wextra', '-Werror', '-shared',
                        '-fPIC', '-o', os.path.join(folder, name), os.path.join(HERE, source)],
                       check=True, capture_output=True, text=True)
    return folder


def child_env(folder, cc, dump=None, environ=None):
    """child_env(folder, cc, dump=None, environ=None) -> the environment of a child on the stand-in

    ``cc`` is the stand-in GPU's compute capability as digits (``'86'``);
    ``dump``, a folder where the driver writes every module it loads.
    """
    env = dict(os.environ if environ is None else environ)
    env['LD_LIBRARY_PATH'] = os.pathsep.join(
        [folder] + [p for p in env.get('LD_LIBRARY_PATH', '').split(os.pathsep) if p])
    env['KFKD_STANDIN_CC'] = str(cc)
    env.pop('KFKD_STANDIN_DUMP', None)
    if dump is not None:
        env['KFKD_STANDIN_DUMP'] = dump
    return env


def cubin_sm(data):
    """cubin_sm(data) -> the SM (e.g. 86) a CUDA ELF cubin is built for, None if not a cubin

    >>> header = bytearray(64)
    >>> header[:4], header[4], header[18] = b'\\x7fELF', 2, EM_CUDA
    >>> header[8], header[48:52] = 7, (0x560556).to_bytes(4, 'little')
    >>> cubin_sm(bytes(header)), cubin_sm(b'// PTX text')
    (86, None)
    """
    if len(data) < 64 or data[:4] != b'\x7fELF' or data[4] != 2:  # ELF64
        return None
    if int.from_bytes(data[18:20], 'little') != EM_CUDA:
        return None
    flags = int.from_bytes(data[48:52], 'little')
    # ELF ABI v8 (CUDA >= 12.8 for the newest GPUs) moved the SM to bits 8-15.
    return (flags >> 8) & 0xff if data[8] >= 8 else flags & 0xff
