/* nn_matrix.c — the CBLAS wrapper. */
#include "nn_matrix.h"

#include <cblas.h>

void nn_gemm(int ta, int tb, int m, int n, int k, nn_float alpha, const nn_float *a, int lda,
             const nn_float *b, int ldb, nn_float beta, nn_float *c, int ldc) {
    if (m == 0 || n == 0) return;
#ifdef NN_DOUBLE
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
                k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
                k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

const char *nn_blas_config(void) { return openblas_get_config(); }
