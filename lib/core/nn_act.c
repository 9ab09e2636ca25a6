/* nn_act.c — activation functions, and the fused elementwise passes of a dense layer.
 *
 * The fused passes (nn_act_forward_bias, nn_act_backward_sum) are what a training step spends
 * its time on outside the matrix products: for each layer one sweep forward (bias, activation)
 * and one backward (dropout mask, derivative, bias gradient) over the batch's rows, each row a
 * contiguous vector. Their loops are written for the vectorizer (nn_simd.h): restrict pointers,
 * selects instead of branches, the mask and in-place cases as separate loops. ReLU's select
 * `z > 0 ? v : 0` gives +0 for NaN and -0, exactly as a branch would.
 */
#include "nn_act.h"

#include "nn_simd.h"

#include <math.h>
#include <string.h>

NN_ENUM_DEFINE(nn_act, nn_act, NN_ACT_TABLE, NN_ACT_COUNT)

#define LEAKY_SLOPE 0.01
/* Column sums. db[j] = Σ_r dz[r][j] is a chain of `rows` dependent additions per column; summed
 * in that order it runs at the adder's latency, not its throughput. Each column is summed as
 * SUM_WAYS partial sums instead — row r goes to sum r mod SUM_WAYS, in row order — combined as
 * (s0 + s1) + (s2 + s3): a fixed order, so the same bits on every CPU and thread. Both passes
 * go through columns in blocks of SUM_BLOCK (one AVX-512 register of floats), so that a block
 * of a 16-unit layer is one vector operation per row and the partial sums stay in registers. */
#define SUM_BLOCK 16
#define SUM_WAYS 4

#define SQRT1_2 0.70710678118654752440      /* 1/√2 */
#define INV_SQRT_2PI 0.39894228040143267794 /* 1/√(2π) */

static inline nn_float act_one(nn_act act, nn_float z) {
    double x = z;
    switch (act) {
    case NN_ACT_RELU:
        return z > 0 ? z : 0;
    case NN_ACT_SIGMOID:
        return (nn_float)(1.0 / (1.0 + exp(-x)));
    case NN_ACT_TANH:
        return (nn_float)tanh(x);
    case NN_ACT_LEAKY_RELU:
        return z > 0 ? z : (nn_float)(LEAKY_SLOPE * z);
    case NN_ACT_ELU:
        return z > 0 ? z : (nn_float)expm1(x);
    case NN_ACT_GELU:
        return (nn_float)(0.5 * x * (1.0 + erf(x * SQRT1_2)));
    case NN_ACT_LINEAR:
    default:
        return z;
    }
}

/* f'(z) · g given z and a = f(z). */
static inline nn_float act_grad(nn_act act, nn_float z, nn_float a, nn_float g) {
    switch (act) {
    case NN_ACT_RELU:
        return z > 0 ? g : 0;
    case NN_ACT_SIGMOID:
        return g * a * (1 - a);
    case NN_ACT_TANH:
        return g * (1 - a * a);
    case NN_ACT_LEAKY_RELU:
        return z > 0 ? g : (nn_float)(LEAKY_SLOPE * g);
    case NN_ACT_ELU:
        return z > 0 ? g : g * (a + 1);
    case NN_ACT_GELU: {
        double x = z;
        double cdf = 0.5 * (1.0 + erf(x * SQRT1_2));
        double pdf = INV_SQRT_2PI * exp(-0.5 * x * x);
        return (nn_float)(g * (cdf + x * pdf));
    }
    case NN_ACT_LINEAR:
    default:
        return g;
    }
}

NN__VECTORIZE
void nn_act_forward(nn_act act, const nn_float *z, nn_float *a, size_t n) {
    switch (act) {
    case NN_ACT_LINEAR:
        if (a != z) memcpy(a, z, n * sizeof *a);
        break;
    case NN_ACT_RELU:
        for (size_t i = 0; i < n; i++) a[i] = z[i] > 0 ? z[i] : 0;
        break;
    case NN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) a[i] = z[i] > 0 ? z[i] : (nn_float)(LEAKY_SLOPE * z[i]);
        break;
    default:
        for (size_t i = 0; i < n; i++) a[i] = act_one(act, z[i]);
        break;
    }
}

NN__VECTORIZE
void nn_act_backward(nn_act act, const nn_float *z, const nn_float *a, const nn_float *da,
                     nn_float *dz, size_t n) {
    switch (act) {
    case NN_ACT_LINEAR:
        if (dz != da) memcpy(dz, da, n * sizeof *dz);
        break;
    case NN_ACT_RELU:
        for (size_t i = 0; i < n; i++) dz[i] = z[i] > 0 ? da[i] : 0;
        break;
    default:
        for (size_t i = 0; i < n; i++) dz[i] = act_grad(act, z[i], a[i], da[i]);
        break;
    }
}

