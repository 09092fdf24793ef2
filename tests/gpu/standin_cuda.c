/* A stand-in NVIDIA driver (libcuda.so.1) for tests on machines without a GPU.
 *
 * It implements the driver entry points that libgpuarray 0.7.6 looks up
 * (src/loaders/libcuda.fn), for one device whose compute capability is
 * $KFKD_STANDIN_CC (e.g. "86"; default 75). "Device" memory is host memory,
 * copies are memcpy, kernel launches do nothing. Module loads are checked, not
 * faked: an image must be a CUDA ELF cubin (e_machine EM_CUDA) built for exactly
 * sm_<cc>, and a function is found only when its name is in the module's image;
 * anything else fails as a driver would. With $KFKD_STANDIN_DUMP set, each loaded
 * image is written there as NNNNN.cubin (the test reads them).
 * Linking PTX (cuLink*) is refused: the project's patch loads cubins only.
 *
 * Built by tests/gpu/standin.py with gcc; a test fixture, never installed.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void *CUcontext, *CUmodule, *CUfunction, *CUstream, *CUevent, *CUlinkState;

enum {
  CUDA_SUCCESS = 0, CUDA_ERROR_INVALID_VALUE = 1, CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_INVALID_DEVICE = 101, CUDA_ERROR_INVALID_IMAGE = 200,
  CUDA_ERROR_NO_BINARY_FOR_GPU = 209, CUDA_ERROR_NOT_FOUND = 500,
  CUDA_ERROR_NOT_SUPPORTED = 801
};

#ifndef EM_CUDA
#define EM_CUDA 190
#endif

static int capability(void) {
  const char *cc = getenv("KFKD_STANDIN_CC");
  return cc ? atoi(cc) : 75;
}

/* Distinct non-NULL handles for contexts, streams, events, functions. */
static void *handle(void) { return calloc(1, 16); }

CUresult cuInit(int flags) { (void)flags; return CUDA_SUCCESS; }

/* Not one of libgpuarray's: NVRTC 12 opens libcuda.so.1 itself and asks for the driver's
   private tables; without this symbol it calls NULL. No table: it compiles without. */
CUresult cuGetExportTable(const void **table, const void *id) {
  (void)id;
  *table = NULL;
  return CUDA_ERROR_NOT_FOUND;
}
CUresult cuDriverGetVersion(int *v) { *v = 12090; return CUDA_SUCCESS; }

CUresult cuGetErrorName(CUresult e, const char **s) {
  switch (e) {
  case CUDA_SUCCESS: *s = "CUDA_SUCCESS"; break;
  case CUDA_ERROR_INVALID_IMAGE: *s = "CUDA_ERROR_INVALID_IMAGE"; break;
  case CUDA_ERROR_NO_BINARY_FOR_GPU: *s = "CUDA_ERROR_NO_BINARY_FOR_GPU"; break;
  case CUDA_ERROR_NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; break;
  case CUDA_ERROR_NOT_SUPPORTED: *s = "CUDA_ERROR_NOT_SUPPORTED"; break;
  default: *s = "CUDA_ERROR (stand-in)";
  }
  return CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult e, const char **s) { return cuGetErrorName(e, s); }

