/* nn_matrix.c — the CBLAS wrapper and the prepared small products.
 *
 * DESIGN
 *
 * Why two paths. A dense layer of a tabular network multiplies a batch of 32–1024 rows by a
 * weight matrix of 16–256 units a side: a few hundred thousand multiply-adds. OpenBLAS spends
 * most of such a call choosing a kernel and packing both operands into its blocked layout;
 * libxsmm instead generates (JIT), once per shape, a kernel for exactly that shape and the
 * running CPU's vector instructions, and calling it is one indirect call. On the seed network's
 * shapes (128 × 16 × 16, 128 × 16 × 34) that is 7–14× faster. For large products OpenBLAS's
 * cache blocking wins, so shapes with m·n·k above XSMM_MAX_MNK (512³) stay with BLAS, as does
 * everything in a build without libxsmm (NN_XSMM off, or not x86-64).
 *
 * Row-major into column-major. libxsmm is column-major: it computes C' = op(A')·op(B') with
 * C' of M × N. A row-major matrix is the column-major storage of its transpose, so the
 * row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: M = n, N = m, A' is our b,
 * B' is our a, and our ta/tb become libxsmm's TRANS_B/TRANS_A. libxsmm 1.17 generates
 * TRANS_B kernels but not TRANS_A ones, so a product with tb stays with BLAS; nn_net keeps a
 * transposed copy of each weight matrix so that its products never need tb.
 *
 * A kernel is deterministic: the same inputs give the same bits in every call and on every
 * thread, so results do not depend on the number of threads whichever path is used (they may
 * differ between the two paths, and between CPUs whose vector widths differ).
 */
#include "nn_matrix.h"

#include <cblas.h>
#include <stdio.h>

#ifdef NN_XSMM
#include <libxsmm.h>
#include <libxsmm_generator.h>
#endif

#define XSMM_MAX_MNK ((double)(1 << 27)) /* 512³: above it OpenBLAS's blocking wins */

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

#ifdef NN_XSMM
#ifdef NN_DOUBLE
typedef libxsmm_dmmfunction xsmm_fn;
#define xsmm_dispatch libxsmm_dmmdispatch
#else
typedef libxsmm_smmfunction xsmm_fn;
#define xsmm_dispatch libxsmm_smmdispatch
#endif

/* libxsmm initialized when the program loads, not at its first kernel: its exit handler (which
 * unmaps the generated code) is then registered before any of the program's own, so it runs
 * after them — a program whose atexit handler stops its training threads never has a thread
 * running a kernel that is already gone (as the HTTP fuzz harness did, now and then). */
__attribute__((constructor)) static void xsmm_init_at_load(void) { libxsmm_init(); }

/* The libxsmm kernel for the row-major product, or NULL when libxsmm does not serve it. */
static void (*xsmm_kernel(int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc,
                          int accumulate))(void) {
    if (tb || m < 1 || n < 1 || k < 1 || (double)m * n * k > XSMM_MAX_MNK) return NULL;
    libxsmm_blasint ld_a = ldb, ld_b = lda, ld_c = ldc; /* operands swapped: see DESIGN */
    int flags = (ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0) | (accumulate ? 0 : LIBXSMM_GEMM_FLAG_BETA_0);
    nn_float alpha = 1, beta = accumulate ? 1 : 0;
    xsmm_fn f = xsmm_dispatch(n, m, k, &ld_a, &ld_b, &ld_c, &alpha, &beta, &flags, NULL);
    return (void (*)(void))f;
}
#endif

void nn_mm_prepare(nn_mm *mm, nn_gemm_path path, int ta, int tb, int m, int n, int k, int lda,
                   int ldb, int ldc, int accumulate) {
    *mm = (nn_mm){.kernel = NULL,
                  .ta = ta,
                  .tb = tb,
                  .m = m,
                  .n = n,
                  .k = k,
                  .lda = lda,
                  .ldb = ldb,
                  .ldc = ldc,
                  .accumulate = accumulate};
#ifdef NN_XSMM
    if (path == NN_GEMM_AUTO) mm->kernel = xsmm_kernel(ta, tb, m, n, k, lda, ldb, ldc, accumulate);
#else
    (void)path;
#endif
}

void nn_mm_run(const nn_mm *mm, const nn_float *a, const nn_float *b, nn_float *c) {
#ifdef NN_XSMM
    if (mm->kernel) {
        ((xsmm_fn)mm->kernel)(b, a, c); /* operands swapped: see DESIGN */
        return;
    }
#endif
    nn_gemm(mm->ta, mm->tb, mm->m, mm->n, mm->k, 1, a, mm->lda, b, mm->ldb,
            (nn_float)(mm->accumulate ? 1 : 0), c, mm->ldc);
}

int nn_mm_is_xsmm(const nn_mm *mm) { return mm->kernel != NULL; }

void nn_tr_prepare(nn_tr *tr, nn_gemm_path path, int rows, int cols) {
    *tr = (nn_tr){.kernel = NULL, .rows = rows, .cols = cols};
#ifdef NN_XSMM
    /* row-major rows × cols is column-major cols × rows: transposed, rows × cols, ld rows */
    if (path == NN_GEMM_AUTO && rows > 0 && cols > 0) {
        libxsmm_descriptor_blob blob;
        const libxsmm_trans_descriptor *d = libxsmm_trans_descriptor_init(
            &blob, (unsigned)sizeof(nn_float), (unsigned)cols, (unsigned)rows, (unsigned)rows);
        if (d) tr->kernel = (void (*)(void))libxsmm_dispatch_trans(d);
    }
#else
    (void)path;
#endif
}

void nn_tr_run(const nn_tr *tr, const nn_float *in, nn_float *out) {
    size_t rows = (size_t)tr->rows, cols = (size_t)tr->cols;
#ifdef NN_XSMM
    if (tr->kernel) {
        unsigned ldi = (unsigned)cols, ldo = (unsigned)rows;
        ((libxsmm_xtransfunction)tr->kernel)(in, &ldi, out, &ldo);
        return;
    }
#endif
    for (size_t j = 0; j < cols; j++) /* contiguous writes */
        for (size_t i = 0; i < rows; i++) out[j * rows + i] = in[i * cols + j];
}

const char *nn_blas_config(void) { return openblas_get_config(); }

int nn_xsmm_config(char *buf, size_t n) {
#ifdef NN_XSMM
    (void)snprintf(buf, n, "libxsmm %s (%s)", LIBXSMM_CONFIG_VERSION, libxsmm_get_target_arch());
    return 0;
#else
    if (n) buf[0] = '\0';
    return -1;
#endif
}
