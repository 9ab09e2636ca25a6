/* nn_matrix.h — row-major matrix products: prepared small-GEMM kernels (libxsmm) and CBLAS.
 *
 * Every matrix in libnn is row-major, batch × features. This header is the one place that
 * knows about BLAS and libxsmm, choosing single or double precision by nn_float, so the rest
 * of the library never sees their types.
 *
 * nn_gemm is a plain product through CBLAS. An nn_mm is a product of fixed shape prepared once
 * (nn_mm_prepare) and then run many times (nn_mm_run): for the small shapes of tabular networks
 * it holds a libxsmm kernel generated for the running CPU, which costs a function call where
 * CBLAS spends most of its time on dispatch and packing; for other shapes, or in a build
 * without libxsmm, it runs nn_gemm. nn_matrix.c explains which shapes go where.
 */
#ifndef NN_MATRIX_H
#define NN_MATRIX_H

#include "nn_common.h"

/* C (m × n) = alpha · op(A) · op(B) + beta · C, where op(A) is m × k and op(B) is k × n;
 * ta/tb nonzero transpose A/B. lda/ldb/ldc are the row strides of the stored matrices. */
void nn_gemm(int ta, int tb, int m, int n, int k, nn_float alpha, const nn_float *a, int lda,
             const nn_float *b, int ldb, nn_float beta, nn_float *c, int ldc);

/* Which implementation products may use. */
typedef enum nn_gemm_path {
    NN_GEMM_AUTO = 0, /* libxsmm for the shapes it serves (when built with it), else BLAS */
    NN_GEMM_BLAS = 1  /* always BLAS */
} nn_gemm_path;

/* A prepared product C (m × n) = op(A) · op(B) (+ C when accumulating), shapes and strides fixed.
 * Plain data: copy it, keep it in arrays; it owns nothing. */
typedef struct nn_mm {
    void (*kernel)(void); /* the libxsmm kernel (cast back in nn_matrix.c), or NULL for BLAS */
    int ta, tb, m, n, k, lda, ldb, ldc;
    int accumulate; /* 1: C += op(A)·op(B); 0: C = op(A)·op(B) */
} nn_mm;

/* Prepares mm for the shape; never fails (falls back to BLAS). May generate machine code the
 * first time a shape is seen in the process (libxsmm's registry is thread-safe). */
void nn_mm_prepare(nn_mm *mm, nn_gemm_path path, int ta, int tb, int m, int n, int k, int lda,
                   int ldb, int ldc, int accumulate);
/* Runs the prepared product on a (m × k, or k × m when ta), b and c. */
void nn_mm_run(const nn_mm *mm, const nn_float *a, const nn_float *b, nn_float *c);
/* 1 when mm runs a libxsmm kernel. */
int nn_mm_is_xsmm(const nn_mm *mm);

/* A prepared transposition out (cols × rows) = in (rows × cols)ᵀ of dense row-major matrices:
 * a libxsmm kernel where available, else a loop. Plain data, owns nothing. */
typedef struct nn_tr {
    void (*kernel)(void);
    int rows, cols;
} nn_tr;

void nn_tr_prepare(nn_tr *tr, nn_gemm_path path, int rows, int cols);
void nn_tr_run(const nn_tr *tr, const nn_float *in, nn_float *out);

/* The BLAS this build links, e.g. "OpenBLAS 0.3.21 (Haswell, 1 thread)"; for --version. */
const char *nn_blas_config(void);
/* Writes "libxsmm 1.17 (cpx)" into buf[0..n) — the version, and the instruction set it generates
 * code for on this CPU — and returns 0; returns -1 (buf = "") in a build without libxsmm. */
int nn_xsmm_config(char *buf, size_t n);

#endif
