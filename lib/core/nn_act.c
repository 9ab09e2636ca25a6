/* nn_act.c — activation functions. */
#include "nn_act.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

NN_ENUM_DEFINE(nn_act, nn_act, NN_ACT_TABLE, NN_ACT_COUNT)

#define LEAKY_SLOPE 0.01

/* ReLU without branches. Its signs are close to random, so the branch GCC emits for
 * `z > 0 ? v : 0` at -O2 mispredicts about half the time, and -O2's very cheap vectorizer
 * leaves loops of unknown length scalar: that made relu forward and backward ~30% of a small
 * network's training time. relu_keep works in blocks of RELU_BLOCK elements gathered into a local
 * array (so the compiler needs no alias check and vectorizes each block as compare + and), and
 * the tail through keep_if_positive, a bit mask. Both give exactly `z > 0 ? v : 0` (NaN and -0
 * give +0), and both allow out == v or out == z. */
#define RELU_BLOCK 16
#ifdef NN_DOUBLE
typedef uint64_t float_bits;
#else
typedef uint32_t float_bits;
#endif
static inline nn_float keep_if_positive(nn_float test, nn_float v) {
    float_bits u;
    memcpy(&u, &v, sizeof u);
    u &= -(float_bits)(test > 0);
    memcpy(&v, &u, sizeof v);
    return v;
}

/* out[i] = z[i] > 0 ? v[i] : 0 for i < n. */
static void relu_keep(const nn_float *z, const nn_float *v, nn_float *out, size_t n) {
    size_t i = 0;
    for (; i + RELU_BLOCK <= n; i += RELU_BLOCK) {
        nn_float t[RELU_BLOCK];
        for (int k = 0; k < RELU_BLOCK; k++) {
            nn_float vk = v[i + k];
            t[k] = z[i + k] > 0 ? vk : 0;
        }
        memcpy(out + i, t, sizeof t);
    }
    for (; i < n; i++) out[i] = keep_if_positive(z[i], v[i]);
}

void nn_act_forward(nn_act act, const nn_float *z, nn_float *a, size_t n) {
    switch (act) {
    case NN_ACT_LINEAR:
        if (a != z) memcpy(a, z, n * sizeof *a);
        break;
    case NN_ACT_RELU:
        relu_keep(z, z, a, n);
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) a[i] = (nn_float)(1.0 / (1.0 + exp(-(double)z[i])));
        break;
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++) a[i] = (nn_float)tanh((double)z[i]);
        break;
    case NN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) a[i] = z[i] > 0 ? z[i] : (nn_float)(LEAKY_SLOPE * z[i]);
        break;
    case NN_ACT_ELU:
        for (size_t i = 0; i < n; i++) a[i] = z[i] > 0 ? z[i] : (nn_float)expm1((double)z[i]);
        break;
    case NN_ACT_GELU:
        for (size_t i = 0; i < n; i++) {
            double x = z[i];
            a[i] = (nn_float)(0.5 * x * (1.0 + erf(x * 0.70710678118654752440)));
        }
        break;
    default:
        break;
    }
}

void nn_act_backward(nn_act act, const nn_float *z, const nn_float *a, const nn_float *da,
                     nn_float *dz, size_t n) {
    switch (act) {
    case NN_ACT_LINEAR:
        if (dz != da) memcpy(dz, da, n * sizeof *dz);
        break;
    case NN_ACT_RELU:
        relu_keep(z, da, dz, n);
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) dz[i] = da[i] * a[i] * (1 - a[i]);
        break;
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++) dz[i] = da[i] * (1 - a[i] * a[i]);
        break;
    case NN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) dz[i] = z[i] > 0 ? da[i] : (nn_float)(LEAKY_SLOPE * da[i]);
        break;
    case NN_ACT_ELU:
        for (size_t i = 0; i < n; i++) dz[i] = z[i] > 0 ? da[i] : da[i] * (a[i] + 1);
        break;
    case NN_ACT_GELU:
        for (size_t i = 0; i < n; i++) {
            double x = z[i];
            double cdf = 0.5 * (1.0 + erf(x * 0.70710678118654752440));
            double pdf = 0.39894228040143267794 * exp(-0.5 * x * x);
            dz[i] = (nn_float)(da[i] * (cdf + x * pdf));
        }
        break;
    default:
        break;
    }
}