CUresult cuDeviceGet(CUdevice *d, int ordinal) {
  if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
  *d = 0;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetCount(int *n) { *n = 1; return CUDA_SUCCESS; }

CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
  (void)d;
  snprintf(name, (size_t)len, "Stand-in GPU sm_%d", capability());
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *pi, int attrib, CUdevice d) {
  (void)d;
  switch (attrib) {
  case 1: case 2: *pi = 1024; break;             /* threads per block, block dim x */
  case 3: *pi = 1024; break;                     /* block dim y */
  case 4: *pi = 64; break;                       /* block dim z */
  case 5: *pi = 2147483647; break;               /* grid dim x */
  case 6: case 7: *pi = 65535; break;            /* grid dim y, z */
  case 8: *pi = 49152; break;                    /* shared memory per block */
  case 10: *pi = 32; break;                      /* warp size */
  case 16: *pi = 40; break;                      /* multiprocessors */
  case 39: *pi = 1024; break;                    /* threads per multiprocessor */
  case 41: *pi = 1; break;                       /* unified addressing */
  case 75: *pi = capability() / 10; break;       /* compute capability major */
  case 76: *pi = capability() % 10; break;       /* compute capability minor */
  default: *pi = 0;
  }
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetPCIBusId(char *id, int len, CUdevice d) {
  (void)d;
  snprintf(id, (size_t)len, "0000:00:00.0");
  return CUDA_SUCCESS;
}

static CUcontext primary;
static CUcontext current[64];
static int depth;

CUresult cuDevicePrimaryCtxGetState(CUdevice d, unsigned int *flags, int *active) {
  (void)d;
  *flags = 0;
  *active = primary != NULL;
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxSetFlags(CUdevice d, unsigned int f) { (void)d; (void)f; return 0; }
CUresult cuDevicePrimaryCtxRelease(CUdevice d) { (void)d; return CUDA_SUCCESS; }
CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) {
  (void)d;
  if (primary == NULL) primary = handle();
  *c = primary;
  return CUDA_SUCCESS;
}

CUresult cuCtxGetDevice(CUdevice *d) { *d = 0; return CUDA_SUCCESS; }
CUresult cuCtxPushCurrent_v2(CUcontext c) {
  if (depth == 64) return CUDA_ERROR_INVALID_VALUE;
  current[depth++] = c;
  return CUDA_SUCCESS;
}
CUresult cuCtxPopCurrent_v2(CUcontext *c) {
  if (depth == 0) return CUDA_ERROR_INVALID_VALUE;
  depth--;
  if (c) *c = current[depth];
  return CUDA_SUCCESS;
}

/* PTX linking: the patched libgpuarray never links; an unpatched one fails here. */
CUresult cuLinkCreate(unsigned int n, void *o, void **v, CUlinkState *s) {
  (void)n; (void)o; (void)v; (void)s;
  return CUDA_ERROR_NOT_SUPPORTED;
}
CUresult cuLinkAddData(CUlinkState s, int t, void *d, size_t n, const char *name,
                       unsigned int k, void *o, void **v) {
  (void)s; (void)t; (void)d; (void)n; (void)name; (void)k; (void)o; (void)v;
  return CUDA_ERROR_NOT_SUPPORTED;
}
CUresult cuLinkComplete(CUlinkState s, void **c, size_t *n) {
  (void)s; (void)c; (void)n;
  return CUDA_ERROR_NOT_SUPPORTED;
}
CUresult cuLinkDestroy(CUlinkState s) { (void)s; return CUDA_SUCCESS; }

struct module { const unsigned char *image; size_t size; };

/* The size of an ELF64 image: its section header table is last. 0 if not a cubin. */
static size_t cubin_size(const void *image) {
  const Elf64_Ehdr *h = image;
  if (memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 || h->e_ident[EI_CLASS] != ELFCLASS64
      || h->e_machine != EM_CUDA)
    return 0;
  return (size_t)(h->e_shoff + (Elf64_Off)h->e_shnum * h->e_shentsize);
}

/* The SM a cubin is for: e_flags' low byte up to CUDA 12, bits 8-15 from CUDA 12.8's ABI v8. */
static int cubin_sm(const Elf64_Ehdr *h) {
  if (h->e_ident[EI_ABIVERSION] >= 8)
    return (int)((h->e_flags >> 8) & 0xff);
  return (int)(h->e_flags & 0xff);
}

static int loaded;

CUresult cuModuleLoadData(CUmodule *m, const void *image) {
  struct module *mod;
  size_t size = cubin_size(image);
  const char *dump = getenv("KFKD_STANDIN_DUMP");
  if (size == 0) return CUDA_ERROR_INVALID_IMAGE;
  if (cubin_sm(image) != capability()) return CUDA_ERROR_NO_BINARY_FOR_GPU;
  mod = malloc(sizeof(*mod));
  if (mod == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
  mod->size = size;
  mod->image = malloc(size);
  if (mod->image == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
  memcpy((void *)mod->image, image, size);
  if (dump != NULL) {
    char path[4096];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%05d.cubin", dump, loaded);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(image, 1, size, f) != size) return CUDA_ERROR_INVALID_VALUE;
    fclose(f);
  }
  loaded++;
  *m = mod;
  return CUDA_SUCCESS;
}

CUresult cuModuleLoadDataEx(CUmodule *m, const void *image, unsigned int n, void *o, void **v) {
  (void)n; (void)o; (void)v;
  return cuModuleLoadData(m, image);
}

CUresult cuModuleUnload(CUmodule m) {
  struct module *mod = m;
  free((void *)mod->image);
  free(mod);
  return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
  const struct module *mod = m;
  /* The symbol's name, NUL-terminated, in the cubin's string table. */
  if (memmem(mod->image, mod->size, name, strlen(name) + 1) == NULL)
    return CUDA_ERROR_NOT_FOUND;
  *f = handle();
  return CUDA_SUCCESS;
}

CUresult cuMemGetInfo_v2(size_t *free_, size_t *total) {
  *free_ = *total = (size_t)16 << 30;
  return CUDA_SUCCESS;
}
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
  void *m = malloc(n ? n : 1);
  if (m == NULL) return CUDA_ERROR_OUT_OF_MEMORY;
  *p = (CUdeviceptr)(uintptr_t)m;
  return CUDA_SUCCESS;
}
CUresult cuMemFree_v2(CUdeviceptr p) { free((void *)(uintptr_t)p); return CUDA_SUCCESS; }
CUresult cuMemAllocHost_v2(void **p, size_t n) {
  *p = malloc(n ? n : 1);
  return *p ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}
CUresult cuMemFreeHost(void *p) { free(p); return CUDA_SUCCESS; }

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *s, size_t n, CUstream st) {
  (void)st;
  memcpy((void *)(uintptr_t)d, s, n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n) {
  return cuMemcpyHtoDAsync_v2(d, s, n, NULL);
}
CUresult cuMemcpyDtoHAsync_v2(void *d, CUdeviceptr s, size_t n, CUstream st) {
  (void)st;
  memcpy(d, (const void *)(uintptr_t)s, n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) {
  (void)st;
  memmove((void *)(uintptr_t)d, (const void *)(uintptr_t)s, n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyPeerAsync(CUdeviceptr d, CUcontext dc, CUdeviceptr s, CUcontext sc, size_t n,
                           CUstream st) {
  (void)dc; (void)sc;
  return cuMemcpyDtoDAsync_v2(d, s, n, st);
}
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char c, size_t n, CUstream st) {
  (void)st;
  memset((void *)(uintptr_t)d, c, n);
  return CUDA_SUCCESS;
}

/* Nothing computes: the tests build functions, they do not trust their numbers. */
CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                        unsigned int bx, unsigned int by, unsigned int bz, unsigned int sh,
                        CUstream st, void **params, void **extra) {
  (void)f; (void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz; (void)sh; (void)st;
  (void)params; (void)extra;
  return CUDA_SUCCESS;
}

CUresult cuFuncGetAttribute(int *pi, int attrib, CUfunction f) {
  (void)f;
  switch (attrib) {
  case 0: *pi = 1024; break;                          /* max threads per block */
  case 5: case 6: *pi = capability(); break;          /* PTX and binary versions */
  default: *pi = 0;
  }
  return CUDA_SUCCESS;
}

CUresult cuEventCreate(CUevent *e, unsigned int flags) { (void)flags; *e = handle(); return 0; }
CUresult cuEventRecord(CUevent e, CUstream s) { (void)e; (void)s; return CUDA_SUCCESS; }
CUresult cuEventSynchronize(CUevent e) { (void)e; return CUDA_SUCCESS; }
CUresult cuEventDestroy_v2(CUevent e) { free(e); return CUDA_SUCCESS; }

CUresult cuStreamCreate(CUstream *s, unsigned int flags) { (void)flags; *s = handle(); return 0; }
CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned int f) {
  (void)s; (void)e; (void)f;
  return CUDA_SUCCESS;
}
CUresult cuStreamSynchronize(CUstream s) { (void)s; return CUDA_SUCCESS; }
CUresult cuStreamDestroy_v2(CUstream s) { free(s); return CUDA_SUCCESS; }

/* Inter-process memory: not on a stand-in. */
CUresult cuIpcGetMemHandle(void *h, CUdeviceptr p) { (void)h; (void)p; return 801; }
CUresult cuIpcOpenMemHandle(CUdeviceptr *p, ...) { (void)p; return CUDA_ERROR_NOT_SUPPORTED; }
CUresult cuIpcCloseMemHandle(CUdeviceptr p) { (void)p; return CUDA_ERROR_NOT_SUPPORTED; }
