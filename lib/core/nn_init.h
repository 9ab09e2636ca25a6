/* nn_init.h — parameter initializers, drawn from a caller's seeded stream.
 *
 *   zeros            0
 *   uniform          U[0, 1)
 *   uniform_signed   U[-1, 1)
 *   glorot_uniform   U[-L, L),  L = sqrt(6 / (fan_in + fan_out))      (Keras default)
 *   he_uniform       U[-L, L),  L = sqrt(6 / fan_in)
 *   glorot_normal    N(0, s²),  s = sqrt(2 / (fan_in + fan_out))      (PyTorch xavier_normal_)
 *   he_normal        N(0, s²),  s = sqrt(2 / fan_in)                  (PyTorch kaiming_normal_)
 * For biases fan_in and fan_out are the layer's, as for its weights.
 */
#ifndef NN_INIT_H
#define NN_INIT_H

#include "nn_common.h"
#include "nn_rng.h"

#define NN_INIT_TABLE(X)                                                                           \
    X(NN_INIT_ZEROS, "zeros")                                                                      \
    X(NN_INIT_UNIFORM, "uniform")                                                                  \
    X(NN_INIT_UNIFORM_SIGNED, "uniform_signed")                                                    \
    X(NN_INIT_GLOROT_UNIFORM, "glorot_uniform")                                                    \
    X(NN_INIT_HE_UNIFORM, "he_uniform")                                                            \
    X(NN_INIT_GLOROT_NORMAL, "glorot_normal")                                                      \
    X(NN_INIT_HE_NORMAL, "he_normal")

#define NN__INIT_ENUM(name, text) name,
typedef enum nn_init { NN_INIT_TABLE(NN__INIT_ENUM) NN_INIT_COUNT } nn_init;
#undef NN__INIT_ENUM

const char *nn_init_name(nn_init init);
int nn_init_from_name(const char *name, nn_init *out);
const char *nn_init_names(void);

/* Fills x[0..n) by the initializer for a layer of the given fans. */
void nn_init_fill(nn_init init, nn_float *x, size_t n, int fan_in, int fan_out, nn_rng *rng);

#endif
