/* nn_matrix.h — row-major matrix products through CBLAS.
 *
 * Every matrix in libnn is row-major, batch × features. nn_gemm is the one place that calls
 * CBLAS, choosing sgemm or dgemm by nn_float, so the rest of the library never sees BLAS types.
 */
#ifndef NN_MATRIX_H
#define NN_MATRIX_H

#include "nn_common.h"

/* C (m × n) = alpha · op(A) · op(B) + beta · C, where op(A) is m × k and op(B) is k × n;
 * ta/tb nonzero transpose A/B. lda/ldb/ldc are the row strides of the stored matrices. */
void nn_gemm(int ta, int tb, int m, int n, int k, nn_float alpha, const nn_float *a, int lda,
             const nn_float *b, int ldb, nn_float beta, nn_float *c, int ldc);

/* The BLAS this build links, e.g. "OpenBLAS 0.3.21 (Haswell, 1 thread)"; for --version. */
const char *nn_blas_config(void);

#endif
