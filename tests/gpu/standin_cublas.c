/* A stand-in cuBLAS (libcublas.so.12) for tests on machines without a GPU.
 *
 * cuBLAS's handle needs a real device, so the stand-in driver (standin_cuda.c)
 * alone would stop Theano at the first BLAS op's set-up (cublasCreate). These are
 * the functions libgpuarray 0.7.6 looks up (src/loaders/libcublas.fn): creating a
 * handle succeeds, every call does nothing and reports success. The tests build
 * training functions with it; they never trust a number it computes.
 *
 * Built by tests/gpu/standin.py with gcc; a test fixture, never installed.
 */
#include <stdlib.h>

int cublasCreate_v2(void **handle) {
  *handle = calloc(1, 16);
  return *handle == NULL;   /* CUBLAS_STATUS_NOT_INITIALIZED when out of memory */
}

int cublasDestroy_v2(void *handle) {
  free(handle);
  return 0;
}

/* Called with their own arguments, ignored; each returns CUBLAS_STATUS_SUCCESS. */
#define NOTHING(name) int name(void) { return 0; }
NOTHING(cublasSetStream_v2)
NOTHING(cublasSetPointerMode_v2)
NOTHING(cublasGetPointerMode_v2)
NOTHING(cublasSetAtomicsMode)
NOTHING(cublasSdot_v2)
NOTHING(cublasDdot_v2)
NOTHING(cublasSgemm_v2)
NOTHING(cublasDgemm_v2)
NOTHING(cublasSgemv_v2)
NOTHING(cublasDgemv_v2)
NOTHING(cublasSger_v2)
NOTHING(cublasDger_v2)
NOTHING(cublasSgemmEx)
NOTHING(cublasGemmEx)
NOTHING(cublasSgemmBatched)
NOTHING(cublasDgemmBatched)
NOTHING(cublasHgemmStridedBatched)
NOTHING(cublasSgemmStridedBatched)
NOTHING(cublasDgemmStridedBatched)