int nn_act_in_place(nn_act act) { return act != NN_ACT_GELU; }

/* z[r][j] = f(z[r][j] + b[j]) in place for the columns j0..j0+width, for the activations cheap
 * enough to vectorize; inlined with act and width constant (width SUM_BLOCK: one register). */
static inline __attribute__((always_inline)) void bias_act_block(nn_act act, const size_t width,
                                                                 const nn_float *restrict b,
                                                                 nn_float *restrict z, size_t rows,
                                                                 size_t cols, size_t j0) {
    for (size_t r = 0; r < rows; r++) {
        nn_float *restrict zr = z + r * cols + j0;
        for (size_t k = 0; k < width; k++) {
            nn_float v = zr[k] + b[j0 + k];
            if (act == NN_ACT_RELU)
                v = v > 0 ? v : 0;
            else if (act == NN_ACT_LEAKY_RELU)
                v = v > 0 ? v : (nn_float)(LEAKY_SLOPE * v);
            zr[k] = v;
        }
    }
}

static inline __attribute__((always_inline)) void bias_act_width(nn_act act, const size_t width,
                                                                 const nn_float *b, nn_float *z,
                                                                 size_t rows, size_t cols,
                                                                 size_t j0) {
    if (act == NN_ACT_RELU)
        bias_act_block(NN_ACT_RELU, width, b, z, rows, cols, j0);
    else if (act == NN_ACT_LEAKY_RELU)
        bias_act_block(NN_ACT_LEAKY_RELU, width, b, z, rows, cols, j0);
    else
        bias_act_block(NN_ACT_LINEAR, width, b, z, rows, cols, j0);
}

/* z[r][j] = f(z[r][j] + b[j]) in place. */
static inline __attribute__((always_inline)) void
bias_act_rows(nn_act act, const nn_float *b, nn_float *z, size_t rows, size_t cols) {
    if (act != NN_ACT_RELU && act != NN_ACT_LEAKY_RELU && act != NN_ACT_LINEAR) {
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < cols; j++)
                z[r * cols + j] = act_one(act, z[r * cols + j] + b[j]);
        return;
    }
    for (size_t j0 = 0; j0 < cols; j0 += SUM_BLOCK) {
        size_t width = cols - j0 < SUM_BLOCK ? cols - j0 : SUM_BLOCK;
        if (width == SUM_BLOCK)
            bias_act_width(act, SUM_BLOCK, b, z, rows, cols, j0);
        else if (width == 1)
            bias_act_width(act, 1, b, z, rows, cols, j0);
        else
            bias_act_width(act, width, b, z, rows, cols, j0);
    }
}

NN__VECTORIZE
void nn_act_forward_bias(nn_act act, const nn_float *b, nn_float *z, nn_float *a, size_t rows,
                         size_t cols) {
    if (a == z) {
        bias_act_rows(act, b, z, rows, cols);
        return;
    }
    bias_act_rows(NN_ACT_LINEAR, b, z, rows, cols);
    nn_act_forward(act, z, a, rows * cols);
}

/* dz of one row's columns o..o+width, added to the partial sums s (width); inlined with act,
 * masked and width constant. */
static inline __attribute__((always_inline)) void
grad_row(nn_act act, const int masked, const size_t width, const nn_float *restrict z,
         const nn_float *restrict da, const nn_float *restrict mask, nn_float *restrict dz,
         size_t o, double *restrict s) {
    for (size_t k = 0; k < width; k++) {
        nn_float g = masked ? da[o + k] * mask[o + k] : da[o + k];
        nn_float v;
        if (act == NN_ACT_RELU)
            v = z[o + k] > 0 ? g : 0;
        else if (act == NN_ACT_LEAKY_RELU)
            v = z[o + k] > 0 ? g : (nn_float)(LEAKY_SLOPE * g);
        else
            v = g;
        dz[o + k] = v;
        s[k] += (double)v;
    }
}

/* dz and the column sums of columns j0..j0+width of the backward pass, for the cheap
 * activations; act, masked and width are constants at each call (the function is inlined), so
 * each combination is its own branch-free loop, its partial sums in registers. */
