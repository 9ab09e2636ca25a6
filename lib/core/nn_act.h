/* nn_act.h — activation functions and their derivatives.
 *
 *   linear      f(z) = z                         f' = 1
 *   relu        f(z) = max(z, 0)                 f' = [z > 0]
 *   sigmoid     f(z) = 1 / (1 + e^-z)            f' = f (1 - f)
 *   tanh        f(z) = tanh z                    f' = 1 - f²
 *   leaky_relu  f(z) = z if z > 0 else 0.01 z    f' = 1 or 0.01
 *   elu         f(z) = z if z > 0 else e^z - 1   f' = 1 or f + 1
 *   gelu        f(z) = z Φ(z) (exact, erf)       f' = Φ(z) + z φ(z)
 */
#ifndef NN_ACT_H
#define NN_ACT_H

#include "nn_common.h"

#define NN_ACT_TABLE(X)                                                                            \
    X(NN_ACT_LINEAR, "linear")                                                                     \
    X(NN_ACT_RELU, "relu")                                                                         \
    X(NN_ACT_SIGMOID, "sigmoid")                                                                   \
    X(NN_ACT_TANH, "tanh")                                                                         \
    X(NN_ACT_LEAKY_RELU, "leaky_relu")                                                             \
    X(NN_ACT_ELU, "elu")                                                                           \
    X(NN_ACT_GELU, "gelu")

#define NN__ACT_ENUM(name, text) name,
typedef enum nn_act { NN_ACT_TABLE(NN__ACT_ENUM) NN_ACT_COUNT } nn_act;
#undef NN__ACT_ENUM

const char *nn_act_name(nn_act act);
/* Parses a name; returns 0 and sets *out on success, -1 for an unknown name. */
int nn_act_from_name(const char *name, nn_act *out);
/* A comma-separated list of every name, for error messages. */
const char *nn_act_names(void);

/* a[i] = f(z[i]) for i < n (a may equal z). */
void nn_act_forward(nn_act act, const nn_float *z, nn_float *a, size_t n);
/* dz[i] = da[i] · f'(z[i]), given z and a = f(z) (dz may equal da). */
void nn_act_backward(nn_act act, const nn_float *z, const nn_float *a, const nn_float *da,
                     nn_float *dz, size_t n);

/* Whether f' can be computed from a = f(z) alone (every activation but gelu): then a layer may
 * activate in place and pass a as z below. */
int nn_act_in_place(nn_act act);

/* The forward elementwise pass of a dense layer, in one sweep: for z (rows × cols) holding X·W,
 * z[r][j] += b[j] (b: (cols)), then a[r][j] = f(z[r][j]). a may equal z when nn_act_in_place. */
void nn_act_forward_bias(nn_act act, const nn_float *b, nn_float *z, nn_float *a, size_t rows,
                         size_t cols);

/* The backward elementwise pass of a dense layer, in one sweep: dz = da ⊙ mask ⊙ f'(z) (mask:
 * the dropout scales of the layer above, or NULL) and db[j] = Σ_r dz[r][j], summed in double in
 * a fixed order (four interleaved partial sums per column, nn_act.c). All matrices rows × cols;
 * acc (cols) is scratch; z may equal a when nn_act_in_place; dz may equal da (slower). */
void nn_act_backward_sum(nn_act act, const nn_float *z, const nn_float *a, const nn_float *da,
                         const nn_float *mask, nn_float *dz, nn_float *db, double *acc, size_t rows,
                         size_t cols);

#endif