static inline __attribute__((always_inline)) void
grad_block(nn_act act, const int masked, const size_t width, const nn_float *restrict z,
           const nn_float *restrict da, const nn_float *restrict mask, nn_float *restrict dz,
           size_t rows, size_t cols, size_t j0, double *restrict sums) {
    double s0[SUM_BLOCK] = {0}, s1[SUM_BLOCK] = {0}, s2[SUM_BLOCK] = {0}, s3[SUM_BLOCK] = {0};
    size_t r = 0;
    for (; r + SUM_WAYS <= rows; r += SUM_WAYS) {
        grad_row(act, masked, width, z, da, mask, dz, r * cols + j0, s0);
        grad_row(act, masked, width, z, da, mask, dz, (r + 1) * cols + j0, s1);
        grad_row(act, masked, width, z, da, mask, dz, (r + 2) * cols + j0, s2);
        grad_row(act, masked, width, z, da, mask, dz, (r + 3) * cols + j0, s3);
    }
    double *rest[SUM_WAYS - 1] = {s0, s1, s2};
    for (size_t w = 0; r < rows; r++, w++)
        grad_row(act, masked, width, z, da, mask, dz, r * cols + j0, rest[w]);
    for (size_t k = 0; k < width; k++) sums[k] = (s0[k] + s1[k]) + (s2[k] + s3[k]);
}

/* grad_block for the other activations, one element at a time (they call libm or read a). */
static void grad_block_any(nn_act act, const nn_float *z, const nn_float *a, const nn_float *da,
                           const nn_float *mask, nn_float *dz, size_t rows, size_t cols, size_t j0,
                           size_t width, double *sums) {
    double s[SUM_WAYS][SUM_BLOCK] = {{0}};
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * cols + j0, w = r % SUM_WAYS;
        for (size_t k = 0; k < width; k++) {
            nn_float g = mask ? da[o + k] * mask[o + k] : da[o + k];
            nn_float v = act_grad(act, z[o + k], a[o + k], g);
            dz[o + k] = v;
            s[w][k] += (double)v;
        }
    }
    for (size_t k = 0; k < width; k++) sums[k] = (s[0][k] + s[1][k]) + (s[2][k] + s[3][k]);
}

/* One block through the loop that fits act, mask and width. */
static inline __attribute__((always_inline)) void
grad_dispatch(nn_act act, const size_t width, const nn_float *z, const nn_float *da,
              const nn_float *mask, nn_float *dz, size_t rows, size_t cols, size_t j0,
              double *sums) {
    if (act == NN_ACT_RELU && mask)
        grad_block(NN_ACT_RELU, 1, width, z, da, mask, dz, rows, cols, j0, sums);
    else if (act == NN_ACT_RELU)
        grad_block(NN_ACT_RELU, 0, width, z, da, mask, dz, rows, cols, j0, sums);
    else if (act == NN_ACT_LEAKY_RELU && mask)
        grad_block(NN_ACT_LEAKY_RELU, 1, width, z, da, mask, dz, rows, cols, j0, sums);
    else if (act == NN_ACT_LEAKY_RELU)
        grad_block(NN_ACT_LEAKY_RELU, 0, width, z, da, mask, dz, rows, cols, j0, sums);
    else if (mask)
        grad_block(NN_ACT_LINEAR, 1, width, z, da, mask, dz, rows, cols, j0, sums);
    else
        grad_block(NN_ACT_LINEAR, 0, width, z, da, mask, dz, rows, cols, j0, sums);
}

NN__VECTORIZE
void nn_act_backward_sum(nn_act act, const nn_float *z, const nn_float *a, const nn_float *da,
                         const nn_float *mask, nn_float *dz, nn_float *db, double *acc, size_t rows,
                         size_t cols) {
    int cheap = act == NN_ACT_RELU || act == NN_ACT_LEAKY_RELU || act == NN_ACT_LINEAR;
    for (size_t j0 = 0; j0 < cols; j0 += SUM_BLOCK) {
        size_t width = cols - j0 < SUM_BLOCK ? cols - j0 : SUM_BLOCK;
        double *sums = acc + j0;
        if (!cheap || dz == da)
            grad_block_any(act, z, a, da, mask, dz, rows, cols, j0, width, sums);
        else if (width == SUM_BLOCK)
            grad_dispatch(act, SUM_BLOCK, z, da, mask, dz, rows, cols, j0, sums);
        else if (width == 1)
            grad_dispatch(act, 1, z, da, mask, dz, rows, cols, j0, sums);
        else
            grad_dispatch(act, width, z, da, mask, dz, rows, cols, j0, sums);
    }
    for (size_t j = 0; j < cols; j++) db[j] = (nn_float)acc[j];
}
